//! Sets of request methods: a route's methods, a policy's methods, and the
//! `Access-Control-Allow-Methods` / `Allow` values written from them.

use http::{HeaderValue, Method};
use thiserror::Error;

use crate::config_value::config_value;
use crate::fetch::{is_forbidden_method, is_token};

/// Why a configured method is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MethodError {
    #[error("`{0}` is a forbidden method: browsers never send it (Fetch, docs/browser-model.md#forbidden-method)")]
    Forbidden(String),
    #[error("`{0}` is not a method name (an HTTP token)")]
    Invalid(String),
}

/// A refused method in a list: its index and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("methods[{index}]: {error}")]
pub struct MethodListError {
    pub index: usize,
    pub error: MethodError,
}

/// An ordered set of methods, compared case-sensitively as browsers compare
/// them (docs/browser-model.md#method-allowed), with its header value written once.
#[derive(Debug, Clone)]
pub struct MethodSet {
    methods: Vec<Method>,
    /// The methods among them that `http` names (`GET`, `PUT`, ...), one bit
    /// each ([`standard_bit`]): a preflight's method is looked up without a
    /// byte comparison per member.
    standard: u16,
    header: HeaderValue,
}

/// The bit of a method `http` has a constant for, spelled exactly so (upper
/// case: docs/browser-model.md#method-allowed, `put` is not `PUT`); `None` for
/// any other name, which [`MethodSet`] compares byte for byte.
#[inline]
fn standard_bit(method: &[u8]) -> Option<u16> {
    Some(match method {
        b"GET" => 1,
        b"PUT" => 1 << 1,
        b"POST" => 1 << 2,
        b"HEAD" => 1 << 3,
        b"PATCH" => 1 << 4,
        b"DELETE" => 1 << 5,
        b"OPTIONS" => 1 << 6,
        b"TRACE" => 1 << 7,
        b"CONNECT" => 1 << 8,
        _ => return None,
    })
}

impl MethodSet {
    /// Validate configured method names: tokens, not forbidden, duplicates
    /// dropped, order kept.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<MethodSet, MethodListError> {
        let mut methods = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref();
            if is_forbidden_method(name) {
                return Err(MethodListError {
                    index: i,
                    error: MethodError::Forbidden(name.to_string()),
                });
            }
            if !is_token(name.as_bytes()) {
                return Err(MethodListError {
                    index: i,
                    error: MethodError::Invalid(name.to_string()),
                });
            }
            let m = Method::from_bytes(name.as_bytes()).map_err(|_| MethodListError {
                index: i,
                error: MethodError::Invalid(name.to_string()),
            })?;
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        Ok(MethodSet::from_methods(methods))
    }

    /// The empty set.
    pub fn empty() -> MethodSet {
        MethodSet::from_methods(Vec::new())
    }

    fn from_methods(methods: Vec<Method>) -> MethodSet {
        let joined = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        // Tokens joined by ", " are always a valid header value.
        let header = config_value(&joined).unwrap_or(HeaderValue::from_static(""));
        let standard = methods
            .iter()
            .filter_map(|m| standard_bit(m.as_str().as_bytes()))
            .fold(0, |bits, bit| bits | bit);
        MethodSet {
            methods,
            standard,
            header,
        }
    }

    /// The methods in both sets, in this set's order.
    pub fn intersect(&self, other: &MethodSet) -> MethodSet {
        MethodSet::from_methods(
            self.methods
                .iter()
                .filter(|m| other.methods.contains(m))
                .cloned()
                .collect(),
        )
    }

    /// Byte-exact membership (docs/browser-model.md#method-allowed: `put` is not `PUT`).
    #[inline]
    pub fn contains_bytes(&self, method: &[u8]) -> bool {
        match standard_bit(method) {
            Some(bit) => self.standard & bit != 0,
            None => self.methods.iter().any(|m| m.as_str().as_bytes() == method),
        }
    }

    /// Membership.
    pub fn contains(&self, method: &Method) -> bool {
        self.methods.contains(method)
    }

    /// `GET, PUT, DELETE`: the value of `Access-Control-Allow-Methods` and `Allow`.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// The methods, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Method> {
        self.methods.iter()
    }

    /// True when there is no method.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let set = MethodSet::parse(&["GET", "PUT", "GET", "patch"]).unwrap();
        assert_eq!(set.header_value(), "GET, PUT, patch");
        assert!(set.contains_bytes(b"patch") && !set.contains_bytes(b"PATCH"));
        let err = |names: &[&str]| MethodSet::parse(names).unwrap_err();
        assert!(matches!(
            err(&["GET", "trace"]),
            MethodListError {
                index: 1,
                error: MethodError::Forbidden(_)
            }
        ));
        assert!(matches!(
            err(&["CONNECT"]),
            MethodListError {
                index: 0,
                error: MethodError::Forbidden(_)
            }
        ));
        assert!(matches!(
            err(&["GE T"]),
            MethodListError {
                index: 0,
                error: MethodError::Invalid(_)
            }
        ));
        assert!(matches!(
            err(&[""]),
            MethodListError {
                index: 0,
                error: MethodError::Invalid(_)
            }
        ));
    }

    #[test]
    fn byte_membership_agrees_with_the_methods() {
        let set = MethodSet::parse(&["GET", "PUT", "patch", "PURGE", "DELETE"]).unwrap();
        for (name, member) in [
            ("GET", true),
            ("PUT", true),
            ("DELETE", true),
            ("patch", true),
            ("PURGE", true),
            ("PATCH", false),
            ("put", false),
            ("purge", false),
            ("POST", false),
            ("HEAD", false),
            ("OPTIONS", false),
            ("", false),
            ("GETX", false),
        ] {
            assert_eq!(set.contains_bytes(name.as_bytes()), member, "{name}");
        }
        let every = MethodSet::parse(&["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"])
            .unwrap();
        for m in every.iter() {
            assert!(every.contains_bytes(m.as_str().as_bytes()), "{m}");
        }
        assert!(!MethodSet::empty().contains_bytes(b"GET"));
        let route = MethodSet::parse(&["DELETE", "GET", "PUT"]).unwrap();
        let narrowed = route.intersect(&MethodSet::parse(&["GET", "POST"]).unwrap());
        assert!(narrowed.contains_bytes(b"GET"));
        assert!(!narrowed.contains_bytes(b"PUT") && !narrowed.contains_bytes(b"DELETE"));
    }

    #[test]
    fn intersection_keeps_order() {
        let route = MethodSet::parse(&["DELETE", "GET", "PUT"]).unwrap();
        let policy = MethodSet::parse(&["GET", "POST", "DELETE"]).unwrap();
        assert_eq!(route.intersect(&policy).header_value(), "DELETE, GET");
    }
}
