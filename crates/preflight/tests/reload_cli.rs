//! Reloading where Kubernetes puts the file (docs/deploying.md): a ConfigMap
//! volume. The kubelet writes each version of the ConfigMap into a
//! timestamped directory, points the `..data` symlink at it, and the file the
//! gateway reads is a symlink through `..data`. An update is a new directory,
//! a new link, and an atomic rename of that link over `..data`: the file's own
//! name is never touched, so a watcher that only looks at it misses the
//! change.
#![cfg(unix)]

use std::net::SocketAddr;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::raw::request;
use preflight_test_kit::{Reply, Server};

const DEADLINE: Duration = Duration::from_secs(20);

fn config(listen: u16, admin: u16, upstream: SocketAddr, origin: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{listen}"
admin = "127.0.0.1:{admin}"
grace_period = "1s"

[cors]
allow_origins = ["{origin}"]

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "PUT"]
upstream = "http://{upstream}"
"#
    )
}

/// The status of a preflight for PUT /api/x from `origin`.
fn preflight(listen: SocketAddr, origin: &str) -> Option<u16> {
    request(
        listen,
        "OPTIONS",
        "/api/x",
        &[("origin", origin), ("access-control-request-method", "PUT")],
    )
    .ok()
    .map(|r| r.status)
}

/// One version of the ConfigMap, as the kubelet writes it.
fn write_version(dir: &Path, stamp: &str, text: &str) {
    let version = dir.join(stamp);
    std::fs::create_dir(&version).expect("the version's directory");
    std::fs::write(version.join("preflight.toml"), text).expect("the version's file");
}

#[test]
fn a_configmap_update_through_the_data_symlink_is_applied_without_sighup() {
    let up = Server::start(|_| Reply::ok("from upstream")).expect("the upstream starts");
    let dir = TempDir::new("configmap");
    let ports = cli::free_ports(2);
    let (listen, admin) = (
        SocketAddr::from(([127, 0, 0, 1], ports[0])),
        SocketAddr::from(([127, 0, 0, 1], ports[1])),
    );
    let first = "..2026_12_01_10_00_00.000000001";
    write_version(
        dir.path(),
        first,
        &config(ports[0], ports[1], up.addr(), "https://one.example"),
    );
    symlink(first, dir.join("..data")).expect("..data");
    symlink("..data/preflight.toml", dir.join("preflight.toml")).expect("the file's link");

    let mut child = Child::spawn(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("serve")
            .arg("--config")
            .arg(dir.join("preflight.toml"))
            .env("RUST_LOG", "info"),
    );
    cli::poll("the gateway to be ready", DEADLINE, || {
        child.assert_running();
        request(admin, "GET", "/readyz", &[])
            .ok()
            .filter(|r| r.status == 200)
    });
    assert_eq!(preflight(listen, "https://one.example"), Some(204));
    assert_eq!(preflight(listen, "https://two.example"), Some(403));

    // The kubelet's update: a new directory, a new link, renamed over ..data,
    // then the old directory removed.
    let second = "..2026_12_01_10_05_00.000000002";
    write_version(
        dir.path(),
        second,
        &config(ports[0], ports[1], up.addr(), "https://two.example"),
    );
    symlink(second, dir.join("..data_tmp")).expect("the new link");
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).expect("the atomic swap");
    std::fs::remove_dir_all(dir.join(first)).expect("the old version removed");
    let swapped = Instant::now();

    cli::poll(
        "the new version to be applied",
        Duration::from_secs(5),
        || {
            child.assert_running();
            (preflight(listen, "https://two.example") == Some(204)).then_some(())
        },
    );
    let delay = swapped.elapsed();
    println!("figure: the ConfigMap update was applied {delay:.2?} after the swap, without SIGHUP");
    assert!(
        delay < Duration::from_secs(3),
        "applied only after {delay:?}"
    );
    assert_eq!(preflight(listen, "https://one.example"), Some(403));
    // The gateway logs the reload just after it takes effect, and the log
    // reaches the test through a reader thread: wait for the line (seen
    // missing once on a loaded machine when read at once).
    child.wait_for_line("configuration reloaded", DEADLINE);
}
