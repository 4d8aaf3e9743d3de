//! Every case of the web-platform-tests CORS cases (docs/browser-model.md#sources), as table rows run through the
//! browser simulation (`preflight_core::browser::simulate`).
//!
//! Each row is named by its case id (`A1`, `D17`...; `C5[text /plain]` for one
//! variant of a case), names the profile, the request made from O, the server
//! (a function answering each request the way the WPT server script does), and
//! the expected verdict: ALLOW, OPAQUE, or BLOCK with Chromium's `CorsError`
//! name. Cache rows (E) are sequences of requests on a clock.
//!
//! Notation (WPT default hosts): O is the page's origin, R and R2 are other
//! hosts, P is O's host on another port.

mod a_cors_check;
mod b_exposure;
mod c_needs_preflight;
mod d_preflight_response;
mod e_cache;
mod f_redirects;
mod g_credentials;
mod origin_htm;

use std::time::Duration;

use preflight_core::browser::{
    simulate, BrowserRequest, CredentialsMode, ExchangeKind, FetchOutcome, FetchTrace,
    PreflightCache, Profile, RequestMode, ResponseType, SentRequest, ServerResponse,
};
use preflight_core::Origin;

const O: &str = "http://web-platform.test:8000";
const R: &str = "http://www1.web-platform.test:8000";
const P: &str = "http://web-platform.test:8001";
const R2: &str = "http://www2.web-platform.test:8000";

type Server = Box<dyn Fn(&SentRequest) -> ServerResponse>;
type Check = Box<dyn Fn(&FetchTrace) -> Result<(), String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow,
    Opaque,
    Block(&'static str),
}

struct Row {
    id: String,
    profile: Profile,
    request: BrowserRequest,
    server: Server,
    expect: Expect,
    /// How many preflights go out (None: not part of the case).
    preflights: Option<usize>,
    check: Option<Check>,
}

fn row(id: impl Into<String>, request: BrowserRequest, server: Server, expect: Expect) -> Row {
    Row {
        id: id.into(),
        profile: Profile::Chromium,
        request,
        server,
        expect,
        preflights: None,
        check: None,
    }
}

impl Row {
    fn profile(mut self, profile: Profile) -> Row {
        self.profile = profile;
        self
    }
    fn preflights(mut self, n: usize) -> Row {
        self.preflights = Some(n);
        self
    }
    fn check(mut self, f: impl Fn(&FetchTrace) -> Result<(), String> + 'static) -> Row {
        self.check = Some(Box::new(f));
        self
    }
}

fn origin_o() -> Origin {
    Origin::parse_serialized(O).unwrap()
}

/// A request from O.
fn req(method: &str, url: &str) -> BrowserRequest {
    BrowserRequest::new(origin_o(), url.parse().unwrap()).method(method)
}

fn get(url: &str) -> BrowserRequest {
    req("GET", url)
}

/// Every request gets this answer.
fn always(status: u16, headers: &[(&str, &str)]) -> Server {
    let response = ServerResponse::new(status, headers);
    Box::new(move |_| response.clone())
}

/// Preflights get one answer, actual requests another.
fn split(preflight: ServerResponse, actual: ServerResponse) -> Server {
    Box::new(move |r| match r.kind {
        ExchangeKind::Preflight => preflight.clone(),
        ExchangeKind::Actual => actual.clone(),
    })
}

/// `fetch/api/resources/preflight.py`: `ACAO: *` (or one line per `origin`),
/// `ACAC: true` with `credentials`, ACAM/ACAH/ACMA when asked; with no
/// `allow_headers` it echoes ACRH into ACAH; a preflight without `Accept: */*`
/// or without ACRM gets 400.
#[derive(Clone, Default)]
struct PreflightPy {
    origins: Option<Vec<&'static str>>,
    credentials: bool,
    allow_methods: Option<&'static str>,
    allow_headers: Option<&'static str>,
    max_age: Option<&'static str>,
    preflight_status: Option<u16>,
    preflight_location: Option<&'static str>,
}

impl PreflightPy {
    fn respond(&self, r: &SentRequest) -> ServerResponse {
        let mut h: Vec<(String, String)> = vec![("Content-Type".into(), "text/plain".into())];
        match &self.origins {
            Some(list) => {
                for o in list {
                    h.push(("Access-Control-Allow-Origin".into(), (*o).into()));
                }
            }
            None => h.push(("Access-Control-Allow-Origin".into(), "*".into())),
        }
        if self.credentials {
            h.push(("Access-Control-Allow-Credentials".into(), "true".into()));
        }
        if r.kind == ExchangeKind::Actual {
            return ServerResponse {
                status: 200,
                headers: h,
            };
        }
        if r.header("access-control-request-method").is_none()
            || r.header("accept").as_deref() != Some("*/*")
        {
            return ServerResponse {
                status: 400,
                headers: h,
            };
        }
        if let Some(m) = self.allow_methods {
            h.push(("Access-Control-Allow-Methods".into(), m.into()));
        }
        match (
            self.allow_headers,
            r.header("access-control-request-headers"),
        ) {
            (Some(v), _) => h.push(("Access-Control-Allow-Headers".into(), v.into())),
            (None, Some(acrh)) => h.push(("Access-Control-Allow-Headers".into(), acrh)),
            (None, None) => {}
        }
        if let Some(a) = self.max_age {
            h.push(("Access-Control-Max-Age".into(), a.into()));
        }
        if let Some(l) = self.preflight_location {
            h.push(("Location".into(), l.into()));
        }
        ServerResponse {
            status: self.preflight_status.unwrap_or(200),
            headers: h,
        }
    }

    fn server(self) -> Server {
        Box::new(move |r| self.respond(r))
    }
}

/// `cors/resources/preflight.py`: a preflight gets `ACAO: *`, ACAM = the
/// requested method and `ACAH: x-print`; the actual request gets `ACAO: *`.
fn cors_preflight_py() -> Server {
    Box::new(|r| match r.kind {
        ExchangeKind::Preflight => {
            let method = r
                .header("access-control-request-method")
                .unwrap_or_default();
            ServerResponse {
                status: 200,
                headers: vec![
                    ("Access-Control-Allow-Origin".into(), "*".into()),
                    ("Access-Control-Allow-Methods".into(), method),
                    ("Access-Control-Allow-Headers".into(), "x-print".into()),
                ],
            }
        }
        ExchangeKind::Actual => ServerResponse::new(200, &[("Access-Control-Allow-Origin", "*")]),
    })
}

/// One hop of a redirect chain, keyed by URL (without query).
enum Hop {
    /// `fetch/api/resources/redirect.py`: `status` to `to`, reflecting the
    /// request's `Origin` in ACAO (with `ACAC: true`), or `ACAO: *` without one.
    RedirectPy {
        status: u16,
        to: String,
    },
    /// A 3xx with literal headers (`cors/resources/cors-makeheader.py`).
    RedirectLiteral {
        status: u16,
        to: String,
        headers: Vec<(&'static str, &'static str)>,
    },
    /// A final answer.
    Final(ServerResponse),
    Preflight(PreflightPy),
}

fn chain(hops: Vec<(String, Hop)>) -> Server {
    Box::new(move |r| {
        let mut url = r.url.clone();
        url.set_query(None);
        let Some((_, hop)) = hops.iter().find(|(u, _)| *u == url.as_str()) else {
            return ServerResponse::new(404, &[]);
        };
        match hop {
            Hop::RedirectPy { status, to } => {
                let mut h = vec![("Location".to_string(), to.clone())];
                match r.header("origin") {
                    Some(o) => {
                        h.push(("Access-Control-Allow-Origin".into(), o));
                        h.push(("Access-Control-Allow-Credentials".into(), "true".into()));
                    }
                    None => h.push(("Access-Control-Allow-Origin".into(), "*".into())),
                }
                ServerResponse {
                    status: *status,
                    headers: h,
                }
            }
            Hop::RedirectLiteral {
                status,
                to,
                headers,
            } => {
                let mut response = ServerResponse::new(*status, headers);
                response.headers.push(("Location".into(), to.clone()));
                response
            }
            Hop::Final(response) => response.clone(),
            Hop::Preflight(py) => py.respond(r),
        }
    })
}

fn url(base: &str, path: &str) -> String {
    format!("{base}{path}")
}

fn final_origin(trace: &FetchTrace) -> Option<String> {
    trace.last_request().and_then(|r| r.header("origin"))
}

fn expect_final_origin(want: Option<&'static str>) -> impl Fn(&FetchTrace) -> Result<(), String> {
    move |t| {
        let got = final_origin(t);
        if got.as_deref() == want {
            Ok(())
        } else {
            Err(format!("final Origin header {got:?}, expected {want:?}"))
        }
    }
}

fn exposed(t: &FetchTrace) -> Vec<String> {
    t.outcome
        .allowed()
        .map(|ok| ok.exposed_headers.clone())
        .unwrap_or_default()
}

/// The `Access-Control-Request-Headers` of the preflight is `want`.
fn acrh_is(want: &'static str) -> impl Fn(&FetchTrace) -> Result<(), String> {
    move |t: &FetchTrace| {
        let pf = t
            .exchanges
            .iter()
            .find(|e| e.request.kind == ExchangeKind::Preflight)
            .ok_or("no preflight")?;
        match pf.request.header("access-control-request-headers") {
            Some(v) if v == want => Ok(()),
            other => Err(format!("ACRH {other:?}, expected {want}")),
        }
    }
}

/// A request whose preflight is forced (`x-force-preflight`).
fn forced() -> BrowserRequest {
    get(&url(R, "/preflight.py")).header("x-force-preflight", "1")
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    a_cors_check::rows(&mut rows);
    b_exposure::rows(&mut rows);
    c_needs_preflight::rows(&mut rows);
    d_preflight_response::rows(&mut rows);
    f_redirects::rows(&mut rows);
    g_credentials::rows(&mut rows);
    rows
}

fn run_row(row: &Row) -> Result<(), String> {
    let mut cache = PreflightCache::new(row.profile);
    let trace = simulate(&row.request, row.profile, &mut cache, Duration::ZERO, |r| {
        (row.server)(r)
    });
    match (&row.expect, &trace.outcome) {
        (Expect::Allow, FetchOutcome::Allowed(ok)) if ok.response_type != ResponseType::Opaque => {}
        (Expect::Opaque, FetchOutcome::Allowed(ok))
            if ok.response_type == ResponseType::Opaque
                && ok.status == 0
                && ok.exposed_headers.is_empty() => {}
        (Expect::Block(name), FetchOutcome::Blocked(blocked)) if blocked.name() == *name => {
            if blocked.message.is_empty() || blocked.fix.is_empty() {
                return Err("blocked verdict without message or fix".into());
            }
        }
        (want, got) => return Err(format!("expected {want:?}, got {got:?}")),
    }
    if let Some(n) = row.preflights {
        if trace.preflights() != n {
            return Err(format!(
                "{} preflights sent, expected {n}",
                trace.preflights()
            ));
        }
    }
    if let Some(check) = &row.check {
        check(&trace)?;
    }
    Ok(())
}

#[test]
fn wpt_cases() {
    let rows = rows();
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            run_row(r)
                .err()
                .map(|e| format!("{} ({}): {e}", r.id, r.profile))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Every web-platform-tests case id has at least one row (E has its own test).
#[test]
fn every_case_has_a_row() {
    const IDS: [&str; 56] = [
        "A1", "A2", "A3", "A4", "A5", "A6", "A9", "A11", "A12", "A14", "A15", "A17", "A19", "A20",
        "A21", "B1", "B2", "B3", "B4", "B7", "C1", "C2", "C4", "C5", "C6", "C7", "C8", "C10",
        "C11", "C12", "C14", "C15", "C16", "C17", "C19", "C20", "C21", "D1", "D2", "D3", "D5",
        "D6", "D7", "D8", "D10", "D11", "D13", "D16", "D17", "D18", "D20", "D21", "F1", "F2", "F3",
        "F4",
    ];
    const MORE: [&str; 10] = [
        "F6", "F7", "F8", "F10", "F11", "F12", "F14", "G1", "G2", "G3",
    ];
    let rows = rows();
    let base = |id: &str| id.split('[').next().unwrap_or(id).to_string();
    for id in IDS.iter().chain(MORE.iter()) {
        assert!(rows.iter().any(|r| base(&r.id) == *id), "no row for {id}");
    }
    for e in ["E1", "E2", "E3", "E4", "E5"] {
        assert!(
            e_cache::cache_rows().iter().any(|c| c.id == e),
            "no cache row for {e}"
        );
    }
}

/// D17 is the one case where the profiles disagree.
#[test]
fn d17_depends_on_the_profile() {
    let rows = rows();
    let d17: Vec<&Row> = rows.iter().filter(|r| r.id == "D17").collect();
    assert_eq!(d17.len(), 2);
    for r in d17 {
        let want = match r.profile {
            Profile::Spec => Expect::Block("HeaderDisallowedByPreflightResponse"),
            Profile::Chromium | Profile::Firefox | Profile::WebKit => Expect::Allow,
        };
        assert_eq!(r.expect, want);
        assert_eq!(run_row(r), Ok(()));
    }
}
