//! The CORS check, the origin, credentials, and the preflight response and its
//! cache.

use super::*;

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
    let page = Origin::of_page("HTTP://[0:0::1]:80/app").unwrap();
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
