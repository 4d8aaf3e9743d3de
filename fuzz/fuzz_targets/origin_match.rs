//! Origin-pattern matching against a reference.
//!
//! Input: patterns, one a line, then the origin to match after the last line
//! break. The compiled matcher (hash sets and a trie of DNS labels) must give
//! the answer of a plain loop over the patterns, each compared the way
//! docs/configuration.md ("allow_origins") describes it: exact byte for byte,
//! `scheme://*.suffix[:port]` one or more whole DNS labels before the suffix,
//! `scheme://host:*` the host on its default or any canonical port, `*` any
//! origin, `null` the opaque origin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight_core::origin::default_port;
use preflight_core::{OriginMatch, OriginMatcher, OriginPattern, PortSpec};

/// `Some(None)` for no port, `Some(Some(n))` for a canonical, non-default
/// port written after the last `:`, `None` for anything else.
fn canonical_port(scheme: &str, written: Option<&str>) -> Option<Option<u16>> {
    let Some(p) = written else {
        return Some(None);
    };
    if p.is_empty() || p.len() > 5 || p.starts_with('0') || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u16 = p.parse().ok()?;
    if Some(n) == default_port(scheme) {
        return None;
    }
    Some(Some(n))
}

fn dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `host[:port]` after `scheme://`, split at the last `:` (after a `]` for
/// an IPv6 literal).
fn host_and_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (h, rest) = authority.split_at(close + 1);
        return match rest {
            "" => Some((h, None)),
            _ => Some((h, Some(rest.strip_prefix(':')?))),
        };
    }
    Some(match authority.rfind(':') {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    })
}

fn one(pattern: &OriginPattern, origin: &[u8]) -> bool {
    match pattern {
        OriginPattern::Any => false,
        OriginPattern::Null => origin == b"null",
        OriginPattern::Exact(s) => s.as_bytes() == origin,
        OriginPattern::AnyPort { scheme, host } => {
            let Ok(o) = std::str::from_utf8(origin) else {
                return false;
            };
            let Some(authority) = o
                .strip_prefix(scheme.as_str())
                .and_then(|r| r.strip_prefix("://"))
            else {
                return false;
            };
            match host_and_port(authority) {
                Some((h, port)) => h == host && canonical_port(scheme, port).is_some(),
                None => false,
            }
        }
        OriginPattern::Subdomain {
            scheme,
            suffix,
            port,
        } => {
            let Ok(o) = std::str::from_utf8(origin) else {
                return false;
            };
            let Some(authority) = o
                .strip_prefix(scheme.as_str())
                .and_then(|r| r.strip_prefix("://"))
            else {
                return false;
            };
            let Some((host, written)) = host_and_port(authority) else {
                return false;
            };
            let Some(found) = canonical_port(scheme, written) else {
                return false;
            };
            let port_ok = match port {
                PortSpec::Any => true,
                PortSpec::Default => found.is_none(),
                PortSpec::Port(p) => found == Some(*p),
            };
            let Some(left) = host
                .strip_suffix(suffix.as_str())
                .and_then(|l| l.strip_suffix('.'))
            else {
                return false;
            };
            port_ok && host.len() <= 253 && dns_name(left)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (pattern_part, origin) = match data.iter().rposition(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let patterns: Vec<OriginPattern> = pattern_part
        .split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter_map(|line| OriginPattern::parse(line).ok())
        .collect();
    let expected = if patterns.iter().any(|p| one(p, origin)) {
        OriginMatch::Listed
    } else if patterns.contains(&OriginPattern::Any) {
        OriginMatch::Any
    } else {
        OriginMatch::No
    };
    let matcher = OriginMatcher::new(&patterns);
    assert_eq!(
        matcher.matches(origin),
        expected,
        "{:?} against {patterns:?}",
        String::from_utf8_lossy(origin)
    );
});
