//! The release binary at the edge, as a user meets it (RELIABILITY.md,
//! "Connections, timeouts and memory"): `preflight serve` under a low file
//! limit, with a huge method, and reloading a file written in two parts;
//! `preflight check` against an endless body. Each test prints the figure it
//! measured.
//!
//! Every spawned process is killed (by its own pid) when its guard drops.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::raw::request;
use preflight_test_kit::Reply;
use preflight_test_kit::Server;

const APP: &str = "https://app.example.com";
const DEADLINE: Duration = Duration::from_secs(20);

fn config_text(listen: u16, admin: u16, upstream: SocketAddr, internal_cors: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{listen}"
admin = "127.0.0.1:{admin}"
grace_period = "1s"

[cors]
allow_origins = ["{APP}"]
allow_headers = ["content-type"]
allow_credentials = true

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "PUT"]
upstream = "http://{upstream}"

[[routes]]
path = "/internal/{{*rest}}"
methods = ["GET"]
upstream = "http://{upstream}"
{internal_cors}"#
    )
}

/// `preflight serve` on a config in its own directory; `prefix` runs it
/// through another program (`prlimit`).
struct Gateway {
    child: Child,
    listen: SocketAddr,
    admin: SocketAddr,
    file: std::path::PathBuf,
    _dir: TempDir,
}

impl Gateway {
    fn start(name: &str, text: impl Fn(u16, u16) -> String, prefix: &[&str]) -> Gateway {
        let dir = TempDir::new(name);
        let ports = cli::free_ports(2);
        let file = dir.write("preflight.toml", text(ports[0], ports[1]));
        let mut cmd = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_preflight"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_preflight")),
        };
        cmd.arg("serve")
            .arg("--config")
            .arg(&file)
            .env("RUST_LOG", "info");
        let mut child = Child::spawn(&mut cmd);
        let admin = SocketAddr::from(([127, 0, 0, 1], ports[1]));
        cli::poll("the gateway to be ready", DEADLINE, || {
            child.assert_running();
            request(admin, "GET", "/readyz", &[])
                .ok()
                .filter(|r| r.status == 200)
        });
        Gateway {
            child,
            listen: SocketAddr::from(([127, 0, 0, 1], ports[0])),
            admin,
            file,
            _dir: dir,
        }
    }

    /// The gateway's resident memory, in KiB (`VmRSS` of the gateway
    /// process: the child itself, or the one `prlimit` runs in its place).
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }
}

fn upstream() -> Server {
    Server::start(|_| Reply::ok("from upstream")).expect("the upstream starts")
}

#[test]
fn under_a_256_file_limit_300_idle_sockets_do_not_stop_a_new_request() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        panic!("prlimit (util-linux) is needed for this test");
    }
    let up = upstream();
    let gw = Gateway::start(
        "edge-nofile",
        |l, a| config_text(l, a, up.addr(), "cors = false"),
        &["prlimit", "--nofile=256:256", "--"],
    );
    let mut idle = Vec::new();
    for _ in 0..300 {
        match TcpStream::connect_timeout(&gw.listen, Duration::from_secs(2)) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connect {}: {e}", idle.len()),
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let r = request(gw.listen, "GET", "/api/after", &[]);
    let took = started.elapsed();
    println!("figure: under a 256-file limit with 300 idle sockets, a new request is served in {took:.2?}");
    let r = r.unwrap_or_else(|e| panic!("no answer after {took:?}: {e}\n{}", gw.child.output()));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(took <= Duration::from_secs(3), "served after {took:?}");
    assert!(
        !gw.child.output().contains("Too many open files"),
        "{}",
        gw.child.output()
    );
    drop(idle);
}

#[test]
fn a_max_connections_that_does_not_fit_the_file_limit_is_warned_about_at_start() {
    let up = upstream();
    let gw = Gateway::start(
        "edge-fit",
        |l, a| {
            config_text(l, a, up.addr(), "cors = false").replace(
                "grace_period = \"1s\"",
                "grace_period = \"1s\"\nmax_connections = 1000",
            )
        },
        &["prlimit", "--nofile=256:256", "--"],
    );
    let mut gw = gw;
    let line = gw
        .child
        .wait_for_line("does not fit the file limit", DEADLINE);
    assert!(line.contains("max_connections = 1000"), "{line}");
    assert!(line.contains("file limit of 256"), "{line}");
}

#[test]
fn refusals_with_a_380_kb_method_keep_the_memory_bounded() {
    let up = upstream();
    let gw = Gateway::start(
        "edge-rss",
        |l, a| config_text(l, a, up.addr(), "cors = false"),
        &[],
    );
    let method = "A".repeat(380 * 1024);
    // Warm up, then measure.
    let _ = request(
        gw.listen,
        &method,
        "/api/x",
        &[("origin", "https://evil.example")],
    );
    let before = gw.rss_kib();
    for _ in 0..100 {
        let r = request(
            gw.listen,
            &method,
            "/api/x",
            &[("origin", "https://evil.example")],
        )
        .expect("an answer");
        assert!(r.status >= 400, "{}", r.status);
    }
    let after = gw.rss_kib();
    let dashboard = request(gw.admin, "GET", "/", &[]).expect("the dashboard");
    println!(
        "figure: 100 refusals with a 380 KB method: RSS {before} -> {after} KiB, dashboard {} bytes",
        dashboard.body.len()
    );
    assert!(
        dashboard.body.contains("evil.example"),
        "the refusals are on the dashboard"
    );
    assert!(
        dashboard.body.len() < 200 * 1024,
        "dashboard {} bytes",
        dashboard.body.len()
    );
    assert!(
        after.saturating_sub(before) < 16 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
}

/// A preflight for `/internal/x` from the allowed origin.
fn internal_preflight(addr: SocketAddr) -> Option<preflight_test_kit::raw::Response> {
    request(
        addr,
        "OPTIONS",
        "/internal/x",
        &[("origin", APP), ("access-control-request-method", "GET")],
    )
    .ok()
}

#[test]
fn a_config_written_in_place_in_two_parts_is_never_applied_half_way() {
    let up = upstream();
    let ports = std::cell::Cell::new((0, 0));
    let gw = Gateway::start(
        "edge-reload",
        |l, a| {
            ports.set((l, a));
            config_text(l, a, up.addr(), "cors = false")
        },
        &[],
    );
    let (l, a) = ports.get();
    assert_eq!(internal_preflight(gw.listen).map(|r| r.status), Some(403));
    // The new file adds an origin; its first part stops before `cors = false`.
    let new = config_text(l, a, up.addr(), "cors = false\n").replace(
        &format!("allow_origins = [\"{APP}\"]"),
        &format!("allow_origins = [\"{APP}\", \"https://new.example.com\"]"),
    );
    let cut = new.rfind("cors = false").expect("the line");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&gw.file)
        .expect("open the config in place");
    f.write_all(&new.as_bytes()[..cut])
        .expect("write the first part");
    f.flush().expect("flush");
    let pause = Instant::now();
    while pause.elapsed() < Duration::from_millis(1200) {
        let r = internal_preflight(gw.listen).expect("an answer");
        assert_eq!(
            r.status,
            403,
            "the half-written file was applied after {:?}: {r:?}",
            pause.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    f.write_all(&new.as_bytes()[cut..]).expect("write the rest");
    drop(f);
    // The whole file is applied: the new origin is allowed on /api.
    let started = Instant::now();
    cli::poll("the new file to be applied", DEADLINE, || {
        request(
            gw.listen,
            "OPTIONS",
            "/api/x",
            &[
                ("origin", "https://new.example.com"),
                ("access-control-request-method", "GET"),
            ],
        )
        .ok()
        .filter(|r| r.status == 204)
    });
    println!(
        "figure: the file was applied {:.2?} after its writer closed it; never during the 1.2 s pause",
        started.elapsed()
    );
    assert_eq!(internal_preflight(gw.listen).map(|r| r.status), Some(403));
    let _ = a;
}

/// A body that never ends: 16 KiB every millisecond.
struct Endless(std::pin::Pin<Box<tokio::time::Sleep>>);

impl hyper::body::Body for Endless {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        use std::future::Future;
        match self.0.as_mut().poll(cx) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(()) => {
                let next = tokio::time::Instant::now() + Duration::from_millis(1);
                self.0.as_mut().reset(next);
                let chunk = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
                std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
            }
        }
    }
}

#[test]
fn check_reads_a_bounded_part_of_an_endless_body_and_says_so() {
    let endless = Server::streaming(|_req| async {
        let body = Endless(Box::pin(tokio::time::sleep(Duration::ZERO)));
        let mut res = http::Response::new(http_body_util::BodyExt::boxed(body));
        res.headers_mut().insert(
            "access-control-allow-origin",
            http::HeaderValue::from_static(APP),
        );
        res
    })
    .expect("the endless server starts");
    let started = Instant::now();
    let out = cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("check")
            .arg(format!("{}/endless", endless.origin()))
            .args(["--origin", APP, "--timeout", "5"]),
    );
    let took = started.elapsed();
    let text = cli::stdout(&out);
    println!("figure: check against an endless body returns in {took:.2?}");
    assert!(
        text.contains("read that much"),
        "{text}\n{}",
        cli::stderr(&out)
    );
    assert!(took <= Duration::from_secs(3), "took {took:?}");
    assert_eq!(out.status.code(), Some(0), "{text}");
}
