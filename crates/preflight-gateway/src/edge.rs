//! What a request must be before the router sees it (`docs/behaviour.md`,
//! "Requests at the edge"): one `Host` that agrees with the request target,
//! a path normalized by [`crate::path`], and at most one origin in `Origin`.
//! Also the `Cookie` fields of an HTTP/2 request joined for the HTTP/1.1 hop.

use std::convert::Infallible;
use std::task::{Context, Poll};

use futures_util::future::{self, Ready};
use http::header::{ACCESS_CONTROL_REQUEST_METHOD, COOKIE, HOST, ORIGIN};
use http::uri::{PathAndQuery, Uri};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use tower::Service;

use crate::body::{error_response, GatewayBody};
use crate::path::{self, PathRefusal};

/// A request the gateway answers itself, before any route: the status and
/// the one line of its body.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    pub(crate) status: StatusCode,
    pub(crate) message: &'static str,
}

impl Refused {
    fn bad(message: &'static str) -> Refused {
        Refused {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }
}

/// The first `Origin` of a request that had more than one (or a list in
/// one): kept out of the CORS decision, forwarded alone.
#[derive(Debug, Clone)]
pub(crate) struct HeldOrigin(pub(crate) HeaderValue);

/// What [`prepare`] found.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Prepared {
    /// The path holds an encoded `/` or `\`.
    pub(crate) encoded_separator: bool,
    /// More than one origin was given: the request is from a disallowed
    /// origin.
    pub(crate) ambiguous_origin: bool,
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host`; and a request
/// target in absolute-form (or HTTP/2's `:authority`) names the same host.
/// For client requests only (explain's synthetic requests carry no `Host`).
pub(crate) fn check_host<B>(req: &Request<B>) -> Result<(), Refused> {
    let mut hosts = req.headers().get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Refused::bad("the request has more than one Host"));
    }
    if host.is_none() && req.version() == Version::HTTP_11 {
        return Err(Refused::bad("an HTTP/1.1 request needs a Host header"));
    }
    if let (Some(host), Some(authority)) = (host, req.uri().authority()) {
        if !host
            .as_bytes()
            .eq_ignore_ascii_case(authority.as_str().as_bytes())
        {
            return Err(Refused::bad(
                "the request target names another host than the Host header",
            ));
        }
    }
    Ok(())
}

/// The size of a request's header fields as the gateway counts them: each
/// field's name and value and 4 bytes (`: ` and CRLF), as on the HTTP/1.1
/// wire (RFC 9112 §5); the request line and HTTP/2 pseudo-header fields are
/// not counted.
pub(crate) fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// RFC 6585 §5: header fields larger than `max_request_header_bytes` get
/// 431. A client request only (explain's synthetic requests are small).
pub(crate) fn check_header_size<B>(req: &Request<B>, limit: usize) -> Result<(), Refused> {
    if header_bytes(req.headers()) > limit {
        return Err(Refused {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            message: "the request's header fields are larger than max_request_header_bytes",
        });
    }
    Ok(())
}

/// Normalize the path (forwarded as normalized) and hold back an ambiguous
/// `Origin`. A preflight with more than one origin is refused here.
pub(crate) fn prepare<B>(req: &mut Request<B>) -> Result<Prepared, Refused> {
    let (rewritten, encoded_separator) = {
        let normalized = path::normalize(req.uri().path()).map_err(|r| match r {
            PathRefusal::TooLong => Refused {
                status: StatusCode::URI_TOO_LONG,
                message: r.message(),
            },
            r => Refused::bad(r.message()),
        })?;
        let rewritten = (normalized.path != req.uri().path()).then(|| match req.uri().query() {
            Some(q) => format!("{}?{q}", normalized.path),
            None => normalized.path.into_owned(),
        });
        (rewritten, normalized.encoded_separator)
    };
    if let Some(pq) = rewritten {
        let pq = PathAndQuery::try_from(pq)
            .map_err(|_| Refused::bad("the request path cannot be forwarded"))?;
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(pq);
        *req.uri_mut() = Uri::from_parts(parts)
            .map_err(|_| Refused::bad("the request path cannot be forwarded"))?;
    }
    let ambiguous_origin = hold_ambiguous_origin(req);
    if ambiguous_origin
        && req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        return Err(Refused {
            status: StatusCode::FORBIDDEN,
            message: "CORS preflight refused: more than one origin in Origin",
        });
    }
    Ok(Prepared {
        encoded_separator,
        ambiguous_origin,
    })
}

/// Fetch sends one serialized origin (or `null`) in one `Origin` field. More
/// fields, or a list in one (RFC 6454 §7 allows a space-separated list), are
/// treated as a disallowed origin: removed before the CORS decision, the
/// first kept in [`HeldOrigin`] to be forwarded alone.
pub(crate) fn hold_ambiguous_origin<B>(req: &mut Request<B>) -> bool {
    let held = {
        let mut values = req.headers().get_all(ORIGIN).iter();
        let first = values.next();
        let ambiguous = values.next().is_some()
            || first.is_some_and(|v| {
                v.as_bytes()
                    .iter()
                    .any(|b| *b == b',' || b.is_ascii_whitespace())
            });
        if !ambiguous {
            return false;
        }
        first.cloned()
    };
    let Some(first) = held else {
        return false;
    };
    req.headers_mut().remove(ORIGIN);
    req.extensions_mut().insert(HeldOrigin(first));
    true
}

/// Put a held-back `Origin` back, alone, for the upstream.
pub(crate) fn restore_origin(headers: &mut HeaderMap, held: Option<&HeldOrigin>) {
    if let Some(HeldOrigin(v)) = held {
        headers.insert(ORIGIN, v.clone());
    }
}

/// RFC 9113 §8.2.3: an HTTP/2 request may split `cookie` into several
/// fields; for HTTP/1.1 they are joined with "; " into one.
pub(crate) fn join_cookies(headers: &mut HeaderMap) {
    let mut values = headers.get_all(COOKIE).iter();
    let Some(first) = values.next() else {
        return;
    };
    let rest: Vec<&HeaderValue> = values.collect();
    if rest.is_empty() {
        return;
    }
    let mut joined = first.as_bytes().to_vec();
    for v in rest {
        joined.extend_from_slice(b"; ");
        joined.extend_from_slice(v.as_bytes());
    }
    if let Ok(v) = HeaderValue::from_bytes(&joined) {
        headers.insert(COOKIE, v);
    }
}

/// The gateway's own answer to a refused request, as a service, so that it
/// goes through a CORS layer like the 404 and 405.
#[derive(Debug, Clone)]
pub(crate) struct Answer(pub(crate) Refused);

impl<B> Service<Request<B>> for Answer {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<GatewayBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        future::ready(Ok(error_response(self.0.status, self.0.message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_count_name_value_and_four() {
        let mut h = HeaderMap::new();
        assert_eq!(header_bytes(&h), 0);
        h.append(ORIGIN, HeaderValue::from_static("https://a.example"));
        h.append("x-a", HeaderValue::from_static(""));
        assert_eq!(header_bytes(&h), 6 + 17 + 4 + 3 + 4);
        let req = Request::builder().header("x-a", "b").body(()).unwrap();
        assert!(check_header_size(&req, 8).is_ok());
        let refused = check_header_size(&req, 7).unwrap_err();
        assert_eq!(refused.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn cookies_are_joined_once() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1"));
        join_cookies(&mut h);
        assert_eq!(h.get_all(COOKIE).iter().count(), 1);
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        h.append(COOKIE, HeaderValue::from_static("c=3"));
        join_cookies(&mut h);
        let all: Vec<_> = h.get_all(COOKIE).iter().collect();
        assert_eq!(all, ["a=1; b=2; c=3"]);
    }
}
