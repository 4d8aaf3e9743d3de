//! The one fetch loop: plan, preflight (unless a cache covers it), actual
//! request, redirects, final check, over a transport the caller provides.
//! [`drive`] runs it over an asynchronous transport (the network for
//! `preflight check`, the gateway's own layers in process for `preflight
//! explain` and the dashboard), which may decline to send a request (a `PUT`
//! that could change data, for example); [`simulate`](super::simulate) runs it
//! with a preflight cache over a server given as a function.

use std::future::Future;
use std::time::Duration;

use super::actual::{check_actual, ActualOk};
use super::cache::PreflightCache;
use super::plan::plan;
use super::preflight::evaluate_preflight;
use super::profile::Profile;
use super::redirect::{follow_redirect, RedirectOutcome};
use super::request::BrowserRequest;
use super::trace::{
    Delivery, Exchange, ExchangeKind, ExchangeNote, FetchOutcome, FetchTrace, SentRequest,
};

/// Run `req` as a browser would, sending each request through `transport`.
/// A transport error (connection refused, say) ends the fetch with that error.
pub async fn drive<T, Fut, E>(
    req: &BrowserRequest,
    profile: Profile,
    transport: T,
) -> Result<FetchTrace, E>
where
    T: FnMut(&SentRequest) -> Fut,
    Fut: Future<Output = Result<Delivery, E>>,
{
    fetch(req, profile, None, transport).await
}

/// The one fetch loop, with a preflight cache when one is given (docs/browser-model.md#preflight-cache):
/// [`drive`] runs it without, [`simulate`](super::simulate) with.
pub(crate) async fn fetch<T, Fut, E>(
    req: &BrowserRequest,
    profile: Profile,
    mut cache: Option<(&mut PreflightCache, Duration)>,
    mut transport: T,
) -> Result<FetchTrace, E>
where
    T: FnMut(&SentRequest) -> Fut,
    Fut: Future<Output = Result<Delivery, E>>,
{
    let mut trace = FetchTrace {
        exchanges: Vec::new(),
        outcome: FetchOutcome::Withheld,
        plan: None,
        cache_hits: 0,
    };
    let mut current = match plan(req, profile) {
        Ok(p) => p,
        Err(blocked) => {
            trace.outcome = FetchOutcome::Blocked(blocked);
            return Ok(trace);
        }
    };
    trace.plan = Some(current.clone());
    let done = |mut trace: FetchTrace, outcome| {
        trace.outcome = outcome;
        Ok(trace)
    };
    loop {
        let cached = match &cache {
            Some((c, now)) if current.needs_preflight => c.covers(&current, *now),
            _ => false,
        };
        if cached {
            trace.cache_hits += 1;
        } else if current.needs_preflight {
            let sent = SentRequest {
                kind: ExchangeKind::Preflight,
                method: "OPTIONS".to_string(),
                url: current.url.clone(),
                headers: current.preflight_headers.clone(),
                credentials: false,
            };
            match transport(&sent).await? {
                Delivery::Withheld(reason) => {
                    trace.exchanges.push(Exchange {
                        request: sent,
                        response: None,
                        note: Some(ExchangeNote::Withheld { reason }),
                    });
                    return done(trace, FetchOutcome::Withheld);
                }
                Delivery::Answered(response) => {
                    let verdict = evaluate_preflight(&current, response.status, &response.headers);
                    trace.exchanges.push(Exchange {
                        request: sent,
                        response: Some(response),
                        note: Some(ExchangeNote::Preflight {
                            reasons: current.preflight_reasons.clone(),
                        }),
                    });
                    match verdict {
                        Ok(ok) => {
                            if let Some((c, now)) = &mut cache {
                                c.store(&current, &ok, *now);
                            }
                        }
                        Err(blocked) => {
                            if let Some((c, _)) = &mut cache {
                                c.clear(&current);
                            }
                            return done(trace, FetchOutcome::Blocked(blocked));
                        }
                    }
                }
            }
        }
        let sent = SentRequest {
            kind: ExchangeKind::Actual,
            method: current.method.clone(),
            url: current.url.clone(),
            headers: current.actual_request_headers(),
            credentials: current.credentials_sent,
        };
        let response = match transport(&sent).await? {
            Delivery::Withheld(reason) => {
                trace.exchanges.push(Exchange {
                    request: sent,
                    response: None,
                    note: Some(ExchangeNote::Withheld { reason }),
                });
                return done(trace, FetchOutcome::Withheld);
            }
            Delivery::Answered(response) => response,
        };
        let step = follow_redirect(&current, response.status, &response.headers);
        let outcome = match step {
            Ok(RedirectOutcome::Follow(hop)) => {
                trace.exchanges.push(Exchange {
                    request: sent,
                    response: Some(response),
                    note: Some(ExchangeNote::Redirect {
                        location: hop.location,
                    }),
                });
                current = hop.next;
                continue;
            }
            Ok(RedirectOutcome::OpaqueRedirect) => {
                FetchOutcome::Allowed(ActualOk::opaque_redirect())
            }
            Ok(RedirectOutcome::NotARedirect) => {
                match check_actual(&current, response.status, &response.headers) {
                    Ok(ok) => FetchOutcome::Allowed(ok),
                    Err(blocked) => FetchOutcome::Blocked(blocked),
                }
            }
            Err(blocked) => FetchOutcome::Blocked(blocked),
        };
        trace.exchanges.push(Exchange {
            request: sent,
            response: Some(response),
            note: None,
        });
        if outcome.is_blocked() && current.needs_preflight {
            // docs/browser-model.md#preflight-cache: a preflighted fetch that fails forgets its cached preflights.
            if let Some((c, _)) = &mut cache {
                c.clear(&current);
            }
        }
        return done(trace, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::plan::PreflightReason;
    use crate::browser::trace::ServerResponse;
    use crate::Origin;
    use std::convert::Infallible;

    fn now<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("the test transport is synchronous"),
        }
    }

    fn put() -> BrowserRequest {
        BrowserRequest::new(
            Origin::parse_serialized("https://app.example").unwrap(),
            "https://api.example/x".parse().unwrap(),
        )
        .method("PUT")
    }

    #[test]
    fn withheld_actual_request_after_a_passing_preflight() {
        let trace = now(drive(&put(), Profile::Chromium, |sent| {
            let delivery = match sent.kind {
                ExchangeKind::Preflight => Delivery::Answered(ServerResponse::new(
                    204,
                    &[
                        ("access-control-allow-origin", "https://app.example"),
                        ("access-control-allow-methods", "PUT"),
                    ],
                )),
                ExchangeKind::Actual => Delivery::Withheld("not sent".into()),
            };
            async move { Ok::<_, Infallible>(delivery) }
        }))
        .unwrap();
        assert_eq!(trace.outcome, FetchOutcome::Withheld);
        assert_eq!(trace.exchanges.len(), 2);
        assert!(trace.exchanges[1].response.is_none());
        assert_eq!(
            trace.exchanges[0].note,
            Some(ExchangeNote::Preflight {
                reasons: vec![PreflightReason::MethodNotSafelisted {
                    method: "PUT".into()
                }]
            })
        );
        assert_eq!(
            trace.exchanges[1].note,
            Some(ExchangeNote::Withheld {
                reason: "not sent".into()
            })
        );
    }

    #[test]
    fn blocked_preflight_stops_the_fetch() {
        let trace = now(drive(&put(), Profile::Chromium, |_| async {
            Ok::<_, Infallible>(Delivery::Answered(ServerResponse::new(403, &[])))
        }))
        .unwrap();
        match trace.outcome {
            FetchOutcome::Blocked(b) => assert_eq!(b.name(), "PreflightMissingAllowOriginHeader"),
            other => panic!("{other:?}"),
        }
        assert_eq!(trace.exchanges.len(), 1);
    }

    #[test]
    fn transport_errors_end_the_fetch() {
        let err = now(drive(&put(), Profile::Chromium, |_| async {
            Err::<Delivery, _>("refused")
        }))
        .unwrap_err();
        assert_eq!(err, "refused");
    }
}
