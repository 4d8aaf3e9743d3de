//! Draining, as a load balancer sees it (docs/behaviour.md, "Reload and
//! graceful shutdown"; docs/deploying.md): on SIGTERM `/readyz` answers 503 at
//! once, while a request in flight is still being answered; the listener
//! refuses new connections; the request in flight finishes with its answer;
//! the process exits 0 within `grace_period`.
//!
//! The real binary in front of the test kit's server, which holds its answer
//! for [`HELD`]. The gateway is killed (by its own pid) when its guard drops.
#![cfg(unix)]

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::raw::{request, Response};
use preflight_test_kit::{Reply, Server};

const APP: &str = "https://app.example.com";

/// How long the upstream holds its answer to `/api/held`.
const HELD: Duration = Duration::from_secs(2);

/// `grace_period` in the configuration below.
const GRACE: Duration = Duration::from_secs(5);

/// How soon after SIGTERM `/readyz` must say 503.
const READINESS_FLIP: Duration = Duration::from_millis(200);

/// How long starting the gateway may take.
const START: Duration = Duration::from_secs(15);

fn config_text(listen: u16, admin: u16, upstream: SocketAddr) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{listen}"
admin = "127.0.0.1:{admin}"
grace_period = "5s"
upstream_timeout = "10s"

[cors]
allow_origins = ["{APP}"]

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET"]
upstream = "http://{upstream}"
"#
    )
}

fn get(addr: SocketAddr, path: &str) -> std::io::Result<Response> {
    request(addr, "GET", path, &[("origin", APP)])
}

#[test]
fn sigterm_fails_readyz_at_once_and_lets_the_request_in_flight_finish() {
    let upstream = Server::start(|req| {
        let delay = if req.path.starts_with("/api/held") {
            HELD
        } else {
            Duration::ZERO
        };
        Reply::ok("held answer")
            .header("content-type", "text/plain")
            .after(delay)
    })
    .expect("the upstream starts");

    let dir = TempDir::new("drain");
    let ports = cli::free_ports(2);
    let listen = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let admin = SocketAddr::from(([127, 0, 0, 1], ports[1]));
    let config = dir.write(
        "preflight.toml",
        config_text(ports[0], ports[1], upstream.addr()),
    );
    let mut gateway = Child::spawn(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info"),
    );
    cli::poll("the gateway to be ready", START, || {
        gateway.assert_running();
        let ready = request(admin, "GET", "/readyz", &[]).is_ok_and(|r| r.status == 200);
        (ready && TcpStream::connect(listen).is_ok()).then_some(())
    });

    // A request in flight: the upstream has it and holds its answer.
    let sent = Instant::now();
    let held = thread::spawn(move || get(listen, "/api/held"));
    cli::poll("the held request to reach the upstream", START, || {
        upstream
            .received()
            .iter()
            .any(|r| r.path == "/api/held")
            .then_some(())
    });

    let signalled = Instant::now();
    gateway.signal("TERM");

    // /readyz says 503 at once, before the request in flight is answered.
    let not_ready = loop {
        let r = request(admin, "GET", "/readyz", &[]).expect("the admin listener answers");
        if r.status == 503 {
            break r;
        }
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            signalled.elapsed() < READINESS_FLIP,
            "/readyz still answers {} {:?} after SIGTERM:\n{}",
            r.status,
            signalled.elapsed(),
            gateway.output()
        );
        thread::sleep(Duration::from_millis(5));
    };
    let flipped = signalled.elapsed();
    assert!(flipped < READINESS_FLIP, "{flipped:?}");
    assert!(not_ready.body.contains("shutting down"), "{not_ready:?}");
    assert!(
        !held.is_finished(),
        "the held request was answered before /readyz said 503"
    );

    // The process is alive while it drains: liveness stays 200.
    let health = request(admin, "GET", "/healthz", &[]).expect("GET /healthz while draining");
    assert_eq!(health.status, 200, "{health:?}");

    // The listener is closed: a new connection is refused, while the held
    // request still waits for its answer.
    let refused = cli::poll("the listener to refuse connections", GRACE, || {
        // A SYN dropped while the listener takes its queue times out here.
        TcpStream::connect_timeout(&listen, Duration::from_millis(200))
            .err()
            .filter(|e| e.kind() != ErrorKind::TimedOut)
    });
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{refused}");
    assert!(
        !held.is_finished(),
        "the held request was answered before the listener closed"
    );

    // The request in flight finishes, with the upstream's answer and the
    // CORS headers.
    let r = held
        .join()
        .expect("the client thread")
        .expect("the held request is answered");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "held answer", "{r:?}");
    assert_eq!(r.all("access-control-allow-origin"), [APP], "{r:?}");
    assert!(
        sent.elapsed() >= HELD,
        "answered after {:?}",
        sent.elapsed()
    );

    // Exit 0, within the grace period.
    let status = gateway.wait_exit(GRACE);
    assert_eq!(status.code(), Some(0), "{status}:\n{}", gateway.output());
    assert!(
        signalled.elapsed() < GRACE,
        "exited {:?} after SIGTERM",
        signalled.elapsed()
    );
    assert_eq!(
        upstream
            .received()
            .iter()
            .filter(|r| r.path == "/api/held")
            .count(),
        1,
        "{:?}",
        upstream.received()
    );
}

/// With `shutdown_delay`, the listener keeps serving new connections for that
/// long after SIGTERM while `/readyz` already fails, so that a load balancer
/// that learns of the shutdown from readiness stops sending before the
/// listener closes (docs/deploying.md).
#[test]
fn shutdown_delay_keeps_accepting_while_readyz_fails() {
    let upstream = Server::start(|_| Reply::ok("answer")).expect("the upstream starts");
    let dir = TempDir::new("drain-delay");
    let ports = cli::free_ports(2);
    let listen = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let admin = SocketAddr::from(([127, 0, 0, 1], ports[1]));
    let text = config_text(ports[0], ports[1], upstream.addr()).replace(
        "grace_period = \"5s\"\n",
        "grace_period = \"5s\"\nshutdown_delay = \"2s\"\n",
    );
    let config = dir.write("preflight.toml", text);
    let mut gateway = Child::spawn(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info"),
    );
    cli::poll("the gateway to be ready", START, || {
        gateway.assert_running();
        let ready = request(admin, "GET", "/readyz", &[]).is_ok_and(|r| r.status == 200);
        (ready && TcpStream::connect(listen).is_ok()).then_some(())
    });
    let signalled = Instant::now();
    gateway.signal("TERM");
    cli::poll("/readyz to fail", READINESS_FLIP, || {
        request(admin, "GET", "/readyz", &[])
            .ok()
            .filter(|r| r.status == 503)
    });
    // Within the delay a new connection is still served.
    std::thread::sleep(Duration::from_millis(500));
    let r = get(listen, "/api/during").expect("a new connection within shutdown_delay");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        signalled.elapsed() < Duration::from_millis(1800),
        "the check ran too late to mean anything: {:?}",
        signalled.elapsed()
    );
    // After it, new connections are refused and the process exits 0.
    let refused = cli::poll("the listener to close", Duration::from_secs(5), || {
        // A SYN dropped while the listener takes its queue times out here.
        TcpStream::connect_timeout(&listen, Duration::from_millis(200))
            .err()
            .filter(|e| e.kind() != ErrorKind::TimedOut)
    });
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{refused}");
    let closed_after = signalled.elapsed();
    assert!(
        closed_after >= Duration::from_secs(2),
        "the listener closed {closed_after:?} after SIGTERM, before shutdown_delay"
    );
    println!("figure: with shutdown_delay = 2s the listener closed {closed_after:.2?} after SIGTERM; /readyz failed at once");
    let status = gateway.wait_exit(GRACE);
    assert!(status.success(), "exit {status:?}\n{}", gateway.output());
}
