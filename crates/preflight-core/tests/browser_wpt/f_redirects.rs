//! WPT cases, part F. Redirects.

use super::*;

pub(super) fn rows(rows: &mut Vec<Row>) {
    // F. Redirects.
    let final_py = |base: &str| {
        (
            url(base, "/preflight.py"),
            Hop::Preflight(PreflightPy::default()),
        )
    };
    for status in [301u16, 302, 303, 307, 308] {
        rows.push(
            row(
                format!("F1[{status}]"),
                get(&url(R, "/redirect")),
                chain(vec![
                    (
                        url(R, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(R, "/preflight.py"),
                        },
                    ),
                    final_py(R),
                ]),
                Expect::Allow,
            )
            .preflights(0)
            .check(expect_final_origin(Some(O))),
        );
        rows.push(
            row(
                format!("F2[{status}]"),
                get(&url(R, "/redirect")),
                chain(vec![
                    (
                        url(R, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(P, "/preflight.py"),
                        },
                    ),
                    final_py(P),
                ]),
                Expect::Allow,
            )
            .check(expect_final_origin(Some("null"))),
        );
        rows.push(
            row(
                format!("F3[{status}]"),
                get(&url(O, "/redirect")),
                chain(vec![
                    (
                        url(O, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(R, "/preflight.py"),
                        },
                    ),
                    final_py(R),
                ]),
                Expect::Allow,
            )
            .check(expect_final_origin(Some(O))),
        );
        rows.push(
            row(
                format!("F4[{status}]"),
                get(&url(R, "/redirect")),
                chain(vec![
                    (
                        url(R, "/redirect"),
                        Hop::RedirectPy {
                            status,
                            to: url(O, "/preflight.py"),
                        },
                    ),
                    final_py(O),
                ]),
                Expect::Allow,
            )
            .check(expect_final_origin(Some("null"))),
        );
    }
    // F4 (the other half): back on O, the response still needs ACAO (docs/browser-model.md#preflight-after-a-redirect).
    rows.push(row(
        "F4[no ACAO at O]",
        get(&url(R, "/redirect")),
        chain(vec![
            (
                url(R, "/redirect"),
                Hop::RedirectPy {
                    status: 302,
                    to: url(O, "/plain"),
                },
            ),
            (url(O, "/plain"), Hop::Final(ServerResponse::new(200, &[]))),
        ]),
        Expect::Block("MissingAllowOriginHeader"),
    ));
    let literal = |to: String, headers: Vec<(&'static str, &'static str)>| Hop::RedirectLiteral {
        status: 302,
        to,
        headers,
    };
    rows.push(
        row(
            "F6",
            get(&url(R, "/makeheader")),
            chain(vec![
                (
                    url(R, "/makeheader"),
                    literal(
                        url(O, "/makeheader"),
                        vec![("Access-Control-Allow-Origin", "*")],
                    ),
                ),
                (
                    url(O, "/makeheader"),
                    Hop::Final(ServerResponse::new(
                        200,
                        &[("Access-Control-Allow-Origin", "null")],
                    )),
                ),
            ]),
            Expect::Allow,
        )
        .check(expect_final_origin(Some("null"))),
    );
    for (label, headers, name) in [
        (
            "null",
            vec![("Access-Control-Allow-Origin", "null")],
            "AllowOriginMismatch",
        ),
        ("none", vec![], "MissingAllowOriginHeader"),
    ] {
        rows.push(row(
            format!("F7[{label}]"),
            get(&url(R, "/makeheader")),
            chain(vec![
                (url(R, "/makeheader"), literal(url(R, "/final"), headers)),
                (
                    url(R, "/final"),
                    Hop::Final(ServerResponse::new(
                        200,
                        &[("Access-Control-Allow-Origin", "*")],
                    )),
                ),
            ]),
            Expect::Block(name),
        ));
    }
    rows.push(
        row(
            "F8",
            get(&url(O, "/makeheader")),
            chain(vec![
                (url(O, "/makeheader"), literal(url(R, "/final"), vec![])),
                (
                    url(R, "/final"),
                    Hop::Final(ServerResponse::new(
                        200,
                        &[("Access-Control-Allow-Origin", "*")],
                    )),
                ),
            ]),
            Expect::Allow,
        )
        .check(expect_final_origin(Some(O))),
    );
    rows.push(row(
        "F10",
        get(&url(R, "/makeheader")),
        chain(vec![
            (
                url(R, "/makeheader"),
                literal(url(R, "/final"), vec![("Access-Control-Allow-Origin", "*")]),
            ),
            (
                url(R, "/final"),
                Hop::Final(ServerResponse::new(
                    200,
                    &[("Access-Control-Allow-Origin", R)],
                )),
            ),
        ]),
        Expect::Block("AllowOriginMismatch"),
    ));
    let p_final = url(P, "/preflight.py");
    for (label, start, to) in [
        (
            "O->user:password@P",
            url(O, "/redirect"),
            "http://user:password@web-platform.test:8001/preflight.py",
        ),
        (
            "O->user:@P",
            url(O, "/redirect"),
            "http://user:@web-platform.test:8001/preflight.py",
        ),
        (
            "O->:password@P",
            url(O, "/redirect"),
            "http://:password@web-platform.test:8001/preflight.py",
        ),
        (
            "P->user:pass@O",
            url(P, "/redirect"),
            "http://user:pass@web-platform.test:8000/preflight.py",
        ),
        (
            "P->user:pass@R",
            url(P, "/redirect"),
            "http://user:pass@www1.web-platform.test:8000/preflight.py",
        ),
    ] {
        rows.push(row(
            format!("F11[{label}]"),
            get(&start),
            chain(vec![(
                start.clone(),
                Hop::RedirectPy {
                    status: 302,
                    to: to.to_string(),
                },
            )]),
            Expect::Block("RedirectContainsCredentials"),
        ));
    }
    rows.push(row(
        "F11[no userinfo]",
        get(&url(O, "/redirect")),
        chain(vec![
            (
                url(O, "/redirect"),
                Hop::RedirectPy {
                    status: 302,
                    to: p_final.clone(),
                },
            ),
            final_py(P),
        ]),
        Expect::Allow,
    ));
    for (label, allow, expect, preflights) in [
        ("allowed", Some("x-w3c"), Expect::Allow, 1),
        (
            "refused",
            Some("x-other"),
            Expect::Block("HeaderDisallowedByPreflightResponse"),
            1,
        ),
    ] {
        rows.push(
            row(
                format!("F12[{label}]"),
                get(&url(O, "/redirect")).header("x-w3c", "1"),
                chain(vec![
                    (
                        url(O, "/redirect"),
                        Hop::RedirectPy {
                            status: 302,
                            to: url(R, "/preflight.py"),
                        },
                    ),
                    (
                        url(R, "/preflight.py"),
                        Hop::Preflight(PreflightPy {
                            allow_headers: allow,
                            ..Default::default()
                        }),
                    ),
                ]),
                expect,
            )
            .preflights(preflights),
        );
    }
    for status in [301u16, 302, 303, 307, 308] {
        rows.push(
            row(
                format!("F14[{status}]"),
                forced(),
                PreflightPy {
                    allow_headers: Some("x-force-preflight"),
                    preflight_status: Some(status),
                    preflight_location: Some("http://www1.web-platform.test:8000/preflight.py?2"),
                    ..Default::default()
                }
                .server(),
                Expect::Block("PreflightDisallowedRedirect"),
            )
            .preflights(1),
        );
    }
}
