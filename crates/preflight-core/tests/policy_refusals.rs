//! docs/behaviour.md, "What is refused at load" (docs/configuration.md): every refusal that belongs to
//! the `[cors]` table, each with its typed kind, its key and its list index,
//! and the settings next to it that must still load.

use preflight_core::origin::OriginError;
use preflight_core::{CorsConfig, MethodError, PatternError, Policy, PolicyError, PolicyErrorKind};

mod policy_common;

use policy_common::*;

fn assert_error(
    err: &PolicyError,
    key: &str,
    index: Option<usize>,
    value: &str,
    kind: PolicyErrorKind,
) {
    assert_eq!(err.key, key, "{err}");
    assert_eq!(err.index, index, "{err}");
    assert_eq!(err.value, value, "{err}");
    assert_eq!(err.kind, kind, "{err}");
}

// --- allow_origins ---------------------------------------------------------

#[test]
fn wildcard_origin_with_credentials_is_refused() {
    let err = refused(&credentialed(&["https://a.example.com", "*"]));
    assert_error(
        &err,
        "allow_origins",
        Some(1),
        "*",
        PolicyErrorKind::WildcardWithCredentials,
    );
    assert!(
        err.to_string().starts_with("allow_origins[1] = \"*\": "),
        "{err}"
    );
    // Without credentials `*` is fine.
    assert!(accepted(&origins(&["*"])).is_static_wildcard());
}

#[test]
fn null_origin_is_refused_unless_dangerously_allowed() {
    let err = refused(&origins(&["https://a.example.com", "null"]));
    assert_error(
        &err,
        "allow_origins",
        Some(1),
        "null",
        PolicyErrorKind::NullOrigin,
    );
    let err = refused(&credentialed(&["null"]));
    assert_error(
        &err,
        "allow_origins",
        Some(0),
        "null",
        PolicyErrorKind::NullOrigin,
    );
    accepted(&CorsConfig {
        dangerously_allow_null_origin: Some(true),
        ..origins(&["null"])
    });
}

#[test]
fn public_suffix_wildcards_are_refused_unless_dangerously_allowed() {
    for (pattern, suffix) in [
        ("https://*.github.io", "github.io"),
        ("https://*.co.uk", "co.uk"),
        ("https://*.com", "com"),
        ("https://*.herokuapp.com", "herokuapp.com"),
        ("http://*.co.uk:*", "co.uk"),
    ] {
        let err = refused(&origins(&["https://app.example.com", pattern]));
        assert_error(
            &err,
            "allow_origins",
            Some(1),
            pattern,
            PolicyErrorKind::PublicSuffixWildcard(suffix.into()),
        );
        accepted(&CorsConfig {
            dangerously_allow_public_suffix_wildcard: Some(true),
            ..origins(&[pattern])
        });
    }
    // A registrable domain below a public suffix is fine.
    for ok in [
        "https://*.example.com",
        "https://*.example.co.uk",
        "https://*.me.github.io",
    ] {
        accepted(&origins(&[ok]));
    }
}

#[test]
fn insecure_origin_with_credentials_is_refused_unless_loopback_or_dangerously_allowed() {
    for (i, pattern) in [
        "http://app.example.com",
        "http://*.example.com",
        "http://example.com:*",
    ]
    .into_iter()
    .enumerate()
    {
        let mut list = vec!["https://app.example.com"; i];
        list.push(pattern);
        let err = refused(&credentialed(&list));
        assert_error(
            &err,
            "allow_origins",
            Some(i),
            pattern,
            PolicyErrorKind::InsecureOriginWithCredentials,
        );
        accepted(&CorsConfig {
            dangerously_allow_insecure_origins_with_credentials: Some(true),
            ..credentialed(&[pattern])
        });
        // Without credentials, http origins are allowed.
        accepted(&origins(&[pattern]));
    }
    // Loopback origins are potentially trustworthy even over http.
    accepted(&credentialed(&[
        "http://localhost:*",
        "http://127.0.0.1:3000",
        "http://127.0.0.1",
        "http://[::1]:8080",
        "http://localhost",
        "http://app.localhost:5173",
    ]));
}

#[test]
fn malformed_origins_are_refused_with_the_canonical_form() {
    let cases = [
        (
            "https://example.com/app",
            PatternError::Origin(OriginError::HasPath("https://example.com".into())),
        ),
        (
            "https://example.com/",
            PatternError::Origin(OriginError::HasPath("https://example.com".into())),
        ),
        (
            "https://user@example.com",
            PatternError::Origin(OriginError::HasUserinfo("https://example.com".into())),
        ),
        (
            "https://user:pw@example.com",
            PatternError::Origin(OriginError::HasUserinfo("https://example.com".into())),
        ),
        (
            "https://example.com:443",
            PatternError::Origin(OriginError::DefaultPort("https://example.com".into())),
        ),
        (
            "http://example.com:80",
            PatternError::Origin(OriginError::DefaultPort("http://example.com".into())),
        ),
        (
            "http://0x7f.0.0.1",
            PatternError::Origin(OriginError::NotCanonical("http://127.0.0.1".into())),
        ),
        (
            "http://127.1:3000",
            PatternError::Origin(OriginError::NotCanonical("http://127.0.0.1:3000".into())),
        ),
        (
            "https://EXAMPLE.com",
            PatternError::Origin(OriginError::NotCanonical("https://example.com".into())),
        ),
        (
            "HTTPS://example.com",
            PatternError::Origin(OriginError::NotCanonical("https://example.com".into())),
        ),
        (
            "https://*.Example.com",
            PatternError::Origin(OriginError::NotCanonical("https://x.example.com".into())),
        ),
        (
            "ftp://example.com",
            PatternError::Origin(OriginError::UnsupportedScheme("ftp".into())),
        ),
        ("https://*example.com", PatternError::MisplacedWildcard),
        ("https://a.*.example.com", PatternError::MisplacedWildcard),
    ];
    for (pattern, want) in cases {
        let err = refused(&origins(&["https://ok.example.com", pattern]));
        assert_error(
            &err,
            "allow_origins",
            Some(1),
            pattern,
            PolicyErrorKind::MalformedOrigin(want),
        );
    }
    // A wildcard over an address never gets past the URL parser.
    for pattern in ["https://*.10.0.0.1", "https://*.[::1]", "https://*.127.1"] {
        let err = refused(&origins(&[pattern]));
        assert!(
            matches!(err.kind, PolicyErrorKind::MalformedOrigin(_)),
            "{err:?}"
        );
    }
    let err = refused(&origins(&["example.com"]));
    assert!(
        matches!(
            err.kind,
            PolicyErrorKind::MalformedOrigin(PatternError::Origin(OriginError::NotAUrl(_)))
        ),
        "{err:?}"
    );
    let err = refused(&origins(&[""]));
    assert_error(
        &err,
        "allow_origins",
        Some(0),
        "",
        PolicyErrorKind::MalformedOrigin(PatternError::Origin(OriginError::Empty)),
    );
}

/// `*.` must be followed by a domain: `https://*.` would stand for every host
/// written with a trailing dot, a wildcard over the DNS root.
#[test]
fn a_wildcard_without_a_domain_is_refused_even_dangerously() {
    for pattern in [
        "https://*.",
        "https://*.:*",
        "http://*..",
        "https://*..:8443",
    ] {
        let err = refused(&CorsConfig {
            dangerously_allow_public_suffix_wildcard: Some(true),
            ..origins(&[pattern])
        });
        assert_error(
            &err,
            "allow_origins",
            Some(0),
            pattern,
            PolicyErrorKind::MalformedOrigin(PatternError::MisplacedWildcard),
        );
    }
}

#[test]
fn missing_origins_are_refused() {
    let err = refused(&CorsConfig::default());
    assert_error(
        &err,
        "allow_origins",
        None,
        "(missing)",
        PolicyErrorKind::MissingOrigins,
    );
}

// --- allow_methods -----------------------------------------------------------

#[test]
fn forbidden_methods_are_refused_in_any_case() {
    for name in ["CONNECT", "connect", "TRACE", "Trace", "TRACK", "tRaCk"] {
        let err = refused(&CorsConfig {
            allow_methods: strings(&["GET", name]),
            ..origins(&["https://app.example.com"])
        });
        assert_error(
            &err,
            "allow_methods",
            Some(1),
            name,
            PolicyErrorKind::Method(MethodError::Forbidden(name.into())),
        );
    }
}

#[test]
fn invalid_methods_are_refused() {
    for name in ["GE T", "", "GET,POST", "GET\n", "(GET)", "GÉT"] {
        let err = refused(&CorsConfig {
            allow_methods: strings(&[name]),
            ..origins(&["https://app.example.com"])
        });
        assert_error(
            &err,
            "allow_methods",
            Some(0),
            name,
            PolicyErrorKind::Method(MethodError::Invalid(name.into())),
        );
    }
    let err = refused(&CorsConfig {
        allow_methods: Some(vec![]),
        ..origins(&["https://app.example.com"])
    });
    assert_error(
        &err,
        "allow_methods",
        None,
        "[]",
        PolicyErrorKind::EmptyMethods,
    );
    // Case is kept: `patch` is a method of its own (docs/browser-model.md#safelisted-method, #method-allowed).
    let policy = accepted(&CorsConfig {
        allow_methods: strings(&["GET", "patch", "X-CUSTOM"]),
        ..origins(&["https://app.example.com"])
    });
    assert_eq!(policy.methods().header_value(), "GET, patch, X-CUSTOM");
}

// --- allow_headers / expose_headers -------------------------------------------

#[test]
fn forbidden_request_headers_are_refused_in_allow_headers() {
    for name in [
        "cookie",
        "Cookie",
        "host",
        "sec-foo",
        "Sec-Fetch-Mode",
        "proxy-bar",
        "Proxy-Authorization",
        "origin",
        "content-length",
        "access-control-request-headers",
    ] {
        let err = refused(&CorsConfig {
            allow_headers: strings(&["content-type", name]),
            ..origins(&["https://app.example.com"])
        });
        assert_error(
            &err,
            "allow_headers",
            Some(1),
            name,
            PolicyErrorKind::ForbiddenHeader(name.into()),
        );
    }
    // Names that merely contain a forbidden one are fine.
    accepted(&CorsConfig {
        allow_headers: strings(&["x-cookie", "x-sec-foo", "hostname", "authorization", "*"]),
        ..origins(&["https://app.example.com"])
    });
}

#[test]
fn invalid_header_names_are_refused_in_allow_headers_and_expose_headers() {
    for name in ["bad name", "x:y", "", "x-a,x-b", "é", "x\ty"] {
        for key in ["allow_headers", "expose_headers"] {
            let mut config = origins(&["https://app.example.com"]);
            let list = strings(&["x-ok", name]);
            if key == "allow_headers" {
                config.allow_headers = list;
            } else {
                config.expose_headers = list;
            }
            let err = refused(&config);
            assert_error(
                &err,
                key,
                Some(1),
                name,
                PolicyErrorKind::InvalidHeaderName(name.into()),
            );
        }
    }
}

#[test]
fn set_cookie_is_refused_in_expose_headers() {
    for name in ["set-cookie", "Set-Cookie", "SET-COOKIE2"] {
        let err = refused(&CorsConfig {
            expose_headers: strings(&["x-request-id", name]),
            ..origins(&["https://app.example.com"])
        });
        assert_error(
            &err,
            "expose_headers",
            Some(1),
            name,
            PolicyErrorKind::ExposeSetCookie,
        );
    }
}

#[test]
fn wildcard_expose_with_credentials_is_refused() {
    let err = refused(&CorsConfig {
        expose_headers: strings(&["x-request-id", "*"]),
        ..credentialed(&["https://app.example.com"])
    });
    assert_error(
        &err,
        "expose_headers",
        Some(1),
        "*",
        PolicyErrorKind::WildcardExposeWithCredentials,
    );
    // docs/browser-model.md#exposed-headers: without credentials `*` exposes everything and is allowed.
    let policy = accepted(&CorsConfig {
        expose_headers: strings(&["*"]),
        ..origins(&["https://app.example.com"])
    });
    assert_eq!(policy.expose_headers(), ["*"]);
}

// --- max_age, preflight_status ------------------------------------------------

#[test]
fn max_age_outside_minus_one_to_one_day_is_refused() {
    for secs in [-2, 86_401, i64::MIN, i64::MAX] {
        let err = refused(&CorsConfig {
            max_age: Some(secs),
            ..origins(&["https://app.example.com"])
        });
        assert_error(
            &err,
            "max_age",
            None,
            &secs.to_string(),
            PolicyErrorKind::MaxAgeOutOfRange,
        );
    }
    for secs in [-1, 0, 600, 7_200, 86_400] {
        let policy = accepted(&CorsConfig {
            max_age: Some(secs),
            ..origins(&["https://app.example.com"])
        });
        assert_eq!(policy.max_age(), Some(secs));
        let warned = policy.warnings().iter().any(|w| w.key == "max_age");
        assert_eq!(
            warned,
            secs > 7_200,
            "max_age = {secs}: {:?}",
            policy.warnings()
        );
    }
    // Above Chromium's cap: loads, with a warning naming the key and value.
    let policy = accepted(&CorsConfig {
        max_age: Some(7_201),
        ..origins(&["https://app.example.com"])
    });
    let [warning] = policy.warnings() else {
        panic!("{:?}", policy.warnings())
    };
    assert_eq!((warning.key, warning.value.as_str()), ("max_age", "7201"));
    assert!(warning.message.contains("7200"), "{}", warning.message);
}

#[test]
fn preflight_status_other_than_200_or_204_is_refused() {
    for status in [0, 100, 201, 202, 206, 299, 302, 403, 999] {
        let err = refused(&CorsConfig {
            preflight_status: Some(status),
            ..origins(&["https://app.example.com"])
        });
        assert_error(
            &err,
            "preflight_status",
            None,
            &status.to_string(),
            PolicyErrorKind::InvalidPreflightStatus,
        );
    }
    for status in [200, 204] {
        let policy = accepted(&CorsConfig {
            preflight_status: Some(status),
            ..origins(&["https://app.example.com"])
        });
        assert_eq!(policy.preflight_status().as_u16(), status);
    }
    assert_eq!(
        accepted(&origins(&["https://app.example.com"]))
            .preflight_status()
            .as_u16(),
        204
    );
}

// --- unknown keys ---------------------------------------------------------------

#[test]
fn unknown_keys_are_refused_when_reading_toml() {
    for (toml_text, key) in [
        (
            "allow_origin = [\"https://app.example.com\"]",
            "allow_origin",
        ),
        (
            "allow_origins = [\"https://a.example.com\"]\nalow_credentials = true",
            "alow_credentials",
        ),
        (
            "allow_origins = [\"https://a.example.com\"]\nmaxAge = 5",
            "maxAge",
        ),
        (
            "allow_origins = [\"https://a.example.com\"]\ndangerously_allow_everything = true",
            "dangerously_allow_everything",
        ),
    ] {
        let err = toml::from_str::<CorsConfig>(toml_text).expect_err(toml_text);
        let message = err.to_string();
        assert!(message.contains("unknown field"), "{message}");
        assert!(message.contains(&format!("`{key}`")), "{message}");
        // toml reports where the key is.
        assert!(err.span().is_some(), "{message}");
    }
    let err = toml::from_str::<CorsConfig>("on_disallowed_origin = \"drop\"").unwrap_err();
    assert!(err.to_string().contains("unknown variant"), "{err}");
    // The documented example of docs/configuration.md loads.
    let config: CorsConfig = toml::from_str(
        r#"
        allow_origins = ["https://app.example.com", "https://*.example.com", "http://localhost:*"]
        allow_headers = ["content-type", "authorization"]
        expose_headers = ["x-request-id"]
        allow_credentials = true
        max_age = 600
        preflight_status = 204
        on_disallowed_origin = "reject"
        debug = false
        "#,
    )
    .unwrap();
    accepted(&config);
}

// --- all at once --------------------------------------------------------------------

#[test]
fn every_error_is_reported_at_once() {
    let config = CorsConfig {
        allow_origins: strings(&[
            "https://ok.example.com",
            "*",
            "null",
            "https://*.github.io",
            "http://app.example.com",
            "https://example.com/",
        ]),
        allow_methods: strings(&["GET", "TRACE"]),
        allow_headers: strings(&["content-type", "cookie", "bad name"]),
        expose_headers: strings(&["set-cookie", "*"]),
        allow_credentials: Some(true),
        max_age: Some(86_401),
        preflight_status: Some(302),
        ..CorsConfig::default()
    };
    let errors = Policy::new(&config).expect_err("everything is wrong");
    let got: Vec<(&str, Option<usize>, String)> = errors
        .iter()
        .map(|e| (e.key, e.index, kind_name(&e.kind)))
        .collect();
    let want: Vec<(&str, Option<usize>, String)> = [
        ("allow_origins", Some(1), "WildcardWithCredentials"),
        ("allow_origins", Some(2), "NullOrigin"),
        ("allow_origins", Some(3), "PublicSuffixWildcard"),
        ("allow_origins", Some(4), "InsecureOriginWithCredentials"),
        ("allow_origins", Some(5), "MalformedOrigin"),
        ("allow_methods", Some(1), "Method"),
        ("allow_headers", Some(1), "ForbiddenHeader"),
        ("allow_headers", Some(2), "InvalidHeaderName"),
        ("expose_headers", Some(0), "ExposeSetCookie"),
        ("expose_headers", Some(1), "WildcardExposeWithCredentials"),
        ("max_age", None, "MaxAgeOutOfRange"),
        ("preflight_status", None, "InvalidPreflightStatus"),
    ]
    .into_iter()
    .map(|(k, i, n)| (k, i, n.to_string()))
    .collect();
    assert_eq!(got, want);
}

fn kind_name(kind: &PolicyErrorKind) -> String {
    let debug = format!("{kind:?}");
    debug
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_string()
}
