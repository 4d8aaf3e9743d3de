//! The CORS-preflight fetch: the evaluation of the response (docs/browser-model.md#the-preflight-response).
//! The request's shape (docs/browser-model.md#preflight-request) is part of the plan.

use serde::Serialize;

use super::check::cors_check_blocked;
use super::error::{Blocked, CorsError, Stage};
use super::headers::{
    extract_header_list, get_header, is_cors_non_wildcard_request_header_name, HeaderList,
};
use super::plan::RequestPlan;
use super::profile::Profile;
use super::redirect::is_redirect_status;
use crate::fetch::is_cors_safelisted_method;

/// Where the effective max-age came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxAgeSource {
    /// No `Access-Control-Max-Age`: the default 5 s.
    Default,
    /// Not a number: the default 5 s.
    Invalid,
    /// Negative: no caching.
    Negative,
    /// Taken from the header.
    Header,
    /// Above the profile's cap: the cap.
    Capped,
}

/// The effective preflight-cache lifetime (docs/browser-model.md#max-age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxAge {
    pub seconds: u64,
    pub source: MaxAgeSource,
}

/// docs/browser-model.md#max-age: parse `Access-Control-Max-Age` (already combined and trimmed).
///
/// Missing: [`Profile::default_max_age`] (5 s). Invalid:
/// [`Profile::invalid_max_age`] (5 s; Firefox: 0, not cached). Empty: invalid,
/// but missing in Firefox ([`Profile::empty_max_age_is_missing`]). Negative: 0, no caching; Chromium, Firefox and
/// Safari all refuse to cache it and WPT (`cors/preflight-cache.htm`, case E4)
/// expects that, so both profiles do it, although a literal reading of the
/// standard would use 5 s. Above the cap: the cap ([`Profile::max_age_cap`]).
/// Chromium reads the value as a signed 64-bit integer (`+` allowed, overflow
/// invalid); the standard reads `delta-seconds` (digits only, any size).
pub(crate) fn parse_max_age(value: Option<&str>, profile: Profile) -> MaxAge {
    let Some(value) = value else {
        return MaxAge {
            seconds: profile.default_max_age(),
            source: MaxAgeSource::Default,
        };
    };
    if value.is_empty() && profile.empty_max_age_is_missing() {
        return MaxAge {
            seconds: profile.default_max_age(),
            source: MaxAgeSource::Default,
        };
    }
    let invalid = MaxAge {
        seconds: profile.invalid_max_age(),
        source: MaxAgeSource::Invalid,
    };
    let (negative, digits) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') if profile == Profile::Chromium => (false, &value[1..]),
        _ => (false, value),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return invalid;
    }
    if negative {
        if profile == Profile::Chromium && digits.parse::<i64>().is_err() {
            // Below i64::MIN: StringToInt64 fails, so the default applies.
            return invalid;
        }
        return MaxAge {
            seconds: 0,
            source: MaxAgeSource::Negative,
        };
    }
    let seconds = match digits.parse::<u64>() {
        Ok(n) if profile == Profile::Chromium && n > i64::MAX as u64 => return invalid,
        Ok(n) => n,
        Err(_) if profile == Profile::Chromium => return invalid,
        Err(_) => u64::MAX,
    };
    let cap = profile.max_age_cap();
    if seconds > cap {
        MaxAge {
            seconds: cap,
            source: MaxAgeSource::Capped,
        }
    } else {
        MaxAge {
            seconds,
            source: MaxAgeSource::Header,
        }
    }
}

/// A preflight response that allows the actual request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightOk {
    pub status: u16,
    /// `Access-Control-Allow-Methods` as parsed (docs/browser-model.md#parsing-the-allow-lists), or `[method]` under docs/browser-model.md#missing-allow-methods.
    pub allow_methods: Vec<String>,
    /// `Access-Control-Allow-Headers` as parsed (docs/browser-model.md#parsing-the-allow-lists).
    pub allow_headers: Vec<String>,
    /// How long the browser may reuse this answer (docs/browser-model.md#max-age).
    pub max_age: MaxAge,
    /// Things that pass today but deserve a change.
    pub warnings: Vec<String>,
}

/// Evaluate the response to the preflight of `plan` (docs/browser-model.md#the-preflight-response).
///
/// `headers` are the response's (name, value) pairs, in order, repeated names
/// allowed; see [`header_pairs`](super::header_pairs) for an `http::HeaderMap`.
///
/// ```
/// use preflight_core::browser::{evaluate_preflight, plan, BrowserRequest, Profile};
/// use preflight_core::Origin;
/// let req = BrowserRequest::new(
///     Origin::parse_serialized("https://app.example").unwrap(),
///     "https://api.example/x".parse().unwrap(),
/// )
/// .method("PUT")
/// .header("X-Api-Key", "k");
/// let p = plan(&req, Profile::Chromium).unwrap();
/// let answer = |h: &[(&str, &str)]| -> Vec<(String, String)> {
///     h.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
/// };
/// let ok = evaluate_preflight(&p, 204, &answer(&[
///     ("Access-Control-Allow-Origin", "https://app.example"),
///     ("Access-Control-Allow-Methods", "GET, PUT"),
///     ("Access-Control-Allow-Headers", "x-api-key"),
/// ]));
/// assert!(ok.is_ok());
/// let refused = evaluate_preflight(&p, 204, &answer(&[
///     ("Access-Control-Allow-Origin", "https://app.example"),
///     ("Access-Control-Allow-Methods", "PUT"),
/// ]))
/// .unwrap_err();
/// assert_eq!(refused.name(), "HeaderDisallowedByPreflightResponse");
/// assert!(refused.fix.contains("Access-Control-Allow-Headers: x-api-key"));
/// ```
pub fn evaluate_preflight(
    plan: &RequestPlan,
    status: u16,
    headers: &[(String, String)],
) -> Result<PreflightOk, Blocked> {
    let stage = Stage::Preflight;
    let profile = plan.profile;
    let include = plan.include_credentials();

    // docs/browser-model.md#no-redirect-on-a-preflight: a preflight never follows a redirect. Chromium's preflight loader
    // fails on the redirect itself, before any CORS check.
    if is_redirect_status(status) {
        if let Some(location) = get_header(headers, "location").filter(|l| !l.is_empty()) {
            return Err(Blocked::new(
                CorsError::PreflightDisallowedRedirect,
                stage,
                format!("The preflight (OPTIONS) response is a redirect ({status} to `{location}`); browsers never follow redirects for a preflight."),
                "Answer OPTIONS at this exact URL without redirecting: call the final URL from the page (scheme, host, trailing slash), and keep http→https or auth redirects away from OPTIONS.",
            ));
        }
    }

    // docs/browser-model.md#preflight-success: the CORS check with the actual
    // request's credentials mode, and an ok status; a response failing both
    // is refused for the one the engine checks first.
    let ok_status = || {
        if (200..=299).contains(&status) {
            return Ok(());
        }
        Err(Blocked::new(
            CorsError::PreflightInvalidStatus,
            stage,
            format!("The preflight (OPTIONS) response has status {status}; a preflight must get a 2xx status."),
            "Answer OPTIONS on this route with 204 (or 200) and the CORS headers; make sure authentication, routing or method filters let OPTIONS through.",
        ))
    };
    if profile.preflight_status_checked_first() {
        ok_status()?;
    }
    cors_check_blocked(headers, plan.serialized_origin(), include, stage)?;
    ok_status()?;

    // docs/browser-model.md#parsing-the-allow-lists: parse failures are network errors.
    let mut allow_methods = match extract_header_list(headers, "access-control-allow-methods") {
        HeaderList::Invalid { bad_member } => {
            return Err(Blocked::new(
                CorsError::InvalidAllowMethodsPreflightResponse,
                stage,
                format!("`Access-Control-Allow-Methods` on the preflight response does not parse: `{bad_member}` is not a method name."),
                "Send a comma-separated list of method names, e.g. `Access-Control-Allow-Methods: GET, PUT, DELETE`.",
            ));
        }
        HeaderList::Absent => None,
        HeaderList::Values(v) => Some(v),
    };
    let allow_headers = match extract_header_list(headers, "access-control-allow-headers") {
        HeaderList::Invalid { bad_member } => {
            return Err(Blocked::new(
                CorsError::InvalidAllowHeadersPreflightResponse,
                stage,
                format!("`Access-Control-Allow-Headers` on the preflight response does not parse: `{bad_member}` is not a header name."),
                "Send a comma-separated list of header names, e.g. `Access-Control-Allow-Headers: content-type, x-api-key`.",
            ));
        }
        HeaderList::Absent => Vec::new(),
        HeaderList::Values(v) => v,
    };

    // docs/browser-model.md#missing-allow-methods.
    if allow_methods.is_none()
        && plan.force_preflight
        && profile.missing_allow_methods_allows_forced_method()
    {
        allow_methods = Some(vec![plan.method.clone()]);
    }
    let allow_methods = allow_methods.unwrap_or_default();

    // docs/browser-model.md#method-allowed: byte-case-sensitive; `*` only without credentials.
    let method = &plan.method;
    let method_allowed = allow_methods.iter().any(|m| m == method)
        || is_cors_safelisted_method(method)
        || (!include && allow_methods.iter().any(|m| m == "*"));
    if !method_allowed {
        return Err(method_disallowed(plan, headers, &allow_methods));
    }

    // docs/browser-model.md#authorization-must-be-listed, #request-headers-allowed.
    let mut warnings = Vec::new();
    let listed = |name: &str| allow_headers.iter().any(|h| h.eq_ignore_ascii_case(name));
    let wildcard = !include && allow_headers.iter().any(|h| h == "*");
    let has_authorization = plan
        .headers
        .iter()
        .any(|(n, _)| is_cors_non_wildcard_request_header_name(n));
    let mut missing: Vec<String> = Vec::new();
    if has_authorization && !listed("authorization") {
        if wildcard && profile.wildcard_covers_authorization() {
            warnings.push("Chromium lets `Access-Control-Allow-Headers: *` cover `Authorization` for now, with a deprecation warning; the Fetch standard (and Servo) require listing it: add `authorization` to `Access-Control-Allow-Headers`.".to_string());
        } else {
            missing.push("authorization".to_string());
        }
    }
    if !wildcard {
        for name in &plan.unsafe_headers {
            if !listed(name) && !missing.contains(name) {
                missing.push(name.clone());
            }
        }
    }
    if !missing.is_empty() {
        return Err(header_disallowed(plan, headers, &allow_headers, &missing));
    }

    // docs/browser-model.md#max-age.
    let max_age = parse_max_age(
        get_header(headers, "access-control-max-age").as_deref(),
        profile,
    );
    match max_age.source {
        MaxAgeSource::Capped => warnings.push(format!(
            "`Access-Control-Max-Age` is above this browser's cap; it is reused for {} s at most.",
            max_age.seconds
        )),
        MaxAgeSource::Invalid if max_age.seconds == 0 => warnings.push(
            "`Access-Control-Max-Age` is not a number of seconds; this browser does not cache \
             the answer."
                .to_string(),
        ),
        MaxAgeSource::Invalid => warnings.push(format!(
            "`Access-Control-Max-Age` is not a number of seconds; the browser uses {} s.",
            max_age.seconds
        )),
        MaxAgeSource::Negative => warnings.push(
            "`Access-Control-Max-Age` is negative: the answer is not cached at all.".to_string(),
        ),
        MaxAgeSource::Default | MaxAgeSource::Header => {}
    }

    Ok(PreflightOk {
        status,
        allow_methods,
        allow_headers,
        max_age,
        warnings,
    })
}

fn shown(headers: &[(String, String)], name: &str) -> String {
    match get_header(headers, name) {
        Some(v) => format!("`{v}`"),
        None => "absent".to_string(),
    }
}

fn method_disallowed(
    plan: &RequestPlan,
    headers: &[(String, String)],
    allow_methods: &[String],
) -> Blocked {
    let method = &plan.method;
    let mut message = format!(
        "The preflight response does not allow the method `{method}`: `Access-Control-Allow-Methods` is {}.",
        shown(headers, "access-control-allow-methods")
    );
    if plan.include_credentials() && allow_methods.iter().any(|m| m == "*") {
        message.push_str(" With credentials, `*` is not a wildcard.");
    }
    if allow_methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
        message.push_str(" Method names compare case-sensitively.");
    }
    let mut list: Vec<String> = allow_methods
        .iter()
        .filter(|m| *m != "*" || !plan.include_credentials())
        .cloned()
        .collect();
    list.push(method.clone());
    Blocked::new(
        CorsError::MethodDisallowedByPreflightResponse,
        Stage::Preflight,
        message,
        format!(
            "Add `{method}` to the preflight response: `Access-Control-Allow-Methods: {}`, or add it to the route's methods.",
            list.join(", ")
        ),
    )
}

fn header_disallowed(
    plan: &RequestPlan,
    headers: &[(String, String)],
    allow_headers: &[String],
    missing: &[String],
) -> Blocked {
    let first = &missing[0];
    let mut message = format!(
        "Request header `{first}` is not allowed by `Access-Control-Allow-Headers` in the preflight response ({}).",
        shown(headers, "access-control-allow-headers")
    );
    if allow_headers.iter().any(|h| h == "*") {
        if plan.include_credentials() {
            message.push_str(" With credentials, `*` is not a wildcard.");
        } else if first == "authorization" {
            message.push_str(" `*` never covers `Authorization`.");
        }
    }
    let names = missing.join(", ");
    let them = if missing.len() == 1 { "it" } else { "them" };
    Blocked::new(
        CorsError::HeaderDisallowedByPreflightResponse,
        Stage::Preflight,
        message,
        format!(
            "Add `Access-Control-Allow-Headers: {names}` to the preflight response, or list {them} in allow_headers."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/browser-model.md#browser-profiles: Firefox keeps a preflight
    /// without max-age 5 s and does not cache one with an invalid max-age;
    /// WebKit caps at 600 s.
    #[test]
    fn max_age_by_engine() {
        assert_eq!(parse_max_age(None, Profile::Firefox).seconds, 5);
        assert_eq!(parse_max_age(Some("ten"), Profile::Firefox).seconds, 0);
        assert_eq!(parse_max_age(Some("+60"), Profile::Firefox).seconds, 0);
        assert_eq!(parse_max_age(Some("ten"), Profile::WebKit).seconds, 5);
        assert_eq!(parse_max_age(Some("600"), Profile::Firefox).seconds, 600);
        assert_eq!(parse_max_age(None, Profile::WebKit).seconds, 5);
        assert_eq!(parse_max_age(Some("100000"), Profile::WebKit).seconds, 600);
        assert_eq!(
            parse_max_age(Some("100000"), Profile::Firefox).seconds,
            86_400
        );
    }

    /// A `403` preflight without `Access-Control-Allow-Origin` fails both
    /// checks: WebKit (WebKitGTK 2.50) reports the status ("Preflight
    /// response is not successful. Status code: 403", the browser suite's
    /// "preflight 403 without headers"), Chromium and Firefox the missing
    /// header.
    #[test]
    fn which_preflight_check_fails_first_by_engine() {
        use crate::browser::{plan, BrowserRequest};
        use crate::Origin;
        let req = BrowserRequest::new(
            Origin::parse_serialized("https://app.example").unwrap(),
            "https://api.example/x".parse().unwrap(),
        )
        .method("DELETE");
        for (profile, error) in [
            (Profile::WebKit, CorsError::PreflightInvalidStatus),
            (
                Profile::Chromium,
                CorsError::PreflightMissingAllowOriginHeader,
            ),
            (
                Profile::Firefox,
                CorsError::PreflightMissingAllowOriginHeader,
            ),
            (Profile::Spec, CorsError::PreflightMissingAllowOriginHeader),
        ] {
            let p = plan(&req, profile).unwrap();
            let refused = evaluate_preflight(&p, 403, &[]).unwrap_err();
            assert_eq!(refused.cors_error(), Some(error), "{profile}");
        }
    }

    #[test]
    fn max_age_examples() {
        assert_eq!(parse_max_age(None, Profile::Chromium).seconds, 5);
        assert_eq!(parse_max_age(Some("600"), Profile::Chromium).seconds, 600);
        assert_eq!(
            parse_max_age(Some("86400"), Profile::Chromium).seconds,
            7200
        );
        assert_eq!(parse_max_age(Some("-1"), Profile::Spec).seconds, 0);
        assert_eq!(parse_max_age(Some("ten"), Profile::Spec).seconds, 5);
    }

    #[test]
    fn r24_max_age() {
        let c = Profile::Chromium;
        let s = Profile::Spec;
        assert_eq!(parse_max_age(None, c).seconds, 5);
        assert_eq!(parse_max_age(Some("abc"), c).source, MaxAgeSource::Invalid);
        assert_eq!(parse_max_age(Some("5, 10"), s).seconds, 5);
        assert_eq!(parse_max_age(Some("0"), s).seconds, 0);
        assert_eq!(parse_max_age(Some("7201"), c).seconds, 7200);
        assert_eq!(parse_max_age(Some("7201"), s).seconds, 7201);
        assert_eq!(parse_max_age(Some("100000"), s).seconds, 86_400);
        assert_eq!(parse_max_age(Some("-5"), c).source, MaxAgeSource::Negative);
        assert_eq!(parse_max_age(Some("+60"), c).seconds, 60);
        assert_eq!(parse_max_age(Some("+60"), s).seconds, 5);
        assert_eq!(
            parse_max_age(Some("99999999999999999999999"), s).seconds,
            86_400
        );
        assert_eq!(parse_max_age(Some("99999999999999999999999"), c).seconds, 5);
    }
}
