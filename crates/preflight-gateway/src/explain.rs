//! `explain`: what the gateway answers to a page's request and what a browser
//! then does, run in process through the gateway's real layers with a
//! stand-in for the upstream (the browser side is `preflight_core::browser`).
//! Used by `preflight explain`, the dashboard's form and the demo page.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::future::{self, Ready};
use http::{HeaderValue, Request, Response};
use preflight_core::browser::{
    drive, header_pairs, BrowserRequest, CredentialsMode, Delivery, FetchTrace, Profile,
    SentRequest, ServerResponse,
};
use preflight_core::{Origin, Refusal};
use preflight_tower::CorsOutcome;
use tower::Service;
use url::Url;

use crate::body::{self, GatewayBody};
use crate::config::{Config, RouteCorsPolicy, RouteSource};
use crate::router::Table;

/// The "explain" form's input: what a page on `origin` would send.
#[derive(Debug, Clone)]
pub struct ExplainQuery {
    /// Path (and query) on the gateway.
    pub path: String,
    /// The page's origin.
    pub origin: String,
    pub method: String,
    /// Request headers the script sets. A header written without a value in
    /// the form gets a stand-in one (`application/json` for content-type).
    pub headers: Vec<(String, String)>,
    pub credentials: CredentialsMode,
    /// Whose rules the browser side follows (docs/browser-model.md#browser-profiles).
    pub profile: Profile,
    /// Compare the three engines ([`Profile::ENGINES`]) instead of `profile`
    /// alone: what the dashboard's form asks by default. [`Gateway::explain`](crate::Gateway::explain)
    /// runs `profile`; the callers that show engines side by side run each of
    /// [`ExplainQuery::profiles`].
    pub all_engines: bool,
}

impl Default for ExplainQuery {
    fn default() -> Self {
        ExplainQuery {
            path: String::new(),
            origin: String::new(),
            method: "GET".into(),
            headers: Vec::new(),
            credentials: CredentialsMode::SameOrigin,
            profile: Profile::Chromium,
            all_engines: false,
        }
    }
}

impl ExplainQuery {
    /// Read the dashboard form's query string. `profile` names one profile
    /// (`chromium`, `firefox`, `webkit`, `spec`); without it, or with `all`,
    /// the three engines side by side.
    pub fn from_query(q: &str) -> ExplainQuery {
        let mut out = ExplainQuery {
            all_engines: true,
            ..ExplainQuery::default()
        };
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            match &*k {
                "path" => out.path = v.trim().to_string(),
                "origin" => out.origin = v.trim().to_string(),
                "method" if !v.trim().is_empty() => out.method = v.trim().to_string(),
                "headers" => out.headers = parse_header_lines(&v),
                "credentials" if v == "on" || v == "include" || v == "true" => {
                    out.credentials = CredentialsMode::Include
                }
                "profile" => match v.trim().parse::<Profile>() {
                    Ok(p) => {
                        out.profile = p;
                        out.all_engines = false;
                    }
                    Err(_) => out.all_engines = true,
                },
                _ => {}
            }
        }
        out
    }

    /// The profiles to run: the three engines, or the one profile.
    pub fn profiles(&self) -> Vec<Profile> {
        if self.all_engines {
            Profile::ENGINES.to_vec()
        } else {
            vec![self.profile]
        }
    }

    /// This query for one profile.
    pub fn with_profile(&self, profile: Profile) -> ExplainQuery {
        ExplainQuery {
            profile,
            all_engines: false,
            ..self.clone()
        }
    }

    /// The headers as the form's textarea shows them.
    pub fn headers_text(&self) -> String {
        self.headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `Name: value` lines (or bare names) as the form's textarea holds them.
pub(crate) fn parse_header_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(':') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None if line.eq_ignore_ascii_case("content-type") => {
                (line.to_string(), "application/json".to_string())
            }
            None => (line.to_string(), "1".to_string()),
        })
        .collect()
}

/// What the gateway answers to a page's request, and what a browser then does.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The route pattern the path matched, if any.
    pub route: Option<String>,
    /// The matched route's index in the configuration's route list.
    pub route_index: Option<usize>,
    /// The gateway's CORS decision for each request of the trace, in order.
    pub outcomes: Vec<Option<CorsOutcome>>,
    /// The browser's account: each request, the gateway's answer, the verdict.
    pub trace: FetchTrace,
    /// When the configuration is the cause (or the path has no route): what to
    /// change and where (file, line, key).
    pub config_fix: Option<String>,
    /// The last refusal the gateway's CORS layer made, when the browser
    /// blocks or the path has no route.
    pub gateway_refusal: Option<Refusal>,
}

/// Run a page's request through `table` as a browser would: the browser
/// side is `preflight_core::browser`, the server side the table's router,
/// CORS layers and method checks over a stand-in for the upstream.
/// `gateway_origin` is where the page addresses the gateway.
pub(crate) async fn explain(
    table: Arc<Table>,
    gateway_origin: &str,
    q: &ExplainQuery,
    upstream: Option<Upstream>,
) -> Result<Explanation, String> {
    // The route of the path as the router sees it (`crate::path`).
    let raw_path = q.path.split('?').next().unwrap_or_default();
    let normalized = crate::path::normalize(raw_path).map(|n| n.path);
    let path_only = normalized.as_deref().unwrap_or(raw_path);
    let route = table.lookup(path_only).map(|e| e.route.path.clone());
    let outcomes: Arc<Mutex<Vec<Option<CorsOutcome>>>> = Arc::default();
    let origin = Origin::of_page(&q.origin).map_err(|e| format!("origin {:?}: {e}", q.origin))?;
    if !q.path.starts_with('/') {
        return Err(format!(
            "path {:?}: write a path that starts with /",
            q.path
        ));
    }
    let url = Url::parse(&format!("{gateway_origin}{}", q.path))
        .map_err(|e| format!("path {:?}: {e}", q.path))?;
    let mut req = BrowserRequest::new(origin, url)
        .method(q.method.clone())
        .credentials(q.credentials);
    for (k, v) in &q.headers {
        req = req.header(k.clone(), v.clone());
    }
    let driven = drive(&req, q.profile, |sent: &SentRequest| {
        let table = table.clone();
        let upstream = upstream.clone();
        let outcomes = outcomes.clone();
        let mut b = Request::builder()
            .method(sent.method.as_str())
            .uri(match sent.url.query() {
                Some(query) => format!("{}?{query}", sent.url.path()),
                None => sent.url.path().to_string(),
            });
        for (k, v) in &sent.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let built = b.body(body::empty());
        async move {
            let req = built.map_err(|e| format!("the request cannot be built: {e}"))?;
            let res = table.dispatch(req, |_| StandIn(upstream)).await;
            if let Ok(mut o) = outcomes.lock() {
                o.push(res.extensions().get::<CorsOutcome>().cloned());
            }
            let headers = header_pairs(res.headers());
            Ok::<_, String>(Delivery::Answered(ServerResponse {
                status: res.status().as_u16(),
                headers,
            }))
        }
    })
    .await?;
    let route_index = table.route_index(path_only);
    let outcomes = outcomes.lock().map(|o| o.clone()).unwrap_or_default();
    let mut explanation = Explanation {
        route,
        route_index,
        outcomes,
        trace: driven,
        config_fix: None,
        gateway_refusal: None,
    };
    // A path no route matches gets the gateway's own 404, which a browser
    // may well let the script read: the page still did not reach the API,
    // so the fix (add a route) is given even when the verdict is allowed.
    if !explanation.trace.outcome.is_allowed() || explanation.route_index.is_none() {
        explanation.config_fix = config_fix(&explanation, &table.config, &q.origin);
        explanation.gateway_refusal = gateway_refusal(&explanation.outcomes);
    }
    Ok(explanation)
}

/// The header the stand-in puts on "the upstream's" answer.
const EXPLAIN_MARKER: &str = "x-preflight-explain";

/// What an upstream answers to a request the gateway forwards (its method
/// and path with query, as forwarded): a status and header lines. Given to
/// [`Gateway::explain_with_upstream`](crate::Gateway::explain_with_upstream)
/// to explain a fetch whose upstream answers something other than a plain
/// `200`, a redirect for example.
pub type Upstream = Arc<dyn Fn(&http::Method, &str) -> (u16, Vec<(String, String)>) + Send + Sync>;

/// Explain's stand-in for the upstream, behind a route's method check: it
/// answers at once, so that explaining never reaches an upstream; with an
/// [`Upstream`], it answers what that says.
#[derive(Clone)]
struct StandIn(Option<Upstream>);

impl Service<Request<GatewayBody>> for StandIn {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<GatewayBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        if let Some(upstream) = &self.0 {
            let target = req
                .uri()
                .path_and_query()
                .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
            let (status, headers) = upstream(req.method(), &target);
            let mut res = Response::new(body::empty());
            *res.status_mut() =
                http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    res.headers_mut().append(k, v);
                }
            }
            return future::ready(Ok(res));
        }
        let mut res = Response::new(body::full("(the upstream's response)"));
        res.headers_mut().insert(
            EXPLAIN_MARKER,
            HeaderValue::from_static("upstream response stands here"),
        );
        future::ready(Ok(res))
    }
}

/// The last refusal the gateway's CORS layer made, if any.
fn gateway_refusal(outcomes: &[Option<CorsOutcome>]) -> Option<Refusal> {
    outcomes.iter().rev().flatten().find_map(|o| match o {
        CorsOutcome::Preflight {
            allowed: false,
            reason,
        } => reason.clone(),
        _ => None,
    })
}

pub fn source_name(source: &RouteSource) -> String {
    match source {
        RouteSource::Routes(i) => format!("[[routes]] #{}", i + 1),
        RouteSource::OpenApi(i, file) => format!("[[openapi]] #{} from {}", i + 1, file.display()),
    }
}

/// The dotted key prefix of a route's table in the file.
fn route_key(source: &RouteSource) -> String {
    match source {
        RouteSource::Routes(i) => format!("routes[{i}]"),
        RouteSource::OpenApi(i, _) => format!("openapi[{i}]"),
    }
}

/// Where a CORS key in effect for this route is written: in the route's own
/// table when the file sets it there, otherwise in `[cors]`.
fn cors_key(config: &Config, route: Option<&str>, key: &str) -> String {
    match route {
        Some(r) if config.sets(&format!("{r}.cors.{key}")) => format!("{r}.cors.{key}"),
        _ => format!("cors.{key}"),
    }
}

fn at(config: &Config, key: &str) -> String {
    let file = config.source.path.display();
    match config.locate(key) {
        Some((line, col)) => format!("{file}:{line}:{col} `{key}`"),
        None => format!("{file} `{key}` (not in the file yet)"),
    }
}

/// When the gateway's configuration is why the browser blocks, say what to
/// change and where.
fn config_fix(e: &Explanation, config: &Config, origin: &str) -> Option<String> {
    let route = e.route_index.and_then(|i| config.routes.get(i));
    let route_prefix = route.map(|r| route_key(&r.source));
    let rk = route_prefix.as_deref();
    let refusal = e.outcomes.iter().rev().flatten().find_map(|o| match o {
        CorsOutcome::Preflight {
            allowed: false,
            reason,
        } => Some(reason.clone()),
        CorsOutcome::Actual {
            allowed: false,
            reason,
        } => Some(reason.clone()),
        _ => None,
    });
    let disabled = route.is_some_and(|r| matches!(r.cors, RouteCorsPolicy::Disabled));
    if route.is_none() {
        return Some(format!(
            "no route matches this path: add a [[routes]] entry for it ({})",
            at(config, "routes")
        ));
    }
    if disabled {
        let key = format!("{}.cors", rk.unwrap_or("routes"));
        return Some(format!(
            "this route has cors = false ({}): give it a cors table, or remove the line so it inherits [cors]",
            at(config, &key)
        ));
    }
    match refusal.flatten() {
        Some(Refusal::OriginNotAllowed) if origin == "null" => {
            let key = cors_key(config, rk, "allow_origins");
            Some(format!(
                "the page has the opaque origin `null`, which every sandboxed iframe and data: document shares: serve the page from its own origin and list that in allow_origins ({}); allowing \"null\" itself needs dangerously_allow_null_origin = true",
                at(config, &key)
            ))
        }
        Some(Refusal::OriginNotAllowed) => {
            let key = cors_key(config, rk, "allow_origins");
            Some(format!(
                "add \"{origin}\" to allow_origins ({})",
                at(config, &key)
            ))
        }
        Some(Refusal::HeaderNotAllowed(h)) => {
            let key = cors_key(config, rk, "allow_headers");
            Some(format!(
                "add \"{h}\" to allow_headers ({}), or stop sending it",
                at(config, &key)
            ))
        }
        Some(Refusal::AuthorizationNotListed) => {
            let key = cors_key(config, rk, "allow_headers");
            Some(format!(
                "list \"authorization\" by name in allow_headers ({}): `*` never covers it",
                at(config, &key)
            ))
        }
        Some(Refusal::MethodNotAllowed(m)) => {
            let on_route = route.is_some_and(|r| r.methods.contains_bytes(m.as_bytes()));
            if on_route {
                let key = cors_key(config, rk, "allow_methods");
                Some(format!(
                    "add \"{m}\" to allow_methods ({})",
                    at(config, &key)
                ))
            } else {
                let key = format!("{}.methods", rk.unwrap_or("routes"));
                Some(format!(
                    "the route has no {m}: add it to methods ({}) if the API really has it",
                    at(config, &key)
                ))
            }
        }
        Some(Refusal::RequestHeaders(err)) => {
            Some(format!("the request's header list is refused: {err}"))
        }
        Some(Refusal::InvalidRequestMethod) => {
            Some("the request method is not a valid method name".to_string())
        }
        Some(Refusal::CorsDisabled) => {
            let key = format!("{}.cors", rk.unwrap_or("routes"));
            Some(format!(
                "cross-origin access is off here ({})",
                at(config, &key)
            ))
        }
        None => {
            // The gateway allowed it; the browser still blocks: credentials.
            let policy_credentials = route.and_then(|r| match &r.cors {
                RouteCorsPolicy::Enabled { policy, .. } => Some(policy.allows_credentials()),
                RouteCorsPolicy::Disabled => None,
            });
            if policy_credentials == Some(false) {
                let key = cors_key(config, rk, "allow_credentials");
                Some(format!(
                    "the page sends credentials but the policy does not allow them: set allow_credentials = true ({}) and list the origins explicitly, or fetch without credentials",
                    at(config, &key)
                ))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form's `profile`: one profile by name, or the three engines by
    /// default and with `all`.
    #[test]
    fn the_form_asks_for_one_profile_or_the_three_engines() {
        let q = ExplainQuery::from_query("path=%2Fx");
        assert!(q.all_engines);
        assert_eq!(q.profiles(), Profile::ENGINES);
        assert_eq!(
            ExplainQuery::from_query("path=%2Fx&profile=all").profiles(),
            Profile::ENGINES
        );
        for (name, p) in [
            ("chromium", Profile::Chromium),
            ("firefox", Profile::Firefox),
            ("webkit", Profile::WebKit),
            ("spec", Profile::Spec),
        ] {
            let q = ExplainQuery::from_query(&format!("path=%2Fx&profile={name}"));
            assert_eq!((q.all_engines, q.profiles()), (false, vec![p]), "{name}");
        }
        let one = ExplainQuery::from_query("profile=firefox").with_profile(Profile::WebKit);
        assert_eq!(one.profiles(), [Profile::WebKit]);
        // Built in code (the command line, tests): one profile, Chromium.
        assert_eq!(ExplainQuery::default().profiles(), [Profile::Chromium]);
    }
}
