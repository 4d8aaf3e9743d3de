//! The hot path allocates nothing: `Policy::decide` for an allowed actual
//! request and for an allowed preflight, and `Decision::apply` onto a
//! response map that already has room.
//!
//! A counting global allocator counts the allocations of the current thread
//! only, so tests running in parallel do not disturb each other.

use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY};
use http::{HeaderMap, HeaderValue, Method};
use preflight_core::{CorsConfig, CorsRequest, Decision, MethodSet, Policy};
use preflight_test_kit::alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn policy(origins: &[&str], credentials: bool) -> Policy {
    Policy::new(&CorsConfig {
        allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
        allow_headers: Some(vec!["content-type".into(), "x-custom".into()]),
        expose_headers: Some(vec!["x-request-id".into(), "x-total-count".into()]),
        allow_credentials: Some(credentials),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .unwrap()
}

fn request(origin: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_static(origin));
    headers
}

/// Decide, then apply onto a response that has room, counting both steps.
fn actual_allocations(
    policy: &Policy,
    origin: &'static str,
    upstream_vary: bool,
) -> (usize, usize) {
    let headers = request(origin);
    let method = Method::GET;
    let methods = policy.methods();
    let mut response = response_with_room();
    response.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if upstream_vary {
        response.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let (decide, decision) = allocations(|| {
        let req = CorsRequest::new(&method, &headers);
        policy.decide(&req, methods)
    });
    assert!(
        matches!(decision, Decision::ActualAllowed(_)),
        "{origin}: {decision:?}"
    );
    let (apply, ()) = allocations(|| decision.apply(&mut response));
    assert!(response.contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let (drop_count, ()) = allocations(|| drop(decision));
    assert_eq!(drop_count, 0);
    (decide, apply)
}

/// A response map with room for the CORS headers. `with_capacity` reserves
/// room for names; a second value of one name (`Vary: Origin` after the
/// upstream's `Vary`) lives in a separate list that only grows when used, so
/// it is given room the only way `HeaderMap` allows: use it once.
fn response_with_room() -> HeaderMap {
    let mut map = HeaderMap::with_capacity(16);
    map.append(VARY, HeaderValue::from_static("a"));
    map.append(VARY, HeaderValue::from_static("b"));
    map.remove(VARY);
    map
}

#[test]
fn the_counter_counts() {
    let (n, v) = allocations(|| vec![1u8; 10]);
    assert_eq!(n, 1);
    assert_eq!(v.len(), 10);
}

#[test]
fn allowed_actual_request_decides_and_applies_without_allocating() {
    let credentialed = policy(
        &[
            "https://app.example.com",
            "https://*.example.com",
            "http://localhost:*",
        ],
        true,
    );
    let wildcard = policy(&["*"], false);
    let cases: [(&Policy, &'static str); 5] = [
        (&credentialed, "https://app.example.com"),
        (&credentialed, "https://a.b.example.com"),
        (&credentialed, "http://localhost:5173"),
        (&wildcard, "https://anyone.test"),
        (&wildcard, "null"),
    ];
    for (policy, origin) in cases {
        for upstream_vary in [false, true] {
            assert_eq!(
                actual_allocations(policy, origin, upstream_vary),
                (0, 0),
                "(decide, apply) allocations for {origin}, upstream Vary {upstream_vary}"
            );
        }
    }
}

/// What a fresh map costs: nothing, except the one allocation of the map's own
/// extra-value list when `Vary: Origin` joins an upstream `Vary` line.
#[test]
fn apply_onto_a_fresh_map_allocates_only_for_a_second_vary_line() {
    let policy = policy(&["https://app.example.com"], true);
    let headers = request("https://app.example.com");
    let method = Method::GET;
    let decision = policy.decide(&CorsRequest::new(&method, &headers), policy.methods());
    for (upstream_vary, want) in [(None, 0), (Some("Accept-Encoding"), 1), (Some("origin"), 0)] {
        let mut response = HeaderMap::with_capacity(16);
        if let Some(v) = upstream_vary {
            response.insert(VARY, HeaderValue::from_static(v));
        }
        let (n, ()) = allocations(|| decision.apply(&mut response));
        assert_eq!(n, want, "upstream Vary {upstream_vary:?}");
    }
}

#[test]
fn disallowed_and_not_cors_requests_do_not_allocate() {
    let policy = policy(&["https://app.example.com"], true);
    let method = Method::POST;
    for headers in [request("https://evil.com"), HeaderMap::new()] {
        let mut response = response_with_room();
        let (n, ()) = allocations(|| {
            let req = CorsRequest::new(&method, &headers);
            policy.decide(&req, policy.methods()).apply(&mut response);
        });
        assert_eq!(n, 0, "{headers:?}");
        assert_eq!(response.get(VARY).unwrap(), "Origin");
    }
}

/// A static `*` is written on a response without `Origin` too (Fetch, "CORS
/// protocol and HTTP caches"): from shared values, so still for free.
#[test]
fn a_static_wildcard_on_a_request_without_origin_does_not_allocate() {
    let policy = policy(&["*"], false);
    let method = Method::GET;
    let headers = HeaderMap::new();
    for upstream_vary in [false, true] {
        let mut response = response_with_room();
        if upstream_vary {
            response.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        let (n, ()) = allocations(|| {
            let req = CorsRequest::new(&method, &headers);
            policy.decide(&req, policy.methods()).apply(&mut response);
        });
        assert_eq!(n, 0, "upstream Vary {upstream_vary}");
        assert_eq!(
            response
                .get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .unwrap(),
            "*"
        );
        assert_eq!(
            response
                .get(http::header::ACCESS_CONTROL_EXPOSE_HEADERS)
                .unwrap(),
            "x-request-id, x-total-count"
        );
        let vary: Vec<_> = response.get_all(VARY).iter().collect();
        assert!(
            !vary
                .iter()
                .any(|v| v.as_bytes().eq_ignore_ascii_case(b"origin")),
            "{vary:?}"
        );
    }
}

/// An allowed preflight whose `Access-Control-Request-Headers` is already in
/// the form browsers send is echoed as it is, so it does not allocate either.
#[test]
fn allowed_preflight_with_a_canonical_header_list_does_not_allocate() {
    let policy = policy(&["https://app.example.com"], true);
    let route = policy.methods_for_route(&MethodSet::parse(&["GET", "PUT"]).unwrap());
    let mut headers = request("https://app.example.com");
    headers.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    headers.insert(
        ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_static("content-type,x-custom"),
    );
    let method = Method::OPTIONS;
    let mut response = HeaderMap::with_capacity(16);
    let (n, ()) = allocations(|| {
        let req = CorsRequest::new(&method, &headers);
        match policy.decide(&req, &route) {
            Decision::PreflightAllowed(p) => p.write(&mut response),
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(n, 0);
    assert_eq!(
        response.get("access-control-allow-methods").unwrap(),
        "GET, PUT"
    );
}

/// The policy of `benches/decide.rs` (`preflight_allowed/decide`).
fn bench_policy() -> Policy {
    Policy::new(&CorsConfig {
        allow_origins: Some(vec![
            "https://app.example.com".into(),
            "https://*.example.com".into(),
            "http://localhost:*".into(),
        ]),
        allow_headers: Some(vec![
            "content-type".into(),
            "x-custom".into(),
            "authorization".into(),
        ]),
        expose_headers: Some(vec!["x-request-id".into()]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .unwrap()
}

/// The headers of a real Chromium preflight, in its order, each value a
/// slice of one shared buffer (the request head), as hyper reads them.
fn chromium_preflight() -> HeaderMap {
    const HEAD: &[(&str, &str)] = &[
        ("host", "api.example.com"),
        ("connection", "keep-alive"),
        ("accept", "*/*"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type,x-custom"),
        ("origin", "https://app.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
        ),
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-dest", "empty"),
        ("referer", "https://app.example.com/"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "en-US,en;q=0.9"),
    ];
    let mut raw = Vec::new();
    let mut spans = Vec::new();
    for (name, value) in HEAD {
        raw.extend_from_slice(name.as_bytes());
        raw.extend_from_slice(b": ");
        spans.push((name, raw.len(), raw.len() + value.len()));
        raw.extend_from_slice(value.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    let buffer = bytes::Bytes::from(raw);
    let mut headers = HeaderMap::new();
    for (name, start, end) in spans {
        let value = HeaderValue::from_maybe_shared(buffer.slice(start..end)).unwrap();
        headers.append(http::HeaderName::from_static(name), value);
    }
    headers
}

/// `CorsRequest::new` and `Policy::decide` of an allowed preflight, and the
/// drop of the answer, for the benchmark's request and for Chromium's: no
/// allocation, and the answer is the one a browser needs.
#[test]
fn allowed_preflight_decision_does_not_allocate() {
    let policy = bench_policy();
    let route = policy.methods_for_route(&MethodSet::parse(&["GET", "PUT", "DELETE"]).unwrap());
    let mut bench_request = request("https://app.example.com");
    bench_request.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    bench_request.insert(
        ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_static("content-type,x-custom"),
    );
    let method = Method::OPTIONS;
    for (what, headers) in [
        ("the benchmark's request", bench_request),
        ("Chromium's preflight", chromium_preflight()),
    ] {
        // Twice: a first decision may not set up anything a second reuses.
        for round in 0..2 {
            let (n, decision) = allocations(|| {
                let req = CorsRequest::new(&method, &headers);
                policy.decide(&req, &route)
            });
            assert_eq!(n, 0, "{what}, round {round}: decide");
            let Decision::PreflightAllowed(p) = &decision else {
                panic!("{what}: {decision:?}");
            };
            assert_eq!(p.allow_origin, "https://app.example.com", "{what}");
            assert!(p.allow_credentials, "{what}");
            assert_eq!(p.allow_methods, "GET, PUT, DELETE", "{what}");
            assert_eq!(
                p.allow_headers.as_ref().unwrap(),
                "content-type,x-custom",
                "{what}"
            );
            assert_eq!(p.max_age.as_ref().unwrap(), "600", "{what}");
            let (n, ()) = allocations(|| drop(decision));
            assert_eq!(n, 0, "{what}, round {round}: drop");
        }
    }
}
