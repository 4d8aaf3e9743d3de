//! WPT cases, part A. The CORS check on a non-preflighted response.

use super::*;

pub(super) fn rows(rows: &mut Vec<Row>) {
    let top = url(R, "/top.txt");

    // A. CORS check on a non-preflighted response.
    rows.push(row(
        "A1",
        get(&top),
        always(200, &[]),
        Expect::Block("MissingAllowOriginHeader"),
    ));
    rows.push(
        row(
            "A2",
            get(&top),
            always(200, &[("Access-Control-Allow-Origin", "*")]),
            Expect::Allow,
        )
        .check(|t| match &t.outcome {
            FetchOutcome::Allowed(ok) if ok.response_type == ResponseType::Cors => Ok(()),
            other => Err(format!("response type: {other:?}")),
        }),
    );
    rows.push(
        row(
            "A3",
            get(&top).mode(RequestMode::NoCors),
            always(
                200,
                &[("Access-Control-Allow-Origin", "*"), ("X-Data", "1")],
            ),
            Expect::Opaque,
        )
        .preflights(0),
    );
    rows.push(row(
        "A4",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", O)]),
        Expect::Allow,
    ));
    rows.push(row(
        "A5",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", R)]),
        Expect::Block("AllowOriginMismatch"),
    ));
    rows.push(row(
        "A6",
        get(&url(P, "/top.txt")),
        always(200, &[("Access-Control-Allow-Origin", P)]),
        Expect::Block("AllowOriginMismatch"),
    ));
    rows.push(row(
        "A9",
        get(&top),
        always(
            200,
            &[(
                "Access-Control-Allow-Origin",
                "http://web-platform.test:8000/",
            )],
        ),
        Expect::Block("AllowOriginMismatch"),
    ));
    for (value, name) in [
        ("web-platform.test:8000", "AllowOriginMismatch"),
        ("//web-platform.test:8000", "InvalidAllowOriginValue"),
        ("ftp://web-platform.test:8000", "AllowOriginMismatch"),
        (
            "http://web-platform.test:8000:80",
            "InvalidAllowOriginValue",
        ),
    ] {
        rows.push(row(
            format!("A11[{value}]"),
            get(&top),
            always(200, &[("Access-Control-Allow-Origin", value)]),
            Expect::Block(name),
        ));
    }
    rows.push(row(
        "A12",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", "null")]),
        Expect::Block("AllowOriginMismatch"),
    ));
    for (value, name) in [
        ("'*'", "InvalidAllowOriginValue"),
        ("\"*\"", "InvalidAllowOriginValue"),
        ("**", "InvalidAllowOriginValue"),
        ("-", "InvalidAllowOriginValue"),
        ("*\0", "InvalidAllowOriginValue"),
        ("* *", "MultipleAllowOriginValues"),
    ] {
        rows.push(row(
            format!("A14[{}]", value.replace('\0', "\\0")),
            get(&top),
            always(200, &[("Access-Control-Allow-Origin", value)]),
            Expect::Block(name),
        ));
    }
    rows.push(row(
        "A15",
        get(&top),
        always(200, &[("Access-Control-Allow-Origin", "")]),
        Expect::Block("InvalidAllowOriginValue"),
    ));
    rows.push(row(
        "A17[O,O]",
        get(&url(P, "/top.txt")),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", O),
                ("Access-Control-Allow-Origin", O),
            ],
        ),
        Expect::Block("MultipleAllowOriginValues"),
    ));
    rows.push(row(
        "A17[*,example,*]",
        get(&url(P, "/top.txt")),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Origin", "http://example.com"),
                ("Access-Control-Allow-Origin", "*"),
            ],
        ),
        Expect::Block("MultipleAllowOriginValues"),
    ));
    rows.push(row(
        "A19",
        get(&top).credentials(CredentialsMode::Include),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Credentials", "true"),
            ],
        ),
        Expect::Block("WildcardOriginNotAllowed"),
    ));
    rows.push(row(
        "A20",
        get(&top).credentials(CredentialsMode::Omit),
        always(
            200,
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Credentials", "true"),
            ],
        ),
        Expect::Allow,
    ));
    for method in ["GET", "HEAD", "POST", "PUT", "CHICKEN"] {
        for status in [400u16, 401, 404, 501, 699] {
            let pf = ServerResponse::new(
                200,
                &[
                    ("Access-Control-Allow-Origin", O),
                    (
                        "Access-Control-Allow-Methods",
                        "GET, HEAD, POST, PUT, CHICKEN",
                    ),
                    ("Access-Control-Allow-Headers", "x-nonsimple"),
                ],
            );
            let actual = ServerResponse::new(status, &[("Access-Control-Allow-Origin", O)]);
            rows.push(
                row(
                    format!("A21[{method} {status}]"),
                    req(method, &url(R, "/status")).header("x-nonsimple", "1"),
                    split(pf, actual),
                    Expect::Allow,
                )
                .preflights(1)
                .check(move |t| match &t.outcome {
                    FetchOutcome::Allowed(ok) if ok.status == status => Ok(()),
                    other => Err(format!("status not readable: {other:?}")),
                }),
            );
        }
    }
}
