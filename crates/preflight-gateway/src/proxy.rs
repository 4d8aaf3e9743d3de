//! Forwarding a request to its route's upstream: pooled connections, bodies
//! streamed both ways, hop-by-hop headers removed, `X-Forwarded-*` added,
//! timeouts, a body limit, and `Upgrade` passed through.

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
use crate::config::Route;
use crate::limits::HostPermits;

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

/// What the proxy did, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProxyTiming {
    pub(crate) upstream: Option<Duration>,
}

/// The proxy as the service behind a route's method check: forwards to the
/// route's upstream and puts the [`ProxyTiming`] in the response's extensions.
#[derive(Clone)]
pub(crate) struct Proxy {
    pub(crate) client: UpstreamClient,
    pub(crate) settings: ProxySettings,
    pub(crate) route: Arc<Route>,
    pub(crate) conn: ConnInfo,
}

impl Service<Request<GatewayBody>> for Proxy {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<GatewayBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<GatewayBody>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (mut res, timing) =
                forward(&this.client, &this.settings, &this.route, this.conn, req).await;
            res.extensions_mut().insert(timing);
            Ok(res)
        })
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Forward `req` to the route's upstream and return its response, or the
/// gateway's own 413/502/504.
pub(crate) async fn forward(
    client: &UpstreamClient,
    settings: &ProxySettings,
    route: &Route,
    conn: ConnInfo,
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
    let upgrade = upgrade_requested(req.headers());
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));

    let original_host = req.headers().get(HOST).cloned().or_else(|| {
        req.uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let (mut parts, body) = req.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    parts.headers.remove(HOST);
    if let Some(proto) = &upgrade {
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(UPGRADE, proto.clone());
    }
    add_forwarded(&mut parts.headers, conn, original_host);
    parts.uri = uri;
    // The upstream connection is HTTP/1.1 whatever the client spoke.
    parts.version = Version::HTTP_11;

    let tripped = Arc::new(AtomicBool::new(false));
    let idle = Arc::new(AtomicBool::new(false));
    let body = Limited::new(body, settings.body_limit, tripped.clone());
    let body = body::boxed(IdleBody::new(body, settings.body_idle, idle.clone()));
    let upstream_req = Request::from_parts(parts, body);

    let started = Instant::now();
    // The wait for a free upstream connection counts in upstream_timeout.
    let result = tokio::time::timeout(settings.upstream_timeout, async {
        let permit = settings
            .permits
            .acquire(route.upstream.authority.as_str())
            .await;
        client.request(upstream_req).await.map(|res| (res, permit))
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
        if let Some(client_upgrade) = client_upgrade {
            let upstream_upgrade = hyper::upgrade::on(&mut res);
            tokio::spawn(async move {
                let _slot = permit;
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client_io, upstream_io)) => {
                        let mut client_io = TokioIo::new(client_io);
                        let mut upstream_io = TokioIo::new(upstream_io);
                        if let Err(e) =
                            tokio::io::copy_bidirectional(&mut client_io, &mut upstream_io).await
                        {
                            tracing::debug!(error = %e, "upgraded connection closed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "upgrade failed"),
                }
            });
            let (parts, body) = res.into_parts();
            return (Response::from_parts(parts, body::boxed(body)), timing);
        }
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

/// The protocol asked for when the request is an HTTP/1.1 upgrade
/// (`Connection: upgrade` and `Upgrade: websocket`).
fn upgrade_requested(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if wants {
        headers.get(UPGRADE).cloned()
    } else {
        None
    }
}

/// RFC 9110 §7.6.1: `Connection` and the names it lists, and the fixed
/// hop-by-hop names, are for one connection only.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
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
    for name in [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(name);
    }
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy {
        headers.remove(name);
    }
}

fn add_forwarded(headers: &mut HeaderMap, conn: ConnInfo, host: Option<HeaderValue>) {
    let ip = conn.remote.ip().to_string();
    let xff = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => format!("{prior}, {ip}"),
        _ => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    headers.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if conn.tls { "https" } else { "http" }),
    );
    if let Some(host) = host {
        headers.insert(X_FORWARDED_HOST, host);
    }
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
