//! The response body of [`crate::Cors`]: the inner service's body, or a short
//! body of the layer's own (empty for preflights, one line in debug mode).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// Either the inner body or a body the layer wrote itself.
    #[project = CorsBodyProj]
    pub enum CorsBody<B> {
        /// The inner service's body, untouched.
        Inner { #[pin] body: B },
        /// The layer's own answer.
        Full { data: Option<Bytes> },
    }
}

impl<B> CorsBody<B> {
    /// Wrap an inner body.
    pub fn inner(body: B) -> Self {
        CorsBody::Inner { body }
    }
    /// An empty body.
    pub fn empty() -> Self {
        CorsBody::Full { data: None }
    }
    /// A body with these bytes.
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        CorsBody::Full {
            data: (!data.is_empty()).then_some(data),
        }
    }
}

impl<B> Default for CorsBody<B> {
    fn default() -> Self {
        CorsBody::empty()
    }
}

impl<B> Body for CorsBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project() {
            CorsBodyProj::Inner { body } => body.poll_frame(cx),
            CorsBodyProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            CorsBody::Inner { body } => body.is_end_stream(),
            CorsBody::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            CorsBody::Inner { body } => body.size_hint(),
            CorsBody::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
