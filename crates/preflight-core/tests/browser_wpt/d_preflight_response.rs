//! WPT cases, part D. Evaluating the preflight response.

use super::*;

pub(super) fn rows(rows: &mut Vec<Row>) {
    // D. Evaluating the preflight response.
    let with_status = |status: u16| {
        PreflightPy {
            allow_headers: Some("x-force-preflight"),
            preflight_status: Some(status),
            ..Default::default()
        }
        .server()
    };
    for status in 200..=206 {
        rows.push(
            row(
                format!("D1[{status}]"),
                forced(),
                with_status(status),
                Expect::Allow,
            )
            .preflights(1),
        );
    }
    for status in 300..=308 {
        rows.push(
            row(
                format!("D2[{status}]"),
                forced(),
                with_status(status),
                Expect::Block("PreflightInvalidStatus"),
            )
            .preflights(1),
        );
    }
    for status in (400..=417).chain(501..=505).chain([680, 790]) {
        rows.push(
            row(
                format!("D3[{status}]"),
                forced(),
                with_status(status),
                Expect::Block("PreflightInvalidStatus"),
            )
            .preflights(1),
        );
    }
    rows.push(row(
        "D5",
        forced(),
        PreflightPy {
            allow_methods: Some("Bad method name"),
            ..Default::default()
        }
        .server(),
        Expect::Block("InvalidAllowMethodsPreflightResponse"),
    ));
    let star_server = |methods: &'static str, headers: &'static str, creds: bool| {
        PreflightPy {
            origins: creds.then(|| vec![O]),
            credentials: creds,
            allow_methods: Some(methods),
            allow_headers: Some(headers),
            ..Default::default()
        }
        .server()
    };
    let star_url = url(R, "/preflight.py");
    rows.push(row(
        "D6",
        get(&star_url).header("X-Test", "1"),
        star_server("get", "x-test", false),
        Expect::Allow,
    ));
    rows.push(row(
        "D7",
        req("SUPER", &star_url).header("X-Test", "1"),
        star_server("*", "x-test", false),
        Expect::Allow,
    ));
    rows.push(row(
        "D8",
        req("OK", &star_url).header("X-Test", "1"),
        star_server("*", "*", false),
        Expect::Allow,
    ));
    let include = CredentialsMode::Include;
    rows.push(row(
        "D10",
        req("PUT", &star_url).credentials(include),
        star_server("*", "", true),
        Expect::Block("MethodDisallowedByPreflightResponse"),
    ));
    rows.push(row(
        "D11",
        get(&star_url).header("X-Test", "1").credentials(include),
        star_server("get", "*", true),
        Expect::Block("HeaderDisallowedByPreflightResponse"),
    ));
    rows.push(
        row(
            "D13",
            req("put", &star_url).credentials(include),
            star_server("PUT", "", true),
            Expect::Allow,
        )
        .preflights(1),
    );
    for method in [
        "get", "GET", "gEt", "head", "HEAD", "hEaD", "post", "POST", "pOsT",
    ] {
        rows.push(
            row(
                format!("D16[{method}]"),
                req(method, &star_url).credentials(include),
                star_server("*", "", true),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    let d17 = || req("POST", &star_url).header("Authorization", "123");
    rows.push(
        row(
            "D17",
            d17(),
            star_server("*", "*", false),
            Expect::Block("HeaderDisallowedByPreflightResponse"),
        )
        .profile(Profile::Spec),
    );
    rows.push(
        row("D17", d17(), star_server("*", "*", false), Expect::Allow)
            .profile(Profile::Chromium)
            .preflights(1),
    );
    for profile in [Profile::Spec, Profile::Chromium] {
        rows.push(
            row(
                "D18",
                d17(),
                star_server("*", "*, Authorization", false),
                Expect::Allow,
            )
            .profile(profile),
        );
    }
    let request_headers_url = url(R, "/cors/resources/cors-makeheader.py");
    let makeheader_pf = |acah: &'static str| {
        split(
            ServerResponse::new(
                200,
                &[
                    ("Access-Control-Allow-Origin", O),
                    ("Access-Control-Allow-Headers", acah),
                ],
            ),
            ServerResponse::new(200, &[("Access-Control-Allow-Origin", O)]),
        )
    };
    rows.push(row(
        "D20",
        get(&request_headers_url)
            .header("x-print", "1")
            .header("y-print", "2"),
        makeheader_pf("x-print"),
        Expect::Block("HeaderDisallowedByPreflightResponse"),
    ));
    rows.push(
        row(
            "D21",
            get(&request_headers_url)
                .header("x-print", "1")
                .header("Content-Type", "text/plain")
                .header("Accept", "test")
                .header("Accept-Language", "nn")
                .header("Content-Language", "nn"),
            makeheader_pf("x-print,"),
            Expect::Allow,
        )
        .preflights(1)
        .check(acrh_is("x-print")),
    );
}
