//! Each browser runs in a process group of its own with a fresh profile
//! directory; the group is ended, by its id, when the handle drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory removed on drop.
pub(crate) struct TempDir(PathBuf);

static NEXT_PROFILE: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    pub(crate) fn new(engine: &str) -> Result<TempDir, String> {
        let dir = std::env::temp_dir().join(format!(
            "preflight-{engine}-{}-{}",
            std::process::id(),
            NEXT_PROFILE.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("profile dir: {e}"))?;
        Ok(TempDir(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A spawned browser (or driver) process group; dropping it kills the group.
pub(crate) struct Group {
    child: tokio::process::Child,
    pgid: Option<u32>,
}

impl Group {
    /// Spawn `cmd` as the leader of a new process group.
    pub(crate) fn spawn(cmd: &mut tokio::process::Command, what: &str) -> Result<Group, String> {
        cmd.stdin(Stdio::null()).process_group(0).kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let pgid = child.id();
        Ok(Group { child, pgid })
    }

    pub(crate) fn child(&mut self) -> &mut tokio::process::Child {
        &mut self.child
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The whole group (content processes, Xvfb, the web process), by its id.
        if let Some(pgid) = self.pgid {
            let _ = std::process::Command::new("kill")
                .arg("-KILL")
                .arg("--")
                .arg(format!("-{pgid}"))
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
    }
}

/// A loopback port free right now (the browser binds it a moment later).
pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
