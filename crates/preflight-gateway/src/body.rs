//! Body types of the gateway: one boxed streaming body for requests and
//! responses, and a request body that stops at the body limit.

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
    /// and raises `tripped` so that the proxy answers 413 rather than 502.
    pub(crate) struct Limited<B> {
        #[pin]
        inner: B,
        seen: u64,
        limit: u64,
        tripped: Arc<AtomicBool>,
    }
}

impl<B> Limited<B> {
    pub(crate) fn new(inner: B, limit: u64, tripped: Arc<AtomicBool>) -> Self {
        Limited {
            inner,
            seen: 0,
            limit,
            tripped,
        }
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
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
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
