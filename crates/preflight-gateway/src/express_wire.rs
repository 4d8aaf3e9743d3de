//! A route's allowed-preflight answer as the bytes of an HTTP/1.1 response
//! head, made once per route: what hyper writes for the same answer (status
//! line, the fields in order, lower-case names, `date` last), with the two
//! values that depend on the request left as gaps.

use http::{HeaderValue, StatusCode};
use preflight_core::{PreflightAllowed, PreflightAnswer};

/// The answer with and without `Access-Control-Allow-Headers`.
#[derive(Debug)]
pub(crate) struct WireAnswer {
    with_allow_headers: Wire,
    without_allow_headers: Wire,
}

#[derive(Debug)]
struct Wire(Vec<Piece>);

#[derive(Debug)]
enum Piece {
    Fixed(Box<[u8]>),
    /// The value of `Access-Control-Allow-Origin` for this request.
    Origin,
    /// The value of `Access-Control-Allow-Headers` for this request.
    AllowHeaders,
}

impl WireAnswer {
    pub(crate) fn new(answer: &PreflightAnswer) -> WireAnswer {
        WireAnswer {
            with_allow_headers: Wire::new(answer, true),
            without_allow_headers: Wire::new(answer, false),
        }
    }

    /// Write `allowed`'s answer, up to and with `date: ` (the caller writes
    /// the date and the end of the head).
    pub(crate) fn write(&self, allowed: &PreflightAllowed, out: &mut Vec<u8>) {
        let wire = match allowed.allow_headers {
            Some(_) => &self.with_allow_headers,
            None => &self.without_allow_headers,
        };
        for piece in &wire.0 {
            match piece {
                Piece::Fixed(b) => out.extend_from_slice(b),
                Piece::Origin => out.extend_from_slice(allowed.allow_origin.as_bytes()),
                Piece::AllowHeaders => {
                    if let Some(h) = &allowed.allow_headers {
                        out.extend_from_slice(h.as_bytes());
                    }
                }
            }
        }
    }
}

impl Wire {
    fn new(answer: &PreflightAnswer, allow_headers: bool) -> Wire {
        // Any values: the answer tells its request-dependent fields by
        // handing back these very values (compared by address).
        let probe = PreflightAllowed {
            status: StatusCode::NO_CONTENT,
            allow_origin: HeaderValue::from_static("o"),
            allow_credentials: false,
            allow_methods: HeaderValue::from_static("m"),
            allow_headers: allow_headers.then(|| HeaderValue::from_static("h")),
            max_age: None,
            vary: HeaderValue::from_static("v"),
        };
        let mut pieces = Vec::new();
        let mut fixed = b"HTTP/1.1 204 No Content\r\n".to_vec();
        answer.for_each_field(&probe, |name, value| {
            fixed.extend_from_slice(name.as_str().as_bytes());
            fixed.extend_from_slice(b": ");
            let gap = if std::ptr::eq(value, &probe.allow_origin) {
                Some(Piece::Origin)
            } else if probe
                .allow_headers
                .as_ref()
                .is_some_and(|h| std::ptr::eq(value, h))
            {
                Some(Piece::AllowHeaders)
            } else {
                None
            };
            match gap {
                Some(piece) => {
                    pieces.push(Piece::Fixed(std::mem::take(&mut fixed).into()));
                    pieces.push(piece);
                }
                None => fixed.extend_from_slice(value.as_bytes()),
            }
            fixed.extend_from_slice(b"\r\n");
        });
        fixed.extend_from_slice(b"date: ");
        pieces.push(Piece::Fixed(fixed.into()));
        Wire(pieces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
    use http::{HeaderMap, Method};
    use preflight_core::{CorsConfig, CorsRequest, Decision, MethodSet, Policy};

    /// The bytes are what the answer's fields say, for echoed and static
    /// origins, with and without requested headers.
    #[test]
    fn the_wire_answer_writes_the_answers_fields_in_order() {
        let configs = [
            (Some(vec!["https://app.example.com".to_owned()]), true),
            (Some(vec!["*".to_owned()]), false),
        ];
        let mut compared = 0;
        for (origins, credentials) in configs {
            let policy = Policy::new(&CorsConfig {
                allow_origins: origins,
                allow_headers: Some(vec!["content-type".into(), "x-a".into()]),
                allow_credentials: Some(credentials),
                max_age: Some(600),
                ..CorsConfig::default()
            })
            .expect("policy");
            let methods = MethodSet::parse(&["GET", "PUT"]).expect("methods");
            let methods = policy.methods_for_route(&methods);
            let answer = policy.preflight_answer(&methods);
            let wire = WireAnswer::new(&answer);
            for acrh in [None, Some("x-a,content-type"), Some("Content-Type")] {
                let mut req = HeaderMap::new();
                req.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
                req.insert(
                    ACCESS_CONTROL_REQUEST_METHOD,
                    HeaderValue::from_static("PUT"),
                );
                if let Some(h) = acrh {
                    req.insert(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_static(h));
                }
                let Decision::PreflightAllowed(allowed) =
                    policy.decide(&CorsRequest::new(&Method::OPTIONS, &req), &methods)
                else {
                    panic!("{acrh:?} refused");
                };
                let mut expected = b"HTTP/1.1 204 No Content\r\n".to_vec();
                answer.for_each_field(&allowed, |n, v| {
                    expected.extend_from_slice(n.as_str().as_bytes());
                    expected.extend_from_slice(b": ");
                    expected.extend_from_slice(v.as_bytes());
                    expected.extend_from_slice(b"\r\n");
                });
                expected.extend_from_slice(b"date: ");
                let mut out = Vec::new();
                wire.write(&allowed, &mut out);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&expected),
                    "{acrh:?}"
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 6);
    }
}
