//! The request target as the router sees it (`docs/behaviour.md`, "Paths"):
//! origin-form only, percent-encoded unreserved characters decoded, repeated
//! slashes merged and dot-segments removed, so that the route chosen is the
//! route of the path an upstream will serve. The normalized path is also the
//! one forwarded.

use std::borrow::Cow;

/// The longest path the gateway normalizes (hyper's own limit on a request
/// line is larger; a longer path is refused with 414 by the caller).
pub(crate) const MAX_PATH: usize = 8 * 1024;

/// Why a request target is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRefusal {
    /// Not `/...` (asterisk-form, authority-form, empty).
    NotOriginForm,
    /// Longer than [`MAX_PATH`].
    TooLong,
    /// A `%` not followed by two hex digits.
    BadPercent,
}

impl PathRefusal {
    pub(crate) fn message(self) -> &'static str {
        match self {
            PathRefusal::NotOriginForm => "the request target is not a path (origin-form)",
            PathRefusal::TooLong => "the request path is too long",
            PathRefusal::BadPercent => "the request path has a `%` not followed by two hex digits",
        }
    }
}

/// A normalized path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalized<'a> {
    /// Borrowed from the request when there was nothing to change.
    pub(crate) path: Cow<'a, str>,
    /// The path holds `%2F` or `%5C` (an encoded `/` or `\`), which an
    /// upstream may decode into a separator after the gateway routed.
    pub(crate) encoded_separator: bool,
}

/// Normalize a request path (without its query).
///
/// RFC 3986 §6.2.2.2: percent-encoded unreserved characters (`%2E` among
/// them) are decoded, other escapes get upper-case hex; §6.2.2.3 and
/// §5.2.4: dot-segments are removed; repeated slashes are merged, as the
/// common servers do before they match a location.
pub(crate) fn normalize(path: &str) -> Result<Normalized<'_>, PathRefusal> {
    if !path.starts_with('/') {
        return Err(PathRefusal::NotOriginForm);
    }
    if path.len() > MAX_PATH {
        return Err(PathRefusal::TooLong);
    }
    // Most paths have nothing to normalize: no `//`, no `/.`, no `%`, no
    // `\`, found in one pass over the bytes.
    let bytes = path.as_bytes();
    let plain = !bytes.iter().enumerate().any(|(i, b)| match b {
        b'%' | b'\\' => true,
        b'/' => matches!(bytes.get(i + 1), Some(b'/' | b'.')),
        _ => false,
    });
    if plain {
        return Ok(Normalized {
            path: Cow::Borrowed(path),
            encoded_separator: false,
        });
    }
    let decoded = decode_unreserved(path)?;
    let encoded_separator = {
        let upper = decoded.as_bytes();
        upper.windows(3).any(|w| w == b"%2F" || w == b"%5C") || decoded.contains('\\')
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = decoded.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    // A path ending in `/`, `/.` or `/..` names a directory: keep its slash.
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "" => trailing_slash = i == last,
            "." => trailing_slash = i == last,
            ".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut path = String::with_capacity(decoded.len());
    for seg in &out {
        path.push('/');
        path.push_str(seg);
    }
    if trailing_slash || path.is_empty() {
        path.push('/');
    }
    Ok(Normalized {
        path: Cow::Owned(path),
        encoded_separator,
    })
}

/// Decode `%XX` where XX is an unreserved character (RFC 3986 §2.3), and
/// write the other escapes with upper-case hex.
fn decode_unreserved(path: &str) -> Result<Cow<'_, str>, PathRefusal> {
    if !path.contains('%') {
        return Ok(Cow::Borrowed(path));
    }
    let bytes = path.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let (Some(h), Some(l)) = (
            bytes.get(i + 1).and_then(|c| hex(*c)),
            bytes.get(i + 2).and_then(|c| hex(*c)),
        ) else {
            return Err(PathRefusal::BadPercent);
        };
        let c = h << 4 | l;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c);
        } else {
            out.push(b'%');
            out.push(b"0123456789ABCDEF"[usize::from(h)]);
            out.push(b"0123456789ABCDEF"[usize::from(l)]);
        }
        i += 3;
    }
    // Only ASCII bytes replaced ASCII bytes: still UTF-8.
    let out = String::from_utf8(out).map_err(|_| PathRefusal::BadPercent)?;
    Ok(Cow::Owned(out))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> String {
        normalize(p).unwrap().path.into_owned()
    }

    #[test]
    fn dot_segments_and_slashes() {
        // RFC 3986 §5.2.4's examples, and the forms of the issue.
        assert_eq!(n("/a/b/c/./../../g"), "/a/g");
        assert_eq!(n("/mid/content=5/../6"), "/mid/6");
        assert_eq!(n("/api/public/../../internal/secret"), "/internal/secret");
        assert_eq!(
            n("/api/public/%2e%2e/%2E%2E/internal/secret"),
            "/internal/secret"
        );
        assert_eq!(n("//..//internal//secret"), "/internal/secret");
        assert_eq!(n("/../../.."), "/");
        assert_eq!(n("/a/.."), "/");
        assert_eq!(n("/a/b/."), "/a/b/");
        assert_eq!(n("/a/b/"), "/a/b/");
        assert_eq!(n("/"), "/");
        assert_eq!(n("/a/.hidden/..x"), "/a/.hidden/..x");
        assert_eq!(n("/%7Euser/%61"), "/~user/a");
        assert_eq!(n("/a%2fb"), "/a%2Fb");
    }

    #[test]
    fn refusals_and_separators() {
        assert!(normalize("/a/..%2f..%2fb").unwrap().encoded_separator);
        assert!(normalize("/a/..%5Cb").unwrap().encoded_separator);
        assert!(!normalize("/a/%2e%2e/b").unwrap().encoded_separator);
        assert_eq!(normalize("*"), Err(PathRefusal::NotOriginForm));
        assert_eq!(normalize("/a%2"), Err(PathRefusal::BadPercent));
        assert_eq!(normalize("/a%zz"), Err(PathRefusal::BadPercent));
        let long = format!("/{}", "a".repeat(MAX_PATH));
        assert_eq!(normalize(&long), Err(PathRefusal::TooLong));
    }
}
