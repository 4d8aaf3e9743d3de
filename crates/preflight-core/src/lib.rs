//! `preflight-core`: the CORS protocol of the WHATWG Fetch standard as pure code.
//!
//! Server side: a validated [`Policy`] decides what to answer to a request
//! ([`Policy::decide`]). Browser side: the [`browser`] module runs the Fetch
//! algorithm a browser runs and says why it blocks a request.
//!
//! Rules cited as `R1`..`R40` are those of `shared/docs/CORS-RULES.md`.
#![forbid(unsafe_code)]

pub mod browser;
pub mod origin;

pub use origin::{Origin, OriginError};
