//! A whole fetch, hop by hop, against a server given as a function: plan,
//! preflight (unless cached), actual request, redirects, final check. Pure: the
//! server function decides what each request gets.

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::actual::{check_actual, ActualOk, ResponseType};
use super::cache::PreflightCache;
use super::error::Blocked;
use super::preflight::evaluate_preflight;
use super::profile::Profile;
use super::redirect::{follow_redirect, RedirectOutcome};
use super::request::{plan, ser_url, BrowserRequest};

/// Which request of the fetch this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeKind {
    Preflight,
    Actual,
}

/// A request as the browser sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentRequest {
    pub kind: ExchangeKind,
    pub method: String,
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// The headers the CORS algorithm controls, in order.
    pub headers: Vec<(String, String)>,
    /// Whether cookies and HTTP authentication go along (R17; never on a preflight).
    pub credentials: bool,
}

impl SentRequest {
    /// The combined value of a header of this request.
    pub fn header(&self, name: &str) -> Option<String> {
        super::headers::get_header(&self.headers, name)
    }
}

/// A server's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl ServerResponse {
    /// A response with this status and these headers.
    pub fn new(status: u16, headers: &[(&str, &str)]) -> ServerResponse {
        ServerResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// One request and its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub request: SentRequest,
    pub response: ServerResponse,
}

/// Everything that happened in a simulated fetch, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchTrace {
    pub exchanges: Vec<Exchange>,
    /// Preflights skipped because the cache covered them.
    pub cache_hits: usize,
    pub outcome: Result<ActualOk, Blocked>,
}

impl FetchTrace {
    /// How many preflights were sent.
    pub fn preflights(&self) -> usize {
        self.exchanges
            .iter()
            .filter(|e| e.request.kind == ExchangeKind::Preflight)
            .count()
    }

    /// The last request the browser sent.
    pub fn last_request(&self) -> Option<&SentRequest> {
        self.exchanges.last().map(|e| &e.request)
    }
}

/// Run `req` the way a browser would, asking `server` for every response.
///
/// ```
/// use std::time::Duration;
/// use preflight_core::browser::{simulate, BrowserRequest, PreflightCache, Profile, ServerResponse};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example").unwrap(),
///     "https://api.example/x".parse().unwrap(),
/// )
/// .method("PUT");
/// let mut cache = PreflightCache::new(Profile::Chromium);
/// let trace = simulate(&req, Profile::Chromium, &mut cache, Duration::ZERO, |r| {
///     ServerResponse::new(200, &[
///         ("Access-Control-Allow-Origin", "https://app.example"),
///         ("Access-Control-Allow-Methods", "PUT"),
///     ])
/// });
/// assert!(trace.outcome.is_ok());
/// assert_eq!(trace.preflights(), 1);
/// ```
pub fn simulate(
    req: &BrowserRequest,
    profile: Profile,
    cache: &mut PreflightCache,
    now: Duration,
    mut server: impl FnMut(&SentRequest) -> ServerResponse,
) -> FetchTrace {
    let mut log = Log::default();
    let outcome = run(req, profile, cache, now, &mut server, &mut log);
    FetchTrace {
        exchanges: log.exchanges,
        cache_hits: log.cache_hits,
        outcome,
    }
}

#[derive(Default)]
struct Log {
    exchanges: Vec<Exchange>,
    cache_hits: usize,
}

fn run(
    req: &BrowserRequest,
    profile: Profile,
    cache: &mut PreflightCache,
    now: Duration,
    server: &mut impl FnMut(&SentRequest) -> ServerResponse,
    log: &mut Log,
) -> Result<ActualOk, Blocked> {
    let mut current = plan(req, profile)?;
    loop {
        if current.needs_preflight {
            if cache.covers(&current, now) {
                log.cache_hits += 1;
            } else {
                let sent = SentRequest {
                    kind: ExchangeKind::Preflight,
                    method: "OPTIONS".to_string(),
                    url: current.url.clone(),
                    headers: current.preflight_headers.clone(),
                    credentials: false,
                };
                let response = server(&sent);
                let verdict = evaluate_preflight(&current, response.status, &response.headers);
                log.exchanges.push(Exchange {
                    request: sent,
                    response,
                });
                match verdict {
                    Ok(ok) => cache.store(&current, &ok, now),
                    Err(blocked) => {
                        cache.clear(&current);
                        return Err(blocked);
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
        let response = server(&sent);
        let step = follow_redirect(&current, response.status, &response.headers);
        let result = match step {
            Ok(RedirectOutcome::NotARedirect) => {
                check_actual(&current, response.status, &response.headers)
            }
            Ok(RedirectOutcome::OpaqueRedirect) => Ok(ActualOk {
                response_type: ResponseType::OpaqueRedirect,
                status: 0,
                exposed_headers: Vec::new(),
                hidden_headers: Vec::new(),
                notes: vec![
                    "redirect mode `manual`: the page gets an opaque-redirect response".to_string(),
                ],
            }),
            Ok(RedirectOutcome::Follow(hop)) => {
                log.exchanges.push(Exchange {
                    request: sent,
                    response,
                });
                current = hop.next;
                continue;
            }
            Err(blocked) => Err(blocked),
        };
        log.exchanges.push(Exchange {
            request: sent,
            response,
        });
        if result.is_err() && current.needs_preflight {
            // R25: a preflighted fetch that fails forgets its cached preflights.
            cache.clear(&current);
        }
        return result;
    }
}
