//! What a [`Server`](super::Server)'s handler answers, and the body type of a
//! streaming handler.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

/// The body a [`Server::streaming`](super::Server::streaming) handler answers with.
pub type Body = BoxBody<Bytes, Infallible>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// No body.
pub fn empty() -> Body {
    Empty::new().boxed()
}

/// A whole answer: status, header lines in order, body; optionally an HTTP
/// version other than the request's, and a delay before it is sent.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    version: Option<Version>,
    delay: Option<Duration>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            version: None,
            delay: None,
        }
    }

    /// `200` with `body`.
    pub fn ok(body: impl Into<Bytes>) -> Reply {
        Reply::new(200).body(body)
    }

    /// One more header line (kept after any of the same name).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// More header lines, in order.
    pub fn headers<N: Into<String>, V: Into<String>>(
        mut self,
        lines: impl IntoIterator<Item = (N, V)>,
    ) -> Reply {
        self.headers
            .extend(lines.into_iter().map(|(n, v)| (n.into(), v.into())));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Reply {
        self.body = body.into();
        self
    }

    /// Answer in this HTTP version (`HTTP/1.0` for an old upstream); by
    /// default, the request's.
    pub fn version(mut self, version: Version) -> Reply {
        self.version = Some(version);
        self
    }

    /// Hold the answer this long (a slow upstream); other connections are
    /// served meanwhile.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// This reply, or a bare `500` if one of its header lines is not a valid
    /// name or value (by `HeaderValue::from_str`: visible ASCII), so that a
    /// test never passes on a line that was dropped.
    pub fn strict(self) -> Reply {
        let valid = self.headers.iter().all(|(n, v)| {
            HeaderName::from_bytes(n.as_bytes()).is_ok() && HeaderValue::from_str(v).is_ok()
        });
        if valid {
            self
        } else {
            Reply::new(500)
        }
    }

    pub(crate) fn delay(&self) -> Option<Duration> {
        self.delay
    }

    /// The response; a header line that is not a valid name or value is left
    /// out (a test that wants such lines on the wire writes them with [`raw`](crate::raw)).
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut res = Response::new(full(self.body));
        *res.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(v) = self.version {
            *res.version_mut() = v;
        }
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                res.headers_mut().append(n, v);
            }
        }
        res
    }
}

/// `(status, header lines, body)`.
impl From<(u16, Vec<(String, String)>, String)> for Reply {
    fn from((status, headers, body): (u16, Vec<(String, String)>, String)) -> Reply {
        Reply::new(status).headers(headers).body(body)
    }
}
