//! Forwarding a request to its route's upstream: pooled connections, bodies
//! streamed both ways, hop-by-hop headers removed, forwarding headers
//! written ([`crate::forwarded`]), timeouts, a body limit, and WebSocket
//! handshakes tunnelled ([`crate::websocket`]).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::header::{
    HeaderName, CONNECTION, CONTENT_LENGTH, HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, Version};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::Service;

use crate::body::{self, error_response, GatewayBody, IdleBody, Limited};
use crate::config::{Cidr, Route};
use crate::conn::SharedSlot;
use crate::edge::{self, HeldOrigin};
use crate::forwarded;
use crate::limits::HostPermits;
use crate::websocket::{self, Tunnels};

/// The client every route shares (per configuration): pooled connections,
/// `http://` and `https://` upstreams (verified against the Web PKI roots).
pub(crate) type UpstreamClient = Client<HttpsConnector<HttpConnector>, GatewayBody>;

/// Build the upstream client.
pub(crate) fn client(connect_timeout: Duration, max_idle_per_host: usize) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let connector = HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        // Not input: ring always supports rustls' default protocol versions.
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(max_idle_per_host)
        .build(connector)
}

/// Per-request facts the proxy needs about the client connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    pub tls: bool,
}

/// Limits of the forwarding.
#[derive(Debug, Clone)]
pub(crate) struct ProxySettings {
    pub(crate) upstream_timeout: Duration,
    pub(crate) body_limit: u64,
    /// The longest wait for the next piece of a body, both ways.
    pub(crate) body_idle: Duration,
    /// The cap on connections to each upstream host.
    pub(crate) permits: Arc<HostPermits>,
}

/// The edge's part of the forwarding: whose forwarding headers to believe,
/// and the WebSocket tunnels.
#[derive(Clone)]
pub(crate) struct Edge {
    pub(crate) trusted_proxies: Arc<[Cidr]>,
    pub(crate) websocket_idle_timeout: Duration,
    pub(crate) tunnels: Tunnels,
}

/// What the proxy did, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProxyTiming {
    pub(crate) upstream: Option<Duration>,
}

/// What the proxy needs to forward one request to the route's upstream.
pub(crate) struct Proxy {
    pub(crate) client: UpstreamClient,
    pub(crate) settings: ProxySettings,
    pub(crate) route: Arc<Route>,
    pub(crate) conn: ConnInfo,
    pub(crate) edge: Edge,
}

/// The proxy as the service behind a route's method check, made for one
/// request (when it reaches the method check) and called once, so that its
/// client, settings and route move into the future instead of being copied
/// again: forwards to the route's upstream and puts the [`ProxyTiming`] in
/// the response's extensions.
pub(crate) struct OnceProxy(Option<Proxy>);

impl OnceProxy {
    pub(crate) fn new(proxy: Proxy) -> OnceProxy {
        OnceProxy(Some(proxy))
    }
}

impl Service<Request<GatewayBody>> for OnceProxy {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<GatewayBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let Some(this) = self.0.take() else {
            // Called twice: the method check calls it once.
            return Box::pin(std::future::ready(Ok(crate::body::error_response(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "the route's proxy was already used",
            ))));
        };
        Box::pin(async move {
            let (mut res, timing) = forward(
                &this.client,
                &this.settings,
                &this.route,
                this.conn,
                &this.edge,
                req,
            )
            .await;
            res.extensions_mut().insert(timing);
            Ok(res)
        })
    }
}

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Forward `req` to the route's upstream and return its response, or the
/// gateway's own 413/502/504.
pub(crate) async fn forward(
    client: &UpstreamClient,
    settings: &ProxySettings,
    route: &Route,
    conn: ConnInfo,
    edge: &Edge,
    mut req: Request<GatewayBody>,
) -> (Response<GatewayBody>, ProxyTiming) {
    let mut timing = ProxyTiming::default();
    // 413 before anything is sent when the length is announced.
    if let Some(len) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > settings.body_limit {
            return (too_large(settings.body_limit), timing);
        }
    }

    let uri = match upstream_uri(route, req.uri()) {
        Some(uri) => uri,
        None => {
            return (
                error_response(
                    StatusCode::BAD_REQUEST,
                    "the request path cannot be forwarded",
                ),
                timing,
            )
        }
    };
    let held_origin = req.extensions().get::<HeldOrigin>().cloned();
    let upgrade = websocket::is_handshake(req.method(), req.headers());
    if upgrade {
        if let Err(why) = websocket::admit(route, req.headers(), held_origin.is_some()) {
            return (websocket::refusal_response(why), timing);
        }
    }
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    // The tunnel keeps the client connection's place under max_connections.
    let conn_slot = upgrade
        .then(|| req.extensions().get::<SharedSlot>().map(SharedSlot::hold))
        .flatten();

    let original_host = req.headers().get(HOST).cloned().or_else(|| {
        req.uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let (mut parts, body) = req.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    parts.headers.remove(HOST);
    if upgrade {
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("upgrade"));
        parts
            .headers
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
    }
    edge::restore_origin(&mut parts.headers, held_origin.as_ref());
    edge::join_cookies(&mut parts.headers);
    forwarded::apply(
        &mut parts.headers,
        conn.remote,
        conn.tls,
        &edge.trusted_proxies,
        original_host,
    );
    parts.uri = uri;
    // The upstream connection is HTTP/1.1 whatever the client spoke.
    parts.version = Version::HTTP_11;

    // RFC 9110 §9.2.2: an idempotent request may be sent again when the
    // connection closed before its response came, as happens when a pooled
    // connection meets the upstream's own idle timeout. Only one without a
    // body, which can be sent again as it was; never a POST or a PATCH.
    let replay = (is_idempotent(&parts.method) && !upgrade && body_is_empty(&body))
        .then(|| replay_of(&parts));
    let tripped = Arc::new(AtomicBool::new(false));
    let idle = Arc::new(AtomicBool::new(false));
    let broken = Arc::new(AtomicBool::new(false));
    let body = Limited::new(body, settings.body_limit, tripped.clone()).watching(broken.clone());
    let body = body::boxed(IdleBody::new(body, settings.body_idle, idle.clone()));
    let upstream_req = Request::from_parts(parts, body);

    let started = Instant::now();
    // The wait for a free upstream connection, and a retry, count in
    // upstream_timeout.
    let result = tokio::time::timeout(settings.upstream_timeout, async {
        let permit = settings
            .permits
            .acquire(route.upstream.authority.as_str())
            .await;
        match client.request(upstream_req).await {
            Err(e) if replay.is_some() && closed_under_request(&e) => {
                tracing::debug!(upstream = %route.upstream.raw, error = %error_chain(&e), "connection closed under an idempotent request: sent again");
                let again = replay.map(|parts| Request::from_parts(parts, body::empty()));
                match again {
                    Some(again) => client.request(again).await,
                    None => Err(e),
                }
            }
            other => other,
        }
        .map(|res| (res, permit))
    })
    .await;
    timing.upstream = Some(started.elapsed());
    let res = match result {
        Err(_elapsed) => {
            return (
                error_response(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the upstream did not answer in time",
                ),
                timing,
            )
        }
        Ok(Err(e)) => {
            if tripped.load(Ordering::Relaxed) {
                return (too_large(settings.body_limit), timing);
            }
            if broken.load(Ordering::Relaxed) && !idle.load(Ordering::Relaxed) {
                // The client's body is malformed: its fault, not the
                // upstream's; the rest of it cannot be framed either.
                let mut res =
                    error_response(StatusCode::BAD_REQUEST, "the request body is malformed");
                res.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return (res, timing);
            }
            if idle.load(Ordering::Relaxed) {
                let mut res = error_response(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!(
                        "the request body stopped for longer than body_idle_timeout ({} ms)",
                        settings.body_idle.as_millis()
                    ),
                );
                // The rest of the body may still come: not on this connection.
                res.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return (res, timing);
            }
            tracing::warn!(upstream = %route.upstream.raw, error = %error_chain(&e), "upstream request failed");
            if is_timeout(&e) {
                return (
                    error_response(
                        StatusCode::GATEWAY_TIMEOUT,
                        "the upstream did not accept the connection in time",
                    ),
                    timing,
                );
            }
            return (
                error_response(StatusCode::BAD_GATEWAY, "the upstream is unreachable"),
                timing,
            );
        }
        Ok(Ok(res)) => res,
    };
    let (mut res, permit) = res;

    if res.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client_upgrade) = client_upgrade else {
            // A 101 nobody asked for would hand the connection to the
            // upstream past routing.
            tracing::warn!(upstream = %route.upstream.raw, "101 without an upgrade asked");
            return (
                error_response(
                    StatusCode::BAD_GATEWAY,
                    "the upstream switched protocols unasked",
                ),
                timing,
            );
        };
        let upstream_upgrade = hyper::upgrade::on(&mut res);
        let open = edge.tunnels.open();
        let idle = edge.websocket_idle_timeout;
        tokio::spawn(async move {
            // The upstream connection counts against the host's cap, and
            // the client connection against max_connections, for as long
            // as the tunnel lives.
            let _slot = permit;
            let _conn_slot = conn_slot;
            let both = tokio::time::timeout(idle, async {
                tokio::try_join!(client_upgrade, upstream_upgrade)
            });
            match both.await {
                Ok(Ok((client_io, upstream_io))) => {
                    websocket::run(
                        TokioIo::new(client_io),
                        TokioIo::new(upstream_io),
                        idle,
                        open,
                    )
                    .await;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "upgrade failed"),
                Err(_) => tracing::warn!("upgrade not completed in time"),
            }
        });
        let (parts, body) = res.into_parts();
        return (Response::from_parts(parts, body::boxed(body)), timing);
    }

    let (mut parts, body) = res.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    // A stalled upstream body is cut, and its connection slot given back.
    let body = IdleBody::new(body, settings.body_idle, Arc::default()).holding(permit);
    // The upstream's HTTP version is its own hop's business: the client gets
    // the gateway's (an HTTP/1.0 upstream must not turn the answer into 1.0).
    parts.version = Version::default();
    (Response::from_parts(parts, body::boxed(body)), timing)
}

fn too_large(limit: u64) -> Response<GatewayBody> {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than the limit of {limit} bytes"),
    )
}

/// The URI on the upstream: its scheme and authority, its path prefix, then
/// the request path without `strip_prefix`, and the query.
pub(crate) fn upstream_uri(route: &Route, uri: &Uri) -> Option<Uri> {
    let mut path = uri.path();
    if let Some(prefix) = &route.strip_prefix {
        if let Some(rest) = path.strip_prefix(prefix.as_str()) {
            path = rest;
        }
    }
    let mut pq = String::with_capacity(route.upstream.base_path.len() + path.len() + 16);
    pq.push_str(&route.upstream.base_path);
    if !path.starts_with('/') {
        pq.push('/');
    }
    pq.push_str(path);
    if let Some(q) = uri.query() {
        pq.push('?');
        pq.push_str(q);
    }
    let pq = PathAndQuery::try_from(pq).ok()?;
    Uri::builder()
        .scheme(route.upstream.scheme.clone())
        .authority(route.upstream.authority.clone())
        .path_and_query(pq)
        .build()
        .ok()
}

/// RFC 9110 §7.6.1: `Connection` and the names it lists, and the fixed
/// hop-by-hop names, are for one connection only.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    const FIXED: [HeaderName; 8] = [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ];
    // One pass over the names finds which of them are there (most messages
    // carry none, an upstream's answer often `Connection`); only those are
    // removed. `Connection` lists names only if it is there.
    let mut present = 0u8;
    let mut proxy_named = false;
    for k in headers.keys() {
        match FIXED.iter().position(|f| f == k) {
            Some(i) => present |= 1 << i,
            None => proxy_named |= k.as_str().starts_with("proxy-"),
        }
    }
    if present == 0 && !proxy_named {
        return;
    }
    if present & 1 != 0 {
        let listed: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    for (i, name) in FIXED.into_iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(name);
        }
    }
    if proxy_named {
        let proxy: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("proxy-"))
            .cloned()
            .collect();
        for name in proxy {
            headers.remove(name);
        }
    }
}

/// RFC 9110 §9.2.2: the methods whose repetition has the effect of one.
fn is_idempotent(method: &http::Method) -> bool {
    use http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}

fn body_is_empty(body: &GatewayBody) -> bool {
    use http_body::Body as _;
    body.is_end_stream() || body.size_hint().exact() == Some(0)
}

/// The request head again, for a second attempt without a body.
fn replay_of(parts: &http::request::Parts) -> http::request::Parts {
    let (mut again, ()) = Request::new(()).into_parts();
    again.method = parts.method.clone();
    again.uri = parts.uri.clone();
    again.version = parts.version;
    again.headers = parts.headers.clone();
    again
}

/// Did the upstream close (or reset) an established connection before the
/// response came? Not a connect error: an upstream that is down is a 502.
fn closed_under_request(e: &hyper_util::client::legacy::Error) -> bool {
    if e.is_connect() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ) {
                return true;
            }
        }
        source = err.source();
    }
    false
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = err.source();
    }
    false
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}
