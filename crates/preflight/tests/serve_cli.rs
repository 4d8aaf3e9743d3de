//! `preflight serve` as a user runs it: the real binary in front of a small
//! upstream (the test kit's server), spoken to over plain TCP (the kit's raw
//! client). Preflights answered at the edge, CORS headers on proxied answers,
//! SIGHUP reloads (good and bad), SIGTERM with a request in flight.
//!
//! Every spawned gateway is killed (by its own pid) when its guard drops.
#![cfg(unix)]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use preflight_test_kit::cli::{self, Child, TempDir};
use preflight_test_kit::raw::{request, Response};
use preflight_test_kit::{Received, Reply, Server};

const APP: &str = "https://app.example.com";
const NEW: &str = "https://new.example.com";

/// How long anything may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(15);

/// Call `f` until it returns `Some`, or fail after [`DEADLINE`].
fn poll<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    cli::poll(what, DEADLINE, f)
}

/// A `GET /api/slow` from another thread, returned once the upstream has it.
fn slow_request(
    gw: &Gateway,
    upstream: &Upstream,
) -> thread::JoinHandle<std::io::Result<Response>> {
    let listen = gw.listen;
    let slow = thread::spawn(move || request(listen, "GET", "/api/slow", &[("origin", APP)]));
    poll("the slow request to reach the upstream", || {
        upstream
            .seen()
            .iter()
            .any(|s| s.path == "/api/slow")
            .then_some(())
    });
    slow
}

// ---------------------------------------------------------------------------
// The upstream: answers every request with `Access-Control-Allow-Origin: *`
// of its own (which the gateway must replace); `/api/slow` answers after 1 s.

struct Upstream {
    addr: SocketAddr,
    server: Server,
}

impl Upstream {
    fn start() -> Upstream {
        let server = Server::start(|req| {
            let (body, delay) = if req.path.starts_with("/api/slow") {
                ("slow done", Duration::from_secs(1))
            } else {
                ("hello from upstream", Duration::ZERO)
            };
            Reply::ok(body)
                .header("content-type", "text/plain")
                .header("access-control-allow-origin", "*")
                .header("vary", "Accept-Encoding")
                .header("x-request-id", "42")
                .header("connection", "close")
                .after(delay)
        })
        .expect("the upstream starts");
        Upstream {
            addr: server.addr(),
            server,
        }
    }

    fn seen(&self) -> Vec<Received> {
        self.server.received()
    }
}

/// True when no `Access-Control-*` header is present.
fn has_no_cors_headers(r: &Response) -> bool {
    !r.headers
        .iter()
        .any(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-"))
}

fn preflight(addr: SocketAddr, origin: &str) -> Response {
    request(
        addr,
        "OPTIONS",
        "/api/users/1",
        &[
            ("origin", origin),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
        ],
    )
    .expect("preflight")
}

// ---------------------------------------------------------------------------
// The gateway process.

/// Two free ports: bound at once (so they differ), then released.
fn free_ports() -> (u16, u16) {
    let ports = cli::free_ports(2);
    (ports[0], ports[1])
}

fn config_text(listen: u16, admin: u16, upstream: SocketAddr, origins: &[&str]) -> String {
    let origins = origins
        .iter()
        .map(|o| format!("\"{o}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"[server]
listen = "127.0.0.1:{listen}"
admin = "127.0.0.1:{admin}"
grace_period = "5s"
upstream_timeout = "5s"

[cors]
allow_origins = [{origins}]
allow_headers = ["content-type"]
expose_headers = ["x-request-id"]
allow_credentials = true
max_age = 600

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "PUT"]
upstream = "http://{upstream}"
"#
    )
}

/// A running `preflight serve`, killed on drop.
struct Gateway {
    child: Child,
    listen: SocketAddr,
    admin: SocketAddr,
    /// The file the gateway was started with.
    config: PathBuf,
    _dir: TempDir,
}

impl Gateway {
    /// Start the gateway on `origins`. With `behind_symlink`, `--config`
    /// names a symlink to a file in a subdirectory: editing that file is not
    /// seen by the gateway's file watcher (it watches the symlink's
    /// directory), so only SIGHUP can reload it.
    fn start(name: &str, upstream: &Upstream, origins: &[&str], behind_symlink: bool) -> Gateway {
        Gateway::start_with(name, upstream, origins, behind_symlink, None)
    }

    /// [`Gateway::start`] on the CPUs `cpus` names (`taskset -c`).
    fn start_with(
        name: &str,
        upstream: &Upstream,
        origins: &[&str],
        behind_symlink: bool,
        cpus: Option<&str>,
    ) -> Gateway {
        let dir = TempDir::new(&format!("serve-cli-{name}"));
        let (listen, admin) = free_ports();
        let text = config_text(listen, admin, upstream.addr, origins);
        let config = if behind_symlink {
            let real_dir = dir.join("real");
            std::fs::create_dir_all(&real_dir).expect("create the config directory");
            let real = real_dir.join("preflight.toml");
            std::fs::write(&real, &text).expect("write the config");
            let link = dir.join("preflight.toml");
            std::os::unix::fs::symlink(&real, &link).expect("symlink the config");
            link
        } else {
            let file = dir.join("preflight.toml");
            std::fs::write(&file, &text).expect("write the config");
            file
        };
        let mut cmd = match cpus {
            Some(list) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(list).arg(env!("CARGO_BIN_EXE_preflight"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_preflight")),
        };
        let child = Child::spawn(
            cmd.arg("serve")
                .arg("--config")
                .arg(&config)
                .env("RUST_LOG", "info"),
        );
        let mut gateway = Gateway {
            child,
            listen: SocketAddr::from(([127, 0, 0, 1], listen)),
            admin: SocketAddr::from(([127, 0, 0, 1], admin)),
            config: std::fs::canonicalize(&config).expect("the config file"),
            _dir: dir,
        };
        gateway.wait_ready();
        gateway
    }

    fn wait_ready(&mut self) {
        let admin = self.admin;
        let listen = self.listen;
        poll("the gateway to listen", || {
            self.child.assert_running();
            let ready = request(admin, "GET", "/readyz", &[]).is_ok_and(|r| r.status == 200);
            (ready && TcpStream::connect(listen).is_ok()).then_some(())
        });
    }

    /// What it printed so far (its log goes to stderr).
    fn log(&self) -> String {
        self.child.output()
    }

    fn signal(&self, name: &str) {
        self.child.signal(name);
    }

    /// Rewrite the file the gateway reads (through the symlink, if any).
    fn rewrite(&self, text: &str) {
        std::fs::write(&self.config, text).expect("rewrite the config");
    }

    fn metrics(&self) -> String {
        let r = request(self.admin, "GET", "/metrics", &[]).expect("GET /metrics");
        assert_eq!(r.status, 200, "{r:?}");
        r.body
    }

    /// The value of the `preflight_reloads` counter for `result`.
    fn reloads(&self, result: &str) -> u64 {
        let prefix = format!("preflight_reloads_total{{result=\"{result}\"}} ");
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        self.child.wait_exit(within)
    }
}

// ---------------------------------------------------------------------------

#[test]
fn a_preflight_is_answered_at_the_edge() {
    let upstream = Upstream::start();
    let gw = Gateway::start("preflight", &upstream, &[APP], false);

    let r = preflight(gw.listen, APP);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.all("access-control-allow-origin"), [APP], "{r:?}");
    assert_eq!(
        r.header("access-control-allow-credentials"),
        Some("true"),
        "{r:?}"
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, PUT"),
        "{r:?}"
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type"),
        "{r:?}"
    );
    assert_eq!(r.header("access-control-max-age"), Some("600"), "{r:?}");
    let vary = r.all("vary").join(", ");
    assert!(vary.contains("Origin"), "{r:?}");

    // Refused: 403 and no CORS headers.
    let r = preflight(gw.listen, "https://evil.example.net");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(has_no_cors_headers(&r), "{r:?}");

    // Neither reached the upstream (its answer would have come first).
    assert!(upstream.seen().is_empty(), "{:?}", upstream.seen());

    // The access log says why the refused one was refused (docs/behaviour.md).
    let line = poll("the access log line of the refusal", || {
        gw.log()
            .lines()
            .find(|l| l.contains("status=403"))
            .map(str::to_string)
    });
    assert!(line.contains("cors=\"preflight-refused\""), "{line}");
    assert!(
        line.contains("why=\"the origin is not in allow_origins\""),
        "{line}"
    );
    // The duration in milliseconds, with three decimals (a microsecond).
    let ms = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("ms="))
        .unwrap_or_else(|| panic!("no ms= in {line}"));
    let (whole, decimals) = ms.split_once('.').unwrap_or((ms, ""));
    assert!(
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && decimals.len() == 3
            && decimals.bytes().all(|b| b.is_ascii_digit()),
        "ms={ms} in {line}"
    );
}

#[test]
fn an_actual_request_is_proxied_with_cors_headers_in_place_of_the_upstreams() {
    let upstream = Upstream::start();
    let gw = Gateway::start("actual", &upstream, &[APP], false);

    let r = request(gw.listen, "GET", "/api/users/1", &[("origin", APP)]).expect("GET");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("hello from upstream"), "{r:?}");
    // The upstream's `*` is replaced: one value, the request's origin.
    assert_eq!(r.all("access-control-allow-origin"), [APP], "{r:?}");
    assert_eq!(r.all("access-control-allow-credentials"), ["true"], "{r:?}");
    assert_eq!(
        r.all("access-control-expose-headers"),
        ["x-request-id"],
        "{r:?}"
    );
    assert_eq!(r.header("x-request-id"), Some("42"), "{r:?}");
    // Vary: the upstream's, with Origin merged in once.
    let vary: Vec<String> = r
        .all("vary")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    assert_eq!(vary.iter().filter(|v| *v == "origin").count(), 1, "{r:?}");
    assert!(vary.iter().any(|v| v == "accept-encoding"), "{r:?}");

    // A disallowed origin is forwarded, and gets no CORS headers at all, not
    // even the upstream's.
    let r = request(
        gw.listen,
        "GET",
        "/api/users/2",
        &[("origin", "https://evil.example.net")],
    )
    .expect("GET");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(has_no_cors_headers(&r), "{r:?}");

    let seen = upstream.seen();
    let paths: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [("GET", "/api/users/1"), ("GET", "/api/users/2")],
        "{seen:?}"
    );
}

#[test]
fn sighup_reloads_the_configuration() {
    let upstream = Upstream::start();
    let mut gw = Gateway::start("sighup", &upstream, &[APP], true);
    let r = preflight(gw.listen, NEW);
    assert_eq!(r.status, 403, "{r:?}");

    let text = config_text(
        gw.listen.port(),
        gw.admin.port(),
        upstream.addr,
        &[APP, NEW],
    );
    gw.rewrite(&text);
    gw.signal("HUP");
    let r = poll("the new origin to be allowed", || {
        Some(preflight(gw.listen, NEW)).filter(|r| r.status == 204)
    });
    assert_eq!(r.all("access-control-allow-origin"), [NEW], "{r:?}");
    assert_eq!(preflight(gw.listen, APP).status, 204);
    assert_eq!(gw.reloads("ok"), 1, "{}", gw.metrics());
    assert_eq!(gw.reloads("failed"), 0, "{}", gw.metrics());
    assert!(gw.child.is_running(), "{}", gw.log());
}

#[test]
fn a_bad_reload_keeps_the_running_configuration() {
    let upstream = Upstream::start();
    let mut gw = Gateway::start("bad-reload", &upstream, &[APP], true);
    assert_eq!(preflight(gw.listen, APP).status, 204);

    // `*` with credentials: refused at load.
    let text = config_text(gw.listen.port(), gw.admin.port(), upstream.addr, &["*"]);
    gw.rewrite(&text);
    gw.signal("HUP");
    poll("a failed reload in /metrics", || {
        (gw.reloads("failed") == 1).then_some(())
    });
    assert_eq!(gw.reloads("ok"), 0, "{}", gw.metrics());

    // The running configuration stays: APP allowed, anyone else not.
    let r = preflight(gw.listen, APP);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.all("access-control-allow-origin"), [APP], "{r:?}");
    assert_eq!(preflight(gw.listen, "https://evil.example.net").status, 403);
    assert!(gw.child.is_running(), "{}", gw.log());
    let log = gw.log();
    assert!(log.contains("reload refused"), "{log}");
    assert!(log.contains("allow_origins"), "{log}");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let upstream = Upstream::start();
    let mut gw = Gateway::start("sigterm", &upstream, &[APP], false);

    let slow = slow_request(&gw, &upstream);
    let signalled = Instant::now();
    gw.signal("TERM");

    let r = slow
        .join()
        .expect("the client thread")
        .expect("the slow request completes");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "slow done", "{r:?}");
    assert_eq!(r.all("access-control-allow-origin"), [APP], "{r:?}");

    // grace_period = "5s" in the config.
    let status = gw.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}:\n{}", gw.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
}

#[test]
fn a_missing_config_file_is_refused() {
    let dir = TempDir::new("serve-cli-missing");
    let missing = dir.join("missing.toml");
    let out = cli::run(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("serve")
            .arg("--config")
            .arg(&missing),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
}

/// docs/deploying.md, "CPUs": on one CPU the gateway runs on the
/// current-thread runtime, and serves, reloads and drains as on many.
#[test]
fn on_one_cpu_the_gateway_serves_reloads_and_drains_on_one_thread() {
    let upstream = Upstream::start();
    let mut gw = Gateway::start_with("one-cpu", &upstream, &[APP], false, Some("0"));
    assert!(
        gw.log().contains("runtime=\"current_thread\""),
        "{}",
        gw.log()
    );
    let r = preflight(gw.listen, APP);
    assert_eq!(r.status, 204, "{r:?}");
    let r = request(gw.listen, "GET", "/api/users/1", &[("origin", APP)]).expect("a GET");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.all("access-control-allow-origin"), [APP], "{r:?}");
    gw.signal("HUP");
    poll("the reload", || (gw.reloads("ok") >= 1).then_some(()));
    let slow = slow_request(&gw, &upstream);
    gw.signal("TERM");
    let r = slow
        .join()
        .expect("the client thread")
        .expect("the slow request completes");
    assert_eq!(r.status, 200, "{r:?}");
    let status = gw.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{status}:\n{}", gw.log());
}
