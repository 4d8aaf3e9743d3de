//! The routing table: `router -> cors layer -> proxy`.
//!
//! A [`Table`] is built once per configuration and swapped whole on reload.
//! Each route has its CORS layer (its effective policy and its methods, or
//! the disabled layer); the answer to a path without a route goes through the
//! default policy's layer, so that the 404 carries the CORS headers too.

use std::convert::Infallible;
use std::sync::Arc;

use http::header::ALLOW;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use preflight_tower::CorsLayer;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use preflight_core::Policy;
use tower::{Layer, Service, ServiceExt};

use crate::body::{self, error_response, GatewayBody, GatewayResponse};
use crate::config::{Config, Route, RouteCorsPolicy};
use crate::proxy::{self, ConnInfo, ProxySettings, ProxyTiming, UpstreamClient};

/// What the routes answer with: the upstream (serving), or a stand-in for it
/// (the dashboard's "explain", which must not reach an upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Proxy,
    Explain,
}

/// The header the explain stand-in puts on "the upstream's" answer.
pub const EXPLAIN_MARKER: &str = "x-preflight-explain";

/// One route with its layer.
#[derive(Debug)]
pub struct RouteEntry {
    pub route: Route,
    pub layer: CorsLayer,
}

/// A configuration made ready to serve.
#[derive(Debug)]
pub struct Table {
    pub config: Arc<Config>,
    router: matchit::Router<usize>,
    routes: Vec<RouteEntry>,
    not_found: CorsLayer,
    client: UpstreamClient,
    settings: ProxySettings,
}

/// The label of requests without a route (metrics, logs).
pub const NO_ROUTE: &str = "(no route)";

impl Table {
    /// Build the table. The configuration is valid, so every path inserts.
    pub fn new(config: Config) -> Table {
        let mut router = matchit::Router::new();
        let mut routes = Vec::with_capacity(config.routes.len());
        for route in &config.routes {
            let layer = match &route.cors {
                RouteCorsPolicy::Enabled { policy, .. } => {
                    CorsLayer::new(Policy::clone(policy)).with_methods(route.methods.clone())
                }
                RouteCorsPolicy::Disabled => {
                    CorsLayer::disabled().with_methods(route.methods.clone())
                }
            };
            if let Err(e) = router.insert(route.path.clone(), routes.len()) {
                // Unreachable for a validated configuration; keep serving the rest.
                tracing::error!(path = %route.path, error = %e, "route not inserted");
                continue;
            }
            routes.push(RouteEntry {
                route: route.clone(),
                layer,
            });
        }
        let not_found = match &config.default_cors {
            Some((policy, _)) => CorsLayer::new(Policy::clone(policy)),
            None => CorsLayer::disabled(),
        };
        let client = proxy::client(config.server.connect_timeout);
        let settings = ProxySettings {
            upstream_timeout: config.server.upstream_timeout,
            body_limit: config.server.body_limit,
        };
        Table {
            config: Arc::new(config),
            router,
            routes,
            not_found,
            client,
            settings,
        }
    }

    /// The routes, in configuration order.
    pub fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }

    /// The route a path goes to.
    /// The index of the route that serves `path`.
    pub fn route_index(&self, path: &str) -> Option<usize> {
        self.router
            .at(path)
            .ok()
            .map(|m| *m.value)
            .filter(|i| *i < self.routes.len())
    }

    pub fn lookup(&self, path: &str) -> Option<&RouteEntry> {
        self.router
            .at(path)
            .ok()
            .and_then(|m| self.routes.get(*m.value))
    }

    /// Answer a request: route it, run its CORS layer, and forward it (or
    /// answer 404/405/413/502/504 through the same layer).
    pub async fn dispatch(
        self: &Arc<Self>,
        req: Request<GatewayBody>,
        conn: ConnInfo,
        mode: Mode,
    ) -> (GatewayResponse, Option<usize>) {
        let index = self.router.at(req.uri().path()).ok().map(|m| *m.value);
        match index.filter(|i| *i < self.routes.len()) {
            None => {
                let svc = self.not_found.layer(NotFound);
                (infallible(svc.oneshot(req).await), None)
            }
            Some(i) => {
                let svc = self.routes[i].layer.layer(RouteService {
                    table: self.clone(),
                    index: i,
                    conn,
                    mode,
                });
                (infallible(svc.oneshot(req).await), Some(i))
            }
        }
    }

    /// The route's own answer, behind its CORS layer.
    async fn answer(
        &self,
        i: usize,
        conn: ConnInfo,
        mode: Mode,
        req: Request<GatewayBody>,
    ) -> Response<GatewayBody> {
        let Some(entry) = self.routes.get(i) else {
            return error_response(StatusCode::NOT_FOUND, "no route");
        };
        let methods = &entry.route.methods;
        if !methods.contains(req.method()) {
            // DESIGN.md: an ordinary OPTIONS on a route without OPTIONS gets
            // 204 with Allow (the layer does this when CORS is on; here for
            // routes with `cors = false`).
            let mut res = if req.method() == Method::OPTIONS {
                let mut res = Response::new(body::empty());
                *res.status_mut() = StatusCode::NO_CONTENT;
                res
            } else {
                let msg = format!("{} is not allowed on {}", req.method(), entry.route.path);
                error_response(StatusCode::METHOD_NOT_ALLOWED, &msg)
            };
            res.headers_mut()
                .insert(ALLOW, methods.header_value().clone());
            return res;
        }
        match mode {
            Mode::Explain => {
                let mut res = Response::new(body::full("(the upstream's response)"));
                res.headers_mut().insert(
                    EXPLAIN_MARKER,
                    HeaderValue::from_static("upstream response stands here"),
                );
                res
            }
            Mode::Proxy => {
                let (mut res, timing) =
                    proxy::forward(&self.client, self.settings, &entry.route, conn, req).await;
                res.extensions_mut().insert::<ProxyTiming>(timing);
                res
            }
        }
    }
}

/// The service behind a route's CORS layer.
#[derive(Clone)]
struct RouteService {
    table: Arc<Table>,
    index: usize,
    conn: ConnInfo,
    mode: Mode,
}

impl Service<Request<GatewayBody>> for RouteService {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<GatewayBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            Ok(this
                .table
                .answer(this.index, this.conn, this.mode, req)
                .await)
        })
    }
}

/// The 404 answer, behind the default policy's layer.
#[derive(Clone, Copy)]
struct NotFound;

impl Service<Request<GatewayBody>> for NotFound {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<GatewayBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let msg = format!("no route for {} {}", req.method(), req.uri().path());
        std::future::ready(Ok(error_response(StatusCode::NOT_FOUND, &msg)))
    }
}

fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(never) => match never {},
    }
}
