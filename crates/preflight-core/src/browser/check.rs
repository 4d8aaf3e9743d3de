//! The CORS check (docs/browser-model.md#cors-check) and the response-header exposure rules (docs/browser-model.md#forbidden-response-header-name, #safelisted-response-header-name, #exposed-headers).

use serde::Serialize;

use super::error::{Blocked, CorsError, Stage};
use super::headers::{
    extract_header_list, get_header, is_cors_safelisted_response_header_name,
    is_forbidden_response_header_name, HeaderList,
};

/// docs/browser-model.md#cors-check: the CORS check on a response, with Chromium's reason on failure.
///
/// `request_origin` is the byte-serialized request origin (`null` when the
/// origin is opaque or the request is redirect-tainted, docs/browser-model.md#origin-serialization, #redirect-taint); `include` is
/// whether the credentials mode is `include`.
///
/// Chromium's decision order (services/network/public/cpp/cors/cors.cc): `*`
/// passes without credentials and is `WildcardOriginNotAllowed` with them; no
/// header is `MissingAllowOriginHeader`; a value other than the origin is
/// `MultipleAllowOriginValues` when it holds a space or comma,
/// `AllowOriginMismatch` when it is `null` or parses as a URL, and
/// `InvalidAllowOriginValue` otherwise; then, with credentials,
/// `Access-Control-Allow-Credentials` must be exactly `true`.
///
/// ```
/// use preflight_core::browser::{cors_check, CorsError};
/// let h = |v: &str| vec![("Access-Control-Allow-Origin".to_string(), v.to_string())];
/// let o = "https://app.example";
/// assert_eq!(cors_check(&h("https://app.example"), o, false), Ok(()));
/// assert_eq!(cors_check(&h("https://app.example/"), o, false), Err(CorsError::AllowOriginMismatch));
/// assert_eq!(cors_check(&h("*"), o, true), Err(CorsError::WildcardOriginNotAllowed));
/// assert_eq!(cors_check(&[], o, false), Err(CorsError::MissingAllowOriginHeader));
/// ```
pub fn cors_check(
    headers: &[(String, String)],
    request_origin: &str,
    include: bool,
) -> Result<(), CorsError> {
    // docs/browser-model.md#cors-check step 1: several lines combine into `a, b`, which never matches.
    let acao = get_header(headers, "access-control-allow-origin");
    match acao.as_deref() {
        // docs/browser-model.md#cors-check step 3.
        Some("*") if !include => return Ok(()),
        Some("*") => return Err(CorsError::WildcardOriginNotAllowed),
        // docs/browser-model.md#cors-check step 2: absent is not the string `null`.
        None => return Err(CorsError::MissingAllowOriginHeader),
        // docs/browser-model.md#cors-check step 4: byte-equal with the serialized origin.
        Some(value) if value != request_origin => return Err(classify_mismatch(value)),
        Some(_) => {}
    }
    // docs/browser-model.md#cors-check steps 5–6: with credentials, exactly `true`, case-sensitive.
    if include && get_header(headers, "access-control-allow-credentials").as_deref() != Some("true")
    {
        return Err(CorsError::InvalidAllowCredentials);
    }
    Ok(())
}

fn classify_mismatch(value: &str) -> CorsError {
    if value.contains([' ', ',']) {
        CorsError::MultipleAllowOriginValues
    } else if value == "null" || url::Url::parse(value).is_ok() {
        CorsError::AllowOriginMismatch
    } else {
        CorsError::InvalidAllowOriginValue
    }
}

/// Run the CORS check and, on failure, explain it for `stage`. On a preflight
/// response Chromium reports the `Preflight*` twin of the reason.
pub(crate) fn cors_check_blocked(
    headers: &[(String, String)],
    request_origin: &str,
    include: bool,
    stage: Stage,
) -> Result<(), Blocked> {
    let Err(error) = cors_check(headers, request_origin, include) else {
        return Ok(());
    };
    let acao = get_header(headers, "access-control-allow-origin").unwrap_or_default();
    let (on, on_cap) = match stage {
        Stage::Preflight => (
            "the preflight (OPTIONS) response",
            "The preflight (OPTIONS) response",
        ),
        _ => ("the response", "The response"),
    };
    let tainted_hint = if request_origin == "null" {
        " The request's origin is `null` here (an opaque origin, or a redirect through another origin); only `*` (without credentials) or the literal `null` match it."
    } else {
        ""
    };
    let (message, fix) = match error {
        CorsError::MissingAllowOriginHeader => (
            format!("{on_cap} has no `Access-Control-Allow-Origin` header, so the browser does not share it with {request_origin}.{tainted_hint}"),
            format!("Send `Access-Control-Allow-Origin: {request_origin}` on {on} (or `*` for a public resource fetched without credentials)."),
        ),
        CorsError::WildcardOriginNotAllowed => (
            format!("{on_cap} has `Access-Control-Allow-Origin: *`, which a request with credentials (cookies, HTTP auth) may not use."),
            format!("Echo the origin instead: `Access-Control-Allow-Origin: {request_origin}`, `Access-Control-Allow-Credentials: true` and `Vary: Origin`; or fetch without credentials."),
        ),
        CorsError::MultipleAllowOriginValues => (
            format!("`Access-Control-Allow-Origin` on {on} holds several values (`{acao}`); it must hold exactly one origin."),
            format!("Send one `Access-Control-Allow-Origin: {request_origin}`, chosen per request from your allow-list; if a proxy adds a second header, remove one of them."),
        ),
        CorsError::InvalidAllowOriginValue => (
            format!("`Access-Control-Allow-Origin: {acao}` on {on} is not an origin."),
            format!("Send `Access-Control-Allow-Origin: {request_origin}` exactly: scheme, host and port, no path and no trailing slash."),
        ),
        CorsError::AllowOriginMismatch => {
            let slash = if acao.trim_end_matches('/') == request_origin {
                " The only difference is the trailing slash."
            } else {
                ""
            };
            (
                format!("`Access-Control-Allow-Origin: {acao}` on {on} is not byte-equal to the request's origin `{request_origin}`.{slash}{tainted_hint}"),
                format!("Send `Access-Control-Allow-Origin: {request_origin}`; when the value is chosen per request, also send `Vary: Origin` so caches keep one answer per origin."),
            )
        }
        CorsError::InvalidAllowCredentials => {
            let acac = get_header(headers, "access-control-allow-credentials");
            let found = match acac {
                Some(v) => format!("`{v}`"),
                None => "absent".to_string(),
            };
            (
                format!("The request includes credentials, but `Access-Control-Allow-Credentials` on {on} is {found}, not exactly `true`."),
                "Send `Access-Control-Allow-Credentials: true` (lower case) with the echoed origin, or fetch without credentials.".to_string(),
            )
        }
        other => (format!("{on_cap} fails the CORS check."), format!("Fix the CORS headers of {on} ({other}).")),
    };
    let error = if stage == Stage::Preflight {
        error.for_preflight()
    } else {
        error
    };
    Err(Blocked::new(error, stage, message, fix))
}

/// Which response headers script can read, and which it cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Exposure {
    /// Lower-case names script can read, sorted.
    pub(crate) exposed: Vec<String>,
    /// Lower-case names the browser hides, sorted.
    pub(crate) hidden: Vec<String>,
}

/// docs/browser-model.md#safelisted-response-header-name, #exposed-headers, #forbidden-response-header-name: the headers of a CORS response that script can read.
pub(crate) fn cors_exposed_headers(headers: &[(String, String)], include: bool) -> Exposure {
    let listed = match extract_header_list(headers, "access-control-expose-headers") {
        HeaderList::Values(v) => v,
        // docs/browser-model.md#exposed-headers: a list that fails to parse exposes nothing extra.
        HeaderList::Absent | HeaderList::Invalid { .. } => Vec::new(),
    };
    // docs/browser-model.md#exposed-headers: `*` exposes every name, but only without credentials; with them it is
    // the literal name `*`.
    let exposed_list: Vec<String> = if !include && listed.iter().any(|n| n == "*") {
        headers.iter().map(|(n, _)| n.clone()).collect()
    } else {
        listed
    };
    split_names(headers, |name| {
        is_cors_safelisted_response_header_name(name, &exposed_list)
    })
}

/// The headers of a same-origin (basic) response that script can read: all but
/// `Set-Cookie` and `Set-Cookie2` (docs/browser-model.md#forbidden-response-header-name).
pub(crate) fn basic_exposed_headers(headers: &[(String, String)]) -> Exposure {
    split_names(headers, |name| !is_forbidden_response_header_name(name))
}

fn split_names(headers: &[(String, String)], visible: impl Fn(&str) -> bool) -> Exposure {
    let mut exposure = Exposure::default();
    for (name, _) in headers {
        let lower = name.to_ascii_lowercase();
        if visible(&lower) {
            exposure.exposed.push(lower);
        } else {
            exposure.hidden.push(lower);
        }
    }
    for list in [&mut exposure.exposed, &mut exposure.hidden] {
        list.sort_unstable();
        list.dedup();
    }
    exposure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acao(v: &str) -> Vec<(String, String)> {
        vec![("access-control-allow-origin".into(), v.into())]
    }

    #[test]
    fn chromium_classification() {
        let o = "http://web-platform.test:8000";
        let cases = [
            ("http://web-platform.test:8000 ", None),
            (
                "http://a.test, http://b.test",
                Some(CorsError::MultipleAllowOriginValues),
            ),
            ("* *", Some(CorsError::MultipleAllowOriginValues)),
            ("null", Some(CorsError::AllowOriginMismatch)),
            (
                "web-platform.test:8000",
                Some(CorsError::AllowOriginMismatch),
            ),
            (
                "//web-platform.test:8000",
                Some(CorsError::InvalidAllowOriginValue),
            ),
            ("'*'", Some(CorsError::InvalidAllowOriginValue)),
            ("", Some(CorsError::InvalidAllowOriginValue)),
            (
                "HTTP://web-platform.test:8000",
                Some(CorsError::AllowOriginMismatch),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(cors_check(&acao(value), o, false).err(), want, "{value:?}");
        }
    }

    #[test]
    fn opaque_origin_matches_null() {
        assert_eq!(cors_check(&acao("null"), "null", false), Ok(()));
        let mut h = acao("null");
        h.push(("access-control-allow-credentials".into(), "True".into()));
        assert_eq!(
            cors_check(&h, "null", true),
            Err(CorsError::InvalidAllowCredentials)
        );
    }

    #[test]
    fn preflight_stage_uses_the_twin() {
        let err =
            cors_check_blocked(&[], "https://a.example", false, Stage::Preflight).unwrap_err();
        assert_eq!(
            err.cors_error(),
            Some(CorsError::PreflightMissingAllowOriginHeader)
        );
        assert!(err.fix.contains("https://a.example"));
    }

    #[test]
    fn exposed_headers_example() {
        use crate::browser::check::cors_exposed_headers;
        let h: Vec<(String, String)> = [
            ("Content-Type", "text/plain"),
            ("X-Id", "1"),
            ("Set-Cookie", "a=1"),
            ("Access-Control-Expose-Headers", "set-cookie, *"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        let e = cors_exposed_headers(&h, false);
        assert!(e.exposed.contains(&"x-id".to_string()));
        assert!(e.hidden.contains(&"set-cookie".to_string()));
    }

    fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn r07_set_cookie_is_never_exposed() {
        assert!(is_forbidden_response_header_name("SET-COOKIE2"));
        for include in [false, true] {
            let headers = h(&[
                ("Set-Cookie", "a=1"),
                ("Set-Cookie2", "b=1"),
                (
                    "Access-Control-Expose-Headers",
                    "Set-Cookie, Set-Cookie2, *",
                ),
            ]);
            let e = cors_exposed_headers(&headers, include);
            for name in ["set-cookie", "set-cookie2"] {
                assert!(!e.exposed.contains(&name.to_string()), "{e:?}");
                assert!(e.hidden.contains(&name.to_string()), "{e:?}");
            }
        }
    }

    #[test]
    fn r27_expose_headers() {
        let headers = h(&[
            ("X-A", "1"),
            ("X-B", "1"),
            ("*", "star"),
            ("Access-Control-Expose-Headers", "*"),
        ]);
        let without = cors_exposed_headers(&headers, false);
        assert!(without.exposed.contains(&"x-a".to_string()));
        assert!(without.exposed.contains(&"x-b".to_string()));
        let with = cors_exposed_headers(&headers, true);
        assert_eq!(with.exposed, vec!["*"]);
        let listed = h(&[
            ("X-A", "1"),
            ("X-B", "1"),
            ("Access-Control-Expose-Headers", "x-a"),
        ]);
        assert_eq!(cors_exposed_headers(&listed, true).exposed, vec!["x-a"]);
        // A list that does not parse exposes nothing extra.
        let bad = h(&[
            ("X-A", "1"),
            ("Access-Control-Expose-Headers", "x-a, bad name"),
        ]);
        assert!(cors_exposed_headers(&bad, false).exposed.is_empty());
    }
}
