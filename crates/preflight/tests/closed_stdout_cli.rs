//! A doctor's output piped into a reader that has gone (`preflight explain
//! --json | head -c0`, a pager quit early): the command must end with its own
//! exit status and say nothing of a panic. Rust ignores SIGPIPE, so a write to
//! the closed pipe is an error (EPIPE), which `println!` turns into a panic
//! (exit 101).
#![cfg(unix)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one run may take before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Run the binary with stdout on a pipe whose read end is already closed;
/// the exit code and stderr.
fn run_into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    // A pipe whose only reader has ended: the stdin of `true`, waited for.
    // (std::io::pipe would say it more directly but is newer than the
    // workspace's rust-version.)
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("start true");
    let writer = reader.stdin.take().expect("the pipe's write end");
    reader.wait().expect("true ends");
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start preflight");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("preflight {args:?} still ran after {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    (status.code(), err.join().unwrap_or_default())
}

fn assert_quiet_end(args: &[&str], expected: i32) {
    let (code, stderr) = run_into_closed_pipe(args);
    assert!(
        !stderr.contains("panicked"),
        "preflight {args:?} panicked on a closed stdout:\n{stderr}"
    );
    assert_eq!(
        code,
        Some(expected),
        "preflight {args:?}; stderr:\n{stderr}"
    );
}

#[test]
fn explain_into_a_closed_pipe_keeps_its_exit_status() {
    let config = fixture("engines.toml");
    let config = config.to_str().expect("utf-8 path");
    let base = [
        "explain",
        "--config",
        config,
        "--origin",
        "https://app.example.com",
        "/api/x",
    ];
    for extra in [
        &[][..],
        &["--json"][..],
        &["--profile", "all"][..],
        &["--profile", "all", "--json"][..],
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        assert_quiet_end(&args, 0);
    }
}

#[test]
fn lint_into_a_closed_pipe_keeps_its_exit_status() {
    let config = fixture("engines.toml");
    assert_quiet_end(
        &["lint", "--config", config.to_str().expect("utf-8 path")],
        0,
    );
}
