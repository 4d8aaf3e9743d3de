//! [`Cors`]: the service the layer wraps around an application.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use preflight_core::{CorsRequest, Decision, OnDisallowedOrigin, Refusal};
use tower::Service;

use crate::body::CorsBody;
use crate::outcome::CorsOutcome;
use crate::state::State;

/// The CORS middleware. Build it with [`crate::CorsLayer`].
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    state: Arc<State>,
}

impl<S> Cors<S> {
    pub(crate) fn new(inner: S, state: Arc<State>) -> Self {
        Cors { inner, state }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

const PLAIN_TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

impl<S, ReqB, ResB> Service<Request<ReqB>> for Cors<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: http_body::Body<Data = Bytes>,
{
    type Response = Response<CorsBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let state = &self.state;
        let cors_req = CorsRequest::new(req.method(), req.headers());
        let decision = match &state.policy {
            Some(policy) => policy.decide(&cors_req, &state.preflight_methods),
            None if cors_req.is_preflight() => Decision::PreflightRefused(Refusal::CorsDisabled),
            // Without CORS nothing depends on the origin: no CORS headers, no Vary.
            None => {
                let outcome = match cors_req.origin {
                    Some(_) => CorsOutcome::actual_refused(Refusal::CorsDisabled),
                    None => CorsOutcome::NotCors,
                };
                return ResponseFuture::inner(self.inner.call(req), None, outcome);
            }
        };
        let debug = state.policy.as_ref().is_some_and(|p| p.debug());
        match decision {
            Decision::PreflightAllowed(p) => {
                let mut res = Response::new(CorsBody::empty());
                *res.status_mut() = p.status;
                match &state.preflight_answer {
                    // The route's prebuilt answer, with this request's values.
                    Some(answer) => *res.headers_mut() = answer.headers(p),
                    None => p.write(res.headers_mut()),
                }
                res.extensions_mut().insert(CorsOutcome::Preflight {
                    allowed: true,
                    reason: None,
                });
                ResponseFuture::ready(res)
            }
            Decision::PreflightRefused(refusal) => {
                let body = if debug {
                    CorsBody::full(format!("CORS preflight refused: {refusal}\n"))
                } else {
                    CorsBody::empty()
                };
                let mut res = Response::new(body);
                *res.status_mut() = StatusCode::FORBIDDEN;
                if debug {
                    res.headers_mut().insert(CONTENT_TYPE, PLAIN_TEXT);
                }
                Decision::PreflightRefused(refusal.clone()).apply(res.headers_mut());
                res.extensions_mut().insert(CorsOutcome::Preflight {
                    allowed: false,
                    reason: Some(refusal),
                });
                ResponseFuture::ready(res)
            }
            Decision::ActualDisallowed {
                on_disallowed: OnDisallowedOrigin::Reject,
            } => {
                let body = if debug {
                    CorsBody::full(format!(
                        "CORS request refused: {}\n",
                        Refusal::OriginNotAllowed
                    ))
                } else {
                    CorsBody::empty()
                };
                let mut res = Response::new(body);
                *res.status_mut() = StatusCode::FORBIDDEN;
                if debug {
                    res.headers_mut().insert(CONTENT_TYPE, PLAIN_TEXT);
                }
                decision.apply(res.headers_mut());
                res.extensions_mut()
                    .insert(CorsOutcome::actual_refused(Refusal::OriginNotAllowed));
                ResponseFuture::ready(res)
            }
            decision => {
                let outcome = match &decision {
                    Decision::NotCors { .. } => CorsOutcome::NotCors,
                    Decision::ActualAllowed(_) => CorsOutcome::ACTUAL_ALLOWED,
                    _ => CorsOutcome::actual_refused(Refusal::OriginNotAllowed),
                };
                // docs/behaviour.md: an ordinary OPTIONS goes to the route if it has
                // OPTIONS, otherwise it gets 204 with Allow.
                if let Some(route) = &state.route_methods {
                    if req.method() == Method::OPTIONS && !route.contains(&Method::OPTIONS) {
                        let mut res = Response::new(CorsBody::empty());
                        *res.status_mut() = StatusCode::NO_CONTENT;
                        res.headers_mut()
                            .insert(ALLOW, route.header_value().clone());
                        decision.apply(res.headers_mut());
                        res.extensions_mut().insert(outcome);
                        return ResponseFuture::ready(res);
                    }
                }
                ResponseFuture::inner(self.inner.call(req), Some(decision), outcome)
            }
        }
    }
}

pin_project! {
    /// The future of [`Cors`]: an answer of the layer's own, or the inner
    /// service's response with the CORS headers applied.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Ready { response: Option<Response<CorsBody<()>>> },
        Inner {
            #[pin]
            future: F,
            decision: Option<Decision>,
            outcome: Option<CorsOutcome>,
        },
    }
}

impl<F> ResponseFuture<F> {
    fn ready(response: Response<CorsBody<()>>) -> Self {
        ResponseFuture {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }

    fn inner(future: F, decision: Option<Decision>, outcome: CorsOutcome) -> Self {
        ResponseFuture {
            kind: Kind::Inner {
                future,
                decision,
                outcome: Some(outcome),
            },
        }
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = Result<Response<CorsBody<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Ready { response } => {
                let response = response
                    .take()
                    .map(|r| r.map(|body| retype(body)))
                    .unwrap_or_else(|| Response::new(CorsBody::empty()));
                Poll::Ready(Ok(response))
            }
            KindProj::Inner {
                future,
                decision,
                outcome,
            } => {
                let mut res = match future.poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(res)) => res,
                };
                match decision.take() {
                    Some(decision) => decision.apply(res.headers_mut()),
                    // CORS disabled: the inner service cannot grant access.
                    None => preflight_core::strip_cors_headers(res.headers_mut()),
                }
                if let Some(outcome) = outcome.take() {
                    res.extensions_mut().insert(outcome);
                }
                Poll::Ready(Ok(res.map(CorsBody::inner)))
            }
        }
    }
}

/// The layer's own bodies carry no inner body; give them the right type.
fn retype<B>(body: CorsBody<()>) -> CorsBody<B> {
    match body {
        CorsBody::Full { data } => CorsBody::Full { data },
        CorsBody::Inner { .. } => CorsBody::empty(),
    }
}
