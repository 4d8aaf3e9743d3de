//! The actual response: what script can read, and the advice that does not
//! change the verdict.

use super::*;

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
fn verdicts_serialize_with_chromium_names() {
    let p = planned(&request("GET", &api("/x")));
    let blocked = check_actual(&p, 200, &[]).unwrap_err();
    let debug = format!("{blocked}");
    assert!(debug.contains("MissingAllowOriginHeader"), "{debug}");
    assert_eq!(blocked.stage.to_string(), "actual");
}
