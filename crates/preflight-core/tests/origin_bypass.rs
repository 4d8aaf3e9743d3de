//! Origin bypasses: the probes of CORScanner and Corsy and
//! the spellings a browser never sends, against a policy that allows only
//! `https://example.com`, `https://*.example.com`, `https://foo.com` and
//! `https://bar.com`. Every probe must be refused twice: as an actual request
//! (`ActualDisallowed`) and as a preflight (`PreflightRefused(OriginNotAllowed)`).

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use preflight_core::{CorsConfig, CorsRequest, Decision, OnDisallowedOrigin, Policy, Refusal};

const ALLOWED: [&str; 4] = [
    "https://example.com",
    "https://*.example.com",
    "https://foo.com",
    "https://bar.com",
];

fn policy(credentials: bool) -> Policy {
    Policy::new(&CorsConfig {
        allow_origins: Some(ALLOWED.iter().map(|s| s.to_string()).collect()),
        allow_credentials: Some(credentials),
        ..CorsConfig::default()
    })
    .expect("the bypass policy is valid")
}

/// CORScanner's special_characters_bypass characters (`%60` and `%0b` as
/// written, percent-encoded).
const SPECIAL_CHARS: [&str; 25] = [
    "_", "-", "\"", "{", "}", "+", "^", "%60", "!", "~", "`", ";", "|", "&", "'", "(", ")", "*",
    ",", "$", "=", "+", "%0b", "%2e", "\\",
];

/// The hosts a probe is built around: every kind of allowed entry.
const TARGETS: [&str; 4] = ["example.com", "a.example.com", "foo.com", "bar.com"];

fn fixed_probes() -> Vec<Vec<u8>> {
    let fixed: &[&str] = &[
        // Named by the issue.
        "https://example.com.evil.com",
        "https://evilexample.com",
        "https://exampleacom",
        "https://example.com_.evil.com",
        "https://example.com%60.evil.com",
        "http://example.com",
        "null",
        "https://barfoo.com",
        "https://foo.com.bar.com",
        // docs/browser-model.md#origin-serialization: upper case is not how a browser serializes a host.
        "https://EXAMPLE.com",
        "https://Example.com",
        "https://EXAMPLE.COM",
        "HTTPS://example.com",
        "https://A.example.com",
        "https://a.Example.com",
        "https://FOO.com",
        // Trailing dots: a different origin in every browser.
        "https://example.com.",
        "https://a.example.com.",
        "https://foo.com.",
        // The default port is never serialized.
        "https://example.com:443",
        "https://a.example.com:443",
        "https://foo.com:443",
        "https://example.com:0443",
        "https://a.example.com:0443",
        // A port nobody listed.
        "https://example.com:8443",
        "https://a.example.com:8443",
        "https://example.com:",
        "https://a.example.com:",
        // Userinfo never appears in an origin, and here it hides the real host.
        "https://user@example.com",
        "https://a@b.example.com",
        "https://user:pw@a.example.com",
        "https://example.com@evil.com",
        "https://a.example.com@evil.com",
        "https://foo.com@evil.com",
        // Paths, queries and fragments.
        "https://example.com/",
        "https://a.example.com/",
        "https://evil.com/.example.com",
        "https://evil.com?.example.com",
        "https://evil.com#.example.com",
        "https://evil.com\\.example.com",
        "https://evil.com%2f.example.com",
        "https://evil.com:443.example.com",
        // The wildcard covers whole labels only, one or more, never none.
        "https://.example.com",
        "https://a..example.com",
        "https://*.example.com",
        "https://*",
        "*",
        "https://evil.com.example",
        "https://example",
        "https://com",
        // Corsy: post-domain, pre-domain, underscore, regex dot.
        "https://example.com.evil.com",
        "https://d3vexample.com",
        "https://d3vfoo.com",
        "https://examplexcom",
        "https://axexample.com",
        "https://fooxcom",
        // CORScanner: reflect, include, third parties, https trusts http.
        "https://evil.com",
        "https://xample.com",
        "https://oo.com",
        "https://ar.com",
        "https://whatever.github.io",
        "http://jsbin.com",
        "https://codepen.io",
        "https://jsfiddle.net",
        "http://www.webdevout.net",
        "https://repl.it",
        "http://a.example.com",
        "http://foo.com",
        "http://bar.com",
        // Other schemes and lists.
        "wss://example.com",
        "ftp://example.com",
        "file://",
        "https://example.com, https://evil.com",
        "https://example.com https://evil.com",
        " https://example.com",
        "https://example.com ",
        "\thttps://example.com",
        "",
        "https://",
        "https:example.com",
        "https:/example.com",
        "https:///example.com",
        "//example.com",
        "example.com",
        // Addresses.
        "https://127.0.0.1",
        "https://[::1]",
        "https://0x7f.0.0.1",
        // Punycode of a lookalike (Cyrillic `а`).
        "https://xn--exmple-4nf.com",
    ];
    let mut probes: Vec<Vec<u8>> = fixed.iter().map(|s| s.as_bytes().to_vec()).collect();
    // A lookalike host sent raw (obs-text bytes) and bytes that are not UTF-8.
    probes.push("https://exаmple.com".as_bytes().to_vec());
    probes.push("https://а.example.com".as_bytes().to_vec());
    probes.push(b"https://\xffexample.com".to_vec());
    probes.push(b"https://a.example.com\xff".to_vec());

    for target in TARGETS {
        let sld = target.trim_start_matches("a.");
        let derived = [
            // CORScanner prefix_match, suffix_match, include_match, trust_any_subdomain
            // from an attacker domain, https_trust_http.
            format!("https://{target}.evil.com"),
            format!("https://evil{sld}"),
            format!("https://{}", &sld[1..]),
            format!("https://evil.{target}.evil.com"),
            format!("http://{target}"),
            // not_escape_dot: the last `.` replaced by `a`.
            format!("https://{}", replace_last_dot(target, "a")),
            // Corsy unescaped regex: the first `.` replaced by `x`.
            format!("https://{}", target.replacen('.', "x", 1)),
            // Corsy post-domain wildcard and underscore, with an attacker domain.
            format!("https://{target}.evil.com"),
            format!("https://{target}_.evil.com"),
            format!("https://{target}%60.evil.com"),
            // Corsy pre-domain wildcard.
            format!("https://d3v{sld}"),
        ];
        probes.extend(derived.into_iter().map(String::into_bytes));
        for c in SPECIAL_CHARS {
            probes.push(format!("https://{target}{c}.evil.com").into_bytes());
            probes.push(format!("https://{target}{c}").into_bytes());
            // Before a subdomain (`-a.example.com`) the result is still a
            // name under example.com: not a bypass (see the test below).
            if !target.starts_with("a.") {
                probes.push(format!("https://{c}{target}").into_bytes());
            }
        }
    }
    probes
}

fn replace_last_dot(host: &str, with: &str) -> String {
    match host.rfind('.') {
        Some(i) => format!("{}{with}{}", &host[..i], &host[i + 1..]),
        None => host.to_string(),
    }
}

fn actual(policy: &Policy, origin: &HeaderValue) -> String {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, origin.clone());
    let method = Method::GET;
    let req = CorsRequest::new(&method, &headers);
    match policy.decide(&req, policy.methods()) {
        Decision::ActualDisallowed { on_disallowed } => {
            assert_eq!(on_disallowed, OnDisallowedOrigin::Forward);
            "refused".into()
        }
        other => format!("{other:?}"),
    }
}

fn preflight(policy: &Policy, origin: &HeaderValue) -> String {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, origin.clone());
    headers.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    let method = Method::OPTIONS;
    let req = CorsRequest::new(&method, &headers);
    match policy.decide(&req, policy.methods()) {
        Decision::PreflightRefused(Refusal::OriginNotAllowed) => "refused".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn every_probe_is_refused_as_actual_request_and_as_preflight() {
    let probes = fixed_probes();
    assert!(probes.len() > 250, "only {} probes", probes.len());
    let mut tried = 0;
    for credentials in [false, true] {
        let policy = policy(credentials);
        for probe in &probes {
            // A value hyper could never hand us (control bytes) is not a probe.
            let Ok(value) = HeaderValue::from_bytes(probe) else {
                continue;
            };
            tried += 1;
            let shown = String::from_utf8_lossy(probe);
            assert_eq!(
                actual(&policy, &value),
                "refused",
                "actual request from {shown:?}"
            );
            assert_eq!(
                preflight(&policy, &value),
                "refused",
                "preflight from {shown:?}"
            );
        }
    }
    assert!(tried > 500, "only {tried} probes were header values");
}

#[test]
fn the_listed_origins_are_allowed() {
    let allowed = [
        "https://example.com",
        "https://a.example.com",
        "https://a.b.example.com",
        "https://xn--bcher-kva.example.com",
        "https://a-b.example.com",
        "https://1.example.com",
        "https://foo.com",
        "https://bar.com",
        // Legitimate subdomains of example.com, however odd their names look.
        "https://evil.example.com",
        "https://example.com.example.com",
        "https://evilexample.example.com",
    ];
    for credentials in [false, true] {
        let policy = policy(credentials);
        for origin in allowed {
            let value = HeaderValue::from_static(origin);
            let mut headers = HeaderMap::new();
            headers.insert(ORIGIN, value.clone());
            let method = Method::GET;
            let req = CorsRequest::new(&method, &headers);
            match policy.decide(&req, policy.methods()) {
                Decision::ActualAllowed(a) => {
                    assert_eq!(a.allow_origin, origin, "cors-check: the origin is echoed");
                    assert_eq!(a.allow_credentials, credentials);
                    assert!(
                        a.vary_origin,
                        "vary-origin: a dynamic ACAO varies on Origin"
                    );
                }
                other => panic!("actual request from {origin}: {other:?}"),
            }
            assert!(
                preflight(&policy, &value).starts_with("PreflightAllowed"),
                "preflight from {origin}"
            );
        }
    }
}

/// matcher.rs: a subdomain wildcard covers letter-digit-hyphen labels only.
/// These names are under example.com, so allowing them would not be a bypass;
/// refusing them is the matcher's documented, conservative choice.
#[test]
fn the_wildcard_covers_only_letter_digit_hyphen_labels() {
    let policy = policy(true);
    for c in SPECIAL_CHARS {
        if c == "-" {
            continue;
        }
        let origin = format!("https://{c}a.example.com");
        let Ok(value) = HeaderValue::from_str(&origin) else {
            continue;
        };
        assert_eq!(actual(&policy, &value), "refused", "{origin}");
        assert_eq!(preflight(&policy, &value), "refused", "{origin}");
    }
    // A hyphen is a letter-digit-hyphen byte: `-a` is a label under example.com.
    let value = HeaderValue::from_static("https://-a.example.com");
    assert!(preflight(&policy, &value).starts_with("PreflightAllowed"));
}

#[test]
fn a_refused_probe_is_rejected_when_the_policy_says_reject() {
    let policy = Policy::new(&CorsConfig {
        allow_origins: Some(ALLOWED.iter().map(|s| s.to_string()).collect()),
        on_disallowed_origin: Some(OnDisallowedOrigin::Reject),
        ..CorsConfig::default()
    })
    .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        ORIGIN,
        HeaderValue::from_static("https://example.com.evil.com"),
    );
    let method = Method::POST;
    let req = CorsRequest::new(&method, &headers);
    assert!(matches!(
        policy.decide(&req, policy.methods()),
        Decision::ActualDisallowed {
            on_disallowed: OnDisallowedOrigin::Reject
        }
    ));
}

/// A subdomain pattern that loads must match the names under it. The suffix
/// is compared label by label as written (like an exact pattern); only the
/// labels the wildcard stands for must be letter-digit-hyphen.
#[test]
fn a_loaded_subdomain_pattern_is_never_dead() {
    let cases = [
        (
            "https://*.my_corp.example.com",
            "https://a.my_corp.example.com",
            true,
        ),
        (
            "https://*.my_corp.example.com",
            "https://a_b.my_corp.example.com",
            false,
        ),
        ("https://*.example.com.", "https://a.example.com.", true),
        ("https://*.example.com.", "https://a.example.com", false),
        ("https://*.example.com", "https://a.example.com.", false),
        ("https://*.example.com.", "https://example.com.", false),
    ];
    for (pattern, origin, allowed) in cases {
        let policy = Policy::new(&CorsConfig {
            allow_origins: Some(vec![pattern.to_string()]),
            ..CorsConfig::default()
        })
        .unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
        let got = preflight(&policy, &HeaderValue::from_static(origin));
        assert_eq!(
            got.starts_with("PreflightAllowed"),
            allowed,
            "{pattern} vs {origin}: {got}"
        );
    }
}
