//! HTTP redirects: the CORS check on each hop, limits, method rewriting, taint
//! and redirect modes.

use super::*;

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
fn firefox_and_webkit_preflight_every_hop_of_a_preflighted_request() {
    // A PATCH, preflighted, answered 303: the GET that follows needs no
    // preflight by the standard and in Chromium; Firefox and WebKit send one
    // (ACRM GET, no ACRH), seen by the browser suite.
    let hop = [
        ("Location", "https://api.example/next"),
        ("Access-Control-Allow-Origin", APP),
    ];
    let patch = request("PATCH", &api("/r"));
    for profile in Profile::ALL {
        let p = planned_in(&patch, profile);
        assert!(p.needs_preflight, "{profile}");
        let next = follow(&p, 303, &hop);
        assert_eq!(next.method, "GET", "{profile}");
        let sticky = matches!(profile, Profile::Firefox | Profile::WebKit);
        assert_eq!(next.needs_preflight, sticky, "{profile}");
        assert_eq!(profile.preflight_survives_redirects(), sticky, "{profile}");
        if sticky {
            assert_eq!(
                next.preflight_headers
                    .iter()
                    .find(|(n, _)| n == "Access-Control-Request-Method")
                    .map(|(_, v)| v.as_str()),
                Some("GET"),
                "{profile}"
            );
            assert!(
                !next
                    .preflight_headers
                    .iter()
                    .any(|(n, _)| n == "Access-Control-Request-Headers"),
                "{profile}: {:?}",
                next.preflight_headers
            );
        }
        // A request that was not preflighted is not preflighted after a hop.
        let get = planned_in(&request("GET", &api("/r")), profile);
        assert!(!follow(&get, 302, &hop).needs_preflight, "{profile}");
    }
}

#[test]
fn webkit_still_asks_for_authorization_after_a_cross_origin_hop_drops_it() {
    // A GET with Authorization, preflighted, answered 307 to a third origin:
    // every engine drops the header from the request that follows; WebKit
    // still names it in that hop's preflight (and so needs it allowed), seen
    // by the browser suite.
    let get = request("GET", &api("/r")).header("Authorization", "Bearer t");
    let hop = [
        ("Location", "https://cdn.example/next"),
        ("Access-Control-Allow-Origin", APP),
    ];
    for profile in [Profile::Chromium, Profile::Firefox, Profile::WebKit] {
        let next = follow(&planned_in(&get, profile), 307, &hop);
        assert!(
            !next
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization")),
            "{profile}: {:?}",
            next.headers
        );
        let acrh = next
            .preflight_headers
            .iter()
            .find(|(n, _)| n == "Access-Control-Request-Headers")
            .map(|(_, v)| v.as_str());
        let webkit = profile == Profile::WebKit;
        assert_eq!(acrh, webkit.then_some("authorization"), "{profile}");
        assert_eq!(
            next.unsafe_headers.contains(&"authorization".to_string()),
            webkit,
            "{profile}"
        );
        assert_eq!(
            profile.preflight_keeps_dropped_authorization(),
            webkit,
            "{profile}"
        );
    }
}
