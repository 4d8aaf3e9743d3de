//! D. Evaluating the preflight response.

use crate::harness::*;
use crate::wpt::{servers, O};

#[test]
fn d_preflight_response() {
    let s = servers();
    let r = s.r.as_str();
    let py = |id: String, params: Vec<(&'static str, String)>| {
        case(id, |t| {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.url(r, "/preflight.py", &params)
        })
    };
    let forced = |id: String, status: u16| {
        py(
            id,
            vec![
                ("allow_headers", "x-force-preflight".into()),
                ("preflight_status", status.to_string()),
            ],
        )
        .header("x-force-preflight", "1")
        .preflights(1)
    };
    let mut cases = Vec::new();
    for status in 200..=206 {
        cases.push(forced(format!("D1[{status}]"), status));
    }
    for status in 300..=308 {
        cases.push(
            forced(format!("D2[{status}]"), status).block("PreflightInvalidStatus", "preflight"),
        );
    }
    for status in (400..=417).chain(501..=505).chain([680, 790]) {
        cases.push(
            forced(format!("D3[{status}]"), status).block("PreflightInvalidStatus", "preflight"),
        );
    }
    cases.push(
        py(
            "D5".into(),
            vec![
                ("allow_headers", "x-force-preflight".into()),
                ("allow_methods", "Bad method name".into()),
            ],
        )
        .header("x-force-preflight", "1")
        .block("InvalidAllowMethodsPreflightResponse", "preflight"),
    );
    // cors-preflight-star.any.js: `origin`/`credentials` for the credentialed rows.
    let star = |id: &str, methods: &str, headers: &str, creds: bool| {
        let mut params = vec![
            ("allow_methods", methods.to_string()),
            ("allow_headers", headers.to_string()),
        ];
        if creds {
            params.push(("origin", O.to_string()));
            params.push(("credentials", "1".to_string()));
        }
        let c = py(id.to_string(), params);
        if creds {
            c.arg(&["--credentials", "include"])
        } else {
            c
        }
    };
    cases.push(
        star("D6", "get", "x-test", false)
            .header("X-Test", "1")
            .preflights(1),
    );
    cases.push(
        star("D7", "*", "x-test", false)
            .method("SUPER")
            .header("X-Test", "1"),
    );
    cases.push(
        star("D8", "*", "*", false)
            .method("OK")
            .header("X-Test", "1"),
    );
    cases.push(
        star("D10", "*", "", true)
            .method("PUT")
            .block("MethodDisallowedByPreflightResponse", "preflight"),
    );
    cases.push(
        star("D11", "get", "*", true)
            .header("X-Test", "1")
            .block("HeaderDisallowedByPreflightResponse", "preflight"),
    );
    cases.push(
        star("D13", "PUT", "", true)
            .method("put")
            .preflights(1)
            .check(|o| {
                match o
                    .preflights()
                    .first()
                    .and_then(|s| s.header("access-control-request-method"))
                {
                    Some("PUT") => Ok(()),
                    other => Err(format!("ACRM {other:?}, expected PUT (normalized)")),
                }
            }),
    );
    for m in [
        "get", "GET", "gEt", "head", "HEAD", "hEaD", "post", "POST", "pOsT",
    ] {
        cases.push(
            star(&format!("D16[{m}]"), "*", "", true)
                .method(m)
                .preflights(0),
        );
    }
    // D17: the one case where the profiles disagree (docs/browser-model.md#authorization-must-be-listed, whatwg/fetch#1919).
    cases.push(
        star("D17[chromium]", "*", "*", false)
            .method("POST")
            .header("Authorization", "123")
            .preflights(1),
    );
    cases.push(
        star("D17[spec]", "*", "*", false)
            .method("POST")
            .header("Authorization", "123")
            .arg(&["--profile", "spec"])
            .block("HeaderDisallowedByPreflightResponse", "preflight"),
    );
    for profile in ["chromium", "spec"] {
        cases.push(
            star(&format!("D18[{profile}]"), "*", "*, Authorization", false)
                .method("POST")
                .header("Authorization", "123")
                .arg(&["--profile", profile]),
        );
    }
    let makeheader = |id: &str, acah: &'static str| {
        case(id, |t| {
            t.url(
                r,
                "/makeheader",
                &[
                    ("pfh", &hv("Access-Control-Allow-Origin", O)),
                    ("pfh", &hv("Access-Control-Allow-Headers", acah)),
                    ("h", &hv("Access-Control-Allow-Origin", O)),
                ],
            )
        })
    };
    cases.push(
        makeheader("D20", "x-print")
            .header("x-print", "1")
            .header("y-print", "2")
            .block("HeaderDisallowedByPreflightResponse", "preflight")
            .acrh(Some("x-print,y-print")),
    );
    cases.push(
        makeheader("D21", "x-print,")
            .header("x-print", "1")
            .header("Content-Type", "text/plain")
            .header("Accept", "test")
            .header("Accept-Language", "nn")
            .header("Content-Language", "nn")
            .acrh(Some("x-print")),
    );
    run_all("D", cases);
}
