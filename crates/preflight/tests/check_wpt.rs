//! `preflight check` against a real local HTTP server, for the cases of
//! `shared/docs/WPT-CASES.md` that one fetch from one page can exercise.
//!
//! The server (hyper, on 127.0.0.1) plays the WPT server scripts, driven by
//! the path and the query, as the WPT servers are:
//!
//! - `/preflight.py`: `fetch/api/resources/preflight.py` (newest copy): `ACAO: *`
//!   or one line per `origin=`, `ACAC: true` with `credentials`, ACMA/ACAH/ACAM
//!   when asked, `preflight_status`; a preflight without ACRM, or without
//!   `Accept: */*`, gets 400 (so every preflighted case also tests R13).
//! - `/redirect.py`: `fetch/api/resources/redirect.py`: `redirect_status` to
//!   `location`, reflecting `Origin` in ACAO with `ACAC: true` (or `ACAO: *`
//!   without an Origin); a preflight gets 200 unless `redirect_preflight`.
//! - `/cors-preflight.py`: `cors/resources/preflight.py`: a preflight gets
//!   `ACAO: *`, ACAM = the requested method and `ACAH: x-print`.
//! - `/makeheader`: `cors/resources/cors-makeheader.py` made literal: `status`
//!   and `h=Name:Value` for the actual response, `pf_status` and `pfh=...` for
//!   the preflight, `location` for a redirect.
//!
//! Every URL carries `token=<case>`; the server logs each request it gets under
//! its token, so a case can say what was (not) sent: preflights, their headers,
//! the final `Origin`.
//!
//! The binary runs as a user runs it: `preflight check URL --origin O ... --json`.
//! A case passes when the exit code (0 allowed, 1 blocked) and the JSON
//! `verdict` match and, when blocked, `reason` (Chromium's `CorsError` name, as
//! the simulator gives it) and `stage` match.
//!
//! Origins. In sections A to D the page origin is the WPT one,
//! `O = http://web-platform.test:8000`: `check` only sends it as a header. R is
//! one listener, P another ("another origin"; the WPT P is O's host on another
//! port, which a server on 127.0.0.1 cannot be). Section F needs the page's own
//! origin to be a server (redirects to and from O), so there the page origin is
//! a third listener.
//!
//! What `check` cannot express, by design:
//! - A3 (`mode: "no-cors"`): `check` always runs a `cors`-mode fetch, the only
//!   mode that has a CORS verdict; the opaque response is pinned by the
//!   simulator table (`preflight-core/tests/browser_wpt.rs`).
//! - E (preflight cache): `check` runs one fetch per process, with a fresh
//!   cache, so the second request of a cache case never happens in the same
//!   browser session. E1-E5 are covered by the simulator table (an explicit
//!   clock) and by the browser suite against Chromium
//!   (`preflight-browser-tests`).
//! - G (cookies): `check` has no cookie jar; `--cookie` sends a fixed Cookie
//!   header when credentials are included, and nothing stores `Set-Cookie`.
//!   What R17 decides (credentials go or not) is pinned by the simulator table.
//! - A14 `*\0`: a NUL byte cannot be put in an HTTP header by hyper's server
//!   (`HeaderValue` refuses it), and a client that parses HTTP (httparse)
//!   refuses it too: on the wire it is a network error, not a CORS verdict.

use std::collections::HashMap;
use std::convert::Infallible;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The page origin of sections A to D (only ever sent as a header).
const O: &str = "http://web-platform.test:8000";

// ---------------------------------------------------------------------------
// The server.

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    token: String,
    /// `o`, `r` or `p`: which listener (origin) got it.
    at: &'static str,
    method: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn is_preflight(&self) -> bool {
        self.method == "OPTIONS"
    }
}

/// The three listeners, as origins (`http://127.0.0.1:PORT`).
struct Servers {
    /// The page's own origin in section F.
    o: String,
    r: String,
    p: String,
}

static LOG: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let bind = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            l.set_nonblocking(true).expect("non-blocking listener");
            l
        };
        let listeners = [("o", bind()), ("r", bind()), ("p", bind())];
        let origin = |l: &std::net::TcpListener| {
            format!("http://{}", l.local_addr().expect("local address"))
        };
        let servers = Servers {
            o: origin(&listeners[0].1),
            r: origin(&listeners[1].1),
            p: origin(&listeners[2].1),
        };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                for (at, listener) in listeners {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::spawn(accept_loop(at, listener));
                }
                std::future::pending::<()>().await;
            });
        });
        servers
    })
}

async fn accept_loop(at: &'static str, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(at, req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    fn status(&self, name: &str, default: u16) -> u16 {
        self.get(name)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    }
}

type Headers = Vec<(String, String)>;

fn push(h: &mut Headers, name: &str, value: &str) {
    h.push((name.to_string(), value.to_string()));
}

/// `Name:Value` lines from the query (the value kept byte for byte).
fn literal(lines: Vec<&str>) -> Headers {
    lines
        .into_iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

async fn handle(
    at: &'static str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let q = Query(
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
    );
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let headers: Headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let seen = Seen {
        token: q.get("token").unwrap_or_default().to_string(),
        at,
        method: method.clone(),
        headers,
    };
    let header = |name: &str| seen.header(name).map(str::to_string);
    let (acrm, accept, origin) = (
        header("access-control-request-method"),
        header("accept"),
        header("origin"),
    );
    LOG.lock().expect("log").push(seen);
    let _ = req.into_body().collect().await;

    let preflight = method == "OPTIONS";
    let mut h = Headers::new();
    let status = match path.as_str() {
        "/preflight.py" => {
            push(&mut h, "Content-Type", "text/plain");
            let origins = q.all("origin");
            if origins.is_empty() {
                push(&mut h, "Access-Control-Allow-Origin", "*");
            }
            for o in origins {
                push(&mut h, "Access-Control-Allow-Origin", o);
            }
            if q.has("credentials") {
                push(&mut h, "Access-Control-Allow-Credentials", "true");
            }
            if !preflight {
                200
            } else if acrm.is_none() || accept.as_deref() != Some("*/*") {
                400
            } else {
                for (param, name) in [
                    ("max_age", "Access-Control-Max-Age"),
                    ("allow_headers", "Access-Control-Allow-Headers"),
                    ("allow_methods", "Access-Control-Allow-Methods"),
                ] {
                    if let Some(v) = q.get(param) {
                        push(&mut h, name, v);
                    }
                }
                q.status("preflight_status", 200)
            }
        }
        "/redirect.py" => {
            push(&mut h, "Content-Type", "text/plain");
            push(&mut h, "Cache-Control", "no-cache");
            match &origin {
                Some(o) => {
                    push(&mut h, "Access-Control-Allow-Origin", o);
                    push(&mut h, "Access-Control-Allow-Credentials", "true");
                }
                None => push(&mut h, "Access-Control-Allow-Origin", "*"),
            }
            if preflight {
                if let Some(v) = q.get("allow_headers") {
                    push(&mut h, "Access-Control-Allow-Headers", v);
                }
            }
            if preflight && !q.has("redirect_preflight") {
                200
            } else {
                if let Some(l) = q.get("location") {
                    push(&mut h, "Location", l);
                }
                q.status("redirect_status", 302)
            }
        }
        "/cors-preflight.py" => {
            push(&mut h, "Access-Control-Allow-Origin", "*");
            if preflight {
                push(
                    &mut h,
                    "Access-Control-Allow-Methods",
                    &acrm.unwrap_or_default(),
                );
                push(&mut h, "Access-Control-Allow-Headers", "x-print");
            }
            200
        }
        "/makeheader" if preflight => {
            h = literal(q.all("pfh"));
            q.status("pf_status", 200)
        }
        "/makeheader" => {
            h = literal(q.all("h"));
            if let Some(l) = q.get("location") {
                push(&mut h, "Location", l);
            }
            q.status("status", 200)
        }
        _ => 404,
    };
    Ok(response(status, h))
}

fn response(status: u16, headers: Headers) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => {
                response.headers_mut().append(n, v);
            }
            _ => *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    response
}

fn seen(token: &str) -> Vec<Seen> {
    LOG.lock()
        .expect("log")
        .iter()
        .filter(|s| s.token == token)
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------
// Cases.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow,
    /// Chromium's `CorsError` name and the stage.
    Block(&'static str, &'static str),
}

/// What one run of the binary gave.
struct Outcome {
    code: Option<i32>,
    json: Value,
    stderr: String,
    seen: Vec<Seen>,
}

impl Outcome {
    fn preflights(&self) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.is_preflight()).collect()
    }
    fn actuals(&self) -> Vec<&Seen> {
        self.seen.iter().filter(|s| !s.is_preflight()).collect()
    }
    fn exposed(&self) -> Vec<String> {
        self.json["actual"]["exposed_headers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    }
}

type Check = Box<dyn Fn(&Outcome) -> Result<(), String> + Send + Sync>;

struct Case {
    id: String,
    token: String,
    url: String,
    origin: String,
    args: Vec<String>,
    expect: Expect,
    checks: Vec<Check>,
}

/// URLs of one case: every one carries the case's token.
struct At {
    token: String,
}

impl At {
    fn url(&self, base: &str, path: &str, params: &[(&str, &str)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("token", &self.token);
        for (k, v) in params {
            q.append_pair(k, v);
        }
        format!("{base}{path}?{}", q.finish())
    }
}

/// A `h=`/`pfh=` value for `/makeheader`.
fn hv(name: &str, value: &str) -> String {
    format!("{name}:{value}")
}

fn case(id: impl Into<String>, url: impl FnOnce(&At) -> String) -> Case {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let id = id.into();
    let mut token: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    token.push_str(&format!("-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let url = url(&At {
        token: token.clone(),
    });
    Case {
        id,
        token,
        url,
        origin: O.to_string(),
        args: Vec::new(),
        expect: Expect::Allow,
        checks: Vec::new(),
    }
}

impl Case {
    fn origin(mut self, origin: &str) -> Case {
        self.origin = origin.to_string();
        self
    }
    /// `-X M`, with `--send-actual` for a method other than GET and HEAD, as
    /// the WPT test does send it.
    fn method(mut self, m: &str) -> Case {
        self.args.extend(["-X".to_string(), m.to_string()]);
        if !matches!(m.to_ascii_uppercase().as_str(), "GET" | "HEAD") {
            self.args.push("--send-actual".into());
        }
        self
    }
    fn header(mut self, name: &str, value: &str) -> Case {
        self.args
            .extend(["-H".to_string(), format!("{name}: {value}")]);
        self
    }
    fn arg(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }
    fn block(mut self, reason: &'static str, stage: &'static str) -> Case {
        self.expect = Expect::Block(reason, stage);
        self
    }
    fn check(mut self, f: impl Fn(&Outcome) -> Result<(), String> + Send + Sync + 'static) -> Case {
        self.checks.push(Box::new(f));
        self
    }
    /// How many preflights the server got.
    fn preflights(self, n: usize) -> Case {
        self.check(move |o| match o.preflights().len() {
            got if got == n => Ok(()),
            got => Err(format!("{got} preflights reached the server, expected {n}")),
        })
    }
    /// The `Access-Control-Request-Headers` of the (single) preflight.
    fn acrh(self, want: Option<&'static str>) -> Case {
        self.check(move |o| {
            let pf = o.preflights();
            let [pf] = pf.as_slice() else {
                return Err(format!("{} preflights, expected 1", pf.len()));
            };
            match pf.header("access-control-request-headers") {
                got if got == want => Ok(()),
                got => Err(format!("preflight ACRH {got:?}, expected {want:?}")),
            }
        })
    }
    /// The `Origin` header of the last actual request (the final hop).
    fn final_origin(self, want: String) -> Case {
        self.check(move |o| {
            let got = o.actuals().last().and_then(|s| s.header("origin"));
            if got == Some(want.as_str()) {
                Ok(())
            } else {
                Err(format!("final Origin {got:?}, expected {want:?}"))
            }
        })
    }
    fn exposes(self, names: &'static [&'static str], visible: bool) -> Case {
        self.check(move |o| {
            let exposed = o.exposed();
            for n in names {
                let lower = n.to_ascii_lowercase();
                if exposed.contains(&lower) != visible {
                    return Err(format!(
                        "{n} {} (exposed: {exposed:?})",
                        if visible { "hidden" } else { "exposed" }
                    ));
                }
                // The header did arrive: the filter, not its absence, decides.
                if o.json["actual"]["headers"].get(&lower).is_none() {
                    return Err(format!("{n} not in the response at all"));
                }
            }
            Ok(())
        })
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_preflight")
}

fn run_case(c: &Case) -> Result<(), String> {
    let output = Command::new(bin())
        .arg("check")
        .arg(&c.url)
        .args(["--origin", &c.origin, "--json", "--timeout", "5"])
        .args(&c.args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Value =
        serde_json::from_str(&stdout).map_err(|e| format!("stdout is not JSON ({e}): {stdout}"))?;
    let o = Outcome {
        code: output.status.code(),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        seen: seen(&c.token),
    };
    let verdict = o.json["verdict"].as_str().unwrap_or("?");
    let reason = o.json["reason"].as_str();
    let stage = o.json["stage"].as_str();
    let got = format!(
        "exit {:?}, verdict {verdict}, reason {reason:?}, stage {stage:?}, message {}",
        o.code, o.json["message"]
    );
    match c.expect {
        Expect::Allow => {
            if o.code != Some(0) || verdict != "allowed" || reason.is_some() {
                return Err(format!("expected ALLOW, got {got}"));
            }
        }
        Expect::Block(want_reason, want_stage) => {
            if o.code != Some(1)
                || verdict != "blocked"
                || reason != Some(want_reason)
                || stage != Some(want_stage)
            {
                return Err(format!(
                    "expected BLOCK {want_reason} at the {want_stage}, got {got}"
                ));
            }
            match o.json["fix"].as_str() {
                Some(fix) if !fix.is_empty() => {}
                _ => return Err("blocked without a fix".into()),
            }
        }
    }
    if !o.stderr.is_empty() {
        return Err(format!("stderr: {}", o.stderr));
    }
    // R13, on every preflight of every case: what the WPT preflight server
    // insists on (it answers 400 without `Accept: */*`).
    for pf in o.preflights() {
        let acrm = pf.header("access-control-request-method");
        if pf.header("accept") != Some("*/*") || acrm.is_none() || pf.header("origin").is_none() {
            return Err(format!("malformed preflight: {:?}", pf.headers));
        }
        if pf.header("cookie").is_some() || pf.header("authorization").is_some() {
            return Err(format!("preflight with credentials: {:?}", pf.headers));
        }
    }
    for check in &c.checks {
        check(&o)?;
    }
    Ok(())
}

/// Run the cases on a few threads (the binary waits on the network, not the
/// CPU) and report every failure by case id.
fn run_all(section: &str, cases: Vec<Case>) {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let mut ids = HashMap::new();
    for c in &cases {
        assert!(
            ids.insert(c.token.clone(), ()).is_none(),
            "duplicate case {}",
            c.id
        );
    }
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                if let Err(e) = run_case(c) {
                    failures
                        .lock()
                        .expect("failures")
                        .push(format!("{}: {e}", c.id));
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("failures");
    failures.sort();
    assert!(
        failures.is_empty(),
        "section {section}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// A. CORS check on a non-preflighted response.

#[test]
fn a_cors_check() {
    let s = servers();
    let r = s.r.as_str();
    let p = s.p.as_str();
    let acao = |v: &str| hv("Access-Control-Allow-Origin", v);
    let simple = |id: String, base: &str, headers: Vec<String>| {
        case(id, |t| {
            let params: Vec<(&str, &str)> = headers.iter().map(|h| ("h", h.as_str())).collect();
            t.url(base, "/makeheader", &params)
        })
    };
    let mut cases = vec![
        simple("A1".into(), r, vec![]).block("MissingAllowOriginHeader", "actual"),
        simple("A2".into(), r, vec![acao("*")]),
        simple("A4".into(), r, vec![acao(O)]),
        simple("A5".into(), r, vec![acao(r)]).block("AllowOriginMismatch", "actual"),
        simple("A6".into(), p, vec![acao(p)]).block("AllowOriginMismatch", "actual"),
        simple("A9".into(), r, vec![acao(&format!("{O}/"))]).block("AllowOriginMismatch", "actual"),
        simple("A12".into(), r, vec![acao("null")]).block("AllowOriginMismatch", "actual"),
        simple("A15".into(), r, vec![acao("")]).block("InvalidAllowOriginValue", "actual"),
        simple("A17[O,O]".into(), p, vec![acao(O), acao(O)])
            .block("MultipleAllowOriginValues", "actual"),
        simple(
            "A17[*,example,*]".into(),
            p,
            vec![acao("*"), acao("http://example.com"), acao("*")],
        )
        .block("MultipleAllowOriginValues", "actual"),
        simple(
            "A19".into(),
            r,
            vec![acao("*"), hv("Access-Control-Allow-Credentials", "true")],
        )
        .arg(&["--credentials", "include"])
        .block("WildcardOriginNotAllowed", "actual"),
        simple(
            "A20".into(),
            r,
            vec![acao("*"), hv("Access-Control-Allow-Credentials", "true")],
        )
        .arg(&["--credentials", "omit"]),
    ];
    for (value, reason) in [
        ("web-platform.test:8000", "AllowOriginMismatch"),
        ("//web-platform.test:8000", "InvalidAllowOriginValue"),
        ("ftp://web-platform.test:8000", "AllowOriginMismatch"),
        (
            "http://web-platform.test:8000:80",
            "InvalidAllowOriginValue",
        ),
    ] {
        cases.push(simple(format!("A11[{value}]"), r, vec![acao(value)]).block(reason, "actual"));
    }
    for (value, reason) in [
        ("'*'", "InvalidAllowOriginValue"),
        ("\"*\"", "InvalidAllowOriginValue"),
        ("**", "InvalidAllowOriginValue"),
        ("-", "InvalidAllowOriginValue"),
        ("* *", "MultipleAllowOriginValues"),
    ] {
        cases.push(simple(format!("A14[{value}]"), r, vec![acao(value)]).block(reason, "actual"));
    }
    // A21: only the preflight needs a 2xx (R28); the actual status is readable.
    for method in ["GET", "HEAD", "POST", "PUT", "CHICKEN"] {
        for status in [400u16, 401, 404, 501, 699] {
            let status_s = status.to_string();
            cases.push(
                case(format!("A21[{method} {status}]"), |t| {
                    t.url(
                        r,
                        "/makeheader",
                        &[
                            ("pfh", &acao(O)),
                            (
                                "pfh",
                                &hv(
                                    "Access-Control-Allow-Methods",
                                    "GET, HEAD, POST, PUT, CHICKEN",
                                ),
                            ),
                            ("pfh", &hv("Access-Control-Allow-Headers", "x-nonsimple")),
                            ("status", &status_s),
                            ("h", &acao(O)),
                        ],
                    )
                })
                .method(method)
                .header("x-nonsimple", "1")
                .preflights(1)
                .check(move |o| match o.json["actual"]["status"].as_u64() {
                    Some(s) if s == u64::from(status) => Ok(()),
                    other => Err(format!("actual status {other:?}, expected {status}")),
                }),
            );
        }
    }
    run_all("A", cases);
}

// ---------------------------------------------------------------------------
// B. Response-header exposure.

#[test]
fn b_exposure() {
    let s = servers();
    let p = s.p.as_str();
    let acao = |v: &str| hv("Access-Control-Allow-Origin", v);
    let with = |id: String, headers: Vec<String>| {
        case(id, |t| {
            let params: Vec<(&str, &str)> = headers.iter().map(|h| ("h", h.as_str())).collect();
            t.url(p, "/makeheader", &params)
        })
    };
    // Content-Length comes from hyper itself (the body is empty).
    const B1: &[&str] = &[
        "Cache-Control",
        "Content-Language",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
        "Content-Length",
    ];
    const B2: &[&str] = &["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2"];
    let mut b1 = vec![acao("*")];
    b1.extend(
        B1.iter()
            .filter(|n| **n != "Content-Length")
            .map(|n| hv(n, "1")),
    );
    let mut b2 = vec![acao("*")];
    b2.extend(B2.iter().map(|n| hv(n, "1")));
    let mut cases = vec![
        with("B1".into(), b1).exposes(B1, true),
        with("B2".into(), b2).exposes(B2, false),
        with(
            "B7".into(),
            vec![
                acao("*"),
                hv("Access-Control-Expose-Headers", "set-cookie, *"),
                hv("test", "X"),
                hv("set-cookie", "a=1"),
            ],
        )
        .exposes(&["test"], true)
        .exposes(&["set-cookie"], false),
    ];
    for creds in ["omit", "include"] {
        for name in ["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2"] {
            let cookie = name.starts_with("Set-Cookie");
            let id = format!("{}[{creds} {name}]", if cookie { "B4" } else { "B3" });
            let names: &'static [&'static str] = match name {
                "Age" => &["Age"],
                "Server" => &["Server"],
                "Warning" => &["Warning"],
                "Set-Cookie" => &["Set-Cookie"],
                _ => &["Set-Cookie2"],
            };
            cases.push(
                with(
                    id,
                    vec![
                        acao(O),
                        hv("Access-Control-Allow-Credentials", "true"),
                        hv("Access-Control-Expose-Headers", name),
                        hv(name, "1"),
                    ],
                )
                .arg(&["--credentials", creds])
                .exposes(names, !cookie),
            );
        }
    }
    run_all("B", cases);
}

// ---------------------------------------------------------------------------
// C. Is a preflight needed?

#[test]
fn c_safelists() {
    let s = servers();
    let r = s.r.as_str();
    let cors_py = |id: String| case(id, |t| t.url(r, "/cors-preflight.py", &[]));
    let refused = "HeaderDisallowedByPreflightResponse";
    let mut cases = vec![
        cors_py("C1".into()).header("Accept", "*/*").preflights(0),
        cors_py("C2[POST]".into()).method("POST").preflights(0),
        cors_py("C2[HEAD]".into()).method("HEAD").preflights(0),
        cors_py("C8".into())
            .method("POST")
            .header("Content-Type", "application/www-form-urlencoded")
            .block(refused, "preflight")
            .preflights(1),
        cors_py("C11".into())
            .header("Range", "bytes=-200")
            .block(refused, "preflight")
            .preflights(1),
        cors_py("C12".into())
            .header("Range", "bytes=100-200,300-400")
            .block(refused, "preflight")
            .preflights(1),
    ];
    for (name, value) in [
        ("Accept-Language", "fr"),
        ("Content-Language", "fr"),
        ("Content-Type", "multipart/form-data"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ] {
        cases.push(
            cors_py(format!("C4[{name}: {value}]"))
                .header(name, value)
                .preflights(0),
        );
    }
    for ct in ["text /plain", "text\t/\tplain"] {
        cases.push(
            cors_py(format!("C5[{}]", ct.replace('\t', "\\t")))
                .method("POST")
                .header("Content-Type", ct)
                .block(refused, "preflight")
                .preflights(1),
        );
    }
    for ct in ["text/plain;", "text/plain;garbage"] {
        cases.push(
            cors_py(format!("C6[{ct}]"))
                .method("POST")
                .header("Content-Type", ct)
                .preflights(0),
        );
    }
    for ct in [
        "text/plain,",
        ",text/plain",
        "text/plain,text/plain",
        "text/plain,x/x",
    ] {
        cases.push(
            cors_py(format!("C7[{ct}]"))
                .method("POST")
                .header("Content-Type", ct)
                .block(refused, "preflight")
                .preflights(1),
        );
    }
    for v in ["bytes=100-200", "bytes=200-"] {
        cases.push(
            cors_py(format!("C10[{v}]"))
                .header("Range", v)
                .preflights(0),
        );
    }
    for v in ["bytes=200-100", "bytes=abc-def", "bytes=100-200hello"] {
        cases.push(
            cors_py(format!("C14[{v}]"))
                .header("Range", v)
                .block(refused, "preflight")
                .preflights(1),
        );
    }
    // C15-C17: preflight.py allows the header, so the fetch goes through; what
    // is asserted is that a preflight went out naming it.
    let allowing = |id: String, name: &'static str| {
        case(id, |t| {
            t.url(r, "/preflight.py", &[("allow_headers", name)])
        })
    };
    let long_accept = "a".repeat(129);
    let long_ct = format!("text/plain; long={}", "0".repeat(118));
    for (id, name, value, acrh) in [
        ("C15[129 bytes]", "Accept", long_accept.as_str(), "accept"),
        ("C15[\"]", "Accept", "\"", "accept"),
        (
            "C16[accept-language: @]",
            "Accept-Language",
            "@",
            "accept-language",
        ),
        (
            "C16[content-language: @]",
            "Content-Language",
            "@",
            "content-language",
        ),
        (
            "C17[text/html]",
            "Content-Type",
            "text/html",
            "content-type",
        ),
        (
            "C17[long text/plain]",
            "Content-Type",
            long_ct.as_str(),
            "content-type",
        ),
        ("C17[range]", "Range", "bytes 0-", "range"),
        (
            "C17[authorization]",
            "Authorization",
            "basics",
            "authorization",
        ),
        ("C17[test]", "test", "hi", "test"),
    ] {
        cases.push(
            allowing(id.into(), acrh)
                .header(name, value)
                .acrh(Some(acrh)),
        );
    }
    cases.push(
        case("C19", |t| {
            t.url(r, "/preflight.py", &[("allow_methods", "PUT")])
        })
        .method("PUT")
        .header("Accept", "*/*")
        .acrh(None)
        .check(|o| match o.actuals().len() {
            1 => Ok(()),
            n => Err(format!("{n} actual requests, expected 1")),
        }),
    );
    for m in ["DELETE", "PUT", "PATCH", "NEW"] {
        cases.push(
            case(format!("C20[{m}]"), |t| t.url(r, "/preflight.py", &[]))
                .method(m)
                .block("MethodDisallowedByPreflightResponse", "preflight")
                .preflights(1)
                .check(|o| match o.actuals().len() {
                    0 => Ok(()),
                    n => Err(format!("{n} actual requests after a refused preflight")),
                }),
        );
    }
    cases.push(
        case("C21", |t| {
            t.url(r, "/preflight.py", &[("allow_methods", "PUT")])
        })
        .method("PUT")
        .preflights(1)
        .check(|o| {
            let pf = o.preflights().first().and_then(|s| s.header("user-agent"));
            let actual = o.actuals().first().and_then(|s| s.header("user-agent"));
            if pf.is_some() && pf == actual {
                Ok(())
            } else {
                Err(format!("preflight User-Agent {pf:?}, actual {actual:?}"))
            }
        }),
    );
    run_all("C", cases);
}

/// C16 with `Accept-Language: \u{1}`: a browser sends that byte; the `http`
/// crate refuses control bytes in a header value, so `check` cannot send it.
/// It must say so and stop (exit 2) before sending anything.
#[test]
fn c16_control_byte_is_an_error_before_anything_is_sent() {
    let s = servers();
    let c = case("C16[accept-language: \\u1]", |t| {
        t.url(
            &s.r,
            "/preflight.py",
            &[("allow_headers", "accept-language")],
        )
    });
    let output = Command::new(bin())
        .args([
            "check",
            &c.url,
            "--origin",
            O,
            "-H",
            "Accept-Language: \u{1}",
        ])
        .output()
        .expect("run preflight");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "C16[\\u1]: {stderr}");
    assert!(stderr.contains("Accept-Language"), "C16[\\u1]: {stderr}");
    assert!(seen(&c.token).is_empty(), "C16[\\u1]: a request was sent");
}

// ---------------------------------------------------------------------------
// D. Evaluating the preflight response.

#[test]
fn d_preflight_response() {
    let s = servers();
    let r = s.r.as_str();
    let py = |id: String, params: Vec<(&'static str, String)>| {
        case(id, |t| {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.url(r, "/preflight.py", &params)
        })
    };
    let forced = |id: String, status: u16| {
        py(
            id,
            vec![
                ("allow_headers", "x-force-preflight".into()),
                ("preflight_status", status.to_string()),
            ],
        )
        .header("x-force-preflight", "1")
        .preflights(1)
    };
    let mut cases = Vec::new();
    for status in 200..=206 {
        cases.push(forced(format!("D1[{status}]"), status));
    }
    for status in 300..=308 {
        cases.push(
            forced(format!("D2[{status}]"), status).block("PreflightInvalidStatus", "preflight"),
        );
    }
    for status in (400..=417).chain(501..=505).chain([680, 790]) {
        cases.push(
            forced(format!("D3[{status}]"), status).block("PreflightInvalidStatus", "preflight"),
        );
    }
    cases.push(
        py(
            "D5".into(),
            vec![
                ("allow_headers", "x-force-preflight".into()),
                ("allow_methods", "Bad method name".into()),
            ],
        )
        .header("x-force-preflight", "1")
        .block("InvalidAllowMethodsPreflightResponse", "preflight"),
    );
    // cors-preflight-star.any.js: `origin`/`credentials` for the credentialed rows.
    let star = |id: &str, methods: &str, headers: &str, creds: bool| {
        let mut params = vec![
            ("allow_methods", methods.to_string()),
            ("allow_headers", headers.to_string()),
        ];
        if creds {
            params.push(("origin", O.to_string()));
            params.push(("credentials", "1".to_string()));
        }
        let c = py(id.to_string(), params);
        if creds {
            c.arg(&["--credentials", "include"])
        } else {
            c
        }
    };
    cases.push(
        star("D6", "get", "x-test", false)
            .header("X-Test", "1")
            .preflights(1),
    );
    cases.push(
        star("D7", "*", "x-test", false)
            .method("SUPER")
            .header("X-Test", "1"),
    );
    cases.push(
        star("D8", "*", "*", false)
            .method("OK")
            .header("X-Test", "1"),
    );
    cases.push(
        star("D10", "*", "", true)
            .method("PUT")
            .block("MethodDisallowedByPreflightResponse", "preflight"),
    );
    cases.push(
        star("D11", "get", "*", true)
            .header("X-Test", "1")
            .block("HeaderDisallowedByPreflightResponse", "preflight"),
    );
    cases.push(
        star("D13", "PUT", "", true)
            .method("put")
            .preflights(1)
            .check(|o| {
                match o
                    .preflights()
                    .first()
                    .and_then(|s| s.header("access-control-request-method"))
                {
                    Some("PUT") => Ok(()),
                    other => Err(format!("ACRM {other:?}, expected PUT (normalized)")),
                }
            }),
    );
    for m in [
        "get", "GET", "gEt", "head", "HEAD", "hEaD", "post", "POST", "pOsT",
    ] {
        cases.push(
            star(&format!("D16[{m}]"), "*", "", true)
                .method(m)
                .preflights(0),
        );
    }
    // D17: the one case where the profiles disagree (R22, whatwg/fetch#1919).
    cases.push(
        star("D17[chromium]", "*", "*", false)
            .method("POST")
            .header("Authorization", "123")
            .preflights(1),
    );
    cases.push(
        star("D17[spec]", "*", "*", false)
            .method("POST")
            .header("Authorization", "123")
            .arg(&["--profile", "spec"])
            .block("HeaderDisallowedByPreflightResponse", "preflight"),
    );
    for profile in ["chromium", "spec"] {
        cases.push(
            star(&format!("D18[{profile}]"), "*", "*, Authorization", false)
                .method("POST")
                .header("Authorization", "123")
                .arg(&["--profile", profile]),
        );
    }
    let makeheader = |id: &str, acah: &'static str| {
        case(id, |t| {
            t.url(
                r,
                "/makeheader",
                &[
                    ("pfh", &hv("Access-Control-Allow-Origin", O)),
                    ("pfh", &hv("Access-Control-Allow-Headers", acah)),
                    ("h", &hv("Access-Control-Allow-Origin", O)),
                ],
            )
        })
    };
    cases.push(
        makeheader("D20", "x-print")
            .header("x-print", "1")
            .header("y-print", "2")
            .block("HeaderDisallowedByPreflightResponse", "preflight")
            .acrh(Some("x-print,y-print")),
    );
    cases.push(
        makeheader("D21", "x-print,")
            .header("x-print", "1")
            .header("Content-Type", "text/plain")
            .header("Accept", "test")
            .header("Accept-Language", "nn")
            .header("Content-Language", "nn")
            .acrh(Some("x-print")),
    );
    run_all("D", cases);
}

// ---------------------------------------------------------------------------
// F. Redirects. Here the page's origin is the `o` listener, so that hops to
// and from the page's own origin are real.

#[test]
fn f_redirects() {
    let s = servers();
    let (o, r, p) = (s.o.as_str(), s.r.as_str(), s.p.as_str());
    let acao = |v: &str| hv("Access-Control-Allow-Origin", v);
    // `base/redirect.py` -> `to` with `status`.
    let redirect = |id: String, base: &str, status: u16, to: &dyn Fn(&At) -> String| {
        case(id, |t| {
            let location = to(t);
            t.url(
                base,
                "/redirect.py",
                &[
                    ("redirect_status", &status.to_string()),
                    ("location", &location),
                ],
            )
        })
        .origin(o)
    };
    // `base/makeheader` -> `to`, with literal headers on the 302.
    let literal = |id: &str, base: &str, headers: Vec<String>, to: &dyn Fn(&At) -> String| {
        case(id, |t| {
            let location = to(t);
            let mut params: Vec<(&str, &str)> = headers.iter().map(|h| ("h", h.as_str())).collect();
            params.push(("status", "302"));
            params.push(("location", &location));
            t.url(base, "/makeheader", &params)
        })
        .origin(o)
    };
    let mut cases = Vec::new();
    for status in [301u16, 302, 303, 307, 308] {
        cases.push(
            redirect(format!("F1[{status}]"), r, status, &|t| {
                t.url(r, "/preflight.py", &[])
            })
            .preflights(0)
            .final_origin(o.to_string()),
        );
        cases.push(
            redirect(format!("F2[{status}]"), r, status, &|t| {
                t.url(p, "/preflight.py", &[])
            })
            .final_origin("null".into()),
        );
        cases.push(
            redirect(format!("F3[{status}]"), o, status, &|t| {
                t.url(r, "/preflight.py", &[])
            })
            .final_origin(o.to_string()),
        );
        cases.push(
            redirect(format!("F4[{status}]"), r, status, &|t| {
                t.url(o, "/preflight.py", &[])
            })
            .final_origin("null".into()),
        );
    }
    // F4, the other half: back on O the response still needs ACAO (R35).
    cases.push(
        redirect("F4[no ACAO at O]".into(), r, 302, &|t| {
            t.url(o, "/makeheader", &[])
        })
        .block("MissingAllowOriginHeader", "actual"),
    );
    cases.push(
        literal("F6", r, vec![acao("*")], &|t| {
            t.url(o, "/makeheader", &[("h", &acao("null"))])
        })
        .final_origin("null".into()),
    );
    for (id, headers, reason) in [
        ("F7[null]", vec![acao("null")], "AllowOriginMismatch"),
        ("F7[none]", vec![], "MissingAllowOriginHeader"),
    ] {
        cases.push(
            literal(id, r, headers, &|t| {
                t.url(r, "/makeheader", &[("h", &acao("*"))])
            })
            .block(reason, "actual")
            .check(|out| match out.actuals().len() {
                1 => Ok(()),
                n => Err(format!(
                    "{n} requests; the refused redirect must not be followed"
                )),
            }),
        );
    }
    cases.push(
        literal("F8", o, vec![], &|t| {
            t.url(r, "/makeheader", &[("h", &acao("*"))])
        })
        .final_origin(o.to_string()),
    );
    cases.push(
        literal("F10", r, vec![acao("*")], &|t| {
            t.url(r, "/makeheader", &[("h", &acao(r))])
        })
        .block("AllowOriginMismatch", "actual"),
    );
    let userinfo = |base: &str, info: &str| {
        let rest = base.strip_prefix("http://").unwrap_or(base);
        format!("http://{info}@{rest}")
    };
    for (label, from, to) in [
        ("O->user:password@P", o, userinfo(p, "user:password")),
        ("O->user:@P", o, userinfo(p, "user:")),
        ("O->:password@P", o, userinfo(p, ":password")),
        ("P->user:pass@O", p, userinfo(o, "user:pass")),
        ("P->user:pass@R", p, userinfo(r, "user:pass")),
    ] {
        cases.push(
            redirect(format!("F11[{label}]"), from, 302, &|t| {
                t.url(&to, "/preflight.py", &[])
            })
            .block("RedirectContainsCredentials", "actual")
            .check(|out| match out.seen.len() {
                1 => Ok(()),
                n => Err(format!(
                    "{n} requests; the userinfo URL must not be requested"
                )),
            }),
        );
    }
    cases.push(redirect("F11[no userinfo]".into(), o, 302, &|t| {
        t.url(p, "/preflight.py", &[])
    }));
    for (label, allow, expect) in [
        ("allowed", "x-w3c", Expect::Allow),
        (
            "refused",
            "x-other",
            Expect::Block("HeaderDisallowedByPreflightResponse", "preflight"),
        ),
    ] {
        let mut c = redirect(format!("F12[{label}]"), o, 302, &|t| {
            t.url(r, "/preflight.py", &[("allow_headers", allow)])
        })
        .header("x-w3c", "1")
        .check(|out| {
            // No preflight on the same-origin first hop; one at R (R35).
            let at: Vec<&str> = out.preflights().iter().map(|s| s.at).collect();
            if at == ["r"] {
                Ok(())
            } else {
                Err(format!("preflights at {at:?}, expected one at R"))
            }
        });
        c.expect = expect;
        cases.push(c);
    }
    for status in [301u16, 302, 303, 307, 308] {
        cases.push(
            case(format!("F14[{status}]"), |t| {
                t.url(
                    r,
                    "/redirect.py",
                    &[
                        ("redirect_status", &status.to_string()),
                        ("redirect_preflight", "1"),
                        ("allow_headers", "x-force-preflight"),
                        ("location", &t.url(r, "/preflight.py", &[])),
                    ],
                )
            })
            .origin(o)
            .header("x-force-preflight", "1")
            .block("PreflightDisallowedRedirect", "preflight")
            .preflights(1)
            .check(|out| match out.actuals().len() {
                0 => Ok(()),
                n => Err(format!(
                    "{n} other requests; a preflight redirect is never followed"
                )),
            }),
        );
    }
    run_all("F", cases);
}
