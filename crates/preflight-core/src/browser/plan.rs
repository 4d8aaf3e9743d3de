//! What the browser will send for a request ([`RequestPlan`]): main fetch up
//! to the point where bytes leave, one hop at a time.

use serde::Serialize;
use url::Url;

use super::error::{Blocked, CorsError, NetError, Stage};
use super::headers::{cors_unsafe_request_header_names, is_no_cors_safelisted_request_header};
use super::profile::Profile;
use super::request::{
    ser_origin, ser_url, BrowserRequest, CredentialsMode, RedirectMode, RequestMode, Tainting,
};
use crate::fetch::{
    is_cors_safelisted_method, is_forbidden_method, is_forbidden_request_header,
    is_header_value_byte, is_token, is_valid_method, isomorphic_encode, normalize_header_value,
    normalize_method,
};
use crate::origin::Origin;

/// Why a preflight is needed (docs/browser-model.md#when-a-preflight-is-sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PreflightReason {
    /// The method is not `GET`, `HEAD` or `POST`.
    MethodNotSafelisted { method: String },
    /// These header names are not safelisted (docs/browser-model.md#unsafe-request-header-names).
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
    /// Normalized (docs/browser-model.md#safelisted-method), possibly rewritten by a redirect (docs/browser-model.md#redirect-method-rewriting).
    pub method: String,
    /// The author headers that are sent: forbidden ones dropped (docs/browser-model.md#forbidden-request-header), values
    /// trimmed of leading and trailing whitespace.
    pub headers: Vec<(String, String)>,
    /// Names fetch() dropped silently (docs/browser-model.md#forbidden-request-header; docs/browser-model.md#no-cors-mode in no-cors mode).
    pub dropped_headers: Vec<String>,
    pub credentials: CredentialsMode,
    pub mode: RequestMode,
    pub redirect: RedirectMode,
    pub force_preflight: bool,
    /// The request's current URL is not same-origin with the page.
    pub cross_origin: bool,
    pub tainting: Tainting,
    /// docs/browser-model.md#redirect-taint: a redirect went through a third origin; `Origin: null` from now on.
    pub tainted_origin: bool,
    pub redirect_count: u32,
    /// docs/browser-model.md#unsafe-request-header-names: sorted, lower case, de-duplicated.
    pub unsafe_headers: Vec<String>,
    /// docs/browser-model.md#when-a-preflight-is-sent, before consulting a preflight cache.
    pub needs_preflight: bool,
    pub preflight_reasons: Vec<PreflightReason>,
    /// docs/browser-model.md#preflight-request: the preflight's headers in the order the browser sends them; empty
    /// when no preflight is needed.
    pub preflight_headers: Vec<(String, String)>,
    /// docs/browser-model.md#origin-header: the `Origin` header of the actual request, when one is sent.
    pub origin_header: Option<String>,
    /// docs/browser-model.md#credentials: whether cookies and HTTP authentication go with the actual request.
    pub credentials_sent: bool,
}

impl RequestPlan {
    /// The byte-serialized request origin (docs/browser-model.md#origin-serialization): `null` for an opaque origin or
    /// a redirect-tainted request (docs/browser-model.md#redirect-taint).
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
    // docs/browser-model.md#safelisted-method, #forbidden-method.
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
                "`{}` is a forbidden method (Fetch, \"forbidden method\"): fetch() throws a TypeError.",
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
        // docs/browser-model.md#no-cors-mode.
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
                "A no-cors request must follow redirects (Fetch, \"main fetch\").",
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
        let value = normalize_header_value(value);
        let Some(bytes) = isomorphic_encode(&value) else {
            return Err(type_error(
                format!("The value of `{name}` has characters above U+00FF, so fetch() throws."),
                "Encode the value (for example percent-encoding or base64) before sending it.",
            ));
        };
        if !bytes.iter().all(|&b| is_header_value_byte(b)) {
            return Err(type_error(
                format!("The value of `{name}` contains NUL, CR or LF, so fetch() throws."),
                "Remove control characters from the header value.",
            ));
        }
        // docs/browser-model.md#forbidden-request-header: dropped silently.
        if is_forbidden_request_header(name, &value) {
            dropped.push(name.clone());
            continue;
        }
        if req.mode == RequestMode::NoCors {
            // docs/browser-model.md#no-cors-mode: the `request-no-cors` guard checks the combined value.
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

/// Main fetch for one hop: tainting, preflight need (docs/browser-model.md#when-a-preflight-is-sent) and shape (docs/browser-model.md#preflight-request),
/// Origin (docs/browser-model.md#origin-header) and credentials (docs/browser-model.md#credentials).
pub(crate) fn build_plan(hop: Hop) -> Result<RequestPlan, Blocked> {
    let cross_origin = !hop.origin.same_origin(&Origin::of_url(&hop.url));
    // Main fetch: same-origin with basic tainting stays basic; cross-origin (or
    // once tainted) a cors request is cors for good (docs/browser-model.md#preflight-after-a-redirect), no-cors is opaque.
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
    // docs/browser-model.md#origin-header: always with the CORS flag; otherwise on methods other than GET/HEAD
    // (the referrer policy may turn it into `null`; not modelled).
    let origin_header = (cors_flag || !matches!(hop.method.as_str(), "GET" | "HEAD"))
        .then(|| serialized_origin.clone());
    // docs/browser-model.md#credentials.
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

/// docs/browser-model.md#preflight-request: the headers of the preflight request, in the order Chromium sends them
/// (preflight_controller.cc): `Accept: */*`, `Access-Control-Request-Method`,
/// `Access-Control-Request-Headers` (only when docs/browser-model.md#unsafe-request-header-names gives names; joined with `,`
/// and no space), `Origin`, the page's own `User-Agent` when it set one, and,
/// for Chromium, `Sec-Fetch-Mode: cors`. The network stack adds `Host`,
/// `Connection`, `User-Agent` and the like; they are not listed. No cookies:
/// a preflight never carries credentials. [`plan`] fills
/// [`RequestPlan::preflight_headers`] with this list when a preflight is needed.
pub(crate) fn preflight_request_headers(plan: &RequestPlan) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Accept".to_string(), "*/*".to_string()),
        (
            "Access-Control-Request-Method".to_string(),
            plan.method.clone(),
        ),
    ];
    if !plan.unsafe_headers.is_empty() {
        headers.push((
            "Access-Control-Request-Headers".to_string(),
            plan.unsafe_headers.join(","),
        ));
    }
    headers.push(("Origin".to_string(), plan.serialized_origin().to_string()));
    if let Some((_, ua)) = plan
        .headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
    {
        headers.push(("User-Agent".to_string(), ua.clone()));
    }
    if plan.profile == Profile::Chromium {
        headers.push(("Sec-Fetch-Mode".to_string(), "cors".to_string()));
    }
    headers
}
