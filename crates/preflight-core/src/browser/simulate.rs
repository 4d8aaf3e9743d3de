//! A whole fetch against a server given as a function, with a preflight cache
//! and an explicit clock: the fetch loop of [`drive`](super::drive) over a
//! transport that answers at once. Pure: the server function decides what each
//! request gets.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::cache::PreflightCache;
use super::drive::fetch;
use super::profile::Profile;
use super::request::BrowserRequest;
use super::trace::{Delivery, FetchTrace, SentRequest, ServerResponse};

/// Run `req` the way a browser would, asking `server` for every response.
/// Every request is answered, so the outcome is never
/// [`Withheld`](super::FetchOutcome::Withheld).
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
/// assert!(trace.outcome.is_allowed());
/// assert_eq!(trace.preflights(), 1);
/// ```
pub fn simulate(
    req: &BrowserRequest,
    profile: Profile,
    cache: &mut PreflightCache,
    now: Duration,
    mut server: impl FnMut(&SentRequest) -> ServerResponse,
) -> FetchTrace {
    let fetch = fetch(req, profile, Some((cache, now)), |sent| {
        std::future::ready(Ok::<_, Infallible>(Delivery::Answered(server(sent))))
    });
    // A transport of ready futures: the loop finishes on the first poll.
    let mut fetch = pin!(fetch);
    match fetch.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(trace)) => trace,
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => unreachable!("a transport of ready futures never waits"),
    }
}
