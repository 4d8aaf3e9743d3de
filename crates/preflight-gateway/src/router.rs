//! The routing table: `router -> cors layer -> method check -> inner service`.
//!
//! A [`Table`] is built once per configuration and swapped whole on reload.
//! Each route has its CORS layer (its effective policy and its methods, or
//! the disabled layer); the answer to a path without a route goes through the
//! default policy's layer, so that the 404 carries the CORS headers too.
//!
//! The inner service is given per request: the proxy when serving
//! ([`Table::serve`]), a stand-in for the upstream when explaining. Both go
//! through the same router, CORS layer and method check.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{self, Either, Ready};
use http::header::ALLOW;
use http::{Method, Request, Response, StatusCode};
use preflight_core::{OnDisallowedOrigin, Policy, Refusal};
use preflight_tower::{CorsLayer, CorsOutcome};
use tower::{Layer, Service, ServiceExt};

use crate::body::{self, error_response, GatewayBody, GatewayResponse};
use crate::config::{Cidr, Config, Route, RouteCorsPolicy};
use crate::edge::{self, Answer, Refused};
use crate::express_wire::WireAnswer;
use crate::limits::HostPermits;
use crate::proxy::{self, ConnInfo, Edge, OnceProxy, Proxy, ProxySettings, UpstreamClient};
use crate::websocket::Tunnels;

/// One route with its layer.
#[derive(Debug)]
pub(crate) struct RouteEntry {
    pub(crate) route: Arc<Route>,
    pub(crate) layer: CorsLayer,
    /// The layer's allowed-preflight answer as response bytes, for the
    /// express lane; `None` without CORS.
    pub(crate) express: Option<WireAnswer>,
}

/// The route a request was routed to, in the response's extensions (for
/// the metrics and the access log).
#[derive(Debug, Clone)]
pub(crate) struct MatchedRoute(pub(crate) Arc<Route>);

/// A configuration made ready to serve.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) config: Arc<Config>,
    router: matchit::Router<usize>,
    routes: Vec<RouteEntry>,
    not_found: CorsLayer,
    client: UpstreamClient,
    settings: ProxySettings,
    trusted_proxies: Arc<[Cidr]>,
}

impl Table {
    /// Build the table. The configuration is valid, so every path inserts.
    pub(crate) fn new(config: Config) -> Table {
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
            let express = layer.preflight_answer().map(WireAnswer::new);
            routes.push(RouteEntry {
                route: Arc::new(route.clone()),
                layer,
                express,
            });
        }
        let not_found = match &config.default_cors {
            Some((policy, _)) => CorsLayer::new(Policy::clone(policy)),
            None => CorsLayer::disabled(),
        };
        let server = &config.server;
        let client = proxy::client(server.connect_timeout, server.upstream_max_connections);
        let settings = ProxySettings {
            upstream_timeout: server.upstream_timeout,
            body_limit: server.body_limit,
            body_idle: server.body_idle_timeout,
            permits: Arc::new(HostPermits::new(server.upstream_max_connections)),
        };
        let trusted_proxies = config.server.trusted_proxies.clone().into();
        Table {
            config: Arc::new(config),
            router,
            routes,
            not_found,
            client,
            settings,
            trusted_proxies,
        }
    }

    /// The routes, in configuration order.
    pub(crate) fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }

    /// The index of the route that serves `path`.
    pub(crate) fn route_index(&self, path: &str) -> Option<usize> {
        self.router
            .at(path)
            .ok()
            .map(|m| *m.value)
            .filter(|i| *i < self.routes.len())
    }

    /// The route that serves `path`.
    pub(crate) fn lookup(&self, path: &str) -> Option<&RouteEntry> {
        self.route_index(path).and_then(|i| self.routes.get(i))
    }

    /// Answer a request from a client: check its `Host`, route it, run its
    /// CORS layer and method check, and forward it to the route's upstream.
    pub(crate) async fn serve(
        &self,
        req: Request<GatewayBody>,
        conn: ConnInfo,
        tunnels: &Tunnels,
    ) -> GatewayResponse {
        let checked = edge::check_host(&req).and_then(|()| {
            edge::check_header_size(&req, self.config.server.max_request_header_bytes)
        });
        if let Err(refused) = checked {
            // Rare branches boxed: the common future stays small to move.
            return Box::pin(self.refuse(req, refused)).await;
        }
        self.dispatch(req, |route| {
            OnceProxy::new(Proxy {
                client: self.client.clone(),
                settings: self.settings.clone(),
                route: route.clone(),
                conn,
                edge: Edge {
                    trusted_proxies: self.trusted_proxies.clone(),
                    websocket_idle_timeout: self.config.server.websocket_idle_timeout,
                    tunnels: tunnels.clone(),
                },
            })
        })
        .await
    }

    /// The gateway's own 400 (or 403, 414) before routing, through the
    /// default policy's layer like the 404; a refused preflight without it.
    async fn refuse(&self, mut req: Request<GatewayBody>, refused: Refused) -> GatewayResponse {
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
        // A request refused before `edge::prepare` (its Host, its size) has
        // not had its Origin read: more than one origin is a disallowed
        // origin here too (docs/behaviour.md, "More than one Origin").
        let mut refused = refused;
        if edge::hold_ambiguous_origin(&mut req) && preflight {
            refused = Refused {
                status: StatusCode::FORBIDDEN,
                message: "CORS preflight refused: more than one origin in Origin",
            };
        }
        if refused.status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE && preflight {
            // A CORS layer answers every preflight itself; this one is not
            // evaluated at all (a browser fails a preflight that is not 2xx,
            // Fetch §4.8).
            let mut res = error_response(refused.status, refused.message)
                .map(preflight_tower::CorsBody::inner);
            res.extensions_mut().insert(CorsOutcome::Preflight {
                allowed: false,
                reason: None,
            });
            return res;
        }
        if refused.status == StatusCode::FORBIDDEN {
            // Refused for its origin: no CORS headers, counted as a refusal.
            let reason = Some(Refusal::OriginNotAllowed);
            let outcome = if req.method() == Method::OPTIONS {
                CorsOutcome::Preflight {
                    allowed: false,
                    reason,
                }
            } else {
                CorsOutcome::Actual {
                    allowed: false,
                    reason,
                }
            };
            let mut res = infallible(
                CorsLayer::disabled()
                    .layer(Answer(refused))
                    .oneshot(req)
                    .await,
            );
            res.extensions_mut().insert(outcome);
            return res;
        }
        infallible(self.not_found.layer(Answer(refused)).oneshot(req).await)
    }

    /// Route a request, run its CORS layer and method check, and answer it
    /// with the inner service `backend` gives for the route (or answer
    /// 404/405 through the same layer).
    pub(crate) async fn dispatch<S>(
        &self,
        req: Request<GatewayBody>,
        backend: impl FnOnce(&Arc<Route>) -> S,
    ) -> GatewayResponse
    where
        S: Service<Request<GatewayBody>, Response = Response<GatewayBody>, Error = Infallible>,
    {
        let mut req = req;
        // The rare branches are boxed, so that the future of the common one
        // (a route's CORS layer and backend) is small to move.
        let prepared = match edge::prepare(&mut req) {
            Ok(p) => p,
            Err(refused) => return Box::pin(self.refuse(req, refused)).await,
        };
        let Some(entry) = self.lookup(req.uri().path()) else {
            return Box::pin(self.not_found.layer(NotFound).oneshot(req))
                .await
                .unwrap_or_else(|never| match never {});
        };
        if let Some(refused) = refused_on_route(&entry.route, prepared) {
            return Box::pin(self.refuse_on_route(entry, req, refused)).await;
        }
        // The backend is made only when the request reaches it: not for a
        // preflight, which the CORS layer answers.
        let stack = entry.layer.layer(MethodCheck {
            route: entry.route.clone(),
            backend: Some(backend),
        });
        let mut res = infallible(stack.oneshot(req).await);
        res.extensions_mut()
            .insert(MatchedRoute(entry.route.clone()));
        res
    }
}

impl Table {
    /// A request the edge checks flagged, refused as its route says.
    async fn refuse_on_route(
        &self,
        entry: &RouteEntry,
        req: Request<GatewayBody>,
        refused: Refused,
    ) -> GatewayResponse {
        let mut res = if refused.status == StatusCode::FORBIDDEN {
            self.refuse(req, refused).await
        } else {
            infallible(entry.layer.layer(Answer(refused)).oneshot(req).await)
        };
        res.extensions_mut()
            .insert(MatchedRoute(entry.route.clone()));
        res
    }
}

/// What the route says of a request the edge checks flagged: an encoded
/// `/` or `\` without `allow_encoded_slashes` (400, through the route's
/// layer), more than one origin where the policy rejects disallowed origins
/// (403).
fn refused_on_route(route: &Route, prepared: edge::Prepared) -> Option<Refused> {
    if prepared.encoded_separator && !route.allow_encoded_slashes {
        return Some(Refused {
            status: StatusCode::BAD_REQUEST,
            message: "the path has an encoded / or \\ (%2F, %5C), which this route does not allow",
        });
    }
    let rejects = matches!(&route.cors, RouteCorsPolicy::Enabled { policy, .. }
        if policy.on_disallowed_origin() == OnDisallowedOrigin::Reject);
    if prepared.ambiguous_origin && rejects {
        return Some(Refused {
            status: StatusCode::FORBIDDEN,
            message: "CORS request refused: more than one origin in Origin",
        });
    }
    None
}

/// The client's side of the gateway: every request through the current
/// [`Table`] to the upstreams.
#[derive(Clone)]
pub(crate) struct Routes {
    pub(crate) table: Arc<Table>,
    pub(crate) conn: ConnInfo,
    pub(crate) tunnels: Tunnels,
}

impl Service<Request<GatewayBody>> for Routes {
    type Response = GatewayResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<GatewayResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.table.serve(req, this.conn, &this.tunnels).await) })
    }
}

/// The route's methods, behind its CORS layer: a method the route lacks gets
/// 405 with `Allow` (or, for an ordinary `OPTIONS`, 204 with `Allow`). The
/// backend service is made by `backend` when a request reaches it, and made
/// ready in the future it answers with.
struct MethodCheck<F> {
    route: Arc<Route>,
    backend: Option<F>,
}

impl<F, S> Service<Request<GatewayBody>> for MethodCheck<F>
where
    F: FnOnce(&Arc<Route>) -> S,
    S: Service<Request<GatewayBody>, Response = Response<GatewayBody>, Error = Infallible>,
{
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Either<
        Ready<Result<Response<GatewayBody>, Infallible>>,
        Either<S::Future, tower::util::Oneshot<S, Request<GatewayBody>>>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let methods = &self.route.methods;
        if methods.contains(req.method()) {
            if let Some(backend) = self.backend.take() {
                let mut inner = backend(&self.route);
                // A backend that is ready at once (the proxy is) is called
                // at once; otherwise its readiness is awaited first.
                let mut cx = Context::from_waker(std::task::Waker::noop());
                return Either::Right(match inner.poll_ready(&mut cx) {
                    Poll::Ready(Ok(())) => Either::Left(inner.call(req)),
                    _ => Either::Right(inner.oneshot(req)),
                });
            }
            // Called twice: the backend was used (dispatch calls it once).
            return Either::Left(future::ready(Ok(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the route's backend was already used",
            ))));
        }
        // An ordinary OPTIONS on a route without OPTIONS gets
        // 204 with Allow (the layer does this when CORS is on; here for
        // routes with `cors = false`).
        let mut res = if req.method() == Method::OPTIONS {
            let mut res = Response::new(body::empty());
            *res.status_mut() = StatusCode::NO_CONTENT;
            res
        } else {
            let msg = format!("{} is not allowed on {}", req.method(), self.route.path);
            error_response(StatusCode::METHOD_NOT_ALLOWED, &msg)
        };
        res.headers_mut()
            .insert(ALLOW, methods.header_value().clone());
        Either::Left(future::ready(Ok(res)))
    }
}

/// The 404 answer, behind the default policy's layer.
#[derive(Clone, Copy)]
struct NotFound;

impl Service<Request<GatewayBody>> for NotFound {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<GatewayBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let msg = format!("no route for {} {}", req.method(), req.uri().path());
        future::ready(Ok(error_response(StatusCode::NOT_FOUND, &msg)))
    }
}

pub(crate) fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(never) => match never {},
    }
}
