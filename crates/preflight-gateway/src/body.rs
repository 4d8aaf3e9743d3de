//! Body types of the gateway: one boxed streaming body for requests and
//! responses, and a request body that stops at the body limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};
use pin_project_lite::pin_project;

/// Errors carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error of a [`GatewayBody`]: a named type (not a bare `Box<dyn Error>`)
/// so that futures holding the body are provably `Send`.
#[derive(Debug)]
pub struct BodyError(pub BoxError);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The gateway's body: streamed, never buffered whole.
pub type GatewayBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BodyError>;

/// The response type of the gateway's routes: the CORS layer's body around
/// [`GatewayBody`].
pub type GatewayResponse = Response<preflight_tower::CorsBody<GatewayBody>>;

/// An empty body.
pub fn empty() -> GatewayBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body of these bytes.
pub fn full(data: impl Into<Bytes>) -> GatewayBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Box any body whose errors convert.
pub fn boxed<B>(body: B) -> GatewayBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(|e| BodyError(e.into())).boxed_unsync()
}

/// The gateway's own error answer: a one-line JSON body, so that a script
/// that can read it (the CORS headers are added by the layer) sees why.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response<GatewayBody> {
    let body = serde_json::json!({ "error": message, "status": status.as_u16() }).to_string();
    let mut res = Response::new(full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The error a [`Limited`] body yields once the limit is passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than the limit of {0} bytes")]
pub(crate) struct BodyTooLarge(pub(crate) u64);

pin_project! {
    /// A request body that fails once more than `limit` bytes went through,
    /// and raises `tripped` so that the proxy answers 413 rather than 502;
    /// it raises `broken` when the client's body itself fails (a malformed
    /// chunk, RFC 9112 §7.1), so that the proxy answers 400.
    pub(crate) struct Limited<B> {
        #[pin]
        inner: B,
        seen: u64,
        limit: u64,
        tripped: Arc<AtomicBool>,
        broken: Option<Arc<AtomicBool>>,
    }
}

impl<B> Limited<B> {
    pub(crate) fn new(inner: B, limit: u64, tripped: Arc<AtomicBool>) -> Self {
        Limited {
            inner,
            seen: 0,
            limit,
            tripped,
            broken: None,
        }
    }

    /// Raise `broken` when the inner body fails.
    pub(crate) fn watching(mut self, broken: Arc<AtomicBool>) -> Self {
        self.broken = Some(broken);
        self
    }
}

impl<B> Body for Limited<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.seen += data.len() as u64;
                    if *this.seen > *this.limit {
                        this.tripped.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge(*this.limit)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(broken) = this.broken {
                    broken.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The error an [`IdleBody`] yields when no piece came in time.
#[derive(Debug, thiserror::Error)]
#[error("no part of the body came within {0:?}")]
pub(crate) struct BodyIdle(pub(crate) std::time::Duration);

pin_project! {
    /// A body that fails when its next piece takes longer than `idle`
    /// (RELIABILITY.md, body idle), and raises `tripped` when it does; it
    /// holds `hold` (an upstream connection slot) until dropped.
    pub(crate) struct IdleBody<B> {
        #[pin]
        inner: B,
        idle: std::time::Duration,
        #[pin]
        timer: tokio::time::Sleep,
        // True while the timer runs: from the first `Pending` after a piece.
        waiting: bool,
        tripped: Arc<AtomicBool>,
        hold: Option<tokio::sync::OwnedSemaphorePermit>,
    }
}

impl<B> IdleBody<B> {
    pub(crate) fn new(inner: B, idle: std::time::Duration, tripped: Arc<AtomicBool>) -> Self {
        IdleBody {
            inner,
            idle,
            timer: tokio::time::sleep(idle),
            waiting: false,
            tripped,
            hold: None,
        }
    }

    /// Keep `permit` until the body is dropped.
    pub(crate) fn holding(mut self, permit: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        self.hold = permit;
        self
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                *this.waiting = false;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                // The time counted is the wait for the source only, not the
                // time the reader took between two polls.
                if !*this.waiting {
                    *this.waiting = true;
                    let at = tokio::time::Instant::now() + *this.idle;
                    this.timer.as_mut().reset(at);
                }
                match this.timer.poll(cx) {
                    Poll::Ready(()) => {
                        this.tripped.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(Box::new(BodyIdle(*this.idle)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
