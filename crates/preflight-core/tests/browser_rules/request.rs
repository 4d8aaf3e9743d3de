//! What fetch() makes of a request before anything is sent: methods, request
//! headers, no-cors, when a preflight is needed and what it looks like.

use super::*;

#[test]
fn r01_method_normalization() {
    let p = planned(&request("patch", &api("/x")));
    assert_eq!(p.method, "patch");
    assert!(p.needs_preflight, "patch is not safelisted");
    let upper = h(&[acao_app(), ("Access-Control-Allow-Methods", "PATCH")]);
    assert_eq!(
        name_of(&evaluate_preflight(&p, 204, &upper)),
        Some("MethodDisallowedByPreflightResponse")
    );
    let exact = h(&[acao_app(), ("Access-Control-Allow-Methods", "patch")]);
    assert!(evaluate_preflight(&p, 204, &exact).is_ok());
    // A normalized method that is safelisted needs no preflight.
    assert!(!planned(&request("post", &api("/x"))).needs_preflight);
}

#[test]
fn r02_forbidden_methods_throw() {
    for m in ["CONNECT", "trace", "Track"] {
        assert!(is_forbidden_method(m));
        let err = plan(&request(m, &api("/x")), Profile::Chromium).unwrap_err();
        assert_eq!(err.error, Reason::Net(NetError::TypeError), "{m}");
        assert_eq!(err.stage, Stage::Request);
    }
    assert!(!is_forbidden_method("TRACKING"));
}

#[test]
fn r03_safelisted_request_headers() {
    let spec = Profile::Spec;
    let cases = [
        ("Content-Type", "text/plain;charset=utf-8", true),
        ("content-type", "MULTIPART/form-data; boundary=x", true),
        ("content-type", "text/plain,x/x", false),
        ("content-type", "application/json", false),
        ("content-type", "text/plain; a=\"b\"", false), // `"` is an unsafe byte
        ("range", "bytes=0-", true),
        ("range", "bytes=-500", false),
        ("range", "bytes=5-4", false),
        ("range", "bytes = 0-", false),
        ("accept-language", "en-US,en;q=0.9", true),
        ("accept-language", "en_US", false),
        ("content-language", "de-DE", true),
        ("accept", "text/html, */*;q=0.8", true),
        ("x-anything", "1", false),
    ];
    for (name, value, want) in cases {
        assert_eq!(
            is_cors_safelisted_request_header(name, value, spec),
            want,
            "{name}: {value}"
        );
    }
    // 128 bytes is the limit, for every name.
    assert!(is_cors_safelisted_request_header(
        "accept",
        &"a".repeat(128),
        spec
    ));
    assert!(!is_cors_safelisted_request_header(
        "accept",
        &"a".repeat(129),
        spec
    ));
    assert!(!is_cors_safelisted_request_header(
        "Save-Data",
        &"on".repeat(65),
        Profile::Chromium
    ));
}

#[test]
fn r04_unsafe_bytes() {
    assert!(is_cors_safelisted_request_header(
        "accept",
        "a\tb",
        Profile::Spec
    ));
    assert!(!is_cors_safelisted_request_header(
        "accept",
        "a{b",
        Profile::Spec
    ));
}

#[test]
fn r05_unsafe_names_and_the_1024_byte_rule() {
    let v128 = "a".repeat(128);
    let mut headers: Vec<(String, String)> = Vec::new();
    for _ in 0..4 {
        headers.push(("Accept".into(), v128.clone()));
        headers.push(("Accept-Language".into(), v128.clone()));
    }
    // 8 × 128 = 1024 bytes: still safelisted.
    assert!(cors_unsafe_request_header_names(&headers, Profile::Spec).is_empty());
    // One more byte: every safelisted name becomes unsafe.
    headers.push(("Content-Language".into(), "a".into()));
    assert_eq!(
        cors_unsafe_request_header_names(&headers, Profile::Spec),
        vec!["accept", "accept-language", "content-language"]
    );
    let mixed = h(&[("X-B", "1"), ("x-a", "1"), ("X-A", "2"), ("accept", "*/*")]);
    assert_eq!(
        cors_unsafe_request_header_names(&mixed, Profile::Spec),
        vec!["x-a", "x-b"]
    );
}

#[test]
fn r06_forbidden_request_headers_are_dropped_silently() {
    for name in [
        "Cookie",
        "HOST",
        "origin",
        "Access-Control-Request-Method",
        "Sec-Fetch-Site",
        "Proxy-Authorization",
        "Keep-Alive",
    ] {
        assert!(is_forbidden_request_header(name, "x"), "{name}");
    }
    let req = request("GET", &api("/x"))
        .header("Cookie", "a=1")
        .header("Sec-Custom", "1")
        .header("X-HTTP-Method-Override", "TRACE")
        .header("X-Method-Override", "PATCH")
        .header("X-Ok", "1");
    let p = planned(&req);
    assert_eq!(
        p.dropped_headers,
        vec!["Cookie", "Sec-Custom", "X-HTTP-Method-Override"]
    );
    assert_eq!(p.unsafe_headers, vec!["x-method-override", "x-ok"]);
}

#[test]
fn r08_authorization_is_the_non_wildcard_name() {
    let p = planned_in(
        &request("GET", &api("/x")).header("Authorization", "Bearer t"),
        Profile::Spec,
    );
    let star = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "*"),
    ]);
    assert_eq!(
        name_of(&evaluate_preflight(&p, 204, &star)),
        Some("HeaderDisallowedByPreflightResponse")
    );
}

#[test]
fn r10_no_cors() {
    let put = request("PUT", &api("/x")).mode(RequestMode::NoCors);
    assert_eq!(
        plan(&put, Profile::Chromium).unwrap_err().error,
        Reason::Net(NetError::TypeError)
    );
    let manual = request("GET", &api("/x"))
        .mode(RequestMode::NoCors)
        .redirect(RedirectMode::Manual);
    assert_eq!(
        plan(&manual, Profile::Chromium).unwrap_err().cors_error(),
        Some(CorsError::NoCorsRedirectModeNotFollow)
    );
    let req = request("POST", &api("/x"))
        .mode(RequestMode::NoCors)
        .header("Accept", "*/*")
        .header("Accept-Language", "en")
        .header("Accept-Language", "@") // the combined value `en, @` is not safelisted
        .header("Content-Type", "application/json")
        .header("Range", "bytes=0-")
        .header("X-Custom", "1");
    let p = planned(&req);
    assert_eq!(
        p.headers,
        h(&[("Accept", "*/*"), ("Accept-Language", "en")])
    );
    assert!(!p.needs_preflight);
    assert_eq!(p.tainting, Tainting::Opaque);
    let ok = check_actual(&p, 200, &h(&[("X-Secret", "1")])).unwrap();
    assert_eq!(ok.response_type, ResponseType::Opaque);
    assert_eq!(ok.status, 0);
    assert!(ok.exposed_headers.is_empty());
}

#[test]
fn r11_report_content_types_still_preflight_from_fetch() {
    // The exceptions are for browser features (CSP reports...), not fetch().
    let p =
        planned(&request("POST", &api("/report")).header("Content-Type", "application/csp-report"));
    assert!(p.needs_preflight);
    assert_eq!(p.unsafe_headers, vec!["content-type"]);
}

#[test]
fn r12_when_a_preflight_is_needed() {
    let json = request("POST", &api("/x")).header("Content-Type", "application/json");
    assert!(planned(&json).needs_preflight);
    let text = request("POST", &api("/x")).header("Content-Type", "text/plain");
    assert!(!planned(&text).needs_preflight);
    let same_origin = request("PUT", &format!("{APP}/x")).header("X-A", "1");
    assert!(!planned(&same_origin).needs_preflight);
    let forced = request("GET", &api("/upload")).force_preflight(true);
    assert!(planned(&forced).needs_preflight);
    // A cached preflight covers the next request.
    let p = planned(&json);
    let ok = evaluate_preflight(
        &p,
        204,
        &h(&[acao_app(), ("Access-Control-Allow-Headers", "content-type")]),
    )
    .unwrap();
    let mut cache = PreflightCache::new(Profile::Chromium);
    cache.store(&p, &ok, Duration::ZERO);
    assert!(cache.covers(&p, Duration::from_secs(1)));
}

#[test]
fn r13_preflight_shape() {
    let req = request("PUT", &api("/x"))
        .header("X-B", "1")
        .header("Content-Type", "application/json")
        .header("x-a", "2");
    let p = planned(&req);
    assert_eq!(
        p.preflight_headers,
        h(&[
            ("Accept", "*/*"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type,x-a,x-b"),
            ("Origin", APP),
            ("Sec-Fetch-Mode", "cors"),
        ])
    );
    let spec = planned_in(&request("DELETE", &api("/x")), Profile::Spec);
    assert_eq!(
        spec.preflight_headers,
        h(&[
            ("Accept", "*/*"),
            ("Access-Control-Request-Method", "DELETE"),
            ("Origin", APP),
        ])
    );
    // The preflight goes to the same URL, without credentials.
    let mut cache = PreflightCache::new(Profile::Chromium);
    let trace = simulate(
        &req.clone().credentials(CredentialsMode::Include),
        Profile::Chromium,
        &mut cache,
        Duration::ZERO,
        |_| ServerResponse::new(403, &[]),
    );
    let pf = &trace.exchanges[0].request;
    assert_eq!(pf.kind, ExchangeKind::Preflight);
    assert_eq!(pf.method, "OPTIONS");
    assert_eq!(pf.url.as_str(), api("/x"));
    assert!(!pf.credentials);
}
