//! Every case of `shared/docs/WPT-CASES.md`, as table rows run through the
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

use std::time::Duration;

use preflight_core::browser::{
    simulate, BrowserRequest, CredentialsMode, ExchangeKind, FetchTrace, PreflightCache, Profile,
    RequestMode, ResponseType, SentRequest, ServerResponse,
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
        .as_ref()
        .map(|ok| ok.exposed_headers.clone())
        .unwrap_or_default()
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let top = url(R, "/top.txt");

    // A. CORS check on a non-preflighted response.
    rows.push(row(
        "A1",
        get(&top),
        always(200, &[]),
        Expect::Block("MissingAllowOriginHeader"),
    ));
    rows.push(
        row(
            "A2",
            get(&top),
            always(200, &[("Access-Control-Allow-Origin", "*")]),
            Expect::Allow,
        )
        .check(|t| match &t.outcome {
            Ok(ok) if ok.response_type == ResponseType::Cors => Ok(()),
            other => Err(format!("response type: {other:?}")),
        }),
    );
    rows.push(
        row(
            "A3",
            get(&top).mode(RequestMode::NoCors),
            always(
                200,
                &[("Access-Control-Allow-Origin", "*"), ("X-Data", "1")],
            ),
            Expect::Opaque,
        )
        .preflights(0),
    );
    rows.push(row(
        "A4",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", O)]),
        Expect::Allow,
    ));
    rows.push(row(
        "A5",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", R)]),
        Expect::Block("AllowOriginMismatch"),
    ));
    rows.push(row(
        "A6",
        get(&url(P, "/top.txt")),
        always(200, &[("Access-Control-Allow-Origin", P)]),
        Expect::Block("AllowOriginMismatch"),
    ));
    rows.push(row(
        "A9",
        get(&top),
        always(
            200,
            &[(
                "Access-Control-Allow-Origin",
                "http://web-platform.test:8000/",
            )],
        ),
        Expect::Block("AllowOriginMismatch"),
    ));
    for (value, name) in [
        ("web-platform.test:8000", "AllowOriginMismatch"),
        ("//web-platform.test:8000", "InvalidAllowOriginValue"),
        ("ftp://web-platform.test:8000", "AllowOriginMismatch"),
        (
            "http://web-platform.test:8000:80",
            "InvalidAllowOriginValue",
        ),
    ] {
        rows.push(row(
            format!("A11[{value}]"),
            get(&top),
            always(200, &[("Access-Control-Allow-Origin", value)]),
            Expect::Block(name),
        ));
    }
    rows.push(row(
        "A12",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", "null")]),
        Expect::Block("AllowOriginMismatch"),
    ));
    for (value, name) in [
        ("'*'", "InvalidAllowOriginValue"),
        ("\"*\"", "InvalidAllowOriginValue"),
        ("**", "InvalidAllowOriginValue"),
        ("-", "InvalidAllowOriginValue"),
        ("*\0", "InvalidAllowOriginValue"),
        ("* *", "MultipleAllowOriginValues"),
    ] {
        rows.push(row(
            format!("A14[{}]", value.replace('\0', "\\0")),
            get(&top),
            always(200, &[("Access-Control-Allow-Origin", value)]),
            Expect::Block(name),
        ));
    }
    rows.push(row(
        "A15",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", "")]),
        Expect::Block("InvalidAllowOriginValue"),
    ));
    rows.push(row(
        "A17[O,O]",
        get(&url(P, "/top.txt")),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", O),
                ("Access-Control-Allow-Origin", O),
            ],
        ),
        Expect::Block("MultipleAllowOriginValues"),
    ));
    rows.push(row(
        "A17[*,example,*]",
        get(&url(P, "/top.txt")),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Origin", "http://example.com"),
                ("Access-Control-Allow-Origin", "*"),
            ],
        ),
        Expect::Block("MultipleAllowOriginValues"),
    ));
    rows.push(row(
        "A19",
        get(&top).credentials(CredentialsMode::Include),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Credentials", "true"),
            ],
        ),
        Expect::Block("WildcardOriginNotAllowed"),
    ));
    rows.push(row(
        "A20",
        get(&top).credentials(CredentialsMode::Omit),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Credentials", "true"),
            ],
        ),
        Expect::Allow,
    ));
    for method in ["GET", "HEAD", "POST", "PUT", "CHICKEN"] {
        for status in [400u16, 401, 404, 501, 699] {
            let pf = ServerResponse::new(
                200,
                &[
                    ("Access-Control-Allow-Origin", O),
                    (
                        "Access-Control-Allow-Methods",
                        "GET, HEAD, POST, PUT, CHICKEN",
                    ),
                    ("Access-Control-Allow-Headers", "x-nonsimple"),
                ],
            );
            let actual = ServerResponse::new(status, &[("Access-Control-Allow-Origin", O)]);
            rows.push(
                row(
                    format!("A21[{method} {status}]"),
                    req(method, &url(R, "/status")).header("x-nonsimple", "1"),
                    split(pf, actual),
                    Expect::Allow,
                )
                .preflights(1)
                .check(move |t| match &t.outcome {
                    Ok(ok) if ok.status == status => Ok(()),
                    other => Err(format!("status not readable: {other:?}")),
                }),
            );
        }
    }

    // B. Response-header exposure.
    let b1 = [
        "Cache-Control",
        "Content-Language",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
        "Content-Length",
    ];
    let mut b1_headers = vec![("Access-Control-Allow-Origin", "*")];
    b1_headers.extend(b1.iter().map(|n| (*n, "1")));
    rows.push(
        row(
            "B1",
            get(&url(P, "/filter")),
            always(200, &b1_headers),
            Expect::Allow,
        )
        .check(move |t| {
            let e = exposed(t);
            match b1.iter().find(|n| !e.contains(&n.to_ascii_lowercase())) {
                None => Ok(()),
                Some(n) => Err(format!("{n} hidden: {e:?}")),
            }
        }),
    );
    let b2 = ["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2"];
    let mut b2_headers = vec![("Access-Control-Allow-Origin", "*")];
    b2_headers.extend(b2.iter().map(|n| (*n, "1")));
    rows.push(
        row(
            "B2",
            get(&url(P, "/filter")),
            always(200, &b2_headers),
            Expect::Allow,
        )
        .check(move |t| {
            let e = exposed(t);
            match b2.iter().find(|n| e.contains(&n.to_ascii_lowercase())) {
                None => Ok(()),
                Some(n) => Err(format!("{n} exposed: {e:?}")),
            }
        }),
    );
    for creds in [CredentialsMode::Omit, CredentialsMode::Include] {
        for name in ["Age", "Server", "Warning"] {
            rows.push(
                row(
                    format!("B3[{creds} {name}]"),
                    get(&url(P, "/filter")).credentials(creds),
                    always(
                        200,
                        &[
                            ("Access-Control-Allow-Origin", O),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Expose-Headers", name),
                            (name, "1"),
                        ],
                    ),
                    Expect::Allow,
                )
                .check(move |t| {
                    if exposed(t).contains(&name.to_ascii_lowercase()) {
                        Ok(())
                    } else {
                        Err(format!("{name} hidden"))
                    }
                }),
            );
        }
        for name in ["Set-Cookie", "Set-Cookie2"] {
            rows.push(
                row(
                    format!("B4[{creds} {name}]"),
                    get(&url(P, "/filter")).credentials(creds),
                    always(
                        200,
                        &[
                            ("Access-Control-Allow-Origin", O),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Expose-Headers", name),
                            (name, "a=1"),
                        ],
                    ),
                    Expect::Allow,
                )
                .check(move |t| {
                    if exposed(t).contains(&name.to_ascii_lowercase()) {
                        Err(format!("{name} exposed"))
                    } else {
                        Ok(())
                    }
                }),
            );
        }
    }
    rows.push(
        row(
            "B7",
            get(&url(P, "/expose-star")),
            always(
                200,
                &[
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Expose-Headers", "set-cookie, *"),
                    ("test", "X"),
                    ("set-cookie", "a=1"),
                ],
            ),
            Expect::Allow,
        )
        .check(|t| {
            let e = exposed(t);
            if e.contains(&"test".to_string()) && !e.contains(&"set-cookie".to_string()) {
                Ok(())
            } else {
                Err(format!("exposed: {e:?}"))
            }
        }),
    );

    // C. Is a preflight needed?
    let star = || always(200, &[("Access-Control-Allow-Origin", "*")]);
    let pf_url = url(R, "/cors/resources/preflight.py");
    rows.push(
        row(
            "C1",
            get(&pf_url).header("Accept", "*/*"),
            star(),
            Expect::Allow,
        )
        .preflights(0),
    );
    for method in ["POST", "HEAD"] {
        rows.push(
            row(
                format!("C2[{method}]"),
                req(method, &pf_url),
                star(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    for (name, value) in [
        ("Accept-Language", "fr"),
        ("Content-Language", "fr"),
        ("Content-Type", "multipart/form-data"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ] {
        rows.push(
            row(
                format!("C4[{name}: {value}]"),
                get(&pf_url).header(name, value),
                star(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    let post_ct = |ct: &str| req("POST", &pf_url).header("Content-Type", ct);
    let blocked_by_pf = Expect::Block("HeaderDisallowedByPreflightResponse");
    for ct in ["text /plain", "text\t/\tplain"] {
        rows.push(
            row(
                format!("C5[{ct}]"),
                post_ct(ct),
                cors_preflight_py(),
                blocked_by_pf,
            )
            .preflights(1),
        );
    }
    for ct in ["text/plain;", "text/plain;garbage"] {
        rows.push(
            row(
                format!("C6[{ct}]"),
                post_ct(ct),
                cors_preflight_py(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    for ct in [
        "text/plain,",
        ",text/plain",
        "text/plain,text/plain",
        "text/plain,x/x",
    ] {
        rows.push(
            row(
                format!("C7[{ct}]"),
                post_ct(ct),
                cors_preflight_py(),
                blocked_by_pf,
            )
            .preflights(1),
        );
    }
    rows.push(
        row(
            "C8",
            post_ct("application/www-form-urlencoded"),
            cors_preflight_py(),
            blocked_by_pf,
        )
        .preflights(1),
    );
    let range = |v: &str| get(&pf_url).header("Range", v);
    for v in ["bytes=100-200", "bytes=200-"] {
        rows.push(
            row(
                format!("C10[{v}]"),
                range(v),
                cors_preflight_py(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    rows.push(
        row(
            "C11",
            range("bytes=-200"),
            cors_preflight_py(),
            blocked_by_pf,
        )
        .preflights(1),
    );
    rows.push(
        row(
            "C12",
            range("bytes=100-200,300-400"),
            cors_preflight_py(),
            blocked_by_pf,
        )
        .preflights(1),
    );
    for v in ["bytes=200-100", "bytes=abc-def", "bytes=100-200hello"] {
        rows.push(
            row(
                format!("C14[{v}]"),
                range(v),
                cors_preflight_py(),
                blocked_by_pf,
            )
            .preflights(1),
        );
    }
    let echo = || PreflightPy::default().server();
    let acrh_is = |want: &'static str| {
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
    };
    let long_accept = "a".repeat(129);
    rows.push(
        row(
            "C15[129 bytes]",
            get(&pf_url).header("Accept", long_accept),
            echo(),
            Expect::Allow,
        )
        .preflights(1)
        .check(acrh_is("accept")),
    );
    rows.push(
        row(
            "C15[\"]",
            get(&pf_url).header("Accept", "\""),
            echo(),
            Expect::Allow,
        )
        .preflights(1)
        .check(acrh_is("accept")),
    );
    for (name, value, acrh) in [
        ("Accept-Language", "@", "accept-language"),
        ("Accept-Language", "\u{1}", "accept-language"),
        ("Content-Language", "@", "content-language"),
    ] {
        rows.push(
            row(
                format!("C16[{acrh}: {value:?}]"),
                get(&pf_url).header(name, value),
                echo(),
                Expect::Allow,
            )
            .preflights(1)
            .check(acrh_is(acrh)),
        );
    }
    let long_ct = format!("text/plain; long={}", "0".repeat(118));
    for (name, value, acrh) in [
        ("Content-Type", "text/html".to_string(), "content-type"),
        ("Content-Type", long_ct, "content-type"),
        ("Range", "bytes 0-".to_string(), "range"),
        ("Authorization", "basics".to_string(), "authorization"),
        ("test", "hi".to_string(), "test"),
    ] {
        rows.push(
            row(
                format!("C17[{acrh}]"),
                get(&pf_url).header(name, value),
                echo(),
                Expect::Allow,
            )
            .preflights(1)
            .check(acrh_is(acrh)),
        );
    }
    rows.push(
        row(
            "C19",
            req("PUT", &url(R, "/preflight.py")).header("Accept", "*/*"),
            PreflightPy {
                allow_methods: Some("PUT"),
                ..Default::default()
            }
            .server(),
            Expect::Allow,
        )
        .preflights(1)
        .check(|t| {
            match t.exchanges[0]
                .request
                .header("access-control-request-headers")
            {
                None => Ok(()),
                Some(v) => Err(format!("unexpected ACRH {v}")),
            }
        }),
    );
    for method in ["DELETE", "PUT", "PATCH", "NEW"] {
        rows.push(
            row(
                format!("C20[{method}]"),
                req(method, &url(R, "/preflight.py")),
                PreflightPy::default().server(),
                Expect::Block("MethodDisallowedByPreflightResponse"),
            )
            .preflights(1),
        );
    }
    rows.push(
        row(
            "C21",
            req("PUT", &url(R, "/preflight.py")).header("User-Agent", "WPT-UA/1.0"),
            PreflightPy {
                allow_methods: Some("PUT"),
                ..Default::default()
            }
            .server(),
            Expect::Allow,
        )
        .preflights(1)
        .check(|t| {
            let pf = t.exchanges[0].request.header("user-agent");
            let actual = t.exchanges[1].request.header("user-agent");
            if pf.is_some() && pf == actual {
                Ok(())
            } else {
                Err(format!("preflight UA {pf:?}, actual UA {actual:?}"))
            }
        }),
    );

    // D. Evaluating the preflight response.
    let forced = || get(&url(R, "/preflight.py")).header("x-force-preflight", "1");
    let with_status = |status: u16| {
        PreflightPy {
            allow_headers: Some("x-force-preflight"),
            preflight_status: Some(status),
            ..Default::default()
        }
        .server()
    };
    for status in 200..=206 {
        rows.push(
            row(
                format!("D1[{status}]"),
                forced(),
                with_status(status),
                Expect::Allow,
            )
            .preflights(1),
        );
    }
    for status in 300..=308 {
        rows.push(
            row(
                format!("D2[{status}]"),
                forced(),
                with_status(status),
                Expect::Block("PreflightInvalidStatus"),
            )
            .preflights(1),
        );
    }
    for status in (400..=417).chain(501..=505).chain([680, 790]) {
        rows.push(
            row(
                format!("D3[{status}]"),
                forced(),
                with_status(status),
                Expect::Block("PreflightInvalidStatus"),
            )
            .preflights(1),
        );
    }
    rows.push(row(
        "D5",
        forced(),
        PreflightPy {
            allow_methods: Some("Bad method name"),
            ..Default::default()
        }
        .server(),
        Expect::Block("InvalidAllowMethodsPreflightResponse"),
    ));
    let star_server = |methods: &'static str, headers: &'static str, creds: bool| {
        PreflightPy {
            origins: creds.then(|| vec![O]),
            credentials: creds,
            allow_methods: Some(methods),
            allow_headers: Some(headers),
            ..Default::default()
        }
        .server()
    };
    let star_url = url(R, "/preflight.py");
    rows.push(row(
        "D6",
        get(&star_url).header("X-Test", "1"),
        star_server("get", "x-test", false),
        Expect::Allow,
    ));
    rows.push(row(
        "D7",
        req("SUPER", &star_url).header("X-Test", "1"),
        star_server("*", "x-test", false),
        Expect::Allow,
    ));
    rows.push(row(
        "D8",
        req("OK", &star_url).header("X-Test", "1"),
        star_server("*", "*", false),
        Expect::Allow,
    ));
    let include = CredentialsMode::Include;
    rows.push(row(
        "D10",
        req("PUT", &star_url).credentials(include),
        star_server("*", "", true),
        Expect::Block("MethodDisallowedByPreflightResponse"),
    ));
    rows.push(row(
        "D11",
        get(&star_url).header("X-Test", "1").credentials(include),
        star_server("get", "*", true),
        Expect::Block("HeaderDisallowedByPreflightResponse"),
    ));
    rows.push(
        row(
            "D13",
            req("put", &star_url).credentials(include),
            star_server("PUT", "", true),
            Expect::Allow,
        )
        .preflights(1),
    );
    for method in [
        "get", "GET", "gEt", "head", "HEAD", "hEaD", "post", "POST", "pOsT",
    ] {
        rows.push(
            row(
                format!("D16[{method}]"),
                req(method, &star_url).credentials(include),
                star_server("*", "", true),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    let d17 = || req("POST", &star_url).header("Authorization", "123");
    rows.push(
        row(
            "D17",
            d17(),
            star_server("*", "*", false),
            Expect::Block("HeaderDisallowedByPreflightResponse"),
        )
        .profile(Profile::Spec),
    );
    rows.push(
        row("D17", d17(), star_server("*", "*", false), Expect::Allow)
            .profile(Profile::Chromium)
            .preflights(1),
    );
    for profile in [Profile::Spec, Profile::Chromium] {
        rows.push(
            row(
                "D18",
                d17(),
                star_server("*", "*, Authorization", false),
                Expect::Allow,
            )
            .profile(profile),
        );
    }
    let request_headers_url = url(R, "/cors/resources/cors-makeheader.py");
    let makeheader_pf = |acah: &'static str| {
        split(
            ServerResponse::new(
                200,
                &[
                    ("Access-Control-Allow-Origin", O),
                    ("Access-Control-Allow-Headers", acah),
                ],
            ),
            ServerResponse::new(200, &[("Access-Control-Allow-Origin", O)]),
        )
    };
    rows.push(row(
        "D20",
        get(&request_headers_url)
            .header("x-print", "1")
            .header("y-print", "2"),
        makeheader_pf("x-print"),
        Expect::Block("HeaderDisallowedByPreflightResponse"),
    ));
    rows.push(
        row(
            "D21",
            get(&request_headers_url)
                .header("x-print", "1")
                .header("Content-Type", "text/plain")
                .header("Accept", "test")
                .header("Accept-Language", "nn")
                .header("Content-Language", "nn"),
            makeheader_pf("x-print,"),
            Expect::Allow,
        )
        .preflights(1)
        .check(acrh_is("x-print")),
    );

    // F. Redirects.
    let final_py = |base: &str| {
        (
            url(base, "/preflight.py"),
            Hop::Preflight(PreflightPy::default()),
        )
    };
    for status in [301u16, 302, 303, 307, 308] {
        rows.push(
            row(
                format!("F1[{status}]"),
                get(&url(R, "/redirect")),
                chain(vec![
                    (
                        url(R, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(R, "/preflight.py"),
                        },
                    ),
                    final_py(R),
                ]),
                Expect::Allow,
            )
            .preflights(0)
            .check(expect_final_origin(Some(O))),
        );
        rows.push(
            row(
                format!("F2[{status}]"),
                get(&url(R, "/redirect")),
                chain(vec![
                    (
                        url(R, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(P, "/preflight.py"),
                        },
                    ),
                    final_py(P),
                ]),
                Expect::Allow,
            )
            .check(expect_final_origin(Some("null"))),
        );
        rows.push(
            row(
                format!("F3[{status}]"),
                get(&url(O, "/redirect")),
                chain(vec![
                    (
                        url(O, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(R, "/preflight.py"),
                        },
                    ),
                    final_py(R),
                ]),
                Expect::Allow,
            )
            .check(expect_final_origin(Some(O))),
        );
        rows.push(
            row(
                format!("F4[{status}]"),
                get(&url(R, "/redirect")),
                chain(vec![
                    (
                        url(R, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(O, "/preflight.py"),
                        },
                    ),
                    final_py(O),
                ]),
                Expect::Allow,
            )
            .check(expect_final_origin(Some("null"))),
        );
    }
    // F4 (the other half): back on O, the response still needs ACAO (R35).
    rows.push(row(
        "F4[no ACAO at O]",
        get(&url(R, "/redirect")),
        chain(vec![
            (
                url(R, "/redirect"),
                Hop::RedirectPy {
                    status: 302,
                    to: url(O, "/plain"),
                },
            ),
            (url(O, "/plain"), Hop::Final(ServerResponse::new(200, &[]))),
        ]),
        Expect::Block("MissingAllowOriginHeader"),
    ));
    let literal = |to: String, headers: Vec<(&'static str, &'static str)>| Hop::RedirectLiteral {
        status: 302,
        to,
        headers,
    };
    rows.push(
        row(
            "F6",
            get(&url(R, "/makeheader")),
            chain(vec![
                (
                    url(R, "/makeheader"),
                    literal(
                        url(O, "/makeheader"),
                        vec![("Access-Control-Allow-Origin", "*")],
                    ),
                ),
                (
                    url(O, "/makeheader"),
                    Hop::Final(ServerResponse::new(
                        200,
                        &[("Access-Control-Allow-Origin", "null")],
                    )),
                ),
            ]),
            Expect::Allow,
        )
        .check(expect_final_origin(Some("null"))),
    );
    for (label, headers, name) in [
        (
            "null",
            vec![("Access-Control-Allow-Origin", "null")],
            "AllowOriginMismatch",
        ),
        ("none", vec![], "MissingAllowOriginHeader"),
    ] {
        rows.push(row(
            format!("F7[{label}]"),
            get(&url(R, "/makeheader")),
            chain(vec![
                (url(R, "/makeheader"), literal(url(R, "/final"), headers)),
                (
                    url(R, "/final"),
                    Hop::Final(ServerResponse::new(
                        200,
                        &[("Access-Control-Allow-Origin", "*")],
                    )),
                ),
            ]),
            Expect::Block(name),
        ));
    }
    rows.push(
        row(
            "F8",
            get(&url(O, "/makeheader")),
            chain(vec![
                (url(O, "/makeheader"), literal(url(R, "/final"), vec![])),
                (
                    url(R, "/final"),
                    Hop::Final(ServerResponse::new(
                        200,
                        &[("Access-Control-Allow-Origin", "*")],
                    )),
                ),
            ]),
            Expect::Allow,
        )
        .check(expect_final_origin(Some(O))),
    );
    rows.push(row(
        "F10",
        get(&url(R, "/makeheader")),
        chain(vec![
            (
                url(R, "/makeheader"),
                literal(url(R, "/final"), vec![("Access-Control-Allow-Origin", "*")]),
            ),
            (
                url(R, "/final"),
                Hop::Final(ServerResponse::new(
                    200,
                    &[("Access-Control-Allow-Origin", R)],
                )),
            ),
        ]),
        Expect::Block("AllowOriginMismatch"),
    ));
    let p_final = url(P, "/preflight.py");
    for (label, start, to) in [
        (
            "O->user:password@P",
            url(O, "/redirect"),
            "http://user:password@web-platform.test:8001/preflight.py",
        ),
        (
            "O->user:@P",
            url(O, "/redirect"),
            "http://user:@web-platform.test:8001/preflight.py",
        ),
        (
            "O->:password@P",
            url(O, "/redirect"),
            "http://:password@web-platform.test:8001/preflight.py",
        ),
        (
            "P->user:pass@O",
            url(P, "/redirect"),
            "http://user:pass@web-platform.test:8000/preflight.py",
        ),
        (
            "P->user:pass@R",
            url(P, "/redirect"),
            "http://user:pass@www1.web-platform.test:8000/preflight.py",
        ),
    ] {
        rows.push(row(
            format!("F11[{label}]"),
            get(&start),
            chain(vec![(
                start.clone(),
                Hop::RedirectPy {
                    status: 302,
                    to: to.to_string(),
                },
            )]),
            Expect::Block("RedirectContainsCredentials"),
        ));
    }
    rows.push(row(
        "F11[no userinfo]",
        get(&url(O, "/redirect")),
        chain(vec![
            (
                url(O, "/redirect"),
                Hop::RedirectPy {
                    status: 302,
                    to: p_final.clone(),
                },
            ),
            final_py(P),
        ]),
        Expect::Allow,
    ));
    for (label, allow, expect, preflights) in [
        ("allowed", Some("x-w3c"), Expect::Allow, 1),
        (
            "refused",
            Some("x-other"),
            Expect::Block("HeaderDisallowedByPreflightResponse"),
            1,
        ),
    ] {
        rows.push(
            row(
                format!("F12[{label}]"),
                get(&url(O, "/redirect")).header("x-w3c", "1"),
                chain(vec![
                    (
                        url(O, "/redirect"),
                        Hop::RedirectPy {
                            status: 302,
                            to: url(R, "/preflight.py"),
                        },
                    ),
                    (
                        url(R, "/preflight.py"),
                        Hop::Preflight(PreflightPy {
                            allow_headers: allow,
                            ..Default::default()
                        }),
                    ),
                ]),
                expect,
            )
            .preflights(preflights),
        );
    }
    for status in [301u16, 302, 303, 307, 308] {
        rows.push(
            row(
                format!("F14[{status}]"),
                forced(),
                PreflightPy {
                    allow_headers: Some("x-force-preflight"),
                    preflight_status: Some(status),
                    preflight_location: Some("http://www1.web-platform.test:8000/preflight.py?2"),
                    ..Default::default()
                }
                .server(),
                Expect::Block("PreflightDisallowedRedirect"),
            )
            .preflights(1),
        );
    }

    // G. Credentials and cookies. Cookie storage (which jar, Set-Cookie
    // honoured or not, ITP/TCP partitioning) is out of scope: no I/O, no jar.
    // What is modelled is R17: whether the request carries credentials at all,
    // and that script never reads Set-Cookie.
    let creds_sent = |want: bool| {
        move |t: &FetchTrace| {
            let sent = t.last_request().map(|r| r.credentials);
            if sent == Some(want) {
                Ok(())
            } else {
                Err(format!("credentials sent: {sent:?}, expected {want}"))
            }
        }
    };
    let g_server = || {
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", O),
                ("Access-Control-Allow-Credentials", "true"),
                ("Set-Cookie", "a=1"),
            ],
        )
    };
    rows.push(
        row(
            "G1",
            get(&url(R, "/cookies")).credentials(include),
            g_server(),
            Expect::Allow,
        )
        .check(move |t| {
            if exposed(t).contains(&"set-cookie".to_string()) {
                Err("set-cookie exposed".into())
            } else {
                creds_sent(true)(t)
            }
        }),
    );
    rows.push(
        row("G2", get(&url(R, "/cookies")), g_server(), Expect::Allow).check(creds_sent(false)),
    );
    rows.push(
        row(
            "G3[O->R include]",
            get(&url(R, "/cookies")).credentials(include),
            g_server(),
            Expect::Allow,
        )
        .check(creds_sent(true)),
    );
    rows.push(
        row(
            "G3[O->O same-origin]",
            get(&url(O, "/cookies")),
            always(200, &[]),
            Expect::Allow,
        )
        .check(creds_sent(true)),
    );
    rows.push(
        row(
            "G3[O->R2 omit]",
            get(&url(R2, "/cookies")).credentials(CredentialsMode::Omit),
            g_server(),
            Expect::Allow,
        )
        .check(creds_sent(false)),
    );

    rows
}

fn run_row(row: &Row) -> Result<(), String> {
    let mut cache = PreflightCache::new(row.profile);
    let trace = simulate(&row.request, row.profile, &mut cache, Duration::ZERO, |r| {
        (row.server)(r)
    });
    match (&row.expect, &trace.outcome) {
        (Expect::Allow, Ok(ok)) if ok.response_type != ResponseType::Opaque => {}
        (Expect::Opaque, Ok(ok))
            if ok.response_type == ResponseType::Opaque
                && ok.status == 0
                && ok.exposed_headers.is_empty() => {}
        (Expect::Block(name), Err(blocked)) if blocked.name() == *name => {
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

/// Every case id of WPT-CASES.md has at least one row (E has its own test).
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
            cache_rows().iter().any(|c| c.id == e),
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
            Profile::Chromium => Expect::Allow,
        };
        assert_eq!(r.expect, want);
        assert_eq!(run_row(r), Ok(()));
    }
}

/// `cors/origin.htm`: every value it tries, beyond the ones named above.
#[test]
fn a_origin_htm_values() {
    let host = "web-platform.test:8000";
    let pass = [
        "*",
        " *  ",
        "\t*",
        O,
        &format!(" {O}"),
        &format!(" {O}   \t "),
        &format!("\t{O}"),
    ]
    .map(|s| s.to_string());
    let fail = [
        format!("http://www1.{host}"),
        format!("//{host}"),
        format!("://{host}"),
        format!("ftp://{host}"),
        format!("http:://{host}"),
        format!("http:/{host}"),
        format!("http:{host}"),
        host.to_string(),
        format!("{O}?"),
        format!("{O}/"),
        format!("{O} /"),
        format!("{O}#"),
        format!("{O}%23"),
        format!("{O}:80"),
        format!("{O}, *"),
        format!("{O}\0"),
        O.to_uppercase(),
        format!("HTTP://{host}"),
        "-".into(),
        "**".into(),
        "\0*".into(),
        "*\0".into(),
        "'*'".into(),
        "\"*\"".into(),
        "* *".into(),
        "* null".into(),
        "*http://*".into(),
        format!("*{O}"),
        format!("* {O}"),
        format!("*, {O}"),
        format!("\0{O}"),
        format!("null {O}"),
        "http://example.net".into(),
        "null".into(),
        "null *".into(),
        "".into(),
        format!("{O}/cors/origin.htm"),
        format!("{O}/cors/"),
        R.into(),
        "web-platform.test:8000".into(),
        ".web-platform.test:8000".into(),
        "*.web-platform.test:8000".into(),
        "http://web-platform.test:8000".replace("web-platform", "platform"),
        "http://.web-platform.test:8000".into(),
        "http://*.web-platform.test:8000".into(),
    ];
    let top = url(R, "/cors-makeheader");
    let verdict = |acao: Vec<(&str, &str)>| {
        let mut cache = PreflightCache::new(Profile::Chromium);
        let response = ServerResponse::new(200, &acao);
        simulate(
            &get(&top),
            Profile::Chromium,
            &mut cache,
            Duration::ZERO,
            |_| response.clone(),
        )
        .outcome
    };
    for v in &pass {
        assert!(
            verdict(vec![("Access-Control-Allow-Origin", v)]).is_ok(),
            "should pass: {v:?}"
        );
    }
    for v in &fail {
        let outcome = verdict(vec![("Access-Control-Allow-Origin", v)]);
        assert!(outcome.is_err(), "should fail: {v:?}");
    }
    // doubleOrigin(): two header lines never pass.
    for (a, b) in [("", "*"), ("*", ""), ("*", "*"), ("", O), ("*", O), (O, O)] {
        let outcome = verdict(vec![
            ("Access-Control-Allow-Origin", a),
            ("Access-Control-Allow-Origin", b),
        ]);
        assert!(outcome.is_err(), "two lines should fail: {a:?}, {b:?}");
    }
}

struct CacheRow {
    id: &'static str,
    server: PreflightPy,
    request: BrowserRequest,
    /// (time, a different header value, preflight expected)
    steps: Vec<(Duration, Option<&'static str>, bool)>,
}

fn cache_rows() -> Vec<CacheRow> {
    let ms = Duration::from_millis;
    let x_print = get(&url(R, "/cors/resources/preflight.py")).header("x-print", "1");
    vec![
        CacheRow {
            id: "E1",
            server: PreflightPy {
                allow_methods: Some("POST"),
                allow_headers: Some("x-test-header"),
                max_age: Some("12000"),
                ..Default::default()
            },
            request: req("POST", &url(R, "/preflight.py")).header("x-test-header", "test1"),
            steps: vec![(ms(0), None, true), (ms(100), Some("test2"), false)],
        },
        CacheRow {
            id: "E2",
            server: PreflightPy::default(),
            request: x_print.clone(),
            steps: vec![(ms(0), None, true), (ms(1000), None, false)],
        },
        CacheRow {
            id: "E3",
            server: PreflightPy {
                max_age: Some("0"),
                ..Default::default()
            },
            request: x_print.clone(),
            steps: vec![(ms(0), None, true), (ms(0), None, true)],
        },
        CacheRow {
            id: "E4",
            server: PreflightPy {
                max_age: Some("-1"),
                ..Default::default()
            },
            request: x_print.clone(),
            steps: vec![(ms(0), None, true), (ms(10), None, true)],
        },
        CacheRow {
            id: "E5",
            server: PreflightPy {
                max_age: Some("1"),
                ..Default::default()
            },
            request: x_print,
            steps: vec![
                (ms(0), None, true),
                (ms(500), None, false),
                (ms(1500), None, true),
            ],
        },
    ]
}

#[test]
fn wpt_cache_cases() {
    for profile in [Profile::Chromium, Profile::Spec] {
        for case in cache_rows() {
            let mut cache = PreflightCache::new(profile);
            for (i, (now, value, want_preflight)) in case.steps.iter().enumerate() {
                let mut request = case.request.clone();
                if let Some(v) = value {
                    for (_, hv) in request.headers.iter_mut() {
                        *hv = v.to_string();
                    }
                }
                let server = case.server.clone();
                let trace = simulate(&request, profile, &mut cache, *now, |r| server.respond(r));
                assert!(
                    trace.outcome.is_ok(),
                    "{} step {i} ({profile}): {:?}",
                    case.id,
                    trace.outcome
                );
                assert_eq!(
                    trace.preflights() == 1,
                    *want_preflight,
                    "{} step {i} ({profile}): preflight sent = {}",
                    case.id,
                    trace.preflights()
                );
            }
        }
    }
}
