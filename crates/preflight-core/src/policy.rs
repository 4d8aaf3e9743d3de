//! The `[cors]` table of the configuration, raw and validated.
//!
//! [`CorsConfig`] is what serde reads. [`Policy`] is the only thing the engine
//! decides with, and [`Policy::new`] is the only way to build one: every
//! insecure or malformed setting listed in DESIGN.md ("Configuration refused at
//! load") is a typed [`PolicyError`] naming the key and the value.

use std::collections::HashSet;

use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::fetch::{is_forbidden_request_header_name, is_token};
use crate::matcher::{FastHash, OriginMatcher};
use crate::methods::{MethodError, MethodSet};
use crate::pattern::{OriginPattern, PatternError};

/// The largest `max_age` accepted (one day, Firefox's cap).
pub const MAX_AGE_LIMIT: i64 = 86_400;
/// Chromium caps the preflight cache at two hours (CORS-RULES.md §4).
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
    #[error("`{0}` is a forbidden request header: scripts can never set it, so allowing it does nothing (Fetch, R6)")]
    ForbiddenHeader(String),
    #[error("`*` is literal when credentials are allowed (R27): list the header names to expose")]
    WildcardExposeWithCredentials,
    #[error("Set-Cookie is never exposed to scripts (R7); remove it")]
    ExposeSetCookie,
    #[error("max_age must be between -1 and {MAX_AGE_LIMIT} seconds")]
    MaxAgeOutOfRange,
    #[error("preflight_status must be 200 or 204 (a preflight needs an ok status, R18)")]
    InvalidPreflightStatus,
    #[error("the list is empty: nothing would be allowed")]
    EmptyMethods,
}

/// A setting that loads but deserves a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    pub key: &'static str,
    pub value: String,
    pub message: String,
}

/// The allowed request headers.
#[derive(Debug, Clone)]
pub(crate) struct AllowHeaders {
    /// `*`: every name except `Authorization` (R22), which must be listed.
    pub(crate) any: bool,
    /// Lower-case names listed.
    pub(crate) names: HashSet<Box<[u8]>, FastHash>,
    /// Every `Access-Control-Request-Headers` line a browser can send that
    /// names only listed headers: the non-empty subsets of `names`, sorted,
    /// lower case, joined by `,` (R5, R13). Built when the list is short
    /// ([`MAX_PRECOMPUTED_NAMES`] names, at most 63 lines), so that the usual
    /// preflight is decided by one hash look-up instead of a scan.
    pub(crate) lines: HashSet<Box<[u8]>, FastHash>,
    /// The length of the longest of `lines`.
    pub(crate) longest_line: usize,
}

/// The longest allow list whose request lines are precomputed.
pub(crate) const MAX_PRECOMPUTED_NAMES: usize = 6;

/// The lines of [`AllowHeaders::lines`].
fn browser_lines(names: &HashSet<Box<[u8]>, FastHash>) -> HashSet<Box<[u8]>, FastHash> {
    let mut lines = HashSet::default();
    if names.len() > MAX_PRECOMPUTED_NAMES {
        return lines;
    }
    let mut sorted: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
    sorted.sort_unstable();
    for mask in 1u32..(1 << sorted.len()) {
        let line: Vec<u8> = sorted
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(&b","[..]);
        lines.insert(line.into_boxed_slice());
    }
    lines
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
    pub(crate) methods: MethodSet,
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

        let patterns = parse_origins(config, credentials, &mut errors);

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
            Some(list) if list.iter().any(|m| m == "*") => MethodSet::parse(&DEFAULT_METHODS).ok(),
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
        let mut allow_headers = AllowHeaders {
            any: false,
            names: HashSet::default(),
            lines: HashSet::default(),
            longest_line: 0,
        };
        for (i, name) in allow_headers_list.iter().enumerate() {
            if name == "*" {
                allow_headers.any = true;
                continue;
            }
            if !is_token(name.as_bytes()) {
                errors.push(PolicyError::new(
                    "allow_headers",
                    Some(i),
                    name.clone(),
                    PolicyErrorKind::InvalidHeaderName(name.clone()),
                ));
                continue;
            }
            // R6: a script can never send these, so listing them does nothing.
            if is_forbidden_request_header_name(name) {
                errors.push(PolicyError::new(
                    "allow_headers",
                    Some(i),
                    name.clone(),
                    PolicyErrorKind::ForbiddenHeader(name.clone()),
                ));
                continue;
            }
            allow_headers
                .names
                .insert(name.to_ascii_lowercase().into_bytes().into_boxed_slice());
        }
        allow_headers.lines = browser_lines(&allow_headers.names);
        allow_headers.longest_line = allow_headers
            .lines
            .iter()
            .map(|l| l.len())
            .max()
            .unwrap_or(0);

        let expose_list = config.expose_headers.clone().unwrap_or_default();
        for (i, name) in expose_list.iter().enumerate() {
            if name == "*" {
                if credentials {
                    errors.push(PolicyError::new(
                        "expose_headers",
                        Some(i),
                        name.clone(),
                        PolicyErrorKind::WildcardExposeWithCredentials,
                    ));
                }
                continue;
            }
            if !is_token(name.as_bytes()) {
                errors.push(PolicyError::new(
                    "expose_headers",
                    Some(i),
                    name.clone(),
                    PolicyErrorKind::InvalidHeaderName(name.clone()),
                ));
            } else if name.eq_ignore_ascii_case("set-cookie")
                || name.eq_ignore_ascii_case("set-cookie2")
            {
                errors.push(PolicyError::new(
                    "expose_headers",
                    Some(i),
                    name.clone(),
                    PolicyErrorKind::ExposeSetCookie,
                ));
            }
        }
        let expose = if expose_list.is_empty() {
            None
        } else {
            shared_value(&expose_list.join(", "))
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
                        value: secs.to_string(),
                        message: format!("Chromium caps the preflight cache at {CHROMIUM_MAX_AGE_CAP} s; a longer max_age only helps Firefox"),
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
                    allow_headers,
                    allow_headers_list,
                    expose,
                    expose_list,
                    max_age: max_age.and_then(|s| shared_value(&s.to_string())),
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
    /// The methods this policy allows on any route.
    pub fn methods(&self) -> &MethodSet {
        &self.methods
    }
    /// The methods a route with `route` methods answers preflights for.
    pub fn methods_for_route(&self, route: &MethodSet) -> MethodSet {
        route.intersect(&self.methods)
    }
    /// The allowed request header names as configured.
    pub fn allow_headers(&self) -> &[String] {
        &self.allow_headers_list
    }
    /// The exposed response header names as configured.
    pub fn expose_headers(&self) -> &[String] {
        &self.expose_list
    }
    /// `max_age` in seconds, when set.
    pub fn max_age(&self) -> Option<i64> {
        self.max_age_secs
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
    /// True when `Access-Control-Allow-Origin: *` is the answer to every origin
    /// (R37: a static answer, so no `Vary: Origin`).
    pub fn is_static_wildcard(&self) -> bool {
        self.matcher.allows_any() && !self.credentials
    }
}

/// A header value whose bytes are shared, so that cloning it per response is a
/// reference-count increment and never an allocation.
fn shared_value(s: &str) -> Option<HeaderValue> {
    let v = HeaderValue::from_str(s).ok()?;
    // `from_str` copies into a fresh buffer; cloning it once turns the buffer
    // into a shared one, so that later clones only count references.
    let _promote = v.clone();
    Some(v)
}

fn parse_origins(
    config: &CorsConfig,
    credentials: bool,
    errors: &mut Vec<PolicyError>,
) -> Option<Vec<OriginPattern>> {
    let Some(list) = &config.allow_origins else {
        errors.push(PolicyError::new(
            "allow_origins",
            None,
            "(missing)",
            PolicyErrorKind::MissingOrigins,
        ));
        return None;
    };
    let allow_null = config.dangerously_allow_null_origin.unwrap_or(false);
    let allow_suffix = config
        .dangerously_allow_public_suffix_wildcard
        .unwrap_or(false);
    let allow_insecure = config
        .dangerously_allow_insecure_origins_with_credentials
        .unwrap_or(false);
    let before = errors.len();
    let mut patterns = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let err = |kind| PolicyError::new("allow_origins", Some(i), raw.clone(), kind);
        let pattern = match OriginPattern::parse(raw) {
            Ok(p) => p,
            Err(e) => {
                errors.push(err(PolicyErrorKind::MalformedOrigin(e)));
                continue;
            }
        };
        match &pattern {
            OriginPattern::Any if credentials => {
                errors.push(err(PolicyErrorKind::WildcardWithCredentials))
            }
            OriginPattern::Null if !allow_null => errors.push(err(PolicyErrorKind::NullOrigin)),
            OriginPattern::Subdomain { suffix, .. }
                if !allow_suffix && is_public_suffix(suffix) =>
            {
                errors.push(err(PolicyErrorKind::PublicSuffixWildcard(suffix.clone())))
            }
            _ => {}
        }
        if credentials
            && !allow_insecure
            && pattern.scheme() == Some("http")
            && !pattern_is_loopback(&pattern)
        {
            errors.push(err(PolicyErrorKind::InsecureOriginWithCredentials));
        }
        patterns.push(pattern);
    }
    (errors.len() == before).then_some(patterns)
}

/// True when `name` is itself a public suffix (`co.uk`, `github.io`, `com`),
/// by the list built into the `psl` crate (ICANN and private sections).
fn is_public_suffix(name: &str) -> bool {
    if name == "localhost" {
        return false;
    }
    match psl::suffix(name.as_bytes()) {
        Some(suffix) => suffix.as_bytes() == name.as_bytes(),
        None => true,
    }
}

fn pattern_is_loopback(p: &OriginPattern) -> bool {
    let host = match p {
        OriginPattern::Exact(s) => s
            .split_once("://")
            .map(|(_, rest)| {
                rest.rsplit_once(':').map_or(rest, |(h, port)| {
                    if port.bytes().all(|b| b.is_ascii_digit()) {
                        h
                    } else {
                        rest
                    }
                })
            })
            .unwrap_or(""),
        OriginPattern::AnyPort { host, .. } => host,
        OriginPattern::Subdomain { suffix, .. } => suffix,
        _ => return false,
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod precomputed_lines {
    use super::*;

    fn names(list: &[&str]) -> HashSet<Box<[u8]>, FastHash> {
        list.iter()
            .map(|n| n.as_bytes().to_vec().into_boxed_slice())
            .collect()
    }

    #[test]
    fn every_sorted_subset_and_nothing_else() {
        let lines = browser_lines(&names(&["x-a", "content-type", "authorization"]));
        assert_eq!(lines.len(), 7);
        for line in [
            "authorization",
            "content-type",
            "x-a",
            "authorization,content-type",
            "authorization,x-a",
            "content-type,x-a",
            "authorization,content-type,x-a",
        ] {
            assert!(lines.contains(line.as_bytes()), "{line}");
        }
        // Not in a browser's form: left to the tolerant parser.
        for line in [
            "content-type,authorization",
            "Content-Type",
            "content-type, x-a",
            "",
        ] {
            assert!(!lines.contains(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn long_lists_are_not_precomputed() {
        let many: Vec<String> = (0..=MAX_PRECOMPUTED_NAMES)
            .map(|i| format!("x-{i}"))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(browser_lines(&names(&refs)).is_empty());
    }
}
