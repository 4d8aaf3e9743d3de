//! The admin listener: `/healthz`, `/readyz`, `/metrics`, and the dashboard at
//! `/` (routes and their effective CORS policy, counters, the last refused
//! cross-origin requests, and an "explain" form that runs the real layers on
//! a synthetic request).

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD,
    CACHE_CONTROL, CONTENT_TYPE, ORIGIN,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body::{self, GatewayBody};
use crate::config::{RouteCorsPolicy, RouteSource};
use crate::proxy::ConnInfo;
use crate::router::Mode;
use crate::server::{serve_plain, Gateway};

/// Serve the admin endpoints until shutdown.
pub async fn serve(gateway: Gateway, listener: TcpListener, shutdown: watch::Receiver<bool>) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let gateway = gateway.clone();
        async move { Ok::<_, Infallible>(handle(&gateway, req).await) }
    });
    serve_plain(listener, shutdown, service).await;
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<GatewayBody> {
    let mut res = Response::new(body::full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Answer one admin request.
pub async fn handle<B>(gateway: &Gateway, req: Request<B>) -> Response<GatewayBody> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "text/plain", "ok\n".into()),
        "/readyz" if gateway.is_ready() => text(StatusCode::OK, "text/plain", "ready\n".into()),
        "/readyz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "shutting down\n".into(),
        ),
        "/metrics" => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gateway.metrics().encode(),
        ),
        "/" | "/explain" => {
            let query = req.uri().query().map(ExplainQuery::from_query);
            let explanation = match &query {
                Some(q) if !q.path.is_empty() => Some(gateway.explain(q).await),
                _ => None,
            };
            text(
                StatusCode::OK,
                "text/html; charset=utf-8",
                dashboard(gateway, query.as_ref(), explanation.as_ref()),
            )
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /, /metrics, /healthz, /readyz\n".into(),
        ),
    }
}

/// The "explain" form's input: what a page on `origin` would send.
#[derive(Debug, Clone, Default)]
pub struct ExplainQuery {
    pub path: String,
    pub origin: String,
    pub method: String,
    /// Request header names the script sets, comma-separated.
    pub headers: String,
    pub credentials: bool,
}

impl ExplainQuery {
    fn from_query(q: &str) -> ExplainQuery {
        let mut out = ExplainQuery {
            method: "GET".into(),
            ..ExplainQuery::default()
        };
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            match &*k {
                "path" => out.path = v.trim().to_string(),
                "origin" => out.origin = v.trim().to_string(),
                "method" if !v.trim().is_empty() => out.method = v.trim().to_string(),
                "headers" => out.headers = v.trim().to_string(),
                "credentials" => out.credentials = v == "on" || v == "include" || v == "true",
                _ => {}
            }
        }
        out
    }

    fn header_names(&self) -> Vec<String> {
        self.headers
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }
}

/// One synthetic exchange run through the gateway's layers.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

/// What the gateway answers, and what a browser would make of it.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub route: Option<String>,
    pub preflight: Option<Exchange>,
    pub actual: Option<Exchange>,
    pub allowed: bool,
    pub message: String,
}

/// Fetch's CORS-safelisted request headers (a simplification: values are not
/// known here, and `content-type` is taken to be JSON, which is not safelisted).
fn safelisted(name: &str) -> bool {
    matches!(name, "accept" | "accept-language" | "content-language")
}

impl Gateway {
    /// Run a synthetic request through the current table: the preflight a
    /// browser would send (when it would), then the actual request, with a
    /// stand-in for the upstream.
    pub async fn explain(&self, q: &ExplainQuery) -> Explanation {
        let table = self.table();
        let route = table.lookup(&q.path).map(|e| e.route.path.clone());
        let conn = ConnInfo {
            remote: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
        };
        let names = q.header_names();
        let simple_method = matches!(q.method.as_str(), "GET" | "HEAD" | "POST");
        let needs_preflight =
            !q.origin.is_empty() && (!simple_method || names.iter().any(|n| !safelisted(n)));
        let run = |req: Request<GatewayBody>| {
            let table = table.clone();
            async move {
                let summary = format!(
                    "{} {}{}",
                    req.method(),
                    req.uri(),
                    req.headers()
                        .iter()
                        .map(|(k, v)| format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())))
                        .collect::<String>()
                );
                let (res, _) = table.dispatch(req, conn, Mode::Explain).await;
                Exchange {
                    request: summary,
                    status: res.status().as_u16(),
                    headers: res
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect(),
                }
            }
        };
        let mut explanation = Explanation {
            route: route.clone(),
            preflight: None,
            actual: None,
            allowed: false,
            message: String::new(),
        };
        let Ok(method) = Method::from_bytes(q.method.as_bytes()) else {
            explanation.message = format!("{:?} is not a method name", q.method);
            return explanation;
        };
        if needs_preflight {
            let mut b = Request::builder()
                .method(Method::OPTIONS)
                .uri(&q.path)
                .header(ORIGIN, &q.origin)
                .header(ACCESS_CONTROL_REQUEST_METHOD, &q.method);
            if !names.is_empty() {
                b = b.header(ACCESS_CONTROL_REQUEST_HEADERS, names.join(","));
            }
            let Ok(req) = b.body(body::empty()) else {
                explanation.message =
                    "the path, origin or header names cannot be sent in a request".into();
                return explanation;
            };
            let ex = run(req).await;
            let verdict = browser_check(&ex, q, true);
            explanation.preflight = Some(ex);
            if let Err(why) = verdict {
                explanation.message = format!("blocked at the preflight: {why}");
                return explanation;
            }
        }
        let mut b = Request::builder().method(method).uri(&q.path);
        if !q.origin.is_empty() {
            b = b.header(ORIGIN, &q.origin);
        }
        for n in &names {
            b = b.header(
                n.as_str(),
                if n == "content-type" {
                    "application/json"
                } else {
                    "x"
                },
            );
        }
        let Ok(req) = b.body(body::empty()) else {
            explanation.message =
                "the path, origin or header names cannot be sent in a request".into();
            return explanation;
        };
        let ex = run(req).await;
        let verdict = if q.origin.is_empty() {
            Ok(())
        } else {
            browser_check(&ex, q, false)
        };
        explanation.actual = Some(ex);
        match verdict {
            Ok(()) => {
                explanation.allowed = true;
                explanation.message = if q.origin.is_empty() {
                    "no Origin: not a cross-origin request".into()
                } else if needs_preflight {
                    "allowed: the preflight passes and the response carries the CORS headers".into()
                } else {
                    "allowed: a simple request (no preflight) and the response carries the CORS headers".into()
                };
            }
            Err(why) => explanation.message = format!("blocked: {why}"),
        }
        explanation
    }
}

/// The checks a browser makes on a response (Fetch "CORS check", and for a
/// preflight its status, methods and headers).
fn browser_check(ex: &Exchange, q: &ExplainQuery, preflight: bool) -> Result<(), String> {
    let get = |name: &http::HeaderName| {
        ex.headers
            .iter()
            .find(|(k, _)| k == name.as_str())
            .map(|(_, v)| v.as_str())
    };
    if preflight && !(200..300).contains(&ex.status) {
        return Err(format!(
            "the preflight got {} instead of an ok status",
            ex.status
        ));
    }
    match get(&ACCESS_CONTROL_ALLOW_ORIGIN) {
        None => return Err("the response has no Access-Control-Allow-Origin".into()),
        Some("*") if q.credentials => return Err("`*` is not accepted with credentials".into()),
        Some("*") => {}
        Some(o) if o == q.origin => {}
        Some(o) => {
            return Err(format!(
                "Access-Control-Allow-Origin is {o}, not {}",
                q.origin
            ))
        }
    }
    if q.credentials && get(&ACCESS_CONTROL_ALLOW_CREDENTIALS) != Some("true") {
        return Err(
            "credentials were sent but Access-Control-Allow-Credentials is not `true`".into(),
        );
    }
    if preflight {
        let methods = get(&ACCESS_CONTROL_ALLOW_METHODS).unwrap_or("");
        let simple = matches!(q.method.as_str(), "GET" | "HEAD" | "POST");
        if !simple && !methods.split(',').any(|m| m.trim() == q.method) {
            return Err(format!(
                "{} is not in Access-Control-Allow-Methods",
                q.method
            ));
        }
        let allowed = get(&ACCESS_CONTROL_ALLOW_HEADERS)
            .unwrap_or("")
            .to_ascii_lowercase();
        for n in q.header_names().iter().filter(|n| !safelisted(n)) {
            if !allowed.split(',').any(|a| {
                a.trim() == n || (a.trim() == "*" && !q.credentials && n != "authorization")
            }) {
                return Err(format!(
                    "the header {n} is not in Access-Control-Allow-Headers"
                ));
            }
        }
    }
    Ok(())
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ago(t: SystemTime) -> String {
    match SystemTime::now().duration_since(t) {
        Ok(d) if d.as_secs() < 120 => format!("{} s ago", d.as_secs()),
        Ok(d) if d.as_secs() < 7200 => format!("{} min ago", d.as_secs() / 60),
        Ok(d) => format!("{} h ago", d.as_secs() / 3600),
        Err(_) => t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs().to_string())
            .unwrap_or_default(),
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fafbfc}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;width:100%;background:#fff}td,th{border:1px solid #dde1e6;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#eef1f4}code,pre{font:12px ui-monospace,monospace}pre{background:#fff;border:1px solid #dde1e6;padding:.5rem;white-space:pre-wrap}.ok{color:#116329}.bad{color:#b42318}.muted{color:#667085}form label{display:inline-block;margin:.25rem 1rem .25rem 0}input[type=text]{width:16rem}.cards{display:flex;gap:1rem}.card{background:#fff;border:1px solid #dde1e6;padding:.75rem 1rem;min-width:9rem}.card b{display:block;font-size:1.4rem}";

fn dashboard(
    gateway: &Gateway,
    query: Option<&ExplainQuery>,
    explanation: Option<&Explanation>,
) -> String {
    let table = gateway.table();
    let config = &table.config;
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=utf-8><title>preflight gateway</title><style>{STYLE}</style></head><body><h1>preflight gateway</h1>"
    );
    let file = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(embedded)".into());
    let listen: Vec<String> = config.server.listen.iter().map(|a| a.to_string()).collect();
    let _ = write!(
        h,
        "<p>config <code>{}</code> &middot; listening on <code>{}</code> &middot; {} &middot; <a href=\"/metrics\">metrics</a> &middot; <a href=\"/\">refresh</a></p>",
        esc(&file),
        esc(&listen.join(", ")),
        if gateway.is_ready() { "<span class=ok>ready</span>" } else { "<span class=bad>shutting down</span>" }
    );
    if let Some(r) = gateway.metrics().last_reload() {
        let (class, word) = if r.ok {
            ("ok", "ok")
        } else {
            ("bad", "refused: the running configuration stays")
        };
        let _ = write!(
            h,
            "<p>last reload {}: <span class={class}>{word}</span></p><pre>{}</pre>",
            ago(r.at),
            esc(&r.message)
        );
    }
    let (requests, allowed, refused) = gateway.metrics().totals();
    let refusals = gateway.metrics().recent_refusals();
    let _ = write!(
        h,
        "<div class=cards><div class=card><b>{requests}</b>requests</div><div class=card><b>{allowed}</b>preflights allowed</div><div class=card><b>{refused}</b>preflights refused</div><div class=card><b>{}</b>recent refusals</div></div>",
        refusals.len()
    );

    h.push_str("<h2>Routes</h2><table><tr><th>path</th><th>methods</th><th>upstream</th><th>CORS policy</th><th>from</th></tr>");
    for entry in table.routes() {
        let r = &entry.route;
        let cors = match &r.cors {
            RouteCorsPolicy::Disabled => {
                "<span class=bad>disabled</span>: preflights refused, no CORS headers".to_string()
            }
            RouteCorsPolicy::Enabled { config: c, .. } => {
                let list = |v: &Option<Vec<String>>| {
                    v.as_ref()
                        .map(|v| v.join(", "))
                        .unwrap_or_else(|| "-".into())
                };
                format!(
                    "origins <code>{}</code><br>preflight methods <code>{}</code><br>headers <code>{}</code><br>expose <code>{}</code><br>credentials {} &middot; max_age {}{}",
                    esc(&list(&c.allow_origins)),
                    esc(&String::from_utf8_lossy(entry.layer.preflight_methods().header_value().as_bytes())),
                    esc(&list(&c.allow_headers)),
                    esc(&list(&c.expose_headers)),
                    c.allow_credentials.unwrap_or(false),
                    c.max_age.map_or("-".to_string(), |m| m.to_string()),
                    if c.on_disallowed_origin == Some(preflight_core::OnDisallowedOrigin::Reject) { " &middot; disallowed origins rejected" } else { "" },
                )
            }
        };
        let from = match &r.source {
            RouteSource::Routes(n) => format!("routes[{n}]"),
            RouteSource::OpenApi(n, f) => format!("openapi[{n}] {}", f.display()),
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code>{}</td><td>{cors}</td><td class=muted>{}</td></tr>",
            esc(&r.path),
            esc(&String::from_utf8_lossy(r.methods.header_value().as_bytes())),
            esc(&r.upstream.raw),
            r.strip_prefix.as_ref().map(|p| format!("<br>strip <code>{}</code>", esc(p))).unwrap_or_default(),
            esc(&from)
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Explain</h2><form method=get action=\"/\">");
    let q = query.cloned().unwrap_or(ExplainQuery {
        method: "GET".into(),
        ..ExplainQuery::default()
    });
    let _ = write!(
        h,
        "<label>path <input type=text name=path value=\"{}\" placeholder=\"/api/users/1\"></label><label>origin <input type=text name=origin value=\"{}\" placeholder=\"https://app.example.com\"></label><label>method <input type=text name=method value=\"{}\" size=8></label><label>headers <input type=text name=headers value=\"{}\" placeholder=\"content-type, authorization\"></label><label><input type=checkbox name=credentials{}> credentials</label> <button>explain</button></form>",
        esc(&q.path),
        esc(&q.origin),
        esc(&q.method),
        esc(&q.headers),
        if q.credentials { " checked" } else { "" }
    );
    if let Some(e) = explanation {
        let _ = write!(
            h,
            "<p>route: <code>{}</code></p><p class={}><b>{}</b></p>",
            esc(e.route.as_deref().unwrap_or("none (404)")),
            if e.allowed { "ok" } else { "bad" },
            esc(&e.message)
        );
        for (title, ex) in [("Preflight", &e.preflight), ("Actual request", &e.actual)] {
            if let Some(ex) = ex {
                let headers: String = ex
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}\n"))
                    .collect();
                let _ = write!(
                    h,
                    "<h3>{title}</h3><table><tr><th>request</th><th>gateway answers</th></tr><tr><td><pre>{}</pre></td><td><pre>{}\n{}</pre></td></tr></table>",
                    esc(&ex.request),
                    ex.status,
                    esc(&headers)
                );
            }
        }
    }

    h.push_str("<h2>Last refused cross-origin requests</h2>");
    if refusals.is_empty() {
        h.push_str("<p class=muted>none yet</p>");
    } else {
        h.push_str("<table><tr><th>when</th><th>kind</th><th>request</th><th>origin</th><th>route</th><th>reason</th></tr>");
        for r in &refusals {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{} {}</code></td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code> {}</td></tr>",
                ago(r.at),
                r.kind,
                esc(&r.method),
                esc(&r.path),
                esc(&r.origin),
                esc(&r.route),
                esc(&r.code),
                esc(&r.reason)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>");
    h
}
