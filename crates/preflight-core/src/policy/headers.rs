//! `allow_headers` and `expose_headers`: the names checked once at load, and
//! the allowed request headers compiled for the preflight's look-ups.

use crate::byte_set::ByteSet;
use crate::fetch::{is_forbidden_request_header_name, is_token};

use super::{PolicyError, PolicyErrorKind, PolicyWarning, PolicyWarningKind};

/// The allowed request headers.
#[derive(Debug, Clone)]
pub(crate) struct AllowHeaders {
    /// `*`: every name except `Authorization` (docs/browser-model.md#authorization-must-be-listed), which must be listed.
    pub(crate) any: bool,
    /// Lower-case names listed.
    pub(crate) names: ByteSet,
    /// Every `Access-Control-Request-Headers` line a browser can send that
    /// names only listed headers: the non-empty subsets of `names`, sorted,
    /// lower case, joined by `,` (docs/browser-model.md#unsafe-request-header-names, #preflight-request). Built when the list is short
    /// ([`MAX_PRECOMPUTED_NAMES`] names, at most 63 lines), so that the usual
    /// preflight is decided by one hash look-up instead of a scan.
    pub(crate) lines: ByteSet,
    /// The length of the longest of `lines`.
    pub(crate) longest_line: usize,
}

/// The longest allow list whose request lines are precomputed.
pub(crate) const MAX_PRECOMPUTED_NAMES: usize = 6;

/// The lines of [`AllowHeaders::lines`].
fn browser_lines(names: &ByteSet) -> ByteSet {
    let mut lines = ByteSet::default();
    if names.len() > MAX_PRECOMPUTED_NAMES {
        return lines;
    }
    let mut sorted: Vec<&[u8]> = names.iter().collect();
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

/// Response headers the server writes from its own settings: a request never
/// carries them, so they make no sense in `allow_headers`.
fn is_cors_response_header(lower: &str) -> bool {
    lower.starts_with("access-control-allow-")
        || lower == "access-control-expose-headers"
        || lower == "access-control-max-age"
}

/// Request headers of the CORS protocol: a response never carries them, so
/// they make no sense in `expose_headers`.
fn is_cors_request_header(lower: &str) -> bool {
    lower == "origin" || lower.starts_with("access-control-request-")
}

/// Fetch, "CORS-safelisted response-header name": a script reads these on
/// every CORS response, exposed or not.
fn is_safelisted_response_header(lower: &str) -> bool {
    matches!(
        lower,
        "cache-control"
            | "content-language"
            | "content-length"
            | "content-type"
            | "expires"
            | "last-modified"
            | "pragma"
    )
}

/// Check `allow_headers` and compile it.
pub(super) fn parse_allow_headers(list: &[String], errors: &mut Vec<PolicyError>) -> AllowHeaders {
    let mut allow_headers = AllowHeaders {
        any: false,
        names: ByteSet::default(),
        lines: ByteSet::default(),
        longest_line: 0,
    };
    for (i, name) in list.iter().enumerate() {
        let refuse = |kind| PolicyError::new("allow_headers", Some(i), name.clone(), kind);
        if name == "*" {
            allow_headers.any = true;
            continue;
        }
        if !is_token(name.as_bytes()) {
            errors.push(refuse(PolicyErrorKind::InvalidHeaderName(name.clone())));
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if is_cors_response_header(&lower) {
            errors.push(refuse(PolicyErrorKind::ResponseHeaderInAllowHeaders(
                name.clone(),
            )));
            continue;
        }
        // docs/browser-model.md#forbidden-request-header: a script can never send these, so listing them does nothing.
        if is_forbidden_request_header_name(name) {
            errors.push(refuse(PolicyErrorKind::ForbiddenHeader(name.clone())));
            continue;
        }
        allow_headers
            .names
            .insert(lower.into_bytes().into_boxed_slice());
    }
    allow_headers.lines = browser_lines(&allow_headers.names);
    allow_headers.longest_line = allow_headers
        .lines
        .iter()
        .map(|l| l.len())
        .max()
        .unwrap_or(0);
    allow_headers
}

/// Check `expose_headers`: refusals, and a warning for each name that needs
/// no exposing.
pub(super) fn check_expose_headers(
    list: &[String],
    credentials: bool,
    errors: &mut Vec<PolicyError>,
    warnings: &mut Vec<PolicyWarning>,
) {
    for (i, name) in list.iter().enumerate() {
        let refuse = |kind| PolicyError::new("expose_headers", Some(i), name.clone(), kind);
        if name == "*" {
            if credentials {
                errors.push(refuse(PolicyErrorKind::WildcardExposeWithCredentials));
            }
            continue;
        }
        if !is_token(name.as_bytes()) {
            errors.push(refuse(PolicyErrorKind::InvalidHeaderName(name.clone())));
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if lower == "set-cookie" || lower == "set-cookie2" {
            errors.push(refuse(PolicyErrorKind::ExposeSetCookie));
        } else if is_cors_request_header(&lower) {
            errors.push(refuse(PolicyErrorKind::RequestHeaderInExposeHeaders(
                name.clone(),
            )));
        } else if is_safelisted_response_header(&lower) {
            warnings.push(PolicyWarning {
                key: "expose_headers",
                index: Some(i),
                value: name.clone(),
                message: format!(
                    "`{name}` is a CORS-safelisted response header: scripts read it without it being exposed, so listing it does nothing"
                ),
                kind: PolicyWarningKind::SafelistedExposeHeader(name.clone()),
            });
        }
    }
}

#[cfg(test)]
mod precomputed_lines {
    use super::*;

    fn names(list: &[&str]) -> ByteSet {
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
        assert_eq!(browser_lines(&names(&refs)).len(), 0);
    }
}
