//! The browser side of CORS: the Fetch algorithm a browser runs, as pure code.
//!
//! Given what a page asks for ([`BrowserRequest`]), [`plan`] says what the
//! browser sends (is a preflight needed, with which headers, with credentials
//! or not); [`evaluate_preflight`] judges the preflight response;
//! [`check_actual`] judges the actual response and says which headers script
//! can read; [`follow_redirect`] takes a 3xx to the next hop; a
//! [`PreflightCache`] remembers preflights with an explicit clock; and
//! [`simulate`] runs all of it against a server given as a function.
//!
//! A refusal is a [`Blocked`] verdict carrying Chromium's reason name exactly as
//! DevTools shows it ([`CorsError::name`]), the [`Stage`], a one-line message and
//! a fix. Two [`Profile`]s: Chromium as shipped (the default) and the Fetch
//! standard as written; they differ where `CORS-RULES.md` §4 says.
//!
//! Rules `R1`..`R38` are those of `shared/docs/CORS-RULES.md`.
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
mod error;
mod headers;
mod method;
mod mime;
mod preflight;
mod profile;
mod redirect;
mod report;
mod request;
mod simulate;
mod syntax;

pub use actual::{check_actual, ActualOk, ResponseType};
pub use cache::{CacheEntry, CacheItem, PreflightCache};
pub use check::{basic_exposed_headers, cors_check, cors_exposed_headers, Exposure};
pub use drive::{drive, preflight_reasons_text, Delivery, DriveOutcome, Driven, DrivenExchange};
pub use error::{Blocked, CorsError, NetError, Reason, Stage};
pub use headers::{
    cors_unsafe_request_header_names, extract_header_list, get_header, header_pairs,
    is_cors_non_wildcard_request_header_name, is_cors_safelisted_request_header,
    is_cors_safelisted_response_header_name, is_cors_unsafe_request_header_byte,
    is_forbidden_request_header, is_forbidden_request_header_name,
    is_forbidden_response_header_name, is_no_cors_safelisted_request_header, parse_single_range,
    HeaderList,
};
pub use method::{
    is_cors_safelisted_method, is_forbidden_method, is_valid_method, normalize_method,
};
pub use mime::{parse_mime_type, MimeType};
pub use preflight::{
    evaluate_preflight, parse_max_age, preflight_request_headers, MaxAge, MaxAgeSource, PreflightOk,
};
pub use profile::Profile;
pub use redirect::{follow_redirect, RedirectHop, RedirectOutcome, MAX_REDIRECTS};
pub use report::{Leg, Report, ReportExchange};
pub use request::{
    plan, BrowserRequest, CredentialsMode, PreflightReason, RedirectMode, RequestMode, RequestPlan,
    Tainting,
};
pub use simulate::{simulate, Exchange, ExchangeKind, FetchTrace, SentRequest, ServerResponse};
pub use syntax::is_token;
