//! The `[cors]` settings that must be exact (docs/configuration.md): what
//! `allow_methods = ["*"]` means, the origins of browser extensions and hybrid
//! apps, origins no browser sends, `localhost.`, an empty `allow_origins`, and
//! header names written where they make no sense.

use preflight_core::origin::OriginError;
use preflight_core::policy::PolicyWarningKind;
use preflight_core::{CorsConfig, MethodSet, OriginPattern, PatternError, PolicyErrorKind};

mod policy_common;

use policy_common::*;

// --- allow_methods --------------------------------------------------------------

#[test]
fn star_or_no_allow_methods_means_every_method_of_the_route() {
    let route = MethodSet::parse(&["GET", "PURGE", "REPORT", "PROPFIND", "OPTIONS"]).unwrap();
    for methods in [None, strings(&["*"]), strings(&["GET", "*"])] {
        let policy = accepted(&CorsConfig {
            allow_methods: methods.clone(),
            ..origins(&["https://app.example.com"])
        });
        assert_eq!(
            policy.methods_for_route(&route).header_value(),
            "GET, PURGE, REPORT, PROPFIND, OPTIONS",
            "allow_methods = {methods:?}"
        );
        assert!(policy.allows_every_route_method(), "{methods:?}");
    }
    // A list narrows the route's methods, in the route's order.
    let policy = accepted(&CorsConfig {
        allow_methods: strings(&["REPORT", "GET", "DELETE"]),
        ..origins(&["https://app.example.com"])
    });
    assert!(!policy.allows_every_route_method());
    assert_eq!(
        policy.methods_for_route(&route).header_value(),
        "GET, REPORT"
    );
}

// --- allow_origins: empty, non-web schemes ------------------------------------

#[test]
fn an_empty_allow_origins_is_refused_pointing_at_cors_false() {
    let err = refused(&origins(&[]));
    assert_eq!((err.key, err.index), ("allow_origins", None));
    assert_eq!(err.value, "[]");
    assert_eq!(err.kind, PolicyErrorKind::EmptyOrigins);
    assert!(err.to_string().contains("cors = false"), "{err}");
}

#[test]
fn extension_and_hybrid_app_origins_are_exact_patterns() {
    let listed = [
        "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
        "moz-extension://0b6e5f3c-8f8e-4a1e-9e38-0c7a3d1b2f44",
        "safari-web-extension://E0B6F9A5-1C2D-4E3F-8A9B-0C1D2E3F4A5B",
        "capacitor://localhost",
        "ionic://localhost",
        "tauri://localhost",
    ];
    // With credentials too: each names one extension or app, none is
    // reachable over the network (docs/configuration.md).
    let policy = accepted(&credentialed(&listed));
    for (pattern, written) in policy.origin_patterns().iter().zip(listed) {
        assert_eq!(pattern, &OriginPattern::Exact(written.to_string()));
    }
    for o in listed {
        assert_eq!(
            policy.matcher().matches(o.as_bytes()),
            preflight_core::OriginMatch::Listed,
            "{o}"
        );
    }
}

#[test]
fn non_web_origins_with_wildcards_or_extra_parts_are_refused() {
    let cases: [(&str, PatternError); 9] = [
        (
            "chrome-extension://*",
            PatternError::NonWebWildcard("chrome-extension".into()),
        ),
        (
            "moz-extension://*.example",
            PatternError::NonWebWildcard("moz-extension".into()),
        ),
        (
            "capacitor://localhost:*",
            PatternError::NonWebWildcard("capacitor".into()),
        ),
        (
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop/",
            PatternError::NonWebOrigin("chrome-extension".into()),
        ),
        (
            "capacitor://localhost:8080",
            PatternError::NonWebOrigin("capacitor".into()),
        ),
        (
            "tauri://user@localhost",
            PatternError::NonWebOrigin("tauri".into()),
        ),
        ("ionic://", PatternError::NonWebOrigin("ionic".into())),
        ("file://", PatternError::FileOrigin),
        ("file:///home/me/index.html", PatternError::FileOrigin),
    ];
    for (written, want) in cases {
        let err = refused(&origins(&[written]));
        assert_eq!(
            (err.key, err.index),
            ("allow_origins", Some(0)),
            "{written}"
        );
        assert_eq!(
            err.kind,
            PolicyErrorKind::MalformedOrigin(want),
            "{written}: {err}"
        );
    }
    // Other schemes stay refused as before; `null` only with its key.
    for written in ["ftp://example.com", "ws://example.com", "data:text/plain,x"] {
        let err = refused(&origins(&[written]));
        assert!(
            matches!(err.kind, PolicyErrorKind::MalformedOrigin(_)),
            "{written}: {err}"
        );
    }
    assert_eq!(
        refused(&origins(&["null"])).kind,
        PolicyErrorKind::NullOrigin
    );
}

// --- origins no browser sends ---------------------------------------------------

#[test]
fn origins_no_browser_sends_are_refused_with_the_reason() {
    let label = "a".repeat(63);
    // Four full labels and `.com`: 259 characters.
    let long_host = format!("https://{label}.{label}.{label}.{label}.com");
    let cases: Vec<(String, OriginError)> = vec![
        ("http://localhost:0".into(), OriginError::PortZero),
        ("https://*.example.com:0".into(), OriginError::PortZero),
        (long_host.clone(), OriginError::HostTooLong(259)),
        ("https://example..com".into(), OriginError::EmptyLabel),
        ("https://example.com..".into(), OriginError::EmptyLabel),
        ("https://*.example..com".into(), OriginError::EmptyLabel),
        (
            "http://[::ffff:7f00:1]".into(),
            OriginError::Ipv4MappedIpv6("127.0.0.1".into()),
        ),
        (
            "http://[::ffff:a00:1]:*".into(),
            OriginError::Ipv4MappedIpv6("10.0.0.1".into()),
        ),
    ];
    for (written, want) in cases {
        let err = refused(&origins(&[written.as_str()]));
        assert_eq!(
            err.kind,
            PolicyErrorKind::MalformedOrigin(PatternError::Origin(want)),
            "{written}: {err}"
        );
    }
    // Next to them, what a browser does send still loads: one trailing dot,
    // a host of exactly 253 characters, a real IPv6 address.
    let host_253 = format!("https://{label}.{label}.{label}.{}.com", "a".repeat(57));
    assert_eq!(host_253.len() - "https://".len(), 253);
    accepted(&origins(&[
        "https://example.com.",
        host_253.as_str(),
        "http://[2001:db8::1]:8080",
        "http://localhost:1",
    ]));
}

// --- localhost. -----------------------------------------------------------------

#[test]
fn localhost_with_a_trailing_dot_is_potentially_trustworthy() {
    accepted(&credentialed(&[
        "http://localhost.",
        "http://localhost.:3000",
        "http://foo.localhost.",
        "http://localhost.:*",
        "https://*.localhost.",
        "http://*.localhost.:*",
    ]));
    // Not a suffix of a label: `notlocalhost.` is an ordinary host.
    let err = refused(&credentialed(&["http://notlocalhost."]));
    assert_eq!(err.kind, PolicyErrorKind::InsecureOriginWithCredentials);
}

// --- header names where they make no sense ------------------------------------

#[test]
fn response_header_names_in_allow_headers_are_refused() {
    for name in [
        "Access-Control-Allow-Origin",
        "access-control-allow-credentials",
        "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers",
        "Access-Control-Allow-Private-Network",
        "Access-Control-Expose-Headers",
        "Access-Control-Max-Age",
    ] {
        let err = refused(&CorsConfig {
            allow_headers: strings(&["content-type", name]),
            ..origins(&["https://app.example.com"])
        });
        assert_eq!((err.key, err.index), ("allow_headers", Some(1)), "{name}");
        assert_eq!(
            err.kind,
            PolicyErrorKind::ResponseHeaderInAllowHeaders(name.to_string())
        );
        assert!(err.to_string().contains("response header"), "{err}");
    }
}

#[test]
fn request_header_names_in_expose_headers_are_refused() {
    for name in [
        "Origin",
        "access-control-request-method",
        "Access-Control-Request-Headers",
        "Access-Control-Request-Private-Network",
    ] {
        let err = refused(&CorsConfig {
            expose_headers: strings(&["x-request-id", name]),
            ..origins(&["https://app.example.com"])
        });
        assert_eq!((err.key, err.index), ("expose_headers", Some(1)), "{name}");
        assert_eq!(
            err.kind,
            PolicyErrorKind::RequestHeaderInExposeHeaders(name.to_string())
        );
        assert!(err.to_string().contains("request header"), "{err}");
    }
}

#[test]
fn safelisted_response_headers_in_expose_headers_are_a_warning() {
    let policy = accepted(&CorsConfig {
        expose_headers: strings(&["x-request-id", "Content-Type", "cache-control"]),
        ..origins(&["https://app.example.com"])
    });
    let got: Vec<_> = policy
        .warnings()
        .iter()
        .map(|w| (w.key, w.index, w.value.as_str(), w.kind.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "expose_headers",
                Some(1),
                "Content-Type",
                PolicyWarningKind::SafelistedExposeHeader("Content-Type".into())
            ),
            (
                "expose_headers",
                Some(2),
                "cache-control",
                PolicyWarningKind::SafelistedExposeHeader("cache-control".into())
            ),
        ]
    );
    for w in policy.warnings() {
        assert!(w.message.contains("safelisted"), "{}", w.message);
    }
    // Every one of the seven names of Fetch's list.
    for name in [
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    ] {
        let policy = accepted(&CorsConfig {
            expose_headers: strings(&[name]),
            ..origins(&["https://app.example.com"])
        });
        assert_eq!(policy.warnings().len(), 1, "{name}");
    }
    // A name that is not safelisted: nothing to say.
    let policy = accepted(&CorsConfig {
        expose_headers: strings(&["content-encoding", "x-total-count"]),
        ..origins(&["https://app.example.com"])
    });
    assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
}

#[test]
fn max_age_minus_one_is_written_as_zero() {
    let policy = accepted(&CorsConfig {
        max_age: Some(-1),
        ..origins(&["https://app.example.com"])
    });
    assert_eq!(policy.max_age(), Some(-1));
    assert_eq!(
        policy.max_age_header().map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
}
