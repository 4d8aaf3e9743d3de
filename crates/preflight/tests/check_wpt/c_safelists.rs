//! C. Is a preflight needed?

use std::process::Command;

use crate::harness::*;
use crate::wpt::{seen, servers, O};

#[test]
fn c_safelists() {
    let s = servers();
    let r = s.r.as_str();
    let cors_py = |id: String| case(id, |t| t.url(r, "/cors-preflight.py", &[]));
    let refused = "HeaderDisallowedByPreflightResponse";
    let mut cases = vec![
        cors_py("C1".into()).header("Accept", "*/*").preflights(0),
        cors_py("C2[POST]".into()).method("POST").preflights(0),
        cors_py("C2[HEAD]".into()).method("HEAD").preflights(0),
        cors_py("C8".into())
            .method("POST")
            .header("Content-Type", "application/www-form-urlencoded")
            .block(refused, "preflight")
            .preflights(1),
        cors_py("C11".into())
            .header("Range", "bytes=-200")
            .block(refused, "preflight")
            .preflights(1),
        cors_py("C12".into())
            .header("Range", "bytes=100-200,300-400")
            .block(refused, "preflight")
            .preflights(1),
    ];
    for (name, value) in [
        ("Accept-Language", "fr"),
        ("Content-Language", "fr"),
        ("Content-Type", "multipart/form-data"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ] {
        cases.push(
            cors_py(format!("C4[{name}: {value}]"))
                .header(name, value)
                .preflights(0),
        );
    }
    for ct in ["text /plain", "text\t/\tplain"] {
        cases.push(
            cors_py(format!("C5[{}]", ct.replace('\t', "\\t")))
                .method("POST")
                .header("Content-Type", ct)
                .block(refused, "preflight")
                .preflights(1),
        );
    }
    for ct in ["text/plain;", "text/plain;garbage"] {
        cases.push(
            cors_py(format!("C6[{ct}]"))
                .method("POST")
                .header("Content-Type", ct)
                .preflights(0),
        );
    }
    for ct in [
        "text/plain,",
        ",text/plain",
        "text/plain,text/plain",
        "text/plain,x/x",
    ] {
        cases.push(
            cors_py(format!("C7[{ct}]"))
                .method("POST")
                .header("Content-Type", ct)
                .block(refused, "preflight")
                .preflights(1),
        );
    }
    for v in ["bytes=100-200", "bytes=200-"] {
        cases.push(
            cors_py(format!("C10[{v}]"))
                .header("Range", v)
                .preflights(0),
        );
    }
    for v in ["bytes=200-100", "bytes=abc-def", "bytes=100-200hello"] {
        cases.push(
            cors_py(format!("C14[{v}]"))
                .header("Range", v)
                .block(refused, "preflight")
                .preflights(1),
        );
    }
    // C15-C17: preflight.py allows the header, so the fetch goes through; what
    // is asserted is that a preflight went out naming it.
    let allowing = |id: String, name: &'static str| {
        case(id, |t| {
            t.url(r, "/preflight.py", &[("allow_headers", name)])
        })
    };
    let long_accept = "a".repeat(129);
    let long_ct = format!("text/plain; long={}", "0".repeat(118));
    for (id, name, value, acrh) in [
        ("C15[129 bytes]", "Accept", long_accept.as_str(), "accept"),
        ("C15[\"]", "Accept", "\"", "accept"),
        (
            "C16[accept-language: @]",
            "Accept-Language",
            "@",
            "accept-language",
        ),
        (
            "C16[content-language: @]",
            "Content-Language",
            "@",
            "content-language",
        ),
        (
            "C17[text/html]",
            "Content-Type",
            "text/html",
            "content-type",
        ),
        (
            "C17[long text/plain]",
            "Content-Type",
            long_ct.as_str(),
            "content-type",
        ),
        ("C17[range]", "Range", "bytes 0-", "range"),
        (
            "C17[authorization]",
            "Authorization",
            "basics",
            "authorization",
        ),
        ("C17[test]", "test", "hi", "test"),
    ] {
        cases.push(
            allowing(id.into(), acrh)
                .header(name, value)
                .acrh(Some(acrh)),
        );
    }
    cases.push(
        case("C19", |t| {
            t.url(r, "/preflight.py", &[("allow_methods", "PUT")])
        })
        .method("PUT")
        .header("Accept", "*/*")
        .acrh(None)
        .check(|o| match o.actuals().len() {
            1 => Ok(()),
            n => Err(format!("{n} actual requests, expected 1")),
        }),
    );
    for m in ["DELETE", "PUT", "PATCH", "NEW"] {
        cases.push(
            case(format!("C20[{m}]"), |t| t.url(r, "/preflight.py", &[]))
                .method(m)
                .block("MethodDisallowedByPreflightResponse", "preflight")
                .preflights(1)
                .check(|o| match o.actuals().len() {
                    0 => Ok(()),
                    n => Err(format!("{n} actual requests after a refused preflight")),
                }),
        );
    }
    cases.push(
        case("C21", |t| {
            t.url(r, "/preflight.py", &[("allow_methods", "PUT")])
        })
        .method("PUT")
        .preflights(1)
        .check(|o| {
            let pf = o.preflights().first().and_then(|s| s.header("user-agent"));
            let actual = o.actuals().first().and_then(|s| s.header("user-agent"));
            if pf.is_some() && pf == actual {
                Ok(())
            } else {
                Err(format!("preflight User-Agent {pf:?}, actual {actual:?}"))
            }
        }),
    );
    run_all("C", cases);
}

/// C16 with `Accept-Language: \u{1}`: a browser sends that byte; the `http`
/// crate refuses control bytes in a header value, so `check` cannot send it.
/// It must say so and stop (exit 2) before sending anything.
#[test]
fn c16_control_byte_is_an_error_before_anything_is_sent() {
    let s = servers();
    let c = case("C16[accept-language: \\u1]", |t| {
        t.url(
            &s.r,
            "/preflight.py",
            &[("allow_headers", "accept-language")],
        )
    });
    let output = preflight_test_kit::cli::run(Command::new(bin()).args([
        "check",
        &c.url,
        "--origin",
        O,
        "-H",
        "Accept-Language: \u{1}",
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "C16[\\u1]: {stderr}");
    assert!(stderr.contains("Accept-Language"), "C16[\\u1]: {stderr}");
    assert!(seen(&c.token).is_empty(), "C16[\\u1]: a request was sent");
}
