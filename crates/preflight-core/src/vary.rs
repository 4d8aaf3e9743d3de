//! Merging `Vary` (docs/browser-model.md#vary-origin): add the names an answer depended on to what the
//! response already says, never twice, and never next to `Vary: *`.

use http::header::VARY;
use http::{HeaderMap, HeaderValue};

/// Add `name` (a single header name) to the response's `Vary` unless it is
/// already there or `Vary: *` covers it. Does not allocate beyond the map's
/// own growth.
pub(crate) fn add_vary(headers: &mut HeaderMap, name: &'static str, value: &HeaderValue) {
    for existing in headers.get_all(VARY) {
        for token in existing.as_bytes().split(|&b| b == b',') {
            let token = token.trim_ascii();
            if token == b"*" || token.eq_ignore_ascii_case(name.as_bytes()) {
                return;
            }
        }
    }
    headers.append(VARY, value.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary_of(existing: &[&'static str]) -> Vec<String> {
        let mut h = HeaderMap::new();
        for v in existing {
            h.append(VARY, HeaderValue::from_static(v));
        }
        add_vary(&mut h, "origin", &HeaderValue::from_static("Origin"));
        h.get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn merges_without_duplicates() {
        assert_eq!(vary_of(&[]), ["Origin"]);
        assert_eq!(vary_of(&["Accept-Encoding"]), ["Accept-Encoding", "Origin"]);
        assert_eq!(
            vary_of(&["accept-encoding, ORIGIN"]),
            ["accept-encoding, ORIGIN"]
        );
        assert_eq!(vary_of(&["Accept", " origin "]), ["Accept", " origin "]);
        assert_eq!(vary_of(&["*"]), ["*"]);
    }
}
