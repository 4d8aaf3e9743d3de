//! The Fetch standard's shared vocabulary, used by the server half (policy,
//! method sets, header lists, decisions) and the browser half alike: HTTP
//! tokens, methods (normalization, forbidden and CORS-safelisted methods),
//! forbidden request-header names, and the byte-level syntax of header values
//! (HTTP whitespace, quoted strings, isomorphic encoding).
//!
//! One definition of each, so that what a policy accepts and what a browser
//! sends can never drift apart.

/// RFC 9110 `tchar`: the bytes of a token (a method or a header name).
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar`] as a table: one load a byte on the preflight path.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// A non-empty sequence of token bytes: a method or a header name.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// docs/browser-model.md#safelisted-method: a case-insensitive match for `DELETE`, `GET`, `HEAD`, `OPTIONS`, `POST` or
/// `PUT` is uppercased; any other method is sent as written.
pub(crate) fn normalize_method(method: &str) -> String {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    match NORMALIZED.iter().find(|m| m.eq_ignore_ascii_case(method)) {
        Some(m) => (*m).to_string(),
        None => method.to_string(),
    }
}

/// docs/browser-model.md#forbidden-method: `CONNECT`, `TRACE` and `TRACK`, in any case: fetch() throws on them, and
/// a policy refuses to allow them.
///
/// ```
/// use preflight_core::browser::is_forbidden_method;
/// assert!(is_forbidden_method("trace"));
/// assert!(!is_forbidden_method("PATCH"));
/// ```
pub fn is_forbidden_method(name: &str) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}

/// docs/browser-model.md#safelisted-method: `GET`, `HEAD` and `POST`, compared byte for byte: the methods that need
/// no preflight.
///
/// ```
/// use preflight_core::browser::is_cors_safelisted_method;
/// assert!(is_cors_safelisted_method("POST"));
/// assert!(!is_cors_safelisted_method("post"));
/// ```
pub fn is_cors_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// A method is an HTTP token (RFC 9110 `method = token`).
pub(crate) fn is_valid_method(method: &str) -> bool {
    is_token(method.as_bytes())
}

/// docs/browser-model.md#forbidden-request-header, the part that depends on the name alone: the listed names, `proxy-*`
/// and `sec-*`. The server side uses it to refuse such names in
/// `allow_headers` (a script can never send them).
pub(crate) fn is_forbidden_request_header_name(name: &str) -> bool {
    const NAMES: [&str; 21] = [
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    ];
    let lower = name.to_ascii_lowercase();
    NAMES.contains(&lower.as_str()) || lower.starts_with("proxy-") || lower.starts_with("sec-")
}

/// docs/browser-model.md#forbidden-request-header: whether fetch() silently drops this header.
///
/// ```
/// use preflight_core::browser::is_forbidden_request_header;
/// assert!(is_forbidden_request_header("Cookie", "a=1"));
/// assert!(is_forbidden_request_header("Sec-Fetch-Mode", "cors"));
/// assert!(is_forbidden_request_header("X-HTTP-Method-Override", "GET, trace"));
/// assert!(!is_forbidden_request_header("X-HTTP-Method-Override", "PATCH"));
/// ```
pub fn is_forbidden_request_header(name: &str, value: &str) -> bool {
    if is_forbidden_request_header_name(name) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "x-http-method" | "x-http-method-override" | "x-method-override"
    ) {
        let bytes = isomorphic_encode(value).unwrap_or_default();
        return split_header_value(&bytes)
            .iter()
            .any(|m| is_forbidden_method(&isomorphic_decode(m)));
    }
    false
}

/// HTTP whitespace: LF, CR, HT, SP.
pub(crate) fn is_http_whitespace(b: u8) -> bool {
    matches!(b, b'\n' | b'\r' | b'\t' | b' ')
}

/// HTTP tab or space.
pub(crate) fn is_tab_or_space(b: u8) -> bool {
    matches!(b, b'\t' | b' ')
}

/// Normalize a header value (Fetch, "normalize"): strip leading and trailing
/// HTTP whitespace.
pub(crate) fn normalize_header_value(value: &str) -> String {
    value
        .trim_matches(|c| matches!(c, '\n' | '\r' | '\t' | ' '))
        .to_string()
}

/// A byte a header value may hold (Fetch, "header value"): anything but NUL
/// and the HTTP newline bytes.
pub(crate) fn is_header_value_byte(b: u8) -> bool {
    !matches!(b, 0 | b'\n' | b'\r')
}

/// Remove leading and trailing bytes matching `pred`.
pub(crate) fn trim_by(bytes: &[u8], pred: impl Fn(u8) -> bool) -> &[u8] {
    let start = bytes.iter().position(|&b| !pred(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !pred(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Normalize a header value: strip leading and trailing HTTP whitespace.
pub(crate) fn trim_http_whitespace(bytes: &[u8]) -> &[u8] {
    trim_by(bytes, is_http_whitespace)
}

/// The isomorphic encoding of a string (each code point becomes one byte), or
/// `None` when a code point is above U+00FF: fetch() refuses such a header value
/// (WebIDL `ByteString`).
pub(crate) fn isomorphic_encode(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// The isomorphic decoding of bytes (each byte becomes one code point).
pub(crate) fn isomorphic_decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// "Collect an HTTP quoted string" (Fetch §"HTTP quoted strings"). `pos` points at
/// the opening `"`; on return it points after the closing quote (or at the end).
/// With `extract_value` the unescaped content is returned, otherwise the raw
/// bytes from the opening quote on.
pub(crate) fn collect_http_quoted_string(
    input: &[u8],
    pos: &mut usize,
    extract_value: bool,
) -> Vec<u8> {
    let start = *pos;
    let mut value = Vec::new();
    // Skip the opening quote.
    *pos += 1;
    loop {
        while *pos < input.len() && input[*pos] != b'"' && input[*pos] != b'\\' {
            value.push(input[*pos]);
            *pos += 1;
        }
        if *pos >= input.len() {
            break;
        }
        let quote_or_backslash = input[*pos];
        *pos += 1;
        if quote_or_backslash == b'\\' {
            if *pos >= input.len() {
                value.push(b'\\');
                break;
            }
            value.push(input[*pos]);
            *pos += 1;
        } else {
            break;
        }
    }
    if extract_value {
        value
    } else {
        input[start..(*pos).min(input.len())].to_vec()
    }
}

/// "Get, decode, and split" a header value (Fetch §"Header list"): split on
/// commas outside quoted strings, strip tab and space around each part. Empty
/// parts are kept.
pub(crate) fn split_header_value(value: &[u8]) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    let mut pos = 0;
    let mut temporary = Vec::new();
    loop {
        while pos < value.len() && value[pos] != b'"' && value[pos] != b',' {
            temporary.push(value[pos]);
            pos += 1;
        }
        if pos < value.len() && value[pos] == b'"' {
            temporary.extend(collect_http_quoted_string(value, &mut pos, false));
            if pos < value.len() {
                continue;
            }
        }
        values.push(trim_by(&temporary, is_tab_or_space).to_vec());
        temporary.clear();
        if pos >= value.len() {
            return values;
        }
        // The byte at `pos` is a comma.
        pos += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings() {
        let input = br#""a\"b\\c" rest"#;
        let mut pos = 0;
        assert_eq!(
            collect_http_quoted_string(input, &mut pos, true),
            br#"a"b\c"#
        );
        assert_eq!(&input[pos..], b" rest");
        let mut pos = 0;
        assert_eq!(
            collect_http_quoted_string(b"\"open", &mut pos, false),
            b"\"open"
        );
        let mut pos = 0;
        assert_eq!(collect_http_quoted_string(b"\"a\\", &mut pos, true), b"a\\");
    }

    #[test]
    fn splits_outside_quotes() {
        let parts = split_header_value(br#" a , "b,c" ,, d"#);
        let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        assert_eq!(parts, vec![&b"a"[..], br#""b,c""#, b"", b"d"]);
        assert_eq!(split_header_value(b""), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn encoding() {
        assert_eq!(isomorphic_encode("é"), Some(vec![0xE9]));
        assert_eq!(isomorphic_encode("€"), None);
        assert_eq!(isomorphic_decode(&[0xE9]), "é");
        assert_eq!(trim_http_whitespace(b" \t a b \r\n"), b"a b");
        assert_eq!(trim_http_whitespace(b"   "), b"");
        assert_eq!(normalize_header_value("\r\n\t a b \t"), "a b");
        assert!(is_header_value_byte(b'\t') && is_header_value_byte(0xFF));
        assert!(!is_header_value_byte(0) && !is_header_value_byte(b'\r'));
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"x-api-key"));
        assert!(!is_token(b"bad name"));
        assert!(!is_token(b""));
        assert!(is_tchar(b'~') && !is_tchar(b';') && !is_tchar(0x80));
    }

    #[test]
    fn normalizes_only_the_six() {
        for (input, want) in [
            ("get", "GET"),
            ("put", "PUT"),
            ("dElEtE", "DELETE"),
            ("options", "OPTIONS"),
            ("patch", "patch"),
            ("Patch", "Patch"),
            ("connect", "connect"),
        ] {
            assert_eq!(normalize_method(input), want);
        }
    }

    #[test]
    fn forbidden_and_safelisted() {
        assert!(is_forbidden_method("trace"));
        assert!(is_forbidden_method("TrAcK"));
        assert!(!is_forbidden_method("TRACES"));
        assert!(is_cors_safelisted_method("POST"));
        assert!(!is_cors_safelisted_method("post"));
        assert!(!is_valid_method("bad method"));
        assert!(is_valid_method("M-SEARCH"));
    }

    #[test]
    fn r01_method_normalization() {
        assert_eq!(normalize_method("delete"), "DELETE");
        assert_eq!(normalize_method("Options"), "OPTIONS");
        assert_eq!(normalize_method("patch"), "patch");
    }
}
