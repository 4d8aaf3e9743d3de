//! Header rules (Fetch, "Headers"; docs/browser-model.md#classification):
//! safelisted and forbidden request headers, response-header names, and
//! header-list values (#parsing-the-allow-lists).

use std::cmp::Ordering;

use super::mime::parse_mime_type_bytes;
use super::profile::Profile;
use crate::fetch::{
    is_token, isomorphic_decode, isomorphic_encode, normalize_header_value, split_header_value,
    trim_http_whitespace,
};

/// docs/browser-model.md#unsafe-request-header-byte: a CORS-unsafe request-header byte.
pub(crate) fn is_cors_unsafe_request_header_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t')
        || matches!(
            b,
            b'"' | b'('
                | b')'
                | b':'
                | b'<'
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'{'
                | b'}'
                | 0x7F
        )
}

/// docs/browser-model.md#safelisted-request-header: whether (name, value) is a CORS-safelisted request-header under `profile`.
///
/// ```
/// use preflight_core::browser::{is_cors_safelisted_request_header, Profile};
/// let p = Profile::Spec;
/// assert!(is_cors_safelisted_request_header("Content-Type", "text/plain;charset=utf-8", p));
/// assert!(!is_cors_safelisted_request_header("content-type", "application/json", p));
/// assert!(!is_cors_safelisted_request_header("range", "bytes=-500", p));
/// assert!(is_cors_safelisted_request_header("DPR", "2.0", Profile::Chromium));
/// ```
pub fn is_cors_safelisted_request_header(name: &str, value: &str, profile: Profile) -> bool {
    match isomorphic_encode(value) {
        Some(bytes) => safelisted_bytes(name, &bytes, profile),
        None => false,
    }
}

fn safelisted_bytes(name: &str, value: &[u8], profile: Profile) -> bool {
    // docs/browser-model.md#safelisted-request-header: a value over 128 bytes is never safelisted, whatever the name.
    if value.len() > 128 {
        return false;
    }
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "accept" => !value.iter().any(|&b| is_cors_unsafe_request_header_byte(b)),
        "accept-language" | "content-language" => value.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b' ' | b'*' | b',' | b'-' | b'.' | b';' | b'=')
        }),
        "content-type" => {
            !value.iter().any(|&b| is_cors_unsafe_request_header_byte(b))
                && parse_mime_type_bytes(value).is_some_and(|m| {
                    matches!(
                        m.essence().as_str(),
                        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                    )
                })
        }
        // docs/browser-model.md#safelisted-request-header: a single range with a start, no whitespace.
        "range" => matches!(parse_range_bytes(value, false), Some((Some(_), _))),
        other if profile.safelists_client_hints() => chromium_extra_safelisted(other, value),
        _ => false,
    }
}

/// Chromium's extra safelist (services/network/public/cpp/cors/cors.cc,
/// docs/browser-model.md#browser-profiles): `Intervention` and the client hints. The `Sec-CH-*` names
/// are safelisted too, but they are forbidden request headers (docs/browser-model.md#forbidden-request-header), so script
/// can never set them.
fn chromium_extra_safelisted(lower_name: &str, value: &[u8]) -> bool {
    match lower_name {
        "intervention" => true,
        "device-memory" | "dpr" | "downlink" => is_decimal_number(value),
        "width" | "viewport-width" | "rtt" => {
            !value.is_empty() && value.iter().all(u8::is_ascii_digit)
        }
        "ect" => matches!(value, b"slow-2g" | b"2g" | b"3g" | b"4g"),
        "save-data" => value.eq_ignore_ascii_case(b"on"),
        name => name.starts_with("sec-ch-") && CHROMIUM_SEC_CH.contains(&name),
    }
}

const CHROMIUM_SEC_CH: [&str; 19] = [
    "sec-ch-ua",
    "sec-ch-ua-arch",
    "sec-ch-ua-platform",
    "sec-ch-ua-model",
    "sec-ch-ua-mobile",
    "sec-ch-ua-full-version",
    "sec-ch-ua-platform-version",
    "sec-ch-prefers-color-scheme",
    "sec-ch-ua-bitness",
    "sec-ch-viewport-height",
    "sec-ch-device-memory",
    "sec-ch-dpr",
    "sec-ch-width",
    "sec-ch-viewport-width",
    "sec-ch-ua-full-version-list",
    "sec-ch-ua-wow64",
    "sec-ch-prefers-reduced-motion",
    "sec-ch-ua-form-factors",
    "sec-ch-prefers-reduced-transparency",
];

/// `1*DIGIT [ "." 1*DIGIT ]`.
fn is_decimal_number(value: &[u8]) -> bool {
    let (int, frac) = match value.iter().position(|&b| b == b'.') {
        Some(i) => (&value[..i], Some(&value[i + 1..])),
        None => (value, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    digits(int) && frac.is_none_or(digits)
}

/// "Parse a single range header value" (§"HTTP extensions"): `bytes=` start `-`
/// end, either side optional but not both. Numbers above `u64::MAX` saturate;
/// the start ≤ end test is exact.
#[cfg(test)]
pub(crate) fn parse_single_range(
    value: &str,
    allow_whitespace: bool,
) -> Option<(Option<u64>, Option<u64>)> {
    parse_range_bytes(&isomorphic_encode(value)?, allow_whitespace)
}

fn parse_range_bytes(data: &[u8], allow_whitespace: bool) -> Option<(Option<u64>, Option<u64>)> {
    let mut pos = data.strip_prefix(b"bytes").map(|_| 5)?;
    let skip_ws = |pos: &mut usize| {
        if allow_whitespace {
            while *pos < data.len() && matches!(data[*pos], b' ' | b'\t') {
                *pos += 1;
            }
        }
    };
    let digits = |pos: &mut usize| {
        let start = *pos;
        while *pos < data.len() && data[*pos].is_ascii_digit() {
            *pos += 1;
        }
        &data[start..*pos]
    };
    skip_ws(&mut pos);
    if data.get(pos) != Some(&b'=') {
        return None;
    }
    pos += 1;
    skip_ws(&mut pos);
    let start = digits(&mut pos);
    skip_ws(&mut pos);
    if data.get(pos) != Some(&b'-') {
        return None;
    }
    pos += 1;
    skip_ws(&mut pos);
    let end = digits(&mut pos);
    if pos < data.len() {
        return None;
    }
    if start.is_empty() && end.is_empty() {
        return None;
    }
    if !start.is_empty() && !end.is_empty() && cmp_decimal(start, end) == Ordering::Greater {
        return None;
    }
    let number = |d: &[u8]| {
        (!d.is_empty()).then(|| {
            d.iter().fold(0u64, |acc, &b| {
                acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
            })
        })
    };
    Some((number(start), number(end)))
}

/// Compare two non-empty digit strings as numbers, whatever their length.
fn cmp_decimal(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |d: &[u8]| {
        let first = d.iter().position(|&c| c != b'0').unwrap_or(d.len());
        d[first..].to_vec()
    };
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

/// docs/browser-model.md#non-wildcard-request-header-name: the CORS non-wildcard request-header names (`Authorization`).
pub(crate) fn is_cors_non_wildcard_request_header_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
}

/// docs/browser-model.md#no-cors-mode: a no-CORS-safelisted request-header (what a `no-cors` request may carry).
pub(crate) fn is_no_cors_safelisted_request_header(name: &str, value: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "accept" | "accept-language" | "content-language" | "content-type"
    ) && is_cors_safelisted_request_header(&lower, value, Profile::Spec)
}

/// docs/browser-model.md#unsafe-request-header-names: the CORS-unsafe request-header names of a header list: sorted, lower
/// case, without duplicates. When the safelisted values add up to more than
/// 1024 bytes, the safelisted names count as unsafe too.
///
/// ```
/// use preflight_core::browser::{cors_unsafe_request_header_names, Profile};
/// let headers = vec![
///     ("X-B".to_string(), "1".to_string()),
///     ("content-type".to_string(), "application/json".to_string()),
///     ("x-a".to_string(), "2".to_string()),
///     ("x-b".to_string(), "3".to_string()),
///     ("Accept".to_string(), "*/*".to_string()),
/// ];
/// assert_eq!(
///     cors_unsafe_request_header_names(&headers, Profile::Spec),
///     vec!["content-type", "x-a", "x-b"]
/// );
/// ```
pub fn cors_unsafe_request_header_names(
    headers: &[(String, String)],
    profile: Profile,
) -> Vec<String> {
    let mut unsafe_names = Vec::new();
    let mut potentially_unsafe = Vec::new();
    let mut safelisted_total: usize = 0;
    for (name, value) in headers {
        if is_cors_safelisted_request_header(name, value, profile) {
            potentially_unsafe.push(name.to_ascii_lowercase());
            safelisted_total = safelisted_total.saturating_add(value.chars().count());
        } else {
            unsafe_names.push(name.to_ascii_lowercase());
        }
    }
    if safelisted_total > 1024 {
        unsafe_names.extend(potentially_unsafe);
    }
    unsafe_names.sort_unstable();
    unsafe_names.dedup();
    unsafe_names
}

/// docs/browser-model.md#forbidden-response-header-name: `Set-Cookie` and `Set-Cookie2`, never exposed to script.
pub(crate) fn is_forbidden_response_header_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie") || name.eq_ignore_ascii_case("set-cookie2")
}

/// docs/browser-model.md#safelisted-response-header-name: a CORS-safelisted response-header name, given the names the server
/// listed in `Access-Control-Expose-Headers`.
pub fn is_cors_safelisted_response_header_name(name: &str, exposed: &[String]) -> bool {
    const SAFELISTED: [&str; 7] = [
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    ];
    SAFELISTED.iter().any(|s| s.eq_ignore_ascii_case(name))
        || (exposed.iter().any(|e| e.eq_ignore_ascii_case(name))
            && !is_forbidden_response_header_name(name))
}

/// The combined value of a header (Fetch "get"): every line with this name,
/// each trimmed of HTTP whitespace, joined with `", "`; `None` when absent.
pub(crate) fn get_header(headers: &[(String, String)], name: &str) -> Option<String> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| normalize_header_value(v));
    let first = values.next()?;
    Some(values.fold(first, |mut acc, v| {
        acc.push_str(", ");
        acc.push_str(&v);
        acc
    }))
}

/// The result of "extract header list values" on a list-valued header (docs/browser-model.md#parsing-the-allow-lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderList {
    /// The header is not in the response.
    Absent,
    /// The header does not parse as a list of tokens: a network error.
    Invalid {
        /// The first member that is not a token.
        bad_member: String,
    },
    /// The members, as written; empty members skipped.
    Values(Vec<String>),
}

/// docs/browser-model.md#parsing-the-allow-lists: extract the values of a `#token` list header (`Access-Control-Allow-Methods`,
/// `-Allow-Headers`, `-Expose-Headers`). Several header lines form one list.
pub(crate) fn extract_header_list(headers: &[(String, String)], name: &str) -> HeaderList {
    let Some(combined) = get_header(headers, name) else {
        return HeaderList::Absent;
    };
    // Response header values are bytes; a String holds them as UTF-8, and every
    // non-ASCII byte fails the token test either way.
    let mut values = Vec::new();
    for member in split_header_value(trim_http_whitespace(combined.as_bytes())) {
        if member.is_empty() {
            continue;
        }
        if !is_token(&member) {
            return HeaderList::Invalid {
                bad_member: String::from_utf8_lossy(&member).into_owned(),
            };
        }
        values.push(String::from_utf8_lossy(&member).into_owned());
    }
    HeaderList::Values(values)
}

/// Convert an `http::HeaderMap` into the (name, value) pairs this module takes.
/// Values are decoded byte for byte (isomorphic decoding), as Fetch does.
pub fn header_pairs(map: &http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| (n.as_str().to_string(), isomorphic_decode(v.as_bytes())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::mime::parse_mime_type;
    use crate::fetch::is_forbidden_request_header;
    use proptest::prelude::*;

    /// docs/browser-model.md#browser-profiles: only Chromium safelists its
    /// client hints (Firefox ESR 153 and WebKitGTK 2.50 preflight them).
    #[test]
    fn client_hints_are_chromium_only() {
        for (name, value) in [("dpr", "2"), ("save-data", "on"), ("viewport-width", "800")] {
            assert!(is_cors_safelisted_request_header(
                name,
                value,
                Profile::Chromium
            ));
            for p in [Profile::Spec, Profile::Firefox, Profile::WebKit] {
                assert!(
                    !is_cors_safelisted_request_header(name, value, p),
                    "{p} {name}"
                );
            }
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn range_values() {
        assert!(parse_single_range("bytes=0-", false).is_some());
        assert!(parse_single_range("bytes=200-100", false).is_none());
        assert!(parse_single_range("bytes=abc-def", false).is_none());
        assert!(parse_single_range("bytes=100-200hello", false).is_none());
        assert!(parse_single_range("bytes=100-200,300-400", false).is_none());
        assert!(parse_single_range("bytes 0-", false).is_none());
        assert!(parse_single_range("BYTES=0-", false).is_none());
        assert!(parse_single_range("bytes=-", false).is_none());
        assert_eq!(
            parse_single_range(
                "bytes=99999999999999999999999-99999999999999999999999",
                false
            ),
            Some((Some(u64::MAX), Some(u64::MAX)))
        );
        assert!(parse_single_range(
            "bytes=99999999999999999999999-99999999999999999999998",
            false
        )
        .is_none());
        assert!(parse_single_range("bytes=007-7", false).is_some());
    }

    #[test]
    fn chromium_client_hints() {
        let c = Profile::Chromium;
        assert!(is_cors_safelisted_request_header("Device-Memory", "0.5", c));
        assert!(!is_cors_safelisted_request_header("Device-Memory", "0.", c));
        assert!(!is_cors_safelisted_request_header("Device-Memory", ".5", c));
        assert!(is_cors_safelisted_request_header(
            "Viewport-Width",
            "1280",
            c
        ));
        assert!(!is_cors_safelisted_request_header("Width", "12.5", c));
        assert!(is_cors_safelisted_request_header("Save-Data", "On", c));
        assert!(!is_cors_safelisted_request_header("Save-Data", "off", c));
        assert!(is_cors_safelisted_request_header("ECT", "4g", c));
        assert!(!is_cors_safelisted_request_header("ECT", "5g", c));
        assert!(is_cors_safelisted_request_header("Intervention", "<x>", c));
        assert!(!is_cors_safelisted_request_header(
            "Intervention",
            "<x>",
            Profile::Spec
        ));
        assert!(!is_cors_safelisted_request_header(
            "DPR",
            "2",
            Profile::Spec
        ));
    }

    #[test]
    fn get_combines_lines() {
        let h = pairs(&[("ACAO", " a "), ("x", "y"), ("acao", "b")]);
        assert_eq!(get_header(&h, "AcAo").as_deref(), Some("a, b"));
        assert_eq!(get_header(&h, "missing"), None);
    }

    #[test]
    fn header_map_conversion() {
        let mut map = http::HeaderMap::new();
        map.append("x-a", http::HeaderValue::from_static("1"));
        map.append("x-a", http::HeaderValue::from_static("2"));
        let pairs = header_pairs(&map);
        assert_eq!(get_header(&pairs, "X-A").as_deref(), Some("1, 2"));
    }

    #[test]
    fn single_range_examples() {
        use crate::browser::headers::parse_single_range;
        assert_eq!(
            parse_single_range("bytes=100-200", false),
            Some((Some(100), Some(200)))
        );
        assert_eq!(
            parse_single_range("bytes=-500", false),
            Some((None, Some(500)))
        );
        assert_eq!(parse_single_range("bytes = 1-", false), None);
        assert_eq!(
            parse_single_range("bytes = 1-", true),
            Some((Some(1), None))
        );
    }

    #[test]
    fn header_list_examples() {
        use crate::browser::headers::{extract_header_list, HeaderList};
        let h = vec![(
            "Access-Control-Allow-Headers".to_string(),
            "x-a, ,X-B,".to_string(),
        )];
        assert_eq!(
            extract_header_list(&h, "access-control-allow-headers"),
            HeaderList::Values(vec!["x-a".into(), "X-B".into()])
        );
        let bad = vec![(
            "Access-Control-Allow-Methods".to_string(),
            "Bad method".to_string(),
        )];
        assert!(matches!(
            extract_header_list(&bad, "access-control-allow-methods"),
            HeaderList::Invalid { .. }
        ));
    }

    #[test]
    fn r04_unsafe_bytes() {
        for b in 0u8..=0xFF {
            let want = (b < 0x20 && b != b'\t') || b"\"():<>?@[\\]{}\x7f".contains(&b);
            assert_eq!(is_cors_unsafe_request_header_byte(b), want, "byte {b:#x}");
        }
    }

    #[test]
    fn r08_authorization_is_the_non_wildcard_name() {
        assert!(is_cors_non_wildcard_request_header_name("authorization"));
        assert!(!is_cors_non_wildcard_request_header_name("x-auth"));
    }

    #[test]
    fn range_example() {
        assert_eq!(
            parse_single_range("bytes=1-1", false),
            Some((Some(1), Some(1)))
        );
    }

    fn header_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Accept".to_string()),
            Just("accept-language".to_string()),
            Just("Content-Language".to_string()),
            Just("content-type".to_string()),
            Just("Range".to_string()),
            Just("DPR".to_string()),
            Just("Save-Data".to_string()),
            "[A-Za-z][A-Za-z0-9-]{0,12}",
        ]
    }

    fn header_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,200}",
            "[ -~]{0,140}",
            "(text|multipart|application)/(plain|form-data|x-www-form-urlencoded|json)(;[ a-z=\"]{0,20}){0,3}",
            "bytes=[0-9]{0,25}-[0-9]{0,25}",
        ]
    }

    proptest! {
    #[test]
    fn mime_and_safelist_never_panic(name in header_name(), value in header_value(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_mime_type(&value);
        let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
        let parsed = parse_mime_type(&latin1);
        if let Some(m) = parsed {
            prop_assert!(!m.type_.is_empty() && !m.subtype.is_empty());
            prop_assert_eq!(m.type_.to_ascii_lowercase(), m.type_.clone());
        }
        for profile in [Profile::Chromium, Profile::Spec] {
            let safe = is_cors_safelisted_request_header(&name, &value, profile);
            if safe {
                prop_assert!(value.chars().count() <= 128);
            }
            let _ = is_cors_safelisted_request_header(&name, &latin1, profile);
        }
        let _ = parse_single_range(&value, true);
        let _ = parse_single_range(&latin1, false);
        let _ = is_forbidden_request_header(&name, &value);
    }
    }
}
