//! Reloading: on SIGHUP and when the configuration file changes. A reload
//! swaps the whole routing table at once; a bad file keeps the running one.

use std::path::PathBuf;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::gateway::Gateway;

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
    let file_tx = tx.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        let ours = event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name);
        if ours {
            let _ = file_tx.try_send(());
        }
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
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
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
            // Editors write in several steps: wait for the file to settle.
            tokio::time::sleep(Duration::from_millis(150)).await;
            while rx.try_recv().is_ok() {}
            let _ = gateway.reload();
        }
    }))
}
