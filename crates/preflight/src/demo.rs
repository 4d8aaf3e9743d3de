//! `preflight demo`: the gateway's main job on an embedded default.
//!
//! A small todo JSON API (in-process, on an ephemeral 127.0.0.1 port) is the
//! upstream; the gateway sits in front of it on the API port with an embedded
//! configuration; a single-page app on a second origin (the app port) calls the
//! API through the gateway and explains each outcome; the dashboard runs on the
//! admin port.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use preflight_core::browser::EngineComparison;
use preflight_doctor::report::Report;
use preflight_gateway::admin::ExplainQuery;
use preflight_gateway::body::{boxed, GatewayBody};
use preflight_gateway::listen::{bind, serve_plain};
use preflight_gateway::{Config, Gateway};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::serve::{init_logging, stop_signal, LogFormat};

/// Arguments of `preflight demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Port of the gateway (the API origin).
    #[arg(long, default_value_t = 8080)]
    pub api_port: u16,
    /// Port of the single-page app (the second origin).
    #[arg(long, default_value_t = 8081)]
    pub app_port: u16,
    /// Port of the dashboard, health and metrics.
    #[arg(long, default_value_t = 9901)]
    pub admin_port: u16,
    /// Stop after this many seconds (for tests and scripted runs).
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,
}

/// The embedded gateway configuration. `{API}`, `{APP}`, `{ADMIN}` and
/// `{UPSTREAM}` are filled in at start.
const DEMO_CONFIG: &str = r#"
[server]
listen = "127.0.0.1:{API}"
admin = "127.0.0.1:{ADMIN}"
upstream_timeout = "10s"
body_limit = "64KiB"

[cors]
# The single-page app's origin. Loopback http:// is accepted with credentials.
allow_origins = ["http://127.0.0.1:{APP}", "http://localhost:{APP}"]
allow_headers = ["content-type"]          # x-secret is not listed: its preflight is refused
expose_headers = ["x-todo-count"]
allow_credentials = true
max_age = 600
debug = true

[[routes]]
path = "/api/todos"
methods = ["GET", "POST"]
upstream = "http://{UPSTREAM}"

[[routes]]
path = "/api/todos/{id}"
methods = ["PUT", "DELETE"]
upstream = "http://{UPSTREAM}"

[[routes]]
path = "/api/session"
methods = ["GET"]
upstream = "http://{UPSTREAM}"

[[routes]]
path = "/internal/{*rest}"
methods = ["GET"]
upstream = "http://{UPSTREAM}"
cors = false                               # no cross-origin access at all
"#;

const PAGE: &str = include_str!("../assets/demo.html");

/// Run `preflight demo`.
pub async fn run(args: DemoArgs) -> ExitCode {
    let _log = init_logging(LogFormat::Text, "warn,preflight::access=info");
    let (stop_tx, stop_rx) = watch::channel(false);

    // The upstream: the todo API on an ephemeral port.
    let api_listener = match bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
        Ok(l) => l,
        Err(e) => return fail(&e.to_string()),
    };
    let upstream = match api_listener.local_addr() {
        Ok(a) => a,
        Err(e) => return fail(&format!("cannot read the demo API's address: {e}")),
    };
    let todos = Arc::new(TodoApi::new());
    let api_service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let todos = todos.clone();
        async move { Ok::<_, Infallible>(todos.handle(req).await) }
    });
    tokio::spawn(serve_plain(api_listener, stop_rx.clone(), api_service));

    // The gateway in front of it.
    let text = DEMO_CONFIG
        .replace("{API}", &args.api_port.to_string())
        .replace("{APP}", &args.app_port.to_string())
        .replace("{ADMIN}", &args.admin_port.to_string())
        .replace("{UPSTREAM}", &upstream.to_string());
    let config = match Config::parse(&text, Path::new("(demo configuration)"), Path::new(".")) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let running = match preflight_gateway::start(Gateway::new(config)).await {
        Ok(r) => r,
        Err(e) => return fail(&format!("{e} (change it with --api-port or --admin-port)")),
    };
    let api = running.local_addrs()[0];

    // The single-page app on the second origin.
    let app_listener = match bind(SocketAddr::from(([127, 0, 0, 1], args.app_port))).await {
        Ok(l) => l,
        Err(e) => {
            running.shutdown().await;
            return fail(&format!("{e} (change it with --app-port)"));
        }
    };
    let app_addr = app_listener
        .local_addr()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], args.app_port)));
    let dashboard = running
        .admin_addr()
        .map(|a| format!("http://{a}/"))
        .unwrap_or_default();
    let page = Bytes::from(
        PAGE.replace("__API__", &format!("http://{api}"))
            .replace("__DASHBOARD__", &dashboard)
            .replace("__APP__", &format!("http://{app_addr}")),
    );
    let explainer = running.gateway().clone();
    let app_origin = format!("http://{app_addr}");
    let app_service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let page = page.clone();
        let explainer = explainer.clone();
        let app_origin = app_origin.clone();
        async move {
            if req.uri().path() == "/explain" {
                return Ok::<_, Infallible>(
                    explain(&explainer, &app_origin, req.uri().query().unwrap_or("")).await,
                );
            }
            Ok::<_, Infallible>(serve_page(&req, page))
        }
    });
    tokio::spawn(serve_plain(app_listener, stop_rx.clone(), app_service));

    preflight_doctor::render::out(&format!(
        "preflight demo\n\
         \x20 single-page app   http://{app_addr}/      <- open this in a browser\n\
         \x20 API via gateway   http://{api}/api/todos\n\
         \x20 dashboard         {dashboard}\n\
         \x20 demo upstream     http://{upstream}/ (the todo API, not reachable cross-origin directly)\n\
         Press Ctrl-C to stop.\n"
    ));

    match args.exit_after {
        Some(secs) => {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                _ = stop_signal() => {}
            }
        }
        None => stop_signal().await,
    }
    let _ = stop_tx.send(true);
    running.shutdown().await;
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

/// `/explain?path=&method=&headers=&credentials=&profile=`: what `preflight
/// explain` says of the page's request (the page's own origin, so no CORS is
/// involved): the verdict of `profile` (Chromium by default) at the top, and
/// under `engines` the three engines' verdicts side by side (`profile=` one
/// profile gives that one alone).
async fn explain(gateway: &Gateway, origin: &str, query: &str) -> Response<GatewayBody> {
    // The dashboard form's fields; the origin is always the page's own.
    let q = ExplainQuery {
        origin: origin.to_string(),
        ..ExplainQuery::from_query(query)
    };
    let mut runs = Vec::new();
    for profile in q.profiles() {
        match gateway.explain(&q.with_profile(profile)).await {
            Ok(e) => runs.push((profile, e)),
            Err(why) => {
                return json(
                    StatusCode::BAD_REQUEST,
                    &serde_json::json!({"verdict": "error", "message": why}),
                )
            }
        }
    }
    let comparison = EngineComparison::new(runs.iter().map(|(p, e)| (*p, &e.trace)));
    let engines: Vec<serde_json::Value> = runs
        .iter()
        .zip(&comparison.verdicts)
        .map(|((profile, e), v)| {
            let report = Report::from_explanation(e);
            serde_json::json!({
                "engine": profile.name(),
                "verdict": report.verdict,
                "stage": report.stage,
                "reason": v.reason_text(),
                "message": report.message,
            })
        })
        .collect();
    let Some((_, main)) = runs.iter().find(|(p, _)| *p == q.profile).or(runs.first()) else {
        return json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"verdict": "error", "message": "no profile to explain with"}),
        );
    };
    let report = Report::from_explanation(main);
    json(
        StatusCode::OK,
        &serde_json::json!({
            "verdict": report.verdict,
            "reason": report.reason,
            "stage": report.stage,
            "message": report.message,
            "fix": report.fix,
            "route": main.route,
            "engines": engines,
            "difference": comparison.difference(),
        }),
    )
}

fn serve_page(req: &Request<Incoming>, page: Bytes) -> Response<GatewayBody> {
    if req.uri().path() != "/" && req.uri().path() != "/index.html" {
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "not found"}),
        );
    }
    let mut res = Response::new(boxed(Full::new(page)));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<GatewayBody> {
    let mut res = Response::new(boxed(Full::new(Bytes::from(value.to_string()))));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[derive(Debug, Clone, Serialize)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
}

#[derive(Debug, Deserialize)]
struct TodoInput {
    title: Option<String>,
    done: Option<bool>,
}

/// The demo upstream: an in-memory todo list and a cookie session.
struct TodoApi {
    state: Mutex<(u64, BTreeMap<u64, Todo>)>,
}

impl TodoApi {
    fn new() -> TodoApi {
        let mut todos = BTreeMap::new();
        for (id, title) in [
            (1, "Answer preflights at the edge"),
            (2, "Read the dashboard"),
        ] {
            todos.insert(
                id,
                Todo {
                    id,
                    title: title.into(),
                    done: false,
                },
            );
        }
        TodoApi {
            state: Mutex::new((3, todos)),
        }
    }

    fn list(&self) -> Vec<Todo> {
        self.state
            .lock()
            .map(|s| s.1.values().cloned().collect())
            .unwrap_or_default()
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<GatewayBody> {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (Method::GET, ["api", "todos"]) => {
                let list = self.list();
                let mut res = json(StatusCode::OK, &serde_json::json!(list));
                res.headers_mut()
                    .insert("x-todo-count", HeaderValue::from(list.len()));
                res.headers_mut()
                    .insert("x-internal-build", HeaderValue::from_static("not exposed"));
                res
            }
            (Method::POST, ["api", "todos"]) => {
                let input = match read_json(req).await {
                    Ok(i) => i,
                    Err(res) => return res,
                };
                let title = input.title.unwrap_or_default();
                if title.trim().is_empty() {
                    return json(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &serde_json::json!({"error": "title is empty"}),
                    );
                }
                let Ok(mut state) = self.state.lock() else {
                    return json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &serde_json::json!({"error": "state poisoned"}),
                    );
                };
                let id = state.0;
                state.0 += 1;
                let todo = Todo {
                    id,
                    title: title.chars().take(200).collect(),
                    done: input.done.unwrap_or(false),
                };
                state.1.insert(id, todo.clone());
                json(StatusCode::CREATED, &serde_json::json!(todo))
            }
            (Method::PUT, ["api", "todos", id]) => {
                let Ok(id) = id.parse::<u64>() else {
                    return json(
                        StatusCode::NOT_FOUND,
                        &serde_json::json!({"error": "no such todo"}),
                    );
                };
                let input = match read_json(req).await {
                    Ok(i) => i,
                    Err(res) => return res,
                };
                let Ok(mut state) = self.state.lock() else {
                    return json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &serde_json::json!({"error": "state poisoned"}),
                    );
                };
                match state.1.get_mut(&id) {
                    Some(todo) => {
                        if let Some(t) = input.title {
                            todo.title = t.chars().take(200).collect();
                        }
                        if let Some(d) = input.done {
                            todo.done = d;
                        }
                        json(StatusCode::OK, &serde_json::json!(todo))
                    }
                    None => json(
                        StatusCode::NOT_FOUND,
                        &serde_json::json!({"error": "no such todo"}),
                    ),
                }
            }
            (Method::DELETE, ["api", "todos", id]) => {
                let removed = id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| self.state.lock().ok().and_then(|mut s| s.1.remove(&id)));
                match removed {
                    Some(_) => {
                        let mut res = Response::new(preflight_gateway::body::empty());
                        *res.status_mut() = StatusCode::NO_CONTENT;
                        res
                    }
                    None => json(
                        StatusCode::NOT_FOUND,
                        &serde_json::json!({"error": "no such todo"}),
                    ),
                }
            }
            (Method::GET, ["api", "session"]) => {
                let cookie = req
                    .headers()
                    .get_all(COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .filter_map(|c| c.trim().strip_prefix("demo_session="))
                    .map(str::to_string)
                    .next();
                let visits = cookie
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                let mut res = json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "cookie_received": cookie.is_some(),
                        "visits": visits,
                    }),
                );
                // Same host, other port: same site, so a Lax cookie travels
                // with `credentials: "include"`.
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "demo_session={visits}; Path=/; SameSite=Lax; HttpOnly"
                )) {
                    res.headers_mut().insert(SET_COOKIE, v);
                }
                res
            }
            (Method::GET, ["internal", ..]) => json(
                StatusCode::OK,
                &serde_json::json!({"secret": "internal stats"}),
            ),
            _ => json(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"error": "not found"}),
            ),
        }
    }
}

async fn read_json(req: Request<Incoming>) -> Result<TodoInput, Response<GatewayBody>> {
    let bytes = match Limited::new(req.into_body(), 16 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &serde_json::json!({"error": "body too large"}),
            ))
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": format!("not a todo: {e}")}),
        )
    })
}
