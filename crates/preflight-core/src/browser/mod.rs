//! The browser side of CORS: the Fetch algorithm a browser runs, as pure code.
//!
//! Given what a page asks for ([`BrowserRequest`]), [`plan`] says what the
//! browser sends (is a preflight needed, with which headers, with credentials
//! or not); [`evaluate_preflight`] judges the preflight response;
//! [`check_actual`] judges the actual response and says which headers script
//! can read; [`follow_redirect`] takes a 3xx to the next hop; a
//! [`PreflightCache`] remembers preflights with an explicit clock; and
//! [`simulate`] runs all of it against a server given as a function, and
//! [`drive`] over a transport of the caller's; both return a [`FetchTrace`].
//!
//! A refusal is a [`Blocked`] verdict carrying Chromium's reason name exactly as
//! DevTools shows it ([`CorsError::name`]), the [`Stage`], a one-line message and
//! a fix. Four [`Profile`]s: Chromium (the default), Firefox and WebKit as
//! shipped, and the Fetch standard as written; they differ where
//! docs/browser-model.md#browser-profiles says, and an [`EngineComparison`]
//! says where the three engines' verdicts on one fetch differ.
//!
//! Rules cited as `docs/browser-model.md#...` are sections of the browser
//! model, each naming the Fetch standard section it comes from.
//!
//! ```
//! use preflight_core::browser::{check_actual, evaluate_preflight, plan, BrowserRequest, Profile};
//! use preflight_core::Origin;
//!
//! let req = BrowserRequest::new(
//!     Origin::parse_serialized("https://app.example.com").unwrap(),
//!     "https://api.example.com/users/1".parse().unwrap(),
//! )
//! .method("DELETE");
//! let p = plan(&req, Profile::default()).unwrap();
//! assert!(p.needs_preflight);
//!
//! let answer = vec![("Access-Control-Allow-Origin".to_string(), "https://app.example.com".to_string())];
//! let blocked = evaluate_preflight(&p, 204, &answer).unwrap_err();
//! assert_eq!(blocked.name(), "MethodDisallowedByPreflightResponse");
//! assert!(blocked.fix.contains("Access-Control-Allow-Methods: DELETE"));
//!
//! assert!(check_actual(&p, 200, &answer).is_ok());
//! ```

mod actual;
mod cache;
mod check;
mod drive;
mod engines;
mod error;
mod headers;
mod mime;
mod plan;
mod preflight;
mod profile;
mod reasons;
mod redirect;
mod request;
mod simulate;
mod trace;

pub use crate::fetch::{
    is_cors_safelisted_method, is_forbidden_method, is_forbidden_request_header,
};
pub use actual::{check_actual, ActualOk, ResponseType};
pub use cache::{CacheEntry, CacheItem, PreflightCache};
pub use check::cors_check;
pub use drive::drive;
pub use engines::{EngineComparison, EngineVerdict};
pub use error::{Blocked, CorsError, NetError, Reason, Stage};
pub use headers::{
    cors_unsafe_request_header_names, header_pairs, is_cors_safelisted_request_header,
    is_cors_safelisted_response_header_name,
};
pub use plan::{plan, PreflightReason, RequestPlan};
pub use preflight::{evaluate_preflight, MaxAge, MaxAgeSource, PreflightOk};
pub use profile::Profile;
pub use redirect::{follow_redirect, RedirectHop, RedirectOutcome, MAX_REDIRECTS};
pub use request::{BrowserRequest, CredentialsMode, RedirectMode, RequestMode, Tainting};
pub use simulate::simulate;
pub use trace::{
    Delivery, Exchange, ExchangeKind, ExchangeNote, FetchOutcome, FetchTrace, SentRequest,
    ServerResponse,
};
