//! Property tests: the origin matcher and the `Access-Control-Request-Headers`
//! parser against slow, obviously correct reference implementations, and
//! `Policy::decide` on arbitrary bytes.

use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use preflight_core::header_list::{MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES};
use preflight_core::{
    CorsConfig, CorsRequest, Decision, HeaderListError, OriginMatch, OriginMatcher, OriginPattern,
    Policy, PortSpec, RequestedHeaders,
};
use proptest::prelude::*;
use proptest::sample::select;
use url::Url;

// --- the origin matcher ---------------------------------------------------------

/// The reference: let the `url` crate parse the origin; only a string that is
/// already its own serialized origin (docs/browser-model.md#origin-serialization) can match; then compare scheme,
/// host and port to each pattern, by the pattern rules of docs/configuration.md.
fn reference_match(patterns: &[OriginPattern], origin: &[u8]) -> OriginMatch {
    let listed = std::str::from_utf8(origin)
        .ok()
        .is_some_and(|origin| reference_listed(patterns, origin));
    if listed {
        OriginMatch::Listed
    } else if patterns.contains(&OriginPattern::Any) {
        OriginMatch::Any
    } else {
        OriginMatch::No
    }
}

fn reference_listed(patterns: &[OriginPattern], origin: &str) -> bool {
    if origin == "null" {
        return patterns.contains(&OriginPattern::Null);
    }
    let Ok(url) = Url::parse(origin) else {
        return false;
    };
    if url.origin().ascii_serialization() != origin {
        return false;
    }
    let scheme = url.scheme();
    let Some(host) = url.host_str() else {
        return false;
    };
    let port = url.port();
    patterns.iter().any(|p| match p {
        OriginPattern::Any | OriginPattern::Null => false,
        OriginPattern::Exact(exact) => exact == origin,
        OriginPattern::AnyPort { scheme: s, host: h } => s == scheme && h == host,
        OriginPattern::Subdomain {
            scheme: s,
            suffix,
            port: spec,
        } => {
            let port_ok = match spec {
                PortSpec::Any => true,
                PortSpec::Default => port.is_none(),
                PortSpec::Port(p) => port == Some(*p),
            };
            // One or more whole labels, then `.suffix`. matcher.rs covers only
            // DNS host names: letter-digit-hyphen labels of 1..=63 bytes, 253 in all.
            let covered = host
                .strip_suffix(suffix.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|labels| {
                    !labels.is_empty()
                        && host.len() <= 253
                        && labels.split('.').all(|l| {
                            (1..=63).contains(&l.len())
                                && l.bytes().all(|b| {
                                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
                                })
                        })
                });
            s == scheme && port_ok && covered
        }
    })
}

const SCHEMES: [&str; 6] = ["https", "https", "http", "HTTPS", "wss", "ftp"];
const LABELS: [&str; 22] = [
    "example",
    "example",
    "com",
    "com",
    "a",
    "b",
    "evil",
    "foo",
    "co",
    "uk",
    "localhost",
    "xn--bcher-kva",
    "1",
    "a-b",
    "-a",
    "A",
    "Example",
    "a_b",
    "%60",
    "",
    "bücher",
    "x",
];
const PORTS: [&str; 10] = [
    "", "", "", ":443", ":80", ":8443", ":3000", ":0443", ":", ":65536",
];
const HOSTS: [&str; 5] = ["127.0.0.1", "[::1]", "0x7f.1", "10.0.0.1", "[0:0::1]"];

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (proptest::collection::vec(select(&LABELS[..]), 1..5), any::<bool>())
            .prop_map(|(labels, dot)| {
                let mut h = labels.join(".");
                if dot {
                    h.push('.');
                }
                h
            }),
        1 => select(&HOSTS[..]).prop_map(String::from),
    ]
}

fn origin() -> impl Strategy<Value = String> {
    prop_oneof![
        20 => (
            select(&SCHEMES[..]),
            select(&["", "", "", "", "user@", "a@b.", "u:p@"][..]),
            host(),
            select(&PORTS[..]),
            select(&["", "", "", "", "/", "/x", "?q", "#f"][..]),
        )
            .prop_map(|(s, user, h, p, path)| format!("{s}://{user}{h}{p}{path}")),
        1 => Just("null".to_string()),
        1 => Just("*".to_string()),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (select(&SCHEMES[..3]), host(), select(&PORTS[..])).prop_map(|(s, h, p)| format!("{s}://{h}{p}")),
        6 => (select(&SCHEMES[..3]), host(), select(&["", "", ":*", ":8443", ":443"][..]))
            .prop_map(|(s, h, p)| format!("{s}://*.{h}{p}")),
        3 => (select(&SCHEMES[..3]), host()).prop_map(|(s, h)| format!("{s}://{h}:*")),
        1 => Just("*".to_string()),
        1 => Just("null".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn matcher_agrees_with_the_reference(
        raw_patterns in proptest::collection::vec(pattern(), 0..6),
        origins in proptest::collection::vec(origin(), 1..8),
        also_listed in any::<bool>(),
    ) {
        let mut patterns: Vec<OriginPattern> = raw_patterns
            .iter()
            .filter_map(|p| OriginPattern::parse(p).ok())
            .collect();
        // Make matches frequent: list one of the probed origins as written.
        if also_listed {
            if let Ok(p) = OriginPattern::parse(&origins[0]) {
                patterns.push(p);
            }
        }
        let matcher = OriginMatcher::new(&patterns);
        for origin in &origins {
            prop_assert_eq!(
                matcher.matches(origin.as_bytes()),
                reference_match(&patterns, origin.as_bytes()),
                "origin {:?}, patterns {:?}", origin, patterns
            );
        }
    }

    #[test]
    fn every_accepted_pattern_matches_what_it_names(p in pattern(), label in select(&["a", "b-c", "xn--bcher-kva", "1"][..])) {
        let Ok(parsed) = OriginPattern::parse(&p) else { return Ok(()); };
        let matcher = OriginMatcher::new([&parsed]);
        let probe = match &parsed {
            OriginPattern::Exact(s) => s.clone(),
            OriginPattern::AnyPort { scheme, host } => format!("{scheme}://{host}:3001"),
            OriginPattern::Subdomain { scheme, suffix, port } => match port {
                PortSpec::Default => format!("{scheme}://{label}.{suffix}"),
                PortSpec::Port(p) => format!("{scheme}://{label}.{suffix}:{p}"),
                PortSpec::Any => format!("{scheme}://{label}.{suffix}:9"),
            },
            OriginPattern::Any => "https://any.test".into(),
            OriginPattern::Null => "null".into(),
        };
        let want = if parsed == OriginPattern::Any { OriginMatch::Any } else { OriginMatch::Listed };
        // A pattern that loads but can never match anything would be a silent
        // configuration error.
        prop_assert_eq!(matcher.matches(probe.as_bytes()), want, "pattern {:?} probe {:?}", parsed, probe);
    }

    #[test]
    fn matcher_never_panics_on_bytes(patterns in proptest::collection::vec(pattern(), 0..4), origin in proptest::collection::vec(any::<u8>(), 0..80)) {
        let patterns: Vec<OriginPattern> = patterns.iter().filter_map(|p| OriginPattern::parse(p).ok()).collect();
        let matcher = OriginMatcher::new(&patterns);
        prop_assert_eq!(matcher.matches(&origin), reference_match(&patterns, &origin));
    }
}

// --- the Access-Control-Request-Headers parser -----------------------------------

/// The reference: split each line on `,`, trim spaces and tabs, skip empty
/// items; refuse more than the byte bound (counted line by line), a name that
/// is not a token, and more than the name bound, in the order they are met.
fn reference_parse(lines: &[String]) -> Result<Vec<String>, HeaderListError> {
    let mut total = 0;
    for line in lines {
        total += line.len();
        if total > MAX_REQUEST_HEADERS_BYTES {
            return Err(HeaderListError::TooLong(total));
        }
    }
    let mut names = Vec::new();
    for line in lines {
        for item in line.split(',') {
            let name = item.trim_matches([' ', '\t']);
            if name.is_empty() {
                continue;
            }
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                return Err(HeaderListError::InvalidName);
            }
            if names.len() == MAX_REQUEST_HEADER_NAMES {
                return Err(HeaderListError::TooMany);
            }
            names.push(name.to_string());
        }
    }
    Ok(names)
}

fn header_item() -> impl Strategy<Value = String> {
    (
        select(&["", "", " ", "\t", "  "][..]),
        select(
            &[
                "content-type",
                "Content-Type",
                "X-A",
                "x-b",
                "authorization",
                "",
                "",
                "a!#$%&'*+-.^_`|~z",
                "X",
            ][..],
        ),
        select(&["", "", " ", "\t "][..]),
    )
        .prop_map(|(a, n, b)| format!("{a}{n}{b}"))
}

fn header_line() -> impl Strategy<Value = String> {
    proptest::collection::vec(header_item(), 0..30).prop_map(|items| items.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn header_list_agrees_with_the_reference(lines in proptest::collection::vec(header_line(), 1..5)) {
        let values: Vec<HeaderValue> = lines.iter().map(|l| HeaderValue::from_str(l).unwrap()).collect();
        let got = RequestedHeaders::parse(values.iter());
        let want = reference_parse(&lines);
        match (&got, &want) {
            (Ok(parsed), Ok(names)) => {
                let got_names: Vec<&[u8]> = parsed.iter().collect();
                let want_names: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
                prop_assert_eq!(got_names, want_names);
                prop_assert_eq!(parsed.len(), names.len());
                let lower = names.iter().map(|n| n.to_ascii_lowercase()).collect::<Vec<_>>().join(",");
                prop_assert_eq!(parsed.to_lowercase_list(), lower.clone());
                // The line is echoed as is only when it already is the lower-case list.
                let canonical = lines.len() == 1 && !names.is_empty() && lines[0] == lower;
                prop_assert_eq!(parsed.canonical_line().is_some(), canonical, "{:?}", lines);
            }
            (Err(g), Err(w)) => prop_assert_eq!(g, w),
            _ => prop_assert!(false, "lines {:?}: got {:?}, want {:?}", lines, got.map(|p| p.len()), want),
        }
    }

    #[test]
    fn header_list_never_panics_on_bytes(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..6)) {
        let values: Vec<HeaderValue> = lines.iter().filter_map(|l| HeaderValue::from_bytes(l).ok()).collect();
        match RequestedHeaders::parse(values.iter()) {
            Ok(parsed) => {
                prop_assert!(parsed.len() <= MAX_REQUEST_HEADER_NAMES);
                for name in parsed.iter() {
                    prop_assert!(!name.is_empty());
                    prop_assert!(HeaderValue::from_bytes(name).is_ok());
                }
                prop_assert!(HeaderValue::from_str(&parsed.to_lowercase_list()).is_ok());
            }
            Err(HeaderListError::TooLong(n)) => prop_assert!(n > MAX_REQUEST_HEADERS_BYTES),
            Err(_) => {}
        }
    }
}

// --- Policy::decide on arbitrary bytes ----------------------------------------------

fn policies() -> Vec<Policy> {
    let table = |origins: &[&str], headers: &[&str], credentials: bool| {
        Policy::new(&CorsConfig {
            allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
            allow_headers: Some(headers.iter().map(|s| s.to_string()).collect()),
            expose_headers: Some(vec!["x-request-id".into()]),
            allow_credentials: Some(credentials),
            max_age: Some(600),
            ..CorsConfig::default()
        })
        .unwrap()
    };
    vec![
        table(
            &[
                "https://app.example.com",
                "https://*.example.com",
                "http://localhost:*",
            ],
            &["content-type", "x-a"],
            true,
        ),
        table(&["*"], &["*"], false),
        table(&["https://app.example.com"], &["*", "authorization"], true),
    ]
}

fn bytes_or(samples: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => select(samples).prop_map(|s| s.as_bytes().to_vec()),
        2 => proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decide_never_panics_on_arbitrary_headers(
        which in 0usize..3,
        method in bytes_or(&["OPTIONS", "GET", "POST", "patch"]),
        origin in proptest::option::of(bytes_or(&["https://app.example.com", "https://a.example.com", "http://localhost:3000", "null", "https://evil.com"])),
        acrm in proptest::option::of(bytes_or(&["GET", "PUT", "patch", "", "DELETE"])),
        acrh in proptest::collection::vec(bytes_or(&["content-type", "X-A, content-type", "authorization", ",,", "x-b"]), 0..4),
        upstream_vary in proptest::option::of(bytes_or(&["Accept-Encoding", "origin", "*"])),
    ) {
        let policies = policies();
        let policy = &policies[which];
        let Ok(method) = Method::from_bytes(&method) else { return Ok(()); };
        let mut headers = HeaderMap::new();
        if let Some(Ok(v)) = origin.as_deref().map(HeaderValue::from_bytes) {
            headers.insert(ORIGIN, v);
        }
        if let Some(Ok(v)) = acrm.as_deref().map(HeaderValue::from_bytes) {
            headers.insert(ACCESS_CONTROL_REQUEST_METHOD, v);
        }
        for line in &acrh {
            if let Ok(v) = HeaderValue::from_bytes(line) {
                headers.append(ACCESS_CONTROL_REQUEST_HEADERS, v);
            }
        }
        let req = CorsRequest::new(&method, &headers);
        let decision = policy.decide(&req, policy.methods());
        let matched = headers.get(ORIGIN).map(|o| policy.matcher().matches(o.as_bytes()));

        let mut response = HeaderMap::new();
        if let Some(Ok(v)) = upstream_vary.as_deref().map(HeaderValue::from_bytes) {
            response.insert(http::header::VARY, v);
        }
        response.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        decision.apply(&mut response);
        let acao = response.get_all(http::header::ACCESS_CONTROL_ALLOW_ORIGIN).iter().count();
        match &decision {
            Decision::NotCors { .. } => {
                prop_assert!(matched.is_none());
                // Fetch, "CORS protocol and HTTP caches": a static `*` is on
                // every response; any other answer only on CORS requests.
                if policy.is_static_wildcard() {
                    prop_assert_eq!(acao, 1);
                    prop_assert_eq!(response.get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes()), Some(&b"*"[..]));
                } else {
                    prop_assert_eq!(acao, 0);
                }
            }
            Decision::PreflightAllowed(p) => {
                prop_assert!(req.is_preflight());
                prop_assert!(matched.is_some_and(|m| m != OriginMatch::No));
                prop_assert_eq!(acao, 1);
                // docs/browser-model.md#cors-check: never `*` with credentials.
                prop_assert!(!(p.allow_credentials && p.allow_origin == "*"));
                if let Some(h) = &p.allow_headers {
                    prop_assert!(!h.as_bytes().iter().any(u8::is_ascii_uppercase));
                    prop_assert!(h.as_bytes() != b"*");
                }
            }
            Decision::ActualAllowed(a) => {
                prop_assert!(!req.is_preflight());
                prop_assert!(matched.is_some_and(|m| m != OriginMatch::No));
                prop_assert_eq!(acao, 1);
                prop_assert!(!(a.allow_credentials && a.allow_origin == "*"));
            }
            Decision::PreflightRefused(_) | Decision::ActualDisallowed { .. } => prop_assert_eq!(acao, 0),
        }
        // docs/browser-model.md#vary-origin: Vary never says Origin twice.
        let origins_in_vary = response
            .get_all(http::header::VARY)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .filter(|t| t.trim_ascii().eq_ignore_ascii_case(b"origin"))
            .count();
        prop_assert!(origins_in_vary <= 1);
    }
}
