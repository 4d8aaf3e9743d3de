//! Byte-level syntax shared by the header rules: tokens, HTTP whitespace, quoted
//! strings, and the isomorphic encoding that turns a JS string into header bytes.

/// An HTTP token code point (RFC 9110 `tchar`); the one definition is the
/// server side's.
pub(crate) fn is_token_byte(b: u8) -> bool {
    crate::header_list::is_tchar(b)
}

/// A non-empty sequence of token code points: a method or a header name.
///
/// ```
/// use preflight_core::browser::is_token;
/// assert!(is_token(b"x-api-key"));
/// assert!(!is_token(b"bad name"));
/// assert!(!is_token(b""));
/// ```
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_token_byte(b))
}

/// HTTP whitespace: LF, CR, HT, SP.
pub(crate) fn is_http_whitespace(b: u8) -> bool {
    matches!(b, b'\n' | b'\r' | b'\t' | b' ')
}

/// HTTP tab or space.
pub(crate) fn is_tab_or_space(b: u8) -> bool {
    matches!(b, b'\t' | b' ')
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
    }
}
