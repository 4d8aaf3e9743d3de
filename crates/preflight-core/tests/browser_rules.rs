//! One or more cases of our own for every rule R1..R38 of CORS-RULES.md, named
//! by rule, plus property tests: the MIME parser and the safelist never panic,
//! and R5's output is always sorted, lower case and de-duplicated.

use std::time::Duration;

use preflight_core::browser::{
    check_actual, cors_check, cors_exposed_headers, cors_unsafe_request_header_names,
    evaluate_preflight, follow_redirect, is_cors_non_wildcard_request_header_name,
    is_cors_safelisted_request_header, is_cors_safelisted_response_header_name,
    is_cors_unsafe_request_header_byte, is_forbidden_method, is_forbidden_request_header,
    is_forbidden_response_header_name, normalize_method, parse_max_age, parse_mime_type,
    parse_single_range, plan, simulate, BrowserRequest, CorsError, CredentialsMode, ExchangeKind,
    MaxAgeSource, NetError, PreflightCache, Profile, Reason, RedirectMode, RedirectOutcome,
    RequestMode, RequestPlan, ResponseType, ServerResponse, Stage, Tainting,
};
use preflight_core::Origin;
use proptest::prelude::*;

const APP: &str = "https://app.example";
const API: &str = "https://api.example";

fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn origin(s: &str) -> Origin {
    Origin::parse_serialized(s).unwrap()
}

fn request(method: &str, url: &str) -> BrowserRequest {
    BrowserRequest::new(origin(APP), url.parse().unwrap()).method(method)
}

fn api(path: &str) -> String {
    format!("{API}{path}")
}

fn planned(req: &BrowserRequest) -> RequestPlan {
    plan(req, Profile::Chromium).unwrap()
}

fn planned_in(req: &BrowserRequest, profile: Profile) -> RequestPlan {
    plan(req, profile).unwrap()
}

fn acao_app() -> (&'static str, &'static str) {
    ("Access-Control-Allow-Origin", APP)
}

fn name_of<T>(r: &Result<T, preflight_core::browser::Blocked>) -> Option<&'static str> {
    r.as_ref().err().map(|b| b.name())
}

fn follow(p: &RequestPlan, status: u16, headers: &[(&str, &str)]) -> RequestPlan {
    match follow_redirect(p, status, &h(headers)) {
        Ok(RedirectOutcome::Follow(hop)) => hop.next,
        other => panic!("expected a followed redirect, got {other:?}"),
    }
}

#[test]
fn r01_method_normalization() {
    assert_eq!(normalize_method("delete"), "DELETE");
    assert_eq!(normalize_method("Options"), "OPTIONS");
    assert_eq!(normalize_method("patch"), "patch");
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
    for b in 0u8..=0xFF {
        let want = (b < 0x20 && b != b'\t') || b"\"():<>?@[\\]{}\x7f".contains(&b);
        assert_eq!(is_cors_unsafe_request_header_byte(b), want, "byte {b:#x}");
    }
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
fn r07_set_cookie_is_never_exposed() {
    assert!(is_forbidden_response_header_name("SET-COOKIE2"));
    for include in [false, true] {
        let headers = h(&[
            ("Set-Cookie", "a=1"),
            ("Set-Cookie2", "b=1"),
            (
                "Access-Control-Expose-Headers",
                "Set-Cookie, Set-Cookie2, *",
            ),
        ]);
        let e = cors_exposed_headers(&headers, include);
        for name in ["set-cookie", "set-cookie2"] {
            assert!(!e.exposed.contains(&name.to_string()), "{e:?}");
            assert!(e.hidden.contains(&name.to_string()), "{e:?}");
        }
    }
}

#[test]
fn r08_authorization_is_the_non_wildcard_name() {
    assert!(is_cors_non_wildcard_request_header_name("authorization"));
    assert!(!is_cors_non_wildcard_request_header_name("x-auth"));
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
fn r09_safelisted_response_header_names() {
    for name in [
        "Cache-Control",
        "content-language",
        "Content-Length",
        "content-type",
        "Expires",
        "Last-Modified",
        "Pragma",
    ] {
        assert!(is_cors_safelisted_response_header_name(name, &[]), "{name}");
    }
    assert!(!is_cors_safelisted_response_header_name("x-id", &[]));
    assert!(is_cors_safelisted_response_header_name(
        "X-Id",
        &["x-id".to_string()]
    ));
    assert!(!is_cors_safelisted_response_header_name(
        "set-cookie",
        &["set-cookie".to_string()]
    ));
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

#[test]
fn r14_the_cors_check() {
    let o = APP;
    let check = |headers: &[(&str, &str)], include: bool| cors_check(&h(headers), o, include).err();
    assert_eq!(check(&[], false), Some(CorsError::MissingAllowOriginHeader));
    assert_eq!(
        check(&[("Access-Control-Allow-Origin", "null")], false),
        Some(CorsError::AllowOriginMismatch)
    );
    assert_eq!(check(&[("Access-Control-Allow-Origin", "*")], false), None);
    assert_eq!(
        check(
            &[("Access-Control-Allow-Origin", "https://app.example/")],
            false
        ),
        Some(CorsError::AllowOriginMismatch)
    );
    assert_eq!(
        check(
            &[
                ("Access-Control-Allow-Origin", o),
                ("Access-Control-Allow-Origin", o)
            ],
            false
        ),
        Some(CorsError::MultipleAllowOriginValues)
    );
    assert_eq!(check(&[("Access-Control-Allow-Origin", o)], false), None);
    assert_eq!(
        check(
            &[
                ("Access-Control-Allow-Origin", o),
                ("Access-Control-Allow-Credentials", "True")
            ],
            true
        ),
        Some(CorsError::InvalidAllowCredentials)
    );
    assert_eq!(
        check(
            &[
                ("Access-Control-Allow-Origin", o),
                ("Access-Control-Allow-Credentials", "true")
            ],
            true
        ),
        None
    );
    // With credentials omitted, ACAC is ignored.
    assert_eq!(
        check(
            &[
                ("Access-Control-Allow-Origin", o),
                ("Access-Control-Allow-Credentials", "nope")
            ],
            false
        ),
        None
    );
}

#[test]
fn r15_origin_serialization() {
    // An opaque page origin is sent and matched as `null`.
    let req = BrowserRequest::new(Origin::Opaque, api("/x").parse().unwrap());
    let p = planned(&req);
    assert_eq!(p.origin_header.as_deref(), Some("null"));
    assert!(check_actual(&p, 200, &h(&[("Access-Control-Allow-Origin", "null")])).is_ok());
    // IPv6 compressed, default port omitted, lower case.
    let page = Origin::from_url_str("HTTP://[0:0::1]:80/app").unwrap();
    let p = planned(&BrowserRequest::new(page, api("/x").parse().unwrap()));
    assert_eq!(p.origin_header.as_deref(), Some("http://[::1]"));
}

#[test]
fn r16_when_origin_is_sent() {
    assert_eq!(
        planned(&request("GET", &api("/x")))
            .origin_header
            .as_deref(),
        Some(APP)
    );
    assert_eq!(
        planned(&request("GET", &format!("{APP}/x"))).origin_header,
        None
    );
    assert_eq!(
        planned(&request("HEAD", &format!("{APP}/x"))).origin_header,
        None
    );
    assert_eq!(
        planned(&request("POST", &format!("{APP}/x")))
            .origin_header
            .as_deref(),
        Some(APP)
    );
    let no_cors_post = request("POST", &api("/x")).mode(RequestMode::NoCors);
    assert_eq!(planned(&no_cors_post).origin_header.as_deref(), Some(APP));
}

#[test]
fn r17_credentials() {
    let cross = |c| planned(&request("GET", &api("/x")).credentials(c)).credentials_sent;
    assert!(cross(CredentialsMode::Include));
    assert!(!cross(CredentialsMode::SameOrigin));
    assert!(!cross(CredentialsMode::Omit));
    let same = planned(&request("GET", &format!("{APP}/x")));
    assert!(same.credentials_sent);
}

#[test]
fn r18_preflight_success() {
    let p = planned(&request("PUT", &api("/x")).credentials(CredentialsMode::Include));
    let good = h(&[
        acao_app(),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "PUT"),
    ]);
    assert!(evaluate_preflight(&p, 204, &good).is_ok());
    assert_eq!(
        name_of(&evaluate_preflight(&p, 301, &good)),
        Some("PreflightInvalidStatus")
    );
    assert_eq!(
        name_of(&evaluate_preflight(
            &p,
            204,
            &h(&[acao_app(), ("Access-Control-Allow-Methods", "PUT")])
        )),
        Some("PreflightInvalidAllowCredentials")
    );
    let star = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "PUT"),
    ]);
    assert_eq!(
        name_of(&evaluate_preflight(&p, 204, &star)),
        Some("PreflightWildcardOriginNotAllowed")
    );
    // A failed CORS check wins over a bad status (Chromium's order).
    assert_eq!(
        name_of(&evaluate_preflight(&p, 500, &[])),
        Some("PreflightMissingAllowOriginHeader")
    );
}

#[test]
fn r19_allow_lists_must_parse() {
    let p = planned(&request("GET", &api("/x")).header("X-A", "1"));
    let bad = h(&[
        acao_app(),
        ("Access-Control-Allow-Headers", "x-a, bad name"),
    ]);
    assert_eq!(
        name_of(&evaluate_preflight(&p, 204, &bad)),
        Some("InvalidAllowHeadersPreflightResponse")
    );
    let bad_methods = h(&[
        acao_app(),
        ("Access-Control-Allow-Methods", "GET;PUT"),
        ("Access-Control-Allow-Headers", "x-a"),
    ]);
    assert_eq!(
        name_of(&evaluate_preflight(&p, 204, &bad_methods)),
        Some("InvalidAllowMethodsPreflightResponse")
    );
    let empty_members = h(&[
        acao_app(),
        ("Access-Control-Allow-Headers", ",x-b,,"),
        ("Access-Control-Allow-Headers", " X-A "),
    ]);
    let ok = evaluate_preflight(&p, 204, &empty_members).unwrap();
    assert_eq!(ok.allow_headers, vec!["x-b", "X-A"]);
}

#[test]
fn r20_missing_allow_methods_with_a_forced_preflight() {
    let req = request("PUT", &api("/upload")).force_preflight(true);
    let answer = h(&[acao_app()]);
    let spec = planned_in(&req, Profile::Spec);
    assert_eq!(
        evaluate_preflight(&spec, 200, &answer)
            .unwrap()
            .allow_methods,
        vec!["PUT"]
    );
    let chromium = planned_in(&req, Profile::Chromium);
    assert_eq!(
        name_of(&evaluate_preflight(&chromium, 200, &answer)),
        Some("MethodDisallowedByPreflightResponse")
    );
    // Without the flag, a missing ACAM allows only safelisted methods.
    let plain = planned_in(&request("PUT", &api("/x")), Profile::Spec);
    assert!(evaluate_preflight(&plain, 200, &answer).is_err());
}

#[test]
fn r21_method_allowed() {
    let star = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "*"),
    ]);
    let p = planned(&request("DELETE", &api("/x")));
    assert!(evaluate_preflight(&p, 204, &star).is_ok());
    // With credentials `*` is a method literally named `*`.
    let creds = h(&[
        acao_app(),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "*"),
    ]);
    let del = planned(&request("DELETE", &api("/x")).credentials(CredentialsMode::Include));
    let err = evaluate_preflight(&del, 204, &creds).unwrap_err();
    assert_eq!(err.name(), "MethodDisallowedByPreflightResponse");
    assert!(err.message.contains("not a wildcard"));
    let literal = planned(&request("*", &api("/x")).credentials(CredentialsMode::Include));
    assert!(evaluate_preflight(&literal, 204, &creds).is_ok());
    // A safelisted method needs no listing.
    let post = planned(&request("POST", &api("/x")).header("X-A", "1"));
    assert!(evaluate_preflight(
        &post,
        204,
        &h(&[acao_app(), ("Access-Control-Allow-Headers", "x-a")])
    )
    .is_ok());
}

#[test]
fn r22_authorization_needs_an_explicit_listing() {
    let req = request("GET", &api("/x")).header("Authorization", "Bearer t");
    let star = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "*"),
    ]);
    let spec = planned_in(&req, Profile::Spec);
    let err = evaluate_preflight(&spec, 204, &star).unwrap_err();
    assert_eq!(err.name(), "HeaderDisallowedByPreflightResponse");
    assert!(err
        .fix
        .contains("Access-Control-Allow-Headers: authorization"));
    let chromium = planned_in(&req, Profile::Chromium);
    let ok = evaluate_preflight(&chromium, 204, &star).unwrap();
    assert!(ok.warnings.iter().any(|w| w.contains("Authorization")));
    let listed = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "*, AUTHORIZATION"),
    ]);
    assert!(evaluate_preflight(&spec, 204, &listed).is_ok());
    // With credentials `*` covers nothing, in both profiles.
    let creds_req = req.clone().credentials(CredentialsMode::Include);
    let creds_star = h(&[
        acao_app(),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Headers", "*"),
    ]);
    for profile in [Profile::Spec, Profile::Chromium] {
        let p = planned_in(&creds_req, profile);
        assert!(
            evaluate_preflight(&p, 204, &creds_star).is_err(),
            "{profile}"
        );
    }
}

#[test]
fn r23_other_unsafe_names() {
    let p = planned(
        &request("GET", &api("/x"))
            .header("X-A", "1")
            .header("X-B", "2"),
    );
    let listed = h(&[acao_app(), ("Access-Control-Allow-Headers", "X-B, x-a")]);
    assert!(evaluate_preflight(&p, 204, &listed).is_ok());
    let partial = h(&[acao_app(), ("Access-Control-Allow-Headers", "x-a")]);
    let err = evaluate_preflight(&p, 204, &partial).unwrap_err();
    assert_eq!(err.name(), "HeaderDisallowedByPreflightResponse");
    assert!(err.message.contains("`x-b`"));
    assert!(err.fix.contains("Access-Control-Allow-Headers: x-b"));
    let star = h(&[acao_app(), ("Access-Control-Allow-Headers", "*")]);
    assert!(evaluate_preflight(&p, 204, &star).is_ok());
    let creds = planned(
        &request("GET", &api("/x"))
            .header("X-A", "1")
            .credentials(CredentialsMode::Include),
    );
    let creds_star = h(&[
        acao_app(),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Headers", "*"),
    ]);
    assert!(evaluate_preflight(&creds, 204, &creds_star).is_err());
}

#[test]
fn r24_max_age() {
    let c = Profile::Chromium;
    let s = Profile::Spec;
    assert_eq!(parse_max_age(None, c).seconds, 5);
    assert_eq!(parse_max_age(Some("abc"), c).source, MaxAgeSource::Invalid);
    assert_eq!(parse_max_age(Some("5, 10"), s).seconds, 5);
    assert_eq!(parse_max_age(Some("0"), s).seconds, 0);
    assert_eq!(parse_max_age(Some("7201"), c).seconds, 7200);
    assert_eq!(parse_max_age(Some("7201"), s).seconds, 7201);
    assert_eq!(parse_max_age(Some("100000"), s).seconds, 86_400);
    assert_eq!(parse_max_age(Some("-5"), c).source, MaxAgeSource::Negative);
    assert_eq!(parse_max_age(Some("+60"), c).seconds, 60);
    assert_eq!(parse_max_age(Some("+60"), s).seconds, 5);
    assert_eq!(
        parse_max_age(Some("99999999999999999999999"), s).seconds,
        86_400
    );
    assert_eq!(parse_max_age(Some("99999999999999999999999"), c).seconds, 5);
}

#[test]
fn r25_preflight_cache() {
    let t = Duration::from_secs;
    let url = api("/x");
    let creds_req = request("PUT", &url).credentials(CredentialsMode::Include);
    let plain_req = request("PUT", &url);
    let answer = h(&[
        acao_app(),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "PUT"),
        ("Access-Control-Max-Age", "60"),
    ]);

    // A credentialed entry serves a request without credentials...
    let mut cache = PreflightCache::new(Profile::Spec);
    let creds = planned_in(&creds_req, Profile::Spec);
    cache.store(
        &creds,
        &evaluate_preflight(&creds, 204, &answer).unwrap(),
        t(0),
    );
    assert!(cache.covers(&planned_in(&plain_req, Profile::Spec), t(1)));
    assert!(cache.covers(&creds, t(59)));
    assert!(!cache.covers(&creds, t(60)));

    // ...but not the reverse.
    let mut cache = PreflightCache::new(Profile::Spec);
    let plain = planned_in(&plain_req, Profile::Spec);
    cache.store(
        &plain,
        &evaluate_preflight(&plain, 204, &answer).unwrap(),
        t(0),
    );
    assert!(cache.covers(&plain, t(1)));
    assert!(!cache.covers(&creds, t(1)));

    // The cache is per URL and per origin.
    let other_url = planned_in(&request("PUT", &api("/y")), Profile::Spec);
    assert!(!cache.covers(&other_url, t(1)));

    // A network error clears the entries of that origin and URL.
    cache.clear(&plain);
    assert!(!cache.covers(&plain, t(1)));

    // `*` never matches Authorization (spec); Chromium still lets it.
    let auth_req = request("GET", &url)
        .header("Authorization", "t")
        .header("X-A", "1");
    let star = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "*, x-a"),
    ]);
    let chromium = planned_in(&auth_req, Profile::Chromium);
    let mut cache = PreflightCache::new(Profile::Chromium);
    cache.store(
        &chromium,
        &evaluate_preflight(&chromium, 204, &star).unwrap(),
        t(0),
    );
    assert!(cache.covers(&chromium, t(1)));
    let spec = planned_in(&auth_req, Profile::Spec);
    let mut cache = PreflightCache::new(Profile::Spec);
    let listed = h(&[
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "*, authorization, x-a"),
    ]);
    let ok = evaluate_preflight(&spec, 204, &listed).unwrap();
    let mut star_only = ok.clone();
    star_only.allow_headers = vec!["*".to_string(), "x-a".to_string()];
    cache.store(&spec, &star_only, t(0));
    assert!(
        !cache.covers(&spec, t(1)),
        "`*` entry must not cover Authorization"
    );
    cache.store(&spec, &ok, t(0));
    assert!(cache.covers(&spec, t(1)));
}

#[test]
fn r26_no_redirects_on_a_preflight() {
    let p = planned(&request("DELETE", &api("/x")));
    let redirect = h(&[
        ("Location", "https://api.example/x/"),
        ("Access-Control-Allow-Origin", "*"),
    ]);
    let err = evaluate_preflight(&p, 308, &redirect).unwrap_err();
    assert_eq!(err.name(), "PreflightDisallowedRedirect");
    assert_eq!(err.stage, Stage::Preflight);
    assert_eq!(
        name_of(&evaluate_preflight(
            &p,
            302,
            &h(&[("Access-Control-Allow-Origin", "*")])
        )),
        Some("PreflightInvalidStatus")
    );
}

#[test]
fn r27_expose_headers() {
    let headers = h(&[
        ("X-A", "1"),
        ("X-B", "1"),
        ("*", "star"),
        ("Access-Control-Expose-Headers", "*"),
    ]);
    let without = cors_exposed_headers(&headers, false);
    assert!(without.exposed.contains(&"x-a".to_string()));
    assert!(without.exposed.contains(&"x-b".to_string()));
    let with = cors_exposed_headers(&headers, true);
    assert_eq!(with.exposed, vec!["*"]);
    let listed = h(&[
        ("X-A", "1"),
        ("X-B", "1"),
        ("Access-Control-Expose-Headers", "x-a"),
    ]);
    assert_eq!(cors_exposed_headers(&listed, true).exposed, vec!["x-a"]);
    // A list that does not parse exposes nothing extra.
    let bad = h(&[
        ("X-A", "1"),
        ("Access-Control-Expose-Headers", "x-a, bad name"),
    ]);
    assert!(cors_exposed_headers(&bad, false).exposed.is_empty());
}

#[test]
fn r28_any_actual_status_is_shareable() {
    let p = planned(&request("GET", &api("/x")));
    for status in [200, 204, 403, 404, 500, 503] {
        let ok = check_actual(&p, status, &h(&[acao_app()])).unwrap();
        assert_eq!(ok.status, status);
    }
    let put = planned(&request("PUT", &api("/x")));
    assert!(evaluate_preflight(
        &put,
        500,
        &h(&[acao_app(), ("Access-Control-Allow-Methods", "PUT")])
    )
    .is_err());
}

#[test]
fn r29_each_redirect_passes_the_cors_check() {
    let p = planned(&request("GET", &api("/old")));
    let err = follow_redirect(&p, 302, &h(&[("Location", "/new")])).unwrap_err();
    assert_eq!(err.name(), "MissingAllowOriginHeader");
    assert_eq!(err.stage, Stage::Actual);
    assert!(follow_redirect(&p, 302, &h(&[("Location", "/new"), acao_app()])).is_ok());
    // Same-origin hops are not checked.
    let same = planned(&request("GET", &format!("{APP}/old")));
    assert!(follow_redirect(&same, 302, &h(&[("Location", "/new")])).is_ok());
}

#[test]
fn r30_redirect_limit_and_schemes() {
    let mut p = planned(&request("GET", &format!("{APP}/r/0")));
    for i in 1..=20 {
        p = follow(&p, 302, &[("Location", &format!("/r/{i}"))]);
    }
    assert_eq!(p.redirect_count, 20);
    let err = follow_redirect(&p, 302, &h(&[("Location", "/r/21")])).unwrap_err();
    assert_eq!(err.error, Reason::Net(NetError::TooManyRedirects));
    let fresh = planned(&request("GET", &format!("{APP}/r/0")));
    for target in [
        "ftp://files.example/x",
        "data:text/plain,hi",
        "file:///etc/passwd",
    ] {
        // A cors-mode request: Chromium reports `CorsDisabledScheme` (checked
        // against Chromium by the browser suite).
        let err = follow_redirect(&fresh, 302, &h(&[("Location", target)])).unwrap_err();
        assert_eq!(
            err.cors_error(),
            Some(CorsError::CorsDisabledScheme),
            "{target}"
        );
        // A no-cors request: a plain network error.
        let no_cors = planned(&request("GET", &format!("{APP}/r/0")).mode(RequestMode::NoCors));
        let err = follow_redirect(&no_cors, 302, &h(&[("Location", target)])).unwrap_err();
        assert_eq!(err.error, Reason::Net(NetError::UnsafeRedirect), "{target}");
    }
    let err = follow_redirect(&fresh, 302, &h(&[("Location", "http://[::1")])).unwrap_err();
    assert_eq!(err.error, Reason::Net(NetError::InvalidRedirect));
}

#[test]
fn r31_userinfo_in_location() {
    let cross = planned(&request("GET", &format!("{APP}/r")));
    let err = follow_redirect(
        &cross,
        302,
        &h(&[("Location", "https://u:p@api.example/x")]),
    )
    .unwrap_err();
    assert_eq!(
        err.cors_error(),
        Some(CorsError::RedirectContainsCredentials)
    );
    // Same origin as the page and not yet CORS-tainted: allowed.
    assert!(matches!(
        follow_redirect(
            &cross,
            302,
            &h(&[("Location", "https://u:p@app.example/x")])
        ),
        Ok(RedirectOutcome::Follow(_))
    ));
    // Once CORS-tainted, even a redirect back to the page's origin fails.
    let tainted = planned(&request("GET", &api("/r")));
    let err = follow_redirect(
        &tainted,
        302,
        &h(&[
            ("Location", "https://u:p@app.example/x"),
            ("Access-Control-Allow-Origin", "*"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        err.cors_error(),
        Some(CorsError::RedirectContainsCredentials)
    );
}

#[test]
fn r32_method_rewriting() {
    let post = planned(
        &request("POST", &format!("{APP}/form"))
            .header("Content-Type", "text/plain")
            .header("Content-Language", "en")
            .header("X-Keep", "1"),
    );
    for status in [301, 302, 303] {
        let RedirectOutcome::Follow(hop) =
            follow_redirect(&post, status, &h(&[("Location", "/done")])).unwrap()
        else {
            panic!("not followed");
        };
        assert!(hop.method_rewritten);
        assert_eq!(hop.next.method, "GET");
        assert_eq!(hop.next.headers, h(&[("X-Keep", "1")]));
        assert_eq!(
            hop.removed_headers,
            vec!["content-language", "content-type"]
        );
    }
    for status in [307, 308] {
        assert_eq!(
            follow(&post, status, &[("Location", "/done")]).method,
            "POST"
        );
    }
    let put = planned(&request("PUT", &format!("{APP}/x")));
    assert_eq!(follow(&put, 303, &[("Location", "/y")]).method, "GET");
    assert_eq!(follow(&put, 302, &[("Location", "/y")]).method, "PUT");
    let head = planned(&request("HEAD", &format!("{APP}/x")));
    assert_eq!(follow(&head, 303, &[("Location", "/y")]).method, "HEAD");
}

#[test]
fn r33_cross_origin_hop_drops_authorization() {
    let p = planned(&request("GET", &format!("{APP}/x")).header("Authorization", "Bearer t"));
    let same = follow(&p, 302, &[("Location", "/y")]);
    assert_eq!(same.headers, h(&[("Authorization", "Bearer t")]));
    let RedirectOutcome::Follow(hop) =
        follow_redirect(&p, 302, &h(&[("Location", "https://api.example/y")])).unwrap()
    else {
        panic!("not followed");
    };
    assert!(hop.next.headers.is_empty());
    assert_eq!(hop.removed_headers, vec!["authorization"]);
}

#[test]
fn r34_redirect_taint() {
    // A -> B -> A: Origin null at the last hop.
    let page_origin = planned(&request("GET", &api("/r")));
    let back = follow(
        &page_origin,
        302,
        &[
            ("Location", "https://app.example/x"),
            ("Access-Control-Allow-Origin", "*"),
        ],
    );
    assert!(back.tainted_origin);
    assert_eq!(back.origin_header.as_deref(), Some("null"));
    assert_eq!(back.serialized_origin(), "null");
    // A -> B (first hop from the page's own origin): not tainted.
    let from_page = planned(&request("GET", &format!("{APP}/r")));
    let next = follow(&from_page, 302, &[("Location", "https://api.example/x")]);
    assert!(!next.tainted_origin);
    assert_eq!(next.origin_header.as_deref(), Some(APP));
    // B -> B: not tainted.
    let same = follow(&page_origin, 302, &[("Location", "/y"), acao_app()]);
    assert!(!same.tainted_origin);
}

#[test]
fn r35_new_url_new_preflight_and_sticky_tainting() {
    let p = planned(&request("GET", &format!("{APP}/r")).header("X-A", "1"));
    assert!(!p.needs_preflight);
    let next = follow(&p, 307, &[("Location", "https://api.example/x")]);
    assert!(next.needs_preflight);
    assert_eq!(next.preflight_headers[2].1, "x-a");
    // Back on the page's origin after a cross-origin hop: still CORS.
    let cross = planned(&request("GET", &api("/r")));
    let home = follow(
        &cross,
        302,
        &[
            ("Location", "https://app.example/x"),
            ("Access-Control-Allow-Origin", "*"),
        ],
    );
    assert_eq!(home.tainting, Tainting::Cors);
    assert!(!home.cross_origin);
    assert_eq!(
        name_of(&check_actual(&home, 200, &[])),
        Some("MissingAllowOriginHeader")
    );
}

#[test]
fn r36_redirect_modes() {
    let manual = planned(&request("GET", &api("/r")).redirect(RedirectMode::Manual));
    assert_eq!(
        follow_redirect(&manual, 302, &h(&[("Location", "/x"), acao_app()])).unwrap(),
        RedirectOutcome::OpaqueRedirect
    );
    let error = planned(&request("GET", &api("/r")).redirect(RedirectMode::Error));
    let err = follow_redirect(&error, 302, &h(&[("Location", "/x"), acao_app()])).unwrap_err();
    assert_eq!(err.error, Reason::Net(NetError::RedirectModeError));
    // Not a redirect: a 3xx without Location, or a non-redirect status.
    let follow_mode = planned(&request("GET", &api("/r")));
    assert_eq!(
        follow_redirect(&follow_mode, 302, &h(&[acao_app()])).unwrap(),
        RedirectOutcome::NotARedirect
    );
    assert_eq!(
        follow_redirect(&follow_mode, 304, &h(&[("Location", "/x")])).unwrap(),
        RedirectOutcome::NotARedirect
    );
}

#[test]
fn r37_vary_origin_advice() {
    let p = planned(&request("GET", &api("/x")));
    let no_vary = check_actual(&p, 200, &h(&[acao_app()])).unwrap();
    assert!(no_vary.notes.iter().any(|n| n.contains("Vary: Origin")));
    let vary = check_actual(
        &p,
        200,
        &h(&[acao_app(), ("Vary", "Accept-Encoding, Origin")]),
    )
    .unwrap();
    assert!(vary.notes.is_empty(), "{:?}", vary.notes);
    let mismatch = check_actual(
        &p,
        200,
        &h(&[("Access-Control-Allow-Origin", "https://other.example")]),
    )
    .unwrap_err();
    assert!(mismatch.fix.contains("Vary: Origin"));
}

#[test]
fn r38_wildcard_advice() {
    let p = planned(&request("GET", &api("/x")));
    let ok = check_actual(&p, 200, &h(&[("Access-Control-Allow-Origin", "*")])).unwrap();
    assert!(ok.notes.iter().any(|n| n.contains("intranet")));
    // The browser cannot tell: `*` passes without credentials, fails with them.
    let creds = planned(&request("GET", &api("/x")).credentials(CredentialsMode::Include));
    assert_eq!(
        name_of(&check_actual(
            &creds,
            200,
            &h(&[("Access-Control-Allow-Origin", "*")])
        )),
        Some("WildcardOriginNotAllowed")
    );
}

#[test]
fn mime_parser_examples() {
    assert_eq!(
        parse_mime_type("Multipart/Form-Data; Boundary=\"a b\"").map(|m| m.parameters),
        Some(vec![("boundary".to_string(), "a b".to_string())])
    );
    assert_eq!(
        parse_single_range("bytes=1-1", false),
        Some((Some(1), Some(1)))
    );
}

#[test]
fn verdicts_serialize_with_chromium_names() {
    let p = planned(&request("GET", &api("/x")));
    let blocked = check_actual(&p, 200, &[]).unwrap_err();
    let debug = format!("{blocked}");
    assert!(debug.contains("MissingAllowOriginHeader"), "{debug}");
    assert_eq!(blocked.stage.to_string(), "actual");
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Accept".to_string()),
        Just("accept-language".to_string()),
        Just("Content-Language".to_string()),
        Just("content-type".to_string()),
        Just("Range".to_string()),
        Just("DPR".to_string()),
        Just("Save-Data".to_string()),
        "[A-Za-z][A-Za-z0-9-]{0,12}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}",
        "[ -~]{0,140}",
        "(text|multipart|application)/(plain|form-data|x-www-form-urlencoded|json)(;[ a-z=\"]{0,20}){0,3}",
        "bytes=[0-9]{0,25}-[0-9]{0,25}",
    ]
}

proptest! {
    #[test]
    fn mime_and_safelist_never_panic(name in header_name(), value in header_value(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_mime_type(&value);
        let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
        let parsed = parse_mime_type(&latin1);
        if let Some(m) = parsed {
            prop_assert!(!m.type_.is_empty() && !m.subtype.is_empty());
            prop_assert_eq!(m.type_.to_ascii_lowercase(), m.type_.clone());
        }
        for profile in [Profile::Chromium, Profile::Spec] {
            let safe = is_cors_safelisted_request_header(&name, &value, profile);
            if safe {
                prop_assert!(value.chars().count() <= 128);
            }
            let _ = is_cors_safelisted_request_header(&name, &latin1, profile);
        }
        let _ = parse_single_range(&value, true);
        let _ = parse_single_range(&latin1, false);
        let _ = is_forbidden_request_header(&name, &value);
    }

    #[test]
    fn r05_output_is_sorted_lower_case_unique(headers in proptest::collection::vec((header_name(), header_value()), 0..24)) {
        for profile in [Profile::Chromium, Profile::Spec] {
            let names = cors_unsafe_request_header_names(&headers, profile);
            for w in names.windows(2) {
                prop_assert!(w[0] < w[1], "not strictly sorted: {:?}", names);
            }
            for n in &names {
                prop_assert_eq!(n.to_ascii_lowercase(), n.clone());
                prop_assert!(headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)));
            }
        }
    }

    #[test]
    fn the_whole_fetch_never_panics(
        method in "[A-Za-z*]{1,8}",
        headers in proptest::collection::vec((header_name(), header_value()), 0..6),
        responses in proptest::collection::vec((100u16..1000, proptest::collection::vec((header_name(), header_value()), 0..5)), 1..4),
        acao in prop_oneof![Just(APP.to_string()), Just("*".to_string()), Just("null".to_string()), "\\PC{0,30}"],
        creds in prop_oneof![Just(CredentialsMode::Omit), Just(CredentialsMode::SameOrigin), Just(CredentialsMode::Include)],
        location in prop_oneof![Just("/next".to_string()), Just("https://u:p@app.example/".to_string()), "\\PC{0,30}"],
    ) {
        let mut req = request(&method, &api("/x")).credentials(creds);
        req.headers = headers;
        for profile in [Profile::Chromium, Profile::Spec] {
            let mut cache = PreflightCache::new(profile);
            let mut i = 0;
            let trace = simulate(&req, profile, &mut cache, Duration::ZERO, |_| {
                let (status, extra) = &responses[i % responses.len()];
                i += 1;
                let mut headers = extra.clone();
                headers.push(("Access-Control-Allow-Origin".into(), acao.clone()));
                headers.push(("Location".into(), location.clone()));
                ServerResponse { status: *status, headers }
            });
            prop_assert!(trace.exchanges.len() <= 2 * 21 + 2);
            if let Err(b) = &trace.outcome {
                prop_assert!(!b.message.is_empty());
            }
        }
    }
}
