//! The `[cors]` table of the configuration, raw and validated.
//!
//! [`CorsConfig`] is what serde reads. [`Policy`] is the only thing the engine
//! decides with, and [`Policy::new`] is the only way to build one: every
//! insecure or malformed setting listed in docs/configuration.md (what each key
//! refuses) is a typed [`PolicyError`] naming the key and the value.

mod headers;
mod origins;

use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub(crate) use headers::AllowHeaders;

use crate::config_value::config_value;
use crate::matcher::OriginMatcher;
use crate::methods::{MethodError, MethodSet};
use crate::pattern::{OriginPattern, PatternError};

/// The largest `max_age` accepted (one day, Firefox's cap).
pub const MAX_AGE_LIMIT: i64 = 86_400;
/// Chromium caps the preflight cache at two hours (docs/browser-model.md#browser-profiles).
pub const CHROMIUM_MAX_AGE_CAP: i64 = 7_200;

/// The raw `[cors]` table. Every key is optional so that a route's `cors`
/// table can override the default key by key ([`CorsConfig::over`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    pub allow_origins: Option<Vec<String>>,
    pub allow_methods: Option<Vec<String>>,
    pub allow_headers: Option<Vec<String>>,
    pub expose_headers: Option<Vec<String>>,
    pub allow_credentials: Option<bool>,
    pub max_age: Option<i64>,
    pub preflight_status: Option<u16>,
    pub on_disallowed_origin: Option<OnDisallowedOrigin>,
    pub debug: Option<bool>,
    pub dangerously_allow_null_origin: Option<bool>,
    pub dangerously_allow_public_suffix_wildcard: Option<bool>,
    pub dangerously_allow_insecure_origins_with_credentials: Option<bool>,
}

/// What happens to an actual request from an origin that is not allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDisallowedOrigin {
    /// Forward it without CORS headers: the browser withholds the response.
    #[default]
    Forward,
    /// Refuse it with 403 before it reaches the application.
    Reject,
}

impl CorsConfig {
    /// This table laid over `base`: each key set here wins, the others come
    /// from `base`.
    pub fn over(&self, base: &CorsConfig) -> CorsConfig {
        CorsConfig {
            allow_origins: self
                .allow_origins
                .clone()
                .or_else(|| base.allow_origins.clone()),
            allow_methods: self
                .allow_methods
                .clone()
                .or_else(|| base.allow_methods.clone()),
            allow_headers: self
                .allow_headers
                .clone()
                .or_else(|| base.allow_headers.clone()),
            expose_headers: self
                .expose_headers
                .clone()
                .or_else(|| base.expose_headers.clone()),
            allow_credentials: self.allow_credentials.or(base.allow_credentials),
            max_age: self.max_age.or(base.max_age),
            preflight_status: self.preflight_status.or(base.preflight_status),
            on_disallowed_origin: self.on_disallowed_origin.or(base.on_disallowed_origin),
            debug: self.debug.or(base.debug),
            dangerously_allow_null_origin: self
                .dangerously_allow_null_origin
                .or(base.dangerously_allow_null_origin),
            dangerously_allow_public_suffix_wildcard: self
                .dangerously_allow_public_suffix_wildcard
                .or(base.dangerously_allow_public_suffix_wildcard),
            dangerously_allow_insecure_origins_with_credentials: self
                .dangerously_allow_insecure_origins_with_credentials
                .or(base.dangerously_allow_insecure_origins_with_credentials),
        }
    }
}

/// A refused setting: which key, which item of a list, which value, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: {kind}", self.location())]
pub struct PolicyError {
    /// The key inside the `[cors]` table (`allow_origins`).
    pub key: &'static str,
    /// The index inside the key's list, when the key is a list.
    pub index: Option<usize>,
    /// The offending value as written.
    pub value: String,
    pub kind: PolicyErrorKind,
}

impl PolicyError {
    fn new(
        key: &'static str,
        index: Option<usize>,
        value: impl Into<String>,
        kind: PolicyErrorKind,
    ) -> Self {
        PolicyError {
            key,
            index,
            value: value.into(),
            kind,
        }
    }

    /// `allow_origins[2] = "https://*.co.uk"`.
    pub fn location(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}] = {:?}", self.key, self.value),
            None => format!("{} = {}", self.key, self.value),
        }
    }
}

/// The reasons a setting is refused at load.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyErrorKind {
    #[error("`allow_origins` is required: list the origins that may call this API")]
    MissingOrigins,
    #[error("the list is empty, so no origin would be allowed; to turn cross-origin access off, write `cors = false`")]
    EmptyOrigins,
    #[error("`*` cannot be used with allow_credentials = true: browsers refuse `Access-Control-Allow-Origin: *` on credentialed requests; list the origins")]
    WildcardWithCredentials,
    #[error("the `null` origin is shared by every sandboxed iframe and data: document, so allowing it allows anyone; set dangerously_allow_null_origin = true only if you mean it")]
    NullOrigin,
    #[error("`*.{0}` covers a public suffix: anyone can register a name under it; list your own domain, or set dangerously_allow_public_suffix_wildcard = true")]
    PublicSuffixWildcard(String),
    #[error("an http:// origin with credentials can be impersonated by anyone on the network path; use https://, or set dangerously_allow_insecure_origins_with_credentials = true")]
    InsecureOriginWithCredentials,
    #[error("not a valid origin pattern: {0}")]
    MalformedOrigin(PatternError),
    #[error("{0}")]
    Method(MethodError),
    #[error("`{0}` is not a header name (an HTTP token)")]
    InvalidHeaderName(String),
    #[error("`{0}` is a forbidden request header: scripts can never set it, so allowing it does nothing (Fetch, docs/browser-model.md#forbidden-request-header)")]
    ForbiddenHeader(String),
    #[error("`*` is literal when credentials are allowed (docs/browser-model.md#exposed-headers): list the header names to expose")]
    WildcardExposeWithCredentials,
    #[error("Set-Cookie is never exposed to scripts (docs/browser-model.md#forbidden-response-header-name); remove it")]
    ExposeSetCookie,
    #[error("`{0}` is a response header: the server sends it and a request never carries it; allow_headers lists the request headers a script may send")]
    ResponseHeaderInAllowHeaders(String),
    #[error("`{0}` is a request header: the browser sends it and a response never carries it; expose_headers lists the response headers a script may read")]
    RequestHeaderInExposeHeaders(String),
    #[error("max_age must be between -1 and {MAX_AGE_LIMIT} seconds")]
    MaxAgeOutOfRange,
    #[error("preflight_status must be 200 or 204 (a preflight needs an ok status, docs/browser-model.md#preflight-success)")]
    InvalidPreflightStatus,
    #[error("the list is empty: nothing would be allowed")]
    EmptyMethods,
}

/// A setting that loads but deserves a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    pub key: &'static str,
    /// The index inside the key's list, when the key is a list.
    pub index: Option<usize>,
    pub value: String,
    pub message: String,
    pub kind: PolicyWarningKind,
}

/// What a [`PolicyWarning`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyWarningKind {
    /// `max_age` above Chromium's cap of [`CHROMIUM_MAX_AGE_CAP`] seconds.
    MaxAgeAboveChromiumCap,
    /// A CORS-safelisted response header in `expose_headers`: scripts read
    /// it anyway, so listing it does nothing.
    SafelistedExposeHeader(String),
}

/// A validated CORS policy. Build it with [`Policy::new`].
///
/// ```
/// use preflight_core::{CorsConfig, Policy};
/// let policy = Policy::new(&CorsConfig {
///     allow_origins: Some(vec!["https://app.example.com".into()]),
///     allow_headers: Some(vec!["content-type".into()]),
///     allow_credentials: Some(true),
///     ..CorsConfig::default()
/// }).unwrap();
/// assert!(policy.allows_credentials());
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) patterns: Vec<OriginPattern>,
    pub(crate) matcher: OriginMatcher,
    pub(crate) credentials: bool,
    /// The listed methods, or [`DEFAULT_METHODS`] where the route is not known.
    pub(crate) methods: MethodSet,
    /// `allow_methods` left out or holding `*`: every method of the route.
    pub(crate) any_method: bool,
    pub(crate) allow_headers: AllowHeaders,
    pub(crate) allow_headers_list: Vec<String>,
    pub(crate) expose: Option<HeaderValue>,
    pub(crate) expose_list: Vec<String>,
    pub(crate) max_age: Option<HeaderValue>,
    pub(crate) max_age_secs: Option<i64>,
    pub(crate) preflight_status: StatusCode,
    pub(crate) on_disallowed: OnDisallowedOrigin,
    pub(crate) debug: bool,
    pub(crate) warnings: Vec<PolicyWarning>,
}

/// The methods allowed when a policy names none.
pub const DEFAULT_METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

impl Policy {
    /// Validate a `[cors]` table. Every problem is reported, not just the first.
    pub fn new(config: &CorsConfig) -> Result<Policy, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let credentials = config.allow_credentials.unwrap_or(false);

        let patterns = origins::parse_origins(config, credentials, &mut errors);

        // docs/configuration.md, "allow_methods": `*` or no key means every
        // method the route has (PURGE, REPORT included); a list narrows them.
        let any_method = match &config.allow_methods {
            None => true,
            Some(list) => list.iter().any(|m| m == "*"),
        };
        let methods = match &config.allow_methods {
            None => MethodSet::parse(&DEFAULT_METHODS).ok(),
            Some(list) if list.is_empty() => {
                errors.push(PolicyError::new(
                    "allow_methods",
                    None,
                    "[]",
                    PolicyErrorKind::EmptyMethods,
                ));
                None
            }
            Some(_) if any_method => MethodSet::parse(&DEFAULT_METHODS).ok(),
            Some(list) => match MethodSet::parse(list) {
                Ok(set) => Some(set),
                Err(e) => {
                    errors.push(PolicyError::new(
                        "allow_methods",
                        Some(e.index),
                        list[e.index].clone(),
                        PolicyErrorKind::Method(e.error),
                    ));
                    None
                }
            },
        };

        let allow_headers_list = config.allow_headers.clone().unwrap_or_default();
        let allow_headers = headers::parse_allow_headers(&allow_headers_list, &mut errors);
        let expose_list = config.expose_headers.clone().unwrap_or_default();
        headers::check_expose_headers(&expose_list, credentials, &mut errors, &mut warnings);
        let expose = if expose_list.is_empty() {
            None
        } else {
            config_value(&expose_list.join(", "))
        };

        let max_age = match config.max_age {
            None => None,
            Some(secs) if !(-1..=MAX_AGE_LIMIT).contains(&secs) => {
                errors.push(PolicyError::new(
                    "max_age",
                    None,
                    secs.to_string(),
                    PolicyErrorKind::MaxAgeOutOfRange,
                ));
                None
            }
            Some(secs) => {
                if secs > CHROMIUM_MAX_AGE_CAP {
                    warnings.push(PolicyWarning {
                        key: "max_age",
                        index: None,
                        value: secs.to_string(),
                        message: format!("Chromium caps the preflight cache at {CHROMIUM_MAX_AGE_CAP} s; a longer max_age only helps Firefox"),
                        kind: PolicyWarningKind::MaxAgeAboveChromiumCap,
                    });
                }
                Some(secs)
            }
        };

        let preflight_status = match config.preflight_status {
            None => Some(StatusCode::NO_CONTENT),
            Some(s @ (200 | 204)) => StatusCode::from_u16(s).ok(),
            Some(s) => {
                errors.push(PolicyError::new(
                    "preflight_status",
                    None,
                    s.to_string(),
                    PolicyErrorKind::InvalidPreflightStatus,
                ));
                None
            }
        };

        match (patterns, methods, preflight_status) {
            (Some(patterns), Some(methods), Some(preflight_status)) if errors.is_empty() => {
                Ok(Policy {
                    matcher: OriginMatcher::new(&patterns),
                    patterns,
                    credentials,
                    methods,
                    any_method,
                    allow_headers,
                    allow_headers_list,
                    expose,
                    expose_list,
                    // -1 means "do not cache the preflight"; the header takes
                    // delta-seconds, never negative (Fetch, "HTTP new-header
                    // syntax"): `0` says the same.
                    max_age: max_age.and_then(|s| config_value(&s.max(0).to_string())),
                    max_age_secs: max_age,
                    preflight_status,
                    on_disallowed: config.on_disallowed_origin.unwrap_or_default(),
                    debug: config.debug.unwrap_or(false),
                    warnings,
                })
            }
            _ => Err(errors),
        }
    }

    /// Settings that loaded but deserve a look (max_age above Chromium's cap).
    pub fn warnings(&self) -> &[PolicyWarning] {
        &self.warnings
    }
    /// The origin patterns, canonical.
    pub fn origin_patterns(&self) -> &[OriginPattern] {
        &self.patterns
    }
    /// The compiled matcher.
    pub fn matcher(&self) -> &OriginMatcher {
        &self.matcher
    }
    /// True when credentialed requests are allowed.
    pub fn allows_credentials(&self) -> bool {
        self.credentials
    }
    /// The methods allowed where the route's methods are not known (a layer
    /// built without them): the listed ones, or, when `allow_methods` is left
    /// out or `*`, [`DEFAULT_METHODS`].
    pub fn methods(&self) -> &MethodSet {
        &self.methods
    }
    /// The methods a route with `route` methods answers preflights for: all
    /// of them when `allow_methods` is left out or `*`, otherwise those also
    /// listed, in the route's order. `Access-Control-Allow-Methods` lists
    /// exactly these, never `*`: `*` is literal on a credentialed request
    /// (Fetch, "CORS-preflight fetch"), and the route's list keeps a browser's
    /// preflight cache to methods the route has (docs/behaviour.md).
    pub fn methods_for_route(&self, route: &MethodSet) -> MethodSet {
        if self.any_method {
            route.clone()
        } else {
            route.intersect(&self.methods)
        }
    }
    /// True when `allow_methods` is left out or `*`: a route's methods are
    /// all allowed.
    pub fn allows_every_route_method(&self) -> bool {
        self.any_method
    }
    /// The allowed request header names as configured.
    pub fn allow_headers(&self) -> &[String] {
        &self.allow_headers_list
    }
    /// The exposed response header names as configured.
    pub fn expose_headers(&self) -> &[String] {
        &self.expose_list
    }
    /// `max_age` in seconds as configured, when set (-1 included).
    pub fn max_age(&self) -> Option<i64> {
        self.max_age_secs
    }
    /// The `Access-Control-Max-Age` value sent, when set: `0` for -1.
    pub fn max_age_header(&self) -> Option<&HeaderValue> {
        self.max_age.as_ref()
    }
    /// The status of an allowed preflight.
    pub fn preflight_status(&self) -> StatusCode {
        self.preflight_status
    }
    /// What happens to actual requests from other origins.
    pub fn on_disallowed_origin(&self) -> OnDisallowedOrigin {
        self.on_disallowed
    }
    /// True when refusals are explained in the response body and the log.
    pub fn debug(&self) -> bool {
        self.debug
    }
    /// True when `Access-Control-Allow-Origin: *` is the answer to every
    /// origin, listed ones included, and to requests without `Origin`: a
    /// static answer, so no `Vary: Origin` (Fetch, "CORS protocol and HTTP
    /// caches").
    pub fn is_static_wildcard(&self) -> bool {
        self.matcher.allows_any() && !self.credentials
    }
}
