//! The strict "parse a MIME type" algorithm of the MIME Sniffing standard (§4.4),
//! used by docs/browser-model.md#safelisted-request-header to decide whether a `Content-Type` is safelisted.

use serde::Serialize;

use crate::fetch::{
    collect_http_quoted_string, is_http_whitespace, is_token, isomorphic_decode,
    trim_http_whitespace,
};

/// A parsed MIME type: lower-case type and subtype, parameters in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MimeType {
    /// Lower case, e.g. `text`.
    pub(crate) type_: String,
    /// Lower case, e.g. `plain`.
    pub(crate) subtype: String,
    /// Lower-case names; values as written (unescaped when quoted).
    pub(crate) parameters: Vec<(String, String)>,
}

impl MimeType {
    /// `type/subtype`.
    pub(crate) fn essence(&self) -> String {
        format!("{}/{}", self.type_, self.subtype)
    }
}

/// Parse a MIME type strictly, or `None` on failure.
#[cfg(test)]
pub(crate) fn parse_mime_type(input: &str) -> Option<MimeType> {
    parse_mime_type_bytes(input.as_bytes())
}

/// The HTTP quoted-string token code points: HT, SP..~, and 0x80..0xFF.
fn is_quoted_string_token_byte(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7E).contains(&b) || b >= 0x80
}

/// [`parse_mime_type`] on the bytes of a header value.
pub(crate) fn parse_mime_type_bytes(input: &[u8]) -> Option<MimeType> {
    let input = trim_http_whitespace(input);

    let type_end = input.iter().position(|&b| b == b'/')?;
    let type_ = &input[..type_end];
    if !is_token(type_) {
        return None;
    }
    // Skip the `/`.
    let mut pos = type_end + 1;

    let subtype_end = input[pos..]
        .iter()
        .position(|&b| b == b';')
        .map_or(input.len(), |i| pos + i);
    // Only trailing whitespace is removed: leading whitespace fails the token test.
    let subtype = trim_trailing_http_whitespace(&input[pos..subtype_end]);
    if !is_token(subtype) {
        return None;
    }
    pos = subtype_end;

    let mut mime = MimeType {
        type_: isomorphic_decode(type_).to_ascii_lowercase(),
        subtype: isomorphic_decode(subtype).to_ascii_lowercase(),
        parameters: Vec::new(),
    };

    while pos < input.len() {
        // Skip the `;`.
        pos += 1;
        while pos < input.len() && is_http_whitespace(input[pos]) {
            pos += 1;
        }
        let name_start = pos;
        while pos < input.len() && input[pos] != b';' && input[pos] != b'=' {
            pos += 1;
        }
        let name = isomorphic_decode(&input[name_start..pos]).to_ascii_lowercase();
        if pos < input.len() {
            if input[pos] == b';' {
                continue;
            }
            // Skip the `=`.
            pos += 1;
        }
        if pos >= input.len() {
            break;
        }
        let value: Vec<u8> = if input[pos] == b'"' {
            let v = collect_http_quoted_string(input, &mut pos, true);
            while pos < input.len() && input[pos] != b';' {
                pos += 1;
            }
            v
        } else {
            let start = pos;
            while pos < input.len() && input[pos] != b';' {
                pos += 1;
            }
            let v = trim_trailing_http_whitespace(&input[start..pos]);
            if v.is_empty() {
                continue;
            }
            v.to_vec()
        };
        if is_token(name.as_bytes())
            && value.iter().all(|&b| is_quoted_string_token_byte(b))
            && !mime.parameters.iter().any(|(n, _)| *n == name)
        {
            mime.parameters.push((name, isomorphic_decode(&value)));
        }
    }
    Some(mime)
}

fn trim_trailing_http_whitespace(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !is_http_whitespace(b))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_standard_examples() {
        let m = parse_mime_type(" text/html;charset=\"shift_jis\"iso-2022-jp ").unwrap();
        assert_eq!(m.essence(), "text/html");
        assert_eq!(m.parameters, vec![("charset".into(), "shift_jis".into())]);

        let m = parse_mime_type("text/plain;garbage").unwrap();
        assert_eq!(m.essence(), "text/plain");
        assert!(m.parameters.is_empty());

        let m = parse_mime_type("text/plain; a=1; A=2; b=\"x;y\"").unwrap();
        assert_eq!(
            m.parameters,
            vec![("a".into(), "1".into()), ("b".into(), "x;y".into())]
        );

        let m = parse_mime_type("text/plain ;x=").unwrap();
        assert_eq!(m.essence(), "text/plain");
        assert!(m.parameters.is_empty());
    }

    #[test]
    fn refuses_malformed_types() {
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "text /plain",
            "text/ plain",
            "text\t/\tplain",
            "text/plain,",
            ",text/plain",
            "text/plain,text/plain",
            "text/plain,x/x",
            "te(xt/plain",
        ] {
            assert!(parse_mime_type(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn parse_examples() {
        use crate::browser::mime::parse_mime_type;
        let m = parse_mime_type("Text/Plain; charset=UTF-8").unwrap();
        assert_eq!(m.essence(), "text/plain");
        assert!(parse_mime_type("text /plain").is_none());
        assert!(parse_mime_type("text/plain,x/x").is_none());
    }

    #[test]
    fn mime_parser_examples() {
        assert_eq!(
            parse_mime_type("Multipart/Form-Data; Boundary=\"a b\"").map(|m| m.parameters),
            Some(vec![("boundary".to_string(), "a b".to_string())])
        );
    }
}
