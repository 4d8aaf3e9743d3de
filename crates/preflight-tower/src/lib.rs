//! `preflight-tower`: the preflight CORS engine as a [`tower::Layer`] for hyper
//! and axum applications.
//!
//! Unlike a layer that treats every `OPTIONS` as a preflight, [`CorsLayer`]
//! follows docs/behaviour.md: a preflight is `OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`; it checks the requested method and headers
//! and answers `403` when it refuses; it adds the CORS headers to every response
//! of the inner service whatever its status, replacing the inner service's own
//! `Access-Control-*` headers and merging `Vary`. An invalid configuration is an
//! error when the layer is built, never a panic later.
//!
//! ```
//! use preflight_core::{CorsConfig, MethodSet};
//! use preflight_tower::CorsLayer;
//!
//! let cors = CorsLayer::from_config(&CorsConfig {
//!     allow_origins: Some(vec!["https://app.example.com".into()]),
//!     allow_headers: Some(vec!["content-type".into()]),
//!     ..CorsConfig::default()
//! })
//! .expect("valid CORS configuration");
//! // Per route: preflights for a method the route lacks are refused.
//! let users = cors.clone().with_methods(MethodSet::parse(&["GET", "PUT"]).unwrap());
//! # let _ = users;
//! ```
#![forbid(unsafe_code)]

mod body;
mod layer;
mod outcome;
mod service;
mod state;

pub use body::CorsBody;
pub use layer::CorsLayer;
pub use outcome::CorsOutcome;
pub use service::{Cors, ResponseFuture};
