//! `preflight-core`: the CORS protocol of the WHATWG Fetch standard as pure code.
//!
//! Server side: a validated [`Policy`] decides what to answer to a request
//! ([`Policy::decide`]) and [`Decision::apply`] is the one place that writes
//! CORS response headers. Browser side: the [`browser`] module runs the Fetch
//! algorithm a browser runs and says why it blocks a request. Both halves
//! share one vocabulary of the Fetch standard (tokens, methods, forbidden
//! header names, header-value bytes), kept in a private module of its own.
//!
//! Rules cited as `docs/browser-model.md#...` are sections of the repository's
//! browser model, each naming the Fetch standard section it comes from.
#![forbid(unsafe_code)]

pub mod browser;
mod byte_set;
mod config_value;
pub mod decision;
pub mod fast_hash;
mod fetch;
pub mod header_list;
pub mod matcher;
pub mod methods;
pub mod origin;
pub mod pattern;
pub mod policy;
mod vary;

pub use decision::{
    strip_cors_headers, ActualAllowed, CorsRequest, Decision, PreflightAllowed, PreflightAnswer,
    Refusal,
};
pub use header_list::{HeaderListError, RequestedHeaders};
pub use matcher::{OriginMatch, OriginMatcher};
pub use methods::{MethodError, MethodListError, MethodSet};
pub use origin::{Origin, OriginError};
pub use pattern::{OriginPattern, PatternError, PortSpec};
pub use policy::{
    CorsConfig, OnDisallowedOrigin, Policy, PolicyError, PolicyErrorKind, PolicyWarning,
};
