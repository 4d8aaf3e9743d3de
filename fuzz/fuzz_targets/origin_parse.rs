//! Origins and origin patterns from arbitrary text.
//!
//! Input: patterns, one a line, then the origin to match after the last line
//! break. Invariants checked beyond "never panics":
//! - a serialized origin that parses serializes back to the same bytes (docs/browser-model.md#origin-serialization);
//! - the origin of any http(s) URL is accepted by the strict parser as it is;
//! - a pattern written back canonically parses to the same pattern;
//! - the matcher never allows a non-canonical spelling of an origin (an
//!   extension's or app's origin only by an exact pattern).
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight_core::{Origin, OriginMatch, OriginMatcher, OriginPattern};

fuzz_target!(|data: &[u8]| {
    let (pattern_part, origin) = match data.iter().rposition(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };

    if let Ok(s) = std::str::from_utf8(origin) {
        if let Ok(o) = Origin::parse_serialized(s) {
            assert_eq!(
                o.serialize(),
                s,
                "a serialized origin is its own serialization"
            );
        }
        if let Ok(o) = Origin::of_page(s) {
            if o.tuple()
                .is_some_and(|t| t.scheme() == "http" || t.scheme() == "https")
            {
                let again = Origin::parse_serialized(o.serialize());
                assert_eq!(
                    again.as_ref(),
                    Ok(&o),
                    "the origin of {s:?} is {:?}",
                    o.serialize()
                );
            }
        }
        if let Ok(p) = OriginPattern::parse(s) {
            let written = p.to_pattern_string();
            assert_eq!(
                OriginPattern::parse(&written).as_ref(),
                Ok(&p),
                "{s:?} written as {written:?}"
            );
        }
    }

    let patterns: Vec<OriginPattern> = pattern_part
        .split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter_map(|line| OriginPattern::parse(line).ok())
        .collect();
    let matcher = OriginMatcher::new(&patterns);
    let matched = matcher.matches(origin);
    if matched == OriginMatch::Listed && origin != b"null" {
        let s = std::str::from_utf8(origin).expect("a listed origin is UTF-8");
        // A browser sends only canonical serializations; if the URL parser
        // spells this origin differently, no browser sends it as written, and
        // allowing it would mean the matcher disagrees with the browser.
        // Extension and app origins are opaque to the URL standard but sent
        // as written: only an exact pattern can list them.
        let non_web = preflight_core::pattern::NON_WEB_SCHEMES
            .iter()
            .any(|n| s.strip_prefix(n).is_some_and(|r| r.starts_with("://")));
        if non_web {
            assert!(
                patterns.contains(&OriginPattern::Exact(s.to_string())),
                "listed by {patterns:?}"
            );
        } else if let Ok(url) = url::Url::parse(s) {
            assert_eq!(
                url.origin().ascii_serialization(),
                s,
                "listed by {patterns:?}"
            );
        }
    }
    if matched == OriginMatch::Any {
        assert!(
            patterns.contains(&OriginPattern::Any),
            "only `*` allows any origin"
        );
    }
});
