//! Methods (§"Methods"): normalization, forbidden and safelisted methods.

use super::syntax::is_token;

/// R1: a case-insensitive match for `DELETE`, `GET`, `HEAD`, `OPTIONS`, `POST` or
/// `PUT` is uppercased; any other method is sent as written.
///
/// ```
/// use preflight_core::browser::normalize_method;
/// assert_eq!(normalize_method("put"), "PUT");
/// assert_eq!(normalize_method("patch"), "patch");
/// ```
pub fn normalize_method(method: &str) -> String {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    match NORMALIZED.iter().find(|m| m.eq_ignore_ascii_case(method)) {
        Some(m) => (*m).to_string(),
        None => method.to_string(),
    }
}

/// R2: `CONNECT`, `TRACE` and `TRACK`, in any case, make fetch() throw. One
/// definition, shared with the server side.
pub use crate::methods::is_forbidden_method;

/// R1: `GET`, `HEAD` and `POST`, compared byte for byte.
pub fn is_cors_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// A method is an HTTP token (RFC 9110 `method = token`).
pub fn is_valid_method(method: &str) -> bool {
    is_token(method.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_only_the_six() {
        for (input, want) in [
            ("get", "GET"),
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
}
