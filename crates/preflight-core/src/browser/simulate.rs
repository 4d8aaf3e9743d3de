//! A whole fetch, hop by hop, against a server given as a function: plan,
//! preflight (unless cached), actual request, redirects, final check. Pure: the
//! server function decides what each request gets.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::actual::ActualOk;
use super::cache::PreflightCache;
use super::drive::{drive_with_cache, Delivery, DriveOutcome};
use super::error::Blocked;
use super::profile::Profile;
use super::request::{ser_url, BrowserRequest};

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
    // The same loop as `drive`, over a transport that answers at once: its
    // future is ready on the first poll.
    let fetch = drive_with_cache(req, profile, Some((cache, now)), |sent| {
        std::future::ready(Ok::<_, Infallible>(Delivery::Answered(server(sent))))
    });
    let mut fetch = pin!(fetch);
    let (driven, cache_hits) = match fetch.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(done)) => done,
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => unreachable!("a transport of ready futures never waits"),
    };
    let exchanges = driven
        .exchanges
        .into_iter()
        .filter_map(|e| {
            e.response.map(|response| Exchange {
                request: e.request,
                response,
            })
        })
        .collect();
    let outcome = match driven.outcome {
        DriveOutcome::Allowed(ok) => Ok(ok),
        DriveOutcome::Blocked(blocked) => Err(blocked),
        DriveOutcome::ActualWithheld => unreachable!("this transport answers every request"),
    };
    FetchTrace {
        exchanges,
        cache_hits,
        outcome,
    }
}
