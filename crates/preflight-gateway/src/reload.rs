//! Reloading: on SIGHUP and when the configuration file changes. A reload
//! swaps the whole routing table at once; a bad file keeps the running one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::gateway::Gateway;

/// How long the configuration file must stay unchanged before a reload
/// reads it (docs/configuration.md, "Reloading").
pub const QUIET_TIME: Duration = Duration::from_millis(500);

/// Watch the configuration file (through its directory, so that editors that
/// replace the file are seen) and reload on change; reload on SIGHUP too.
/// Runs until the returned handle is dropped or aborted.
pub fn spawn(gateway: Gateway) -> Option<tokio::task::JoinHandle<()>> {
    let path: PathBuf = gateway.config().path.clone()?;
    let (tx, mut rx) = mpsc::channel::<()>(16);
    let file_name = path.file_name().map(|n| n.to_os_string());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let names = watched_names(&path);
    let file_tx = tx.clone();
    // True from a write into the file until the writer closes it.
    let writing = Arc::new(AtomicBool::new(false));
    let open = writing.clone();
    // When the file last changed: the quiet time counts from there.
    let last_change = Arc::new(Mutex::new(Instant::now()));
    let changed_at = last_change.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| file_name.as_deref() == Some(n) || names.iter().any(|w| w == n))
        });
        if !ours {
            return;
        }
        match event.kind {
            // Only inotify (Linux) tells when a writer closes the file.
            EventKind::Modify(ModifyKind::Data(_)) if cfg!(target_os = "linux") => {
                open.store(true, Ordering::Release)
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                open.store(false, Ordering::Release)
            }
            EventKind::Access(_) => return,
            // Created, renamed over, removed: no writer of ours is left.
            _ => open.store(false, Ordering::Release),
        }
        if let Ok(mut at) = changed_at.lock() {
            *at = Instant::now();
        }
        let _ = file_tx.try_send(());
    });
    let watcher = match watcher {
        Ok(mut w) => match w.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the configuration file; reload with SIGHUP");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the configuration file; reload with SIGHUP");
            None
        }
    };
    #[cfg(unix)]
    {
        let hup_tx = tx;
        let hup_writing = writing.clone();
        let hup_at = last_change.clone();
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    // A SIGHUP says the file is ready.
                    hup_writing.store(false, Ordering::Release);
                    if let Ok(mut at) = hup_at.lock() {
                        *at = Instant::now();
                    }
                    if hup_tx.send(()).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    Some(tokio::spawn(async move {
        let _watcher = watcher;
        while rx.recv().await.is_some() {
            // A file written in place in several steps parses half-way
            // through: apply it only once it has been quiet for QUIET_TIME,
            // counted from its last change (the events of one write come
            // in a burst: truncate, write, close). A file still open for
            // writing waits for its writer to close it (or for a SIGHUP, or
            // for the file to be replaced), looked at every QUIET_TIME.
            loop {
                let last = last_change
                    .lock()
                    .map(|at| *at)
                    .unwrap_or_else(|p| *p.into_inner());
                tokio::time::sleep_until((last + QUIET_TIME).into()).await;
                while rx.try_recv().is_ok() {}
                let last = last_change
                    .lock()
                    .map(|at| *at)
                    .unwrap_or_else(|p| *p.into_inner());
                if last.elapsed() < QUIET_TIME {
                    continue;
                }
                if !writing.load(Ordering::Acquire) {
                    break;
                }
                tokio::time::sleep(QUIET_TIME).await;
            }
            let _ = gateway.reload();
        }
    }))
}

/// The names in the file's directory whose change can change what the file
/// reads, besides the file's own name: when the file is a symlink with a
/// relative target, the first component of that target. A Kubernetes
/// ConfigMap volume is the case in point: `preflight.toml` links to
/// `..data/preflight.toml`, and an update renames a new `..data` link over
/// the old one without touching `preflight.toml` itself
/// (docs/deploying.md).
fn watched_names(path: &std::path::Path) -> Vec<std::ffi::OsString> {
    let Ok(target) = std::fs::read_link(path) else {
        return Vec::new();
    };
    if target.is_absolute() {
        return Vec::new();
    }
    target
        .components()
        .find_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_os_string()),
            _ => None,
        })
        .filter(|n| Some(n.as_os_str()) != path.file_name())
        .into_iter()
        .collect()
}
