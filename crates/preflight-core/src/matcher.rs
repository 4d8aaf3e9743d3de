//! The one origin matcher: is the `Origin` a request carries allowed?
//!
//! The request's `Origin` is compared as a serialized origin (docs/browser-model.md#origin-serialization), byte for byte
//! (docs/browser-model.md#cors-check): a browser always sends the canonical serialization, so an upper-case
//! host, a trailing dot, an explicit default port or userinfo is a different
//! string and never matches a pattern written canonically.
//!
//! Cost: exact origins sit in a set that is scanned when they are few and
//! hashed when they are many, so a lookup does not grow with their number. Subdomain patterns sit in a trie of DNS labels read right to left, so
//! one walk over the host decides all of them at once; any-port patterns are one
//! more hash lookup. Every step is linear in the length of the origin.

use std::collections::{HashMap, HashSet};

use crate::byte_set::ByteSet;
use crate::fast_hash::FastHash;
use crate::origin::default_port;
use crate::pattern::{OriginPattern, PortSpec};

/// Which origins are allowed, compiled from a list of [`OriginPattern`]s.
#[derive(Debug, Clone, Default)]
pub struct OriginMatcher {
    any: bool,
    null: bool,
    /// Serialized origins, as bytes: the common case is decided before any
    /// UTF-8 check.
    exact: ByteSet,
    /// `scheme://host` strings allowed on any port.
    any_port: HashSet<Box<str>, FastHash>,
    subdomains: LabelNode,
}

/// What matched, which decides how the answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginMatch {
    /// Not allowed.
    No,
    /// Allowed because every origin is (`*`).
    Any,
    /// Allowed by an entry that names it (exact, subdomain, port or `null`).
    Listed,
}

#[derive(Debug, Clone, Default)]
struct LabelNode {
    children: HashMap<Box<str>, LabelNode, FastHash>,
    /// Patterns that end at this node: (scheme, port) pairs allowed for hosts
    /// with at least one more label on the left.
    accepts: Vec<(Box<str>, PortSpec)>,
}

impl OriginMatcher {
    /// Compile a list of patterns.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a OriginPattern>) -> OriginMatcher {
        let mut m = OriginMatcher::default();
        for p in patterns {
            match p {
                OriginPattern::Any => m.any = true,
                OriginPattern::Null => m.null = true,
                OriginPattern::Exact(s) => {
                    m.exact.insert(s.as_bytes().into());
                }
                OriginPattern::AnyPort { scheme, host } => {
                    m.any_port.insert(format!("{scheme}://{host}").into());
                }
                OriginPattern::Subdomain {
                    scheme,
                    suffix,
                    port,
                } => {
                    let mut node = &mut m.subdomains;
                    for label in suffix.rsplit('.') {
                        node = node.children.entry(label.into()).or_default();
                    }
                    let entry = (Box::<str>::from(scheme.as_str()), *port);
                    if !node.accepts.contains(&entry) {
                        node.accepts.push(entry);
                    }
                }
            }
        }
        m
    }

    /// True when `*` is among the patterns.
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Does the `Origin` header value match? Never allocates.
    #[inline]
    pub fn matches(&self, origin: &[u8]) -> OriginMatch {
        if self.matches_listed(origin) {
            OriginMatch::Listed
        } else if self.any {
            OriginMatch::Any
        } else {
            OriginMatch::No
        }
    }

    #[inline]
    fn matches_listed(&self, origin: &[u8]) -> bool {
        if origin == b"null" {
            return self.null;
        }
        if self.exact.contains(origin) {
            return true;
        }
        if self.any_port.is_empty() && self.subdomains.children.is_empty() {
            return false;
        }
        self.matches_port_or_subdomain(origin)
    }

    /// The patterns that need the origin cut into its parts, out of line so
    /// that the exact look-up inlined into the decision stays small.
    #[inline(never)]
    fn matches_port_or_subdomain(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        let Some(parts) = split_origin(origin) else {
            return false;
        };
        if !self.any_port.is_empty() && self.any_port.contains(parts.scheme_and_host) {
            return true;
        }
        if !self.subdomains.children.is_empty() {
            return self.matches_subdomain(&parts);
        }
        false
    }

    fn matches_subdomain(&self, parts: &OriginParts<'_>) -> bool {
        if parts.host.len() > 253 {
            return false;
        }
        let mut node = &self.subdomains;
        // The suffix is compared label by label as the pattern wrote it (like an
        // exact origin: `_` or a trailing dot there is the admin's choice); only
        // the labels the wildcard stands for must be a DNS name.
        let mut rest = parts.host;
        while let Some(dot) = rfind_byte(rest, b'.') {
            let (left, label) = (&rest[..dot], &rest[dot + 1..]);
            let Some(next) = node.children.get(label) else {
                return false;
            };
            node = next;
            rest = left;
            // One or more whole labels must remain on the left of the suffix.
            if node
                .accepts
                .iter()
                .any(|(scheme, port)| **scheme == *parts.scheme && port_ok(*port, parts.port))
                && is_dns_name(left)
            {
                return true;
            }
        }
        false
    }
}

fn port_ok(spec: PortSpec, port: Option<u16>) -> bool {
    match spec {
        PortSpec::Any => true,
        PortSpec::Default => port.is_none(),
        PortSpec::Port(p) => port == Some(p),
    }
}

/// A serialized origin cut into its parts without allocating.
struct OriginParts<'a> {
    scheme: &'a str,
    host: &'a str,
    /// `scheme://host`, the origin without its port.
    scheme_and_host: &'a str,
    port: Option<u16>,
}

/// Cut a serialized origin; `None` when it cannot be one (a port that is not
/// canonical, such as a leading zero or the scheme's default written out).
fn split_origin(origin: &str) -> Option<OriginParts<'_>> {
    // A scheme holds no `:`, so the first one must start `://`.
    let colon = origin.bytes().position(|b| b == b':')?;
    let scheme = &origin[..colon];
    let authority = origin[colon..].strip_prefix("://")?;
    let scheme_len = colon + 3;
    let (host, port_str) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (h, rest) = authority.split_at(close + 1);
        match rest {
            "" => (h, None),
            _ => (h, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match rfind_byte(authority, b':') {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        }
    };
    let port = match port_str {
        None => None,
        Some(p) => {
            let canonical = !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && !p.starts_with('0');
            if !canonical {
                return None;
            }
            let n: u16 = p.parse().ok()?;
            if Some(n) == default_port(scheme) {
                return None;
            }
            Some(n)
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(OriginParts {
        scheme,
        host,
        scheme_and_host: &origin[..scheme_len + host.len()],
        port,
    })
}

/// The last `byte` of `s` (an ASCII byte, so a char boundary), by a plain
/// loop: `rsplit_once` with a char pattern costs hundreds of instructions on
/// strings this short, and this runs once a label.
fn rfind_byte(s: &str, byte: u8) -> Option<usize> {
    s.bytes().rposition(|b| b == byte)
}

/// Lower-case letter-digit-hyphen labels, none empty: the only labels a
/// subdomain wildcard can stand for (no `_`, no `%`, no trailing dot).
fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(patterns: &[&str]) -> OriginMatcher {
        let parsed: Vec<OriginPattern> = patterns
            .iter()
            .map(|p| OriginPattern::parse(p).unwrap())
            .collect();
        OriginMatcher::new(&parsed)
    }

    #[test]
    fn exact_subdomain_port_and_any() {
        let m = matcher(&[
            "https://app.example.com",
            "https://*.example.org",
            "http://localhost:*",
        ]);
        let yes = [
            "https://app.example.com",
            "https://a.example.org",
            "https://a.b.example.org",
            "http://localhost",
            "http://localhost:3000",
        ];
        for o in yes {
            assert_eq!(m.matches(o.as_bytes()), OriginMatch::Listed, "{o}");
        }
        let no = [
            "https://example.org",
            "https://app.example.com:8443",
            "https://a.example.org:8443",
            "http://localhost:80",
            "http://localhost:03000",
            "http://localhost:",
            "https://localhost:3000",
            "null",
        ];
        for o in no {
            assert_eq!(m.matches(o.as_bytes()), OriginMatch::No, "{o}");
        }
        let any = matcher(&["*"]);
        assert_eq!(any.matches(b"https://x.test"), OriginMatch::Any);
    }
}
