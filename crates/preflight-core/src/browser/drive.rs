//! One fetch, driven over a transport the caller provides: the network for
//! `preflight check`, the gateway's own layers in process for `preflight
//! explain` and the dashboard. The decisions are the same as [`super::simulate`];
//! only the transport is asynchronous and may decline to send a request (a
//! `PUT` that could change data, for example).

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::actual::{check_actual, ActualOk, ResponseType};
use super::cache::PreflightCache;
use super::error::Blocked;
use super::preflight::evaluate_preflight;
use super::profile::Profile;
use super::redirect::{follow_redirect, RedirectOutcome};
use super::request::{plan, BrowserRequest, PreflightReason, RequestPlan};
use super::simulate::{ExchangeKind, SentRequest, ServerResponse};

/// What the transport did with a request.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Sent, and this came back.
    Answered(ServerResponse),
    /// Not sent, for this reason (shown to the user).
    Withheld(String),
}

/// One request of a driven fetch and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct DrivenExchange {
    pub request: SentRequest,
    /// `None` when the transport withheld the request.
    pub response: Option<ServerResponse>,
    /// Why the request was sent (a preflight) or withheld.
    pub note: Option<String>,
}

/// How a driven fetch ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum DriveOutcome {
    /// Script can read the response.
    Allowed(ActualOk),
    /// Everything up to the actual request passed; the transport withheld it.
    ActualWithheld,
    /// The browser blocks the request.
    Blocked(Blocked),
}

/// A driven fetch: the exchanges in order and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Driven {
    pub exchanges: Vec<DrivenExchange>,
    pub outcome: DriveOutcome,
    /// The plan of the first request (preflight needed, unsafe headers, ...).
    pub plan: Option<RequestPlan>,
}

/// Why a preflight is sent, in words.
pub fn preflight_reasons_text(plan: &RequestPlan) -> String {
    let why: Vec<String> = plan
        .preflight_reasons
        .iter()
        .map(|r| match r {
            PreflightReason::MethodNotSafelisted { method } => {
                format!("{method} is not GET, HEAD or POST")
            }
            PreflightReason::UnsafeHeaders { names } => {
                let verb = if names.len() == 1 { "is" } else { "are" };
                format!("{} {verb} not CORS-safelisted", names.join(", "))
            }
            PreflightReason::Forced => "the request forces a preflight".to_string(),
        })
        .collect();
    format!("sent first because {}", why.join(", and "))
}

/// Run `req` as a browser would, sending each request through `transport`.
/// A transport error (connection refused, say) ends the fetch with that error.
pub async fn drive<T, Fut, E>(
    req: &BrowserRequest,
    profile: Profile,
    transport: T,
) -> Result<Driven, E>
where
    T: FnMut(&SentRequest) -> Fut,
    Fut: Future<Output = Result<Delivery, E>>,
{
    drive_with_cache(req, profile, None, transport)
        .await
        .map(|(driven, _)| driven)
}

/// The one fetch loop, with a preflight cache when one is given (R25):
/// [`drive`] runs it without, [`super::simulate`] with. Returns how many
/// preflights the cache spared.
pub(crate) async fn drive_with_cache<T, Fut, E>(
    req: &BrowserRequest,
    profile: Profile,
    mut cache: Option<(&mut PreflightCache, Duration)>,
    mut transport: T,
) -> Result<(Driven, usize), E>
where
    T: FnMut(&SentRequest) -> Fut,
    Fut: Future<Output = Result<Delivery, E>>,
{
    let mut exchanges = Vec::new();
    let mut cache_hits = 0;
    let mut current = match plan(req, profile) {
        Ok(p) => p,
        Err(blocked) => {
            let driven = Driven {
                exchanges,
                outcome: DriveOutcome::Blocked(blocked),
                plan: None,
            };
            return Ok((driven, cache_hits));
        }
    };
    let first_plan = current.clone();
    let done = |exchanges, outcome, cache_hits| {
        let driven = Driven {
            exchanges,
            outcome,
            plan: Some(first_plan.clone()),
        };
        Ok((driven, cache_hits))
    };
    loop {
        let cached = match &cache {
            Some((c, now)) if current.needs_preflight => c.covers(&current, *now),
            _ => false,
        };
        if cached {
            cache_hits += 1;
        } else if current.needs_preflight {
            let sent = SentRequest {
                kind: ExchangeKind::Preflight,
                method: "OPTIONS".to_string(),
                url: current.url.clone(),
                headers: current.preflight_headers.clone(),
                credentials: false,
            };
            let note = Some(preflight_reasons_text(&current));
            match transport(&sent).await? {
                Delivery::Withheld(why) => {
                    exchanges.push(DrivenExchange {
                        request: sent,
                        response: None,
                        note: Some(why),
                    });
                    return done(exchanges, DriveOutcome::ActualWithheld, cache_hits);
                }
                Delivery::Answered(response) => {
                    let verdict = evaluate_preflight(&current, response.status, &response.headers);
                    exchanges.push(DrivenExchange {
                        request: sent,
                        response: Some(response),
                        note,
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
                            return done(exchanges, DriveOutcome::Blocked(blocked), cache_hits);
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
            Delivery::Withheld(why) => {
                exchanges.push(DrivenExchange {
                    request: sent,
                    response: None,
                    note: Some(why),
                });
                return done(exchanges, DriveOutcome::ActualWithheld, cache_hits);
            }
            Delivery::Answered(response) => response,
        };
        let step = follow_redirect(&current, response.status, &response.headers);
        let outcome = match step {
            Ok(RedirectOutcome::Follow(hop)) => {
                exchanges.push(DrivenExchange {
                    request: sent,
                    response: Some(response),
                    note: Some(format!("redirects to {}", hop.location)),
                });
                current = hop.next;
                continue;
            }
            Ok(RedirectOutcome::OpaqueRedirect) => DriveOutcome::Allowed(ActualOk {
                response_type: ResponseType::OpaqueRedirect,
                status: 0,
                exposed_headers: Vec::new(),
                hidden_headers: Vec::new(),
                notes: vec![
                    "redirect mode `manual`: the page gets an opaque-redirect response".into(),
                ],
            }),
            Ok(RedirectOutcome::NotARedirect) => {
                match check_actual(&current, response.status, &response.headers) {
                    Ok(ok) => DriveOutcome::Allowed(ok),
                    Err(blocked) => DriveOutcome::Blocked(blocked),
                }
            }
            Err(blocked) => DriveOutcome::Blocked(blocked),
        };
        exchanges.push(DrivenExchange {
            request: sent,
            response: Some(response),
            note: None,
        });
        if matches!(outcome, DriveOutcome::Blocked(_)) && current.needs_preflight {
            // R25: a preflighted fetch that fails forgets its cached preflights.
            if let Some((c, _)) = &mut cache {
                c.clear(&current);
            }
        }
        return done(exchanges, outcome, cache_hits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let driven = now(drive(&put(), Profile::Chromium, |sent| {
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
        assert!(matches!(driven.outcome, DriveOutcome::ActualWithheld));
        assert_eq!(driven.exchanges.len(), 2);
        assert!(driven.exchanges[1].response.is_none());
        assert_eq!(
            driven.exchanges[0].note.as_deref(),
            Some("sent first because PUT is not GET, HEAD or POST")
        );
    }

    #[test]
    fn blocked_preflight_stops_the_fetch() {
        let driven = now(drive(&put(), Profile::Chromium, |_| async {
            Ok::<_, Infallible>(Delivery::Answered(ServerResponse::new(403, &[])))
        }))
        .unwrap();
        match driven.outcome {
            DriveOutcome::Blocked(b) => assert_eq!(b.name(), "PreflightMissingAllowOriginHeader"),
            other => panic!("{other:?}"),
        }
        assert_eq!(driven.exchanges.len(), 1);
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
