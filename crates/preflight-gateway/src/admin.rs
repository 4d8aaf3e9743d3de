//! The admin listener: `/healthz`, `/readyz`, `/metrics`, and the dashboard at
//! `/` (routes and their effective CORS policy, counters, the last refused
//! cross-origin requests, and an "explain" form that runs the real layers on
//! a synthetic request).

use std::convert::Infallible;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use preflight_core::browser::{
    CredentialsMode, EngineComparison, ExchangeKind, FetchOutcome, Profile,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body::{self, GatewayBody};
use crate::config::{RouteCorsPolicy, RouteSource};
pub use crate::explain::ExplainQuery;
use crate::explain::Explanation;
use crate::gateway::Gateway;
use crate::limits::ConnLimits;
use crate::listen::serve_plain_within;

/// Serve the admin endpoints until shutdown.
pub(crate) async fn serve(
    gateway: Gateway,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
) {
    let bound = listener.local_addr().ok();
    let limits = ConnLimits::of(&gateway.config().server);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let gateway = gateway.clone();
        async move {
            let config = gateway.config();
            let addressed = bound
                .is_some_and(|b| crate::admin_host::allowed(&req, b, &config.server.admin_hosts));
            if !addressed {
                return Ok::<_, Infallible>(text(
                    StatusCode::MISDIRECTED_REQUEST,
                    "text/plain",
                    "this Host is not the admin listener's: add it to [server] admin_hosts\n"
                        .into(),
                ));
            }
            Ok(handle(&gateway, req).await)
        }
    });
    serve_plain_within(listener, shutdown, service, limits).await;
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
        "/counters" => {
            let (requests, allowed, refused) = gateway.metrics().totals();
            let recent = gateway.metrics().recent_refusals().len();
            let websocket = gateway.metrics().websocket_refused_total();
            text(
                StatusCode::OK,
                "application/json",
                format!("{{\"requests\":{requests},\"allowed\":{allowed},\"refused\":{refused},\"websocket\":{websocket},\"recent\":{recent}}}"),
            )
        }
        "/metrics" => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gateway.metrics().encode(),
        ),
        "/" | "/explain" => {
            let query = req.uri().query().map(ExplainQuery::from_query);
            let explanation = match &query {
                Some(q) if !q.path.is_empty() => Some(explain_each(gateway, q).await),
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
            "not found: try /, /metrics, /counters, /healthz, /readyz\n".into(),
        ),
    }
}

/// The query explained for each of its profiles (the three engines, or one).
async fn explain_each(
    gateway: &Gateway,
    q: &ExplainQuery,
) -> Result<Vec<(Profile, Explanation)>, String> {
    let mut out = Vec::new();
    for profile in q.profiles() {
        out.push((profile, gateway.explain(&q.with_profile(profile)).await?));
    }
    Ok(out)
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
    explanation: Option<&Result<Vec<(Profile, Explanation)>, String>>,
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
        "<div class=cards><div class=card><b id=c-requests>{requests}</b>requests</div><div class=card><b id=c-allowed>{allowed}</b>preflights allowed</div><div class=card><b id=c-refused>{refused}</b>preflights refused</div><div class=card><b id=c-websocket>{}</b>WebSockets refused</div><div class=card><b id=c-recent>{}</b>recent refusals</div></div>",
        gateway.metrics().websocket_refused_total(),
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
    let q = query.cloned().unwrap_or_default();
    let _ = write!(
        h,
        "<label>path <input type=text name=path value=\"{}\" placeholder=\"/api/users/1\"></label><label>origin <input type=text name=origin value=\"{}\" placeholder=\"https://app.example.com\"></label><label>method <input type=text name=method value=\"{}\" size=8></label><label>headers <textarea name=headers rows=2 cols=30 placeholder=\"content-type: application/json\">{}</textarea></label><label><input type=checkbox name=credentials{}> credentials</label><label>browser {}</label> <button>explain</button></form>",
        esc(&q.path),
        esc(&q.origin),
        esc(&q.method),
        esc(&q.headers_text()),
        if q.credentials == CredentialsMode::Include { " checked" } else { "" },
        profile_select(query)
    );
    match explanation {
        Some(Ok(runs)) => {
            if let Some((_, e)) = runs.first() {
                let _ = write!(
                    h,
                    "<p>route: <code>{}</code></p>",
                    esc(e.route.as_deref().unwrap_or("none (404)"))
                );
            }
            match runs.as_slice() {
                [(profile, e)] => {
                    let _ = write!(h, "<p class=muted>browser: {profile}</p>");
                    explanation_html(&mut h, e);
                }
                _ => engines_html(&mut h, runs),
            }
        }
        Some(Err(why)) => {
            let _ = write!(h, "<p class=bad>{}</p>", esc(why));
        }
        None => {}
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
    // Live counters: poll /counters every two seconds.
    h.push_str("<script>setInterval(()=>fetch('/counters').then(r=>r.json()).then(c=>{for(const k of ['requests','allowed','refused','websocket','recent']){const e=document.getElementById('c-'+k);if(e)e.textContent=c[k];}}).catch(()=>{}),2000);</script>");
    h.push_str("</body></html>");
    h
}

/// The form's choice of browser: the three engines side by side (the
/// default), or one profile.
fn profile_select(query: Option<&ExplainQuery>) -> String {
    let chosen = query.filter(|q| !q.all_engines).map(|q| q.profile);
    let mut out = String::from("<select name=profile>");
    let _ = write!(
        out,
        "<option value=all{}>chromium, firefox and webkit</option>",
        if chosen.is_none() { " selected" } else { "" }
    );
    for p in [
        Profile::Chromium,
        Profile::Firefox,
        Profile::WebKit,
        Profile::Spec,
    ] {
        let _ = write!(
            out,
            "<option value={p}{}>{p} only</option>",
            if chosen == Some(p) { " selected" } else { "" }
        );
    }
    out.push_str("</select>");
    out
}

/// The three engines' verdicts side by side (engine, verdict, reason, why),
/// where they differ which engine blocks and why, and each engine's
/// requests and answers below (docs/browser-model.md#browser-profiles).
fn engines_html(h: &mut String, runs: &[(Profile, Explanation)]) {
    let comparison = EngineComparison::new(runs.iter().map(|(p, e)| (*p, &e.trace)));
    h.push_str(
        "<table id=engines><tr><th>engine</th><th>verdict</th><th>reason</th><th>why</th></tr>",
    );
    for ((profile, e), v) in runs.iter().zip(&comparison.verdicts) {
        let (class, mut verdict) = verdict_text(e);
        if let (false, Some(stage)) = (v.allowed, v.stage) {
            // The engine's own reason is the next column.
            verdict = format!("blocked at the {stage}");
        }
        let _ = write!(
            h,
            "<tr data-engine={profile}><td>{profile}</td><td class={class}><b>{}</b></td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&verdict),
            esc(&v.reason_text().unwrap_or_else(|| "-".into())),
            esc(v.message.as_deref().unwrap_or("-")),
        );
    }
    h.push_str("</table>");
    let difference = comparison.difference();
    if let Some((first, rest)) = difference.split_first() {
        let _ = write!(
            h,
            "<p id=engines-differ class=bad><b>{}</b></p><ul>",
            esc(first)
        );
        for line in rest {
            let _ = write!(h, "<li>{}</li>", esc(line));
        }
        h.push_str("</ul>");
    }
    if let Some(cache) = comparison.cache_difference() {
        let _ = write!(h, "<p>{}</p>", esc(&cache));
    }
    for (profile, e) in runs {
        let _ = write!(
            h,
            "<details><summary>{profile}: each request and the gateway's answer</summary>"
        );
        explanation_html(h, e);
        h.push_str("</details>");
    }
}

/// The verdict in words, with its CSS class.
fn verdict_text(e: &Explanation) -> (&'static str, String) {
    match &e.trace.outcome {
        FetchOutcome::Allowed(ok) => (
            "ok",
            format!(
                "allowed: script can read the response (status {})",
                ok.status
            ),
        ),
        FetchOutcome::Withheld => (
            "ok",
            "allowed: the preflight allows this request; the actual request was not sent"
                .to_string(),
        ),
        FetchOutcome::Blocked(b) => ("bad", format!("blocked at the {}: {}", b.stage, b.name())),
    }
}

/// The dashboard's view of an explanation: the verdict, each request the
/// browser sent with the gateway's status and CORS headers, why and the fix.
/// (The command line's text and JSON forms are the doctor's.)
fn explanation_html(h: &mut String, e: &Explanation) {
    let (class, verdict) = verdict_text(e);
    let _ = write!(h, "<p class={class}><b>{}</b></p>", esc(&verdict));
    h.push_str(
        "<table><tr><th>request</th><th>status</th><th>CORS headers of the answer</th></tr>",
    );
    for x in &e.trace.exchanges {
        let kind = match x.request.kind {
            ExchangeKind::Preflight => "preflight",
            ExchangeKind::Actual => "request",
        };
        let (status, headers) = match &x.response {
            Some(r) => (
                r.status.to_string(),
                r.headers
                    .iter()
                    .filter(|(k, _)| {
                        let k = k.to_ascii_lowercase();
                        k.starts_with("access-control-") || k == "vary" || k == "allow"
                    })
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            None => ("not sent".to_string(), String::new()),
        };
        let _ = write!(
            h,
            "<tr><td>{} <code>{} {}</code></td><td>{}</td><td><pre>{}</pre></td></tr>",
            kind,
            esc(&x.request.method),
            esc(x.request.url.as_str()),
            esc(&status),
            esc(&headers)
        );
    }
    h.push_str("</table>");
    if let Some(refusal) = &e.gateway_refusal {
        let _ = write!(
            h,
            "<p>the gateway refused: {}</p>",
            esc(&refusal.to_string())
        );
    }
    if let FetchOutcome::Blocked(b) = &e.trace.outcome {
        let _ = write!(h, "<p>why: {}</p>", esc(&b.message));
    }
    let fix = e
        .config_fix
        .clone()
        .or_else(|| e.trace.outcome.blocked().map(|b| b.fix.clone()));
    if let Some(fix) = fix {
        let _ = write!(h, "<p>fix: {}</p>", esc(&fix));
    }
}
