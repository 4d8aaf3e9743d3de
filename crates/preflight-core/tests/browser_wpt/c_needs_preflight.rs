//! WPT cases, part C. Is a preflight needed?

use super::*;

pub(super) fn rows(rows: &mut Vec<Row>) {
    // C. Is a preflight needed?
    let star = || always(200, &[("Access-Control-Allow-Origin", "*")]);
    let pf_url = url(R, "/cors/resources/preflight.py");
    rows.push(
        row(
            "C1",
            get(&pf_url).header("Accept", "*/*"),
            star(),
            Expect::Allow,
        )
        .preflights(0),
    );
    for method in ["POST", "HEAD"] {
        rows.push(
            row(
                format!("C2[{method}]"),
                req(method, &pf_url),
                star(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    for (name, value) in [
        ("Accept-Language", "fr"),
        ("Content-Language", "fr"),
        ("Content-Type", "multipart/form-data"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ] {
        rows.push(
            row(
                format!("C4[{name}: {value}]"),
                get(&pf_url).header(name, value),
                star(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    let post_ct = |ct: &str| req("POST", &pf_url).header("Content-Type", ct);
    let blocked_by_pf = Expect::Block("HeaderDisallowedByPreflightResponse");
    for ct in ["text /plain", "text\t/\tplain"] {
        rows.push(
            row(
                format!("C5[{ct}]"),
                post_ct(ct),
                cors_preflight_py(),
                blocked_by_pf,
            )
            .preflights(1),
        );
    }
    for ct in ["text/plain;", "text/plain;garbage"] {
        rows.push(
            row(
                format!("C6[{ct}]"),
                post_ct(ct),
                cors_preflight_py(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    for ct in [
        "text/plain,",
        ",text/plain",
        "text/plain,text/plain",
        "text/plain,x/x",
    ] {
        rows.push(
            row(
                format!("C7[{ct}]"),
                post_ct(ct),
                cors_preflight_py(),
                blocked_by_pf,
            )
            .preflights(1),
        );
    }
    rows.push(
        row(
            "C8",
            post_ct("application/www-form-urlencoded"),
            cors_preflight_py(),
            blocked_by_pf,
        )
        .preflights(1),
    );
    let range = |v: &str| get(&pf_url).header("Range", v);
    for v in ["bytes=100-200", "bytes=200-"] {
        rows.push(
            row(
                format!("C10[{v}]"),
                range(v),
                cors_preflight_py(),
                Expect::Allow,
            )
            .preflights(0),
        );
    }
    rows.push(
        row(
            "C11",
            range("bytes=-200"),
            cors_preflight_py(),
            blocked_by_pf,
        )
        .preflights(1),
    );
    rows.push(
        row(
            "C12",
            range("bytes=100-200,300-400"),
            cors_preflight_py(),
            blocked_by_pf,
        )
        .preflights(1),
    );
    for v in ["bytes=200-100", "bytes=abc-def", "bytes=100-200hello"] {
        rows.push(
            row(
                format!("C14[{v}]"),
                range(v),
                cors_preflight_py(),
                blocked_by_pf,
            )
            .preflights(1),
        );
    }
    let echo = || PreflightPy::default().server();
    let long_accept = "a".repeat(129);
    rows.push(
        row(
            "C15[129 bytes]",
            get(&pf_url).header("Accept", long_accept),
            echo(),
            Expect::Allow,
        )
        .preflights(1)
        .check(acrh_is("accept")),
    );
    rows.push(
        row(
            "C15[\"]",
            get(&pf_url).header("Accept", "\""),
            echo(),
            Expect::Allow,
        )
        .preflights(1)
        .check(acrh_is("accept")),
    );
    for (name, value, acrh) in [
        ("Accept-Language", "@", "accept-language"),
        ("Accept-Language", "\u{1}", "accept-language"),
        ("Content-Language", "@", "content-language"),
    ] {
        rows.push(
            row(
                format!("C16[{acrh}: {value:?}]"),
                get(&pf_url).header(name, value),
                echo(),
                Expect::Allow,
            )
            .preflights(1)
            .check(acrh_is(acrh)),
        );
    }
    let long_ct = format!("text/plain; long={}", "0".repeat(118));
    for (name, value, acrh) in [
        ("Content-Type", "text/html".to_string(), "content-type"),
        ("Content-Type", long_ct, "content-type"),
        ("Range", "bytes 0-".to_string(), "range"),
        ("Authorization", "basics".to_string(), "authorization"),
        ("test", "hi".to_string(), "test"),
    ] {
        rows.push(
            row(
                format!("C17[{acrh}]"),
                get(&pf_url).header(name, value),
                echo(),
                Expect::Allow,
            )
            .preflights(1)
            .check(acrh_is(acrh)),
        );
    }
    rows.push(
        row(
            "C19",
            req("PUT", &url(R, "/preflight.py")).header("Accept", "*/*"),
            PreflightPy {
                allow_methods: Some("PUT"),
                ..Default::default()
            }
            .server(),
            Expect::Allow,
        )
        .preflights(1)
        .check(|t| {
            match t.exchanges[0]
                .request
                .header("access-control-request-headers")
            {
                None => Ok(()),
                Some(v) => Err(format!("unexpected ACRH {v}")),
            }
        }),
    );
    for method in ["DELETE", "PUT", "PATCH", "NEW"] {
        rows.push(
            row(
                format!("C20[{method}]"),
                req(method, &url(R, "/preflight.py")),
                PreflightPy::default().server(),
                Expect::Block("MethodDisallowedByPreflightResponse"),
            )
            .preflights(1),
        );
    }
    rows.push(
        row(
            "C21",
            req("PUT", &url(R, "/preflight.py")).header("User-Agent", "WPT-UA/1.0"),
            PreflightPy {
                allow_methods: Some("PUT"),
                ..Default::default()
            }
            .server(),
            Expect::Allow,
        )
        .preflights(1)
        .check(|t| {
            let pf = t.exchanges[0].request.header("user-agent");
            let actual = t.exchanges[1].request.header("user-agent");
            if pf.is_some() && pf == actual {
                Ok(())
            } else {
                Err(format!("preflight UA {pf:?}, actual UA {actual:?}"))
            }
        }),
    );
}
