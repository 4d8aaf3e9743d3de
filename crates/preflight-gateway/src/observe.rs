//! [`ObserveLayer`]: the metrics, the access log and the record of refused
//! cross-origin requests, as a layer around the router. It reads what the
//! route's CORS layer decided ([`CorsOutcome`]) from the response; a refusal's
//! code and text are its [`Refusal`]'s own.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use http::header::ORIGIN;
use http::{HeaderValue, Method, Request, Uri};
use pin_project_lite::pin_project;
use preflight_core::Refusal;
use preflight_tower::CorsOutcome;
use tower::{Layer, Service};

use crate::access_log::{self, AccessLog};
use crate::body::GatewayResponse;
use crate::limits::clip;
use crate::metrics::{Metrics, RefusedRequest};
use crate::proxy::ProxyTiming;
use crate::router::MatchedRoute;
use crate::websocket::WebSocketRefused;

/// The label of requests without a route (metrics, logs).
pub(crate) const NO_ROUTE: &str = "(no route)";

/// Counts, logs and records every request of one client connection.
#[derive(Clone)]
pub(crate) struct ObserveLayer {
    metrics: Arc<Metrics>,
    remote: SocketAddr,
    access: AccessLog,
}

impl ObserveLayer {
    pub(crate) fn new(
        metrics: Arc<Metrics>,
        remote: SocketAddr,
        access: AccessLog,
    ) -> ObserveLayer {
        ObserveLayer {
            metrics,
            remote,
            access,
        }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`ObserveLayer`].
#[derive(Clone)]
pub(crate) struct Observe<S> {
    inner: S,
    layer: ObserveLayer,
}

/// What the access log says of the request, read before it goes on. These
/// share the request's buffers (no copy); what is kept of them past the
/// request (a refusal's record) or written (the log) is cut to a fixed size
/// there, as every string kept from a request (RELIABILITY.md, bounded
/// memory).
struct Seen {
    method: Method,
    uri: Uri,
    origin: Option<HeaderValue>,
    remote: SocketAddr,
    /// When the request came, where the access log is on.
    started: Option<Instant>,
}

impl Seen {
    fn view(&self) -> SeenRef<'_> {
        SeenRef {
            method: self.method.as_str(),
            path: self.uri.path(),
            origin: self.origin.as_ref().map(HeaderValue::as_bytes),
            remote: self.remote,
            started: self.started,
        }
    }
}

/// What the record of a request reads of it, borrowed: from a parsed
/// request ([`Seen`]) or from the bytes of a request head (`crate::express`).
pub(crate) struct SeenRef<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) origin: Option<&'a [u8]>,
    pub(crate) remote: SocketAddr,
    /// When the request came, where the access log is on.
    pub(crate) started: Option<Instant>,
}

impl SeenRef<'_> {
    fn elapsed(&self) -> Duration {
        self.started.map(|t| t.elapsed()).unwrap_or_default()
    }

    fn method(&self) -> Cow<'_, str> {
        clipped(Cow::Borrowed(self.method))
    }

    fn path(&self) -> Cow<'_, str> {
        clipped(Cow::Borrowed(self.path))
    }

    fn origin(&self) -> Option<Cow<'_, str>> {
        self.origin.map(|o| clipped(String::from_utf8_lossy(o)))
    }
}

/// What the record of a request reads of its answer.
pub(crate) struct Answered<'a> {
    /// The route's path, or [`NO_ROUTE`].
    pub(crate) label: &'a str,
    pub(crate) status: u16,
    /// How long the upstream took, when the request went to one.
    pub(crate) upstream: Option<Duration>,
    pub(crate) outcome: Option<&'a CorsOutcome>,
    pub(crate) websocket: Option<&'a WebSocketRefused>,
}

impl<'a> Answered<'a> {
    fn of(res: &'a GatewayResponse) -> Answered<'a> {
        let ext = res.extensions();
        Answered {
            label: ext
                .get::<MatchedRoute>()
                .map_or(NO_ROUTE, |m| m.0.path.as_str()),
            status: res.status().as_u16(),
            upstream: ext.get::<ProxyTiming>().and_then(|t| t.upstream),
            outcome: ext.get::<CorsOutcome>(),
            websocket: ext.get::<WebSocketRefused>(),
        }
    }
}

/// `s` cut as [`clip`] cuts it, copied only when it is cut.
fn clipped(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.len() <= crate::limits::KEPT_STRING_MAX {
        s
    } else {
        Cow::Owned(clip(&s))
    }
}

impl<S, B> Service<Request<B>> for Observe<S>
where
    S: Service<Request<B>, Response = GatewayResponse>,
    S::Future: Send + 'static,
{
    type Response = GatewayResponse;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let metrics = self.layer.metrics.clone();
        let access = self.layer.access.clone();
        // The clock is read for the log's `ms` only.
        let started = (!matches!(access, AccessLog::Off)).then(Instant::now);
        let seen = Seen {
            method: req.method().clone(),
            uri: req.uri().clone(),
            origin: req.headers().get(ORIGIN).cloned(),
            remote: self.layer.remote,
            started,
        };
        let in_flight = InFlight::new(metrics);
        ObserveFuture {
            inner: self.inner.call(req),
            done: Some((seen, access, in_flight)),
        }
    }
}

pin_project! {
    /// The future of [`Observe`]: the inner service's, then the record. A
    /// type of its own, not a boxed `async` block: one allocation and one
    /// move of the state fewer per request.
    pub(crate) struct ObserveFuture<F> {
        #[pin]
        inner: F,
        done: Option<(Seen, AccessLog, InFlight)>,
    }
}

impl<F, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<GatewayResponse, E>>,
{
    type Output = Result<GatewayResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(res)) => res,
        };
        if let Some((seen, access, in_flight)) = this.done.take() {
            record(&in_flight.0, &access, &seen.view(), &Answered::of(&res));
            drop(in_flight);
        }
        Poll::Ready(Ok(res))
    }
}

/// Count the request, record a refusal, write the access log line.
pub(crate) fn record(
    metrics: &Metrics,
    access: &AccessLog,
    seen: &SeenRef<'_>,
    res: &Answered<'_>,
) {
    let label = res.label;
    let status = res.status;
    metrics.request(label, seen.method, status);
    if let Some(t) = res.upstream {
        metrics.upstream_latency(label, t);
    }
    let outcome = res.outcome;
    let refusal: Option<(&'static str, &Refusal)> = match outcome {
        Some(CorsOutcome::Preflight { allowed, reason }) => {
            metrics.preflight(label, *allowed, reason.as_ref().map_or("", |r| r.code()));
            reason.as_ref().map(|r| ("preflight", r))
        }
        Some(CorsOutcome::Actual {
            reason: Some(r), ..
        }) => Some(("actual", r)),
        _ => None,
    };
    let cors = match outcome {
        Some(CorsOutcome::Preflight { allowed: true, .. }) => "preflight-allowed",
        Some(CorsOutcome::Preflight { allowed: false, .. }) => "preflight-refused",
        Some(CorsOutcome::Actual { allowed: true, .. }) => "allowed",
        Some(CorsOutcome::Actual { allowed: false, .. }) => "refused",
        _ => "none",
    };
    // A refusal says why, in the log too. A refused WebSocket handshake is
    // recorded once, as such.
    let mut why = refusal.map(|(_, r)| clip(&r.to_string()));
    let websocket = res.websocket;
    if let Some(ws) = websocket {
        why = Some(ws.reason.to_string());
        metrics.refused(RefusedRequest {
            at: SystemTime::now(),
            route: label.to_string(),
            method: seen.method().into_owned(),
            path: seen.path().into_owned(),
            origin: seen.origin().unwrap_or_default().into_owned(),
            kind: "websocket",
            code: ws.code.to_string(),
            reason: ws.reason.to_string(),
        });
    }
    if let (Some((kind, r)), None) = (refusal, websocket) {
        metrics.refused(RefusedRequest {
            at: SystemTime::now(),
            route: label.to_string(),
            method: seen.method().into_owned(),
            path: seen.path().into_owned(),
            origin: seen.origin().unwrap_or_default().into_owned(),
            kind,
            code: r.code().to_string(),
            reason: why.clone().unwrap_or_default(),
        });
    }
    let why = why.as_deref().unwrap_or("-");
    log(access, seen, label, status, cors, why);
}

/// Write the request's access log line (none when the log is off).
pub(crate) fn log(
    access: &AccessLog,
    seen: &SeenRef<'_>,
    label: &str,
    status: u16,
    cors: &str,
    why: &str,
) {
    match access {
        AccessLog::Off => {}
        AccessLog::Stderr => tracing::info!(
            target: "preflight::access",
            remote = %seen.remote,
            method = %seen.method(),
            path = %seen.path(),
            status,
            route = label,
            origin = seen.origin().as_deref().unwrap_or("-"),
            cors,
            why,
            // Milliseconds to the microsecond: a fixed width that reads and
            // sorts alike, not a float's shortest round-trip form.
            ms = %format_args!("{:.3}", seen.elapsed().as_secs_f64() * 1000.0),
        ),
        // The same fields, one `key=value` line each (docs/configuration.md,
        // "Access log"), into the log's shared buffer.
        AccessLog::File(log) => log.line(|b| {
            access_log::timestamp(b, SystemTime::now());
            access_log::field_addr(b, "remote", seen.remote);
            access_log::field(b, "method", &seen.method());
            access_log::field(b, "path", &seen.path());
            access_log::field_number(b, "status", u64::from(status));
            access_log::field(b, "route", label);
            access_log::field(b, "origin", seen.origin().as_deref().unwrap_or("-"));
            access_log::field(b, "cors", cors);
            access_log::field(b, "why", why);
            let us = u64::try_from(seen.elapsed().as_micros()).unwrap_or(u64::MAX);
            access_log::field_ms(b, "ms", us);
        }),
    }
}

/// Counts a request in flight until dropped.
struct InFlight(Arc<Metrics>);

impl InFlight {
    fn new(m: Arc<Metrics>) -> Self {
        m.in_flight().inc();
        InFlight(m)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight().dec();
    }
}
