//! What the page asks for ([`BrowserRequest`]) and what the browser will send
//! for it ([`RequestPlan`]): main fetch up to the point where bytes leave.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use url::Url;

use super::error::{Blocked, CorsError, NetError, Stage};
use super::headers::{
    cors_unsafe_request_header_names, is_forbidden_request_header,
    is_no_cors_safelisted_request_header,
};
use super::method::{
    is_cors_safelisted_method, is_forbidden_method, is_valid_method, normalize_method,
};
use super::preflight::preflight_request_headers;
use super::profile::Profile;
use super::syntax::{is_token, isomorphic_encode};
use crate::origin::Origin;

/// The request's credentials mode (fetch's `credentials` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialsMode {
    /// Never send cookies or HTTP authentication.
    Omit,
    /// Send them only to the page's own origin (fetch()'s default).
    #[default]
    SameOrigin,
    /// Always send them (`credentials: "include"`, XHR `withCredentials`).
    Include,
}

impl FromStr for CredentialsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "omit" => Ok(CredentialsMode::Omit),
            "same-origin" => Ok(CredentialsMode::SameOrigin),
            "include" => Ok(CredentialsMode::Include),
            _ => Err(format!(
                "unknown credentials mode `{s}`; use omit, same-origin or include"
            )),
        }
    }
}

impl fmt::Display for CredentialsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialsMode::Omit => "omit",
            CredentialsMode::SameOrigin => "same-origin",
            CredentialsMode::Include => "include",
        })
    }
}

/// The request's mode (fetch's `mode` option). Navigations are not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestMode {
    /// fetch()'s default for cross-origin calls.
    #[default]
    Cors,
    /// R10: opaque response, no CORS headers needed or read.
    NoCors,
    /// Cross-origin is a network error.
    SameOrigin,
}

/// The request's redirect mode (fetch's `redirect` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedirectMode {
    #[default]
    Follow,
    /// R36: a redirect is a network error.
    Error,
    /// R36: a redirect yields an `opaqueredirect` response.
    Manual,
}

/// The response tainting of a request (Fetch §"Main fetch").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tainting {
    /// Same-origin: no CORS.
    Basic,
    /// Cross-origin in cors mode: the CORS protocol applies.
    Cors,
    /// Cross-origin in no-cors mode: the page gets an opaque response.
    Opaque,
}

/// What the page asks for: `fetch(url, {method, headers, credentials, mode})`
/// run by a page whose origin is `origin`.
///
/// ```
/// use preflight_core::browser::{BrowserRequest, CredentialsMode};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example.com").unwrap(),
///     "https://api.example.com/users/1".parse().unwrap(),
/// )
/// .method("PUT")
/// .header("Content-Type", "application/json")
/// .credentials(CredentialsMode::Include);
/// assert_eq!(req.method, "PUT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrowserRequest {
    /// The page's origin.
    #[serde(serialize_with = "ser_origin")]
    pub origin: Origin,
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// As the page wrote it; normalized by [`plan`] (R1).
    pub method: String,
    /// As the page set them, in order.
    pub headers: Vec<(String, String)>,
    pub credentials: CredentialsMode,
    pub mode: RequestMode,
    pub redirect: RedirectMode,
    /// The use-CORS-preflight flag (R12): set by XHR upload listeners and by a
    /// `ReadableStream` body.
    pub force_preflight: bool,
}

impl BrowserRequest {
    /// A `GET` with no headers, credentials `same-origin`, mode `cors`, redirect
    /// `follow`: what `fetch(url)` does.
    pub fn new(origin: Origin, url: Url) -> BrowserRequest {
        BrowserRequest {
            origin,
            url,
            method: "GET".to_string(),
            headers: Vec::new(),
            credentials: CredentialsMode::default(),
            mode: RequestMode::default(),
            redirect: RedirectMode::default(),
            force_preflight: false,
        }
    }

    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Append a header, as `Headers.append` does.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn credentials(mut self, credentials: CredentialsMode) -> Self {
        self.credentials = credentials;
        self
    }

    pub fn mode(mut self, mode: RequestMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn redirect(mut self, redirect: RedirectMode) -> Self {
        self.redirect = redirect;
        self
    }

    pub fn force_preflight(mut self, force: bool) -> Self {
        self.force_preflight = force;
        self
    }
}

/// Why a preflight is needed (R12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PreflightReason {
    /// The method is not `GET`, `HEAD` or `POST`.
    MethodNotSafelisted { method: String },
    /// These header names are not safelisted (R5).
    UnsafeHeaders { names: Vec<String> },
    /// The use-CORS-preflight flag is set.
    Forced,
}

/// What the browser will do for a request, one hop of it: the normalized
/// request, whether it is cross-origin, whether a preflight goes first and
/// with which headers, and the state a redirect carries on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestPlan {
    pub profile: Profile,
    /// The page's origin (the request's origin; it never changes).
    #[serde(serialize_with = "ser_origin")]
    pub origin: Origin,
    /// The current URL (changes on redirects).
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// Normalized (R1), possibly rewritten by a redirect (R32).
    pub method: String,
    /// The author headers that are sent: forbidden ones dropped (R6), values
    /// trimmed of leading and trailing whitespace.
    pub headers: Vec<(String, String)>,
    /// Names fetch() dropped silently (R6; R10 in no-cors mode).
    pub dropped_headers: Vec<String>,
    pub credentials: CredentialsMode,
    pub mode: RequestMode,
    pub redirect: RedirectMode,
    pub force_preflight: bool,
    /// The request's current URL is not same-origin with the page.
    pub cross_origin: bool,
    pub tainting: Tainting,
    /// R34: a redirect went through a third origin; `Origin: null` from now on.
    pub tainted_origin: bool,
    pub redirect_count: u32,
    /// R5: sorted, lower case, de-duplicated.
    pub unsafe_headers: Vec<String>,
    /// R12, before consulting a preflight cache.
    pub needs_preflight: bool,
    pub preflight_reasons: Vec<PreflightReason>,
    /// R13: the preflight's headers in the order the browser sends them; empty
    /// when no preflight is needed.
    pub preflight_headers: Vec<(String, String)>,
    /// R16: the `Origin` header of the actual request, when one is sent.
    pub origin_header: Option<String>,
    /// R17: whether cookies and HTTP authentication go with the actual request.
    pub credentials_sent: bool,
}

impl RequestPlan {
    /// The byte-serialized request origin (R15): `null` for an opaque origin or
    /// a redirect-tainted request (R34).
    pub fn serialized_origin(&self) -> &str {
        if self.tainted_origin {
            "null"
        } else {
            self.origin.serialize()
        }
    }

    /// Whether the credentials mode is `include`.
    pub fn include_credentials(&self) -> bool {
        self.credentials == CredentialsMode::Include
    }

    /// The headers of the actual request: the author headers, then `Origin`.
    pub fn actual_request_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        if let Some(origin) = &self.origin_header {
            headers.push(("Origin".to_string(), origin.clone()));
        }
        headers
    }
}

/// The state one hop starts from: the request as it stands after redirects.
pub(crate) struct Hop {
    pub profile: Profile,
    pub origin: Origin,
    pub url: Url,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub dropped_headers: Vec<String>,
    pub credentials: CredentialsMode,
    pub mode: RequestMode,
    pub redirect: RedirectMode,
    pub force_preflight: bool,
    pub tainting: Tainting,
    pub tainted_origin: bool,
    pub redirect_count: u32,
}

fn type_error(message: String, fix: &str) -> Blocked {
    Blocked::new(NetError::TypeError, Stage::Request, message, fix)
}

/// Plan a request: what fetch() would do with it before anything is sent, and
/// what the browser sends. Fails where fetch() throws or refuses outright.
///
/// ```
/// use preflight_core::browser::{plan, BrowserRequest, Profile};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example.com").unwrap(),
///     "https://api.example.com/x".parse().unwrap(),
/// )
/// .method("post")
/// .header("Content-Type", "application/json")
/// .header("Cookie", "dropped=1");
/// let p = plan(&req, Profile::Chromium).unwrap();
/// assert_eq!(p.method, "POST");
/// assert!(p.needs_preflight);
/// assert_eq!(p.dropped_headers, vec!["Cookie"]);
/// assert_eq!(p.preflight_headers[2], ("Access-Control-Request-Headers".into(), "content-type".into()));
/// ```
pub fn plan(req: &BrowserRequest, profile: Profile) -> Result<RequestPlan, Blocked> {
    // R1, R2.
    if !is_valid_method(&req.method) {
        return Err(type_error(
            format!(
                "`{}` is not a valid HTTP method, so fetch() throws.",
                req.method
            ),
            "Use a method name made of token characters (letters, digits, `-` ...).",
        ));
    }
    if is_forbidden_method(&req.method) {
        return Err(type_error(
            format!(
                "`{}` is a forbidden method (R2): fetch() throws a TypeError.",
                req.method
            ),
            "Browsers never send CONNECT, TRACE or TRACK; use another method.",
        ));
    }
    let method = normalize_method(&req.method);
    if !req.url.username().is_empty() || req.url.password().is_some() {
        return Err(type_error(
            "The URL includes a user name or password, so fetch() throws.".to_string(),
            "Remove the credentials from the URL; send them in an `Authorization` header.",
        ));
    }
    if req.mode == RequestMode::NoCors {
        // R10.
        if !is_cors_safelisted_method(&method) {
            return Err(type_error(
                format!("A no-cors request may only use GET, HEAD or POST, not `{method}`."),
                "Use mode `cors` and let the server answer the preflight.",
            ));
        }
        if req.redirect != RedirectMode::Follow {
            return Err(Blocked::new(
                CorsError::NoCorsRedirectModeNotFollow,
                Stage::Request,
                "A no-cors request must follow redirects (R10).",
                "Use redirect mode `follow`, or mode `cors`.",
            ));
        }
    }

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut dropped = Vec::new();
    for (name, value) in &req.headers {
        if !is_token(name.as_bytes()) {
            return Err(type_error(
                format!("`{name}` is not a valid header name, so fetch() throws."),
                "Use a header name made of token characters.",
            ));
        }
        let value = super::headers::normalize_value(value);
        let Some(bytes) = isomorphic_encode(&value) else {
            return Err(type_error(
                format!("The value of `{name}` has characters above U+00FF, so fetch() throws."),
                "Encode the value (for example percent-encoding or base64) before sending it.",
            ));
        };
        if bytes.iter().any(|b| matches!(b, 0 | b'\n' | b'\r')) {
            return Err(type_error(
                format!("The value of `{name}` contains NUL, CR or LF, so fetch() throws."),
                "Remove control characters from the header value.",
            ));
        }
        // R6: dropped silently.
        if is_forbidden_request_header(name, &value) {
            dropped.push(name.clone());
            continue;
        }
        if req.mode == RequestMode::NoCors {
            // R10: the `request-no-cors` guard checks the combined value.
            let combined = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .chain(std::iter::once(value.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            if !is_no_cors_safelisted_request_header(name, &combined) {
                dropped.push(name.clone());
                continue;
            }
        }
        headers.push((name.clone(), value));
    }

    build_plan(Hop {
        profile,
        origin: req.origin.clone(),
        url: req.url.clone(),
        method,
        headers,
        dropped_headers: dropped,
        credentials: req.credentials,
        mode: req.mode,
        redirect: req.redirect,
        force_preflight: req.force_preflight,
        // Every request starts with basic tainting; main fetch decides.
        tainting: Tainting::Basic,
        tainted_origin: false,
        redirect_count: 0,
    })
}

/// Main fetch for one hop: tainting, preflight need (R12) and shape (R13),
/// Origin (R16) and credentials (R17).
pub(crate) fn build_plan(hop: Hop) -> Result<RequestPlan, Blocked> {
    let cross_origin = !hop.origin.same_origin(&Origin::of_url(&hop.url));
    // Main fetch: same-origin with basic tainting stays basic; cross-origin (or
    // once tainted) a cors request is cors for good (R35), no-cors is opaque.
    let tainting = if !cross_origin && hop.tainting == Tainting::Basic {
        Tainting::Basic
    } else {
        match hop.mode {
            RequestMode::SameOrigin => {
                return Err(Blocked::new(
                    CorsError::DisallowedByMode,
                    Stage::Request,
                    format!(
                        "The request's mode is `same-origin` but {} is another origin.",
                        Origin::of_url(&hop.url)
                    ),
                    "Use mode `cors` for a cross-origin request.",
                ));
            }
            RequestMode::NoCors => Tainting::Opaque,
            RequestMode::Cors => {
                if !matches!(hop.url.scheme(), "http" | "https") {
                    return Err(Blocked::new(
                        CorsError::CorsDisabledScheme,
                        Stage::Request,
                        format!(
                            "CORS requests are only possible to http and https URLs, not `{}:`.",
                            hop.url.scheme()
                        ),
                        "Serve the resource over http(s), or load it from the page's own origin.",
                    ));
                }
                Tainting::Cors
            }
        }
    };
    let cors_flag = tainting == Tainting::Cors;

    let unsafe_headers = cors_unsafe_request_header_names(&hop.headers, hop.profile);
    let mut reasons = Vec::new();
    if cors_flag {
        if hop.force_preflight {
            reasons.push(PreflightReason::Forced);
        }
        if !is_cors_safelisted_method(&hop.method) {
            reasons.push(PreflightReason::MethodNotSafelisted {
                method: hop.method.clone(),
            });
        }
        if !unsafe_headers.is_empty() {
            reasons.push(PreflightReason::UnsafeHeaders {
                names: unsafe_headers.clone(),
            });
        }
    }
    let needs_preflight = !reasons.is_empty();

    let serialized_origin = if hop.tainted_origin {
        "null".to_string()
    } else {
        hop.origin.serialize().to_string()
    };
    // R16: always with the CORS flag; otherwise on methods other than GET/HEAD
    // (the referrer policy may turn it into `null`; not modelled).
    let origin_header = (cors_flag || !matches!(hop.method.as_str(), "GET" | "HEAD"))
        .then(|| serialized_origin.clone());
    // R17.
    let credentials_sent = match hop.credentials {
        CredentialsMode::Include => true,
        CredentialsMode::SameOrigin => tainting == Tainting::Basic,
        CredentialsMode::Omit => false,
    };

    let mut plan = RequestPlan {
        profile: hop.profile,
        origin: hop.origin,
        url: hop.url,
        method: hop.method,
        headers: hop.headers,
        dropped_headers: hop.dropped_headers,
        credentials: hop.credentials,
        mode: hop.mode,
        redirect: hop.redirect,
        force_preflight: hop.force_preflight,
        cross_origin,
        tainting,
        tainted_origin: hop.tainted_origin,
        redirect_count: hop.redirect_count,
        unsafe_headers,
        needs_preflight,
        preflight_reasons: reasons,
        preflight_headers: Vec::new(),
        origin_header,
        credentials_sent,
    };
    if needs_preflight {
        plan.preflight_headers = preflight_request_headers(&plan);
    }
    Ok(plan)
}

pub(crate) fn ser_url<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str())
}

pub(crate) fn ser_origin<S: Serializer>(origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(origin.serialize())
}
