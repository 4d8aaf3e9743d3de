//! A. CORS check on a non-preflighted response.

use crate::harness::*;
use crate::wpt::{servers, O};

#[test]
fn a_cors_check() {
    let s = servers();
    let r = s.r.as_str();
    let p = s.p.as_str();
    let acao = |v: &str| hv("Access-Control-Allow-Origin", v);
    let simple = |id: String, base: &str, headers: Vec<String>| {
        case(id, |t| {
            let params: Vec<(&str, &str)> = headers.iter().map(|h| ("h", h.as_str())).collect();
            t.url(base, "/makeheader", &params)
        })
    };
    let mut cases = vec![
        simple("A1".into(), r, vec![]).block("MissingAllowOriginHeader", "actual"),
        simple("A2".into(), r, vec![acao("*")]),
        simple("A4".into(), r, vec![acao(O)]),
        simple("A5".into(), r, vec![acao(r)]).block("AllowOriginMismatch", "actual"),
        simple("A6".into(), p, vec![acao(p)]).block("AllowOriginMismatch", "actual"),
        simple("A9".into(), r, vec![acao(&format!("{O}/"))]).block("AllowOriginMismatch", "actual"),
        simple("A12".into(), r, vec![acao("null")]).block("AllowOriginMismatch", "actual"),
        simple("A15".into(), r, vec![acao("")]).block("InvalidAllowOriginValue", "actual"),
        simple("A17[O,O]".into(), p, vec![acao(O), acao(O)])
            .block("MultipleAllowOriginValues", "actual"),
        simple(
            "A17[*,example,*]".into(),
            p,
            vec![acao("*"), acao("http://example.com"), acao("*")],
        )
        .block("MultipleAllowOriginValues", "actual"),
        simple(
            "A19".into(),
            r,
            vec![acao("*"), hv("Access-Control-Allow-Credentials", "true")],
        )
        .arg(&["--credentials", "include"])
        .block("WildcardOriginNotAllowed", "actual"),
        simple(
            "A20".into(),
            r,
            vec![acao("*"), hv("Access-Control-Allow-Credentials", "true")],
        )
        .arg(&["--credentials", "omit"]),
    ];
    for (value, reason) in [
        ("web-platform.test:8000", "AllowOriginMismatch"),
        ("//web-platform.test:8000", "InvalidAllowOriginValue"),
        ("ftp://web-platform.test:8000", "AllowOriginMismatch"),
        (
            "http://web-platform.test:8000:80",
            "InvalidAllowOriginValue",
        ),
    ] {
        cases.push(simple(format!("A11[{value}]"), r, vec![acao(value)]).block(reason, "actual"));
    }
    for (value, reason) in [
        ("'*'", "InvalidAllowOriginValue"),
        ("\"*\"", "InvalidAllowOriginValue"),
        ("**", "InvalidAllowOriginValue"),
        ("-", "InvalidAllowOriginValue"),
        ("* *", "MultipleAllowOriginValues"),
    ] {
        cases.push(simple(format!("A14[{value}]"), r, vec![acao(value)]).block(reason, "actual"));
    }
    // A21: only the preflight needs a 2xx (docs/browser-model.md#actual-response-status); the actual status is readable.
    for method in ["GET", "HEAD", "POST", "PUT", "CHICKEN"] {
        for status in [400u16, 401, 404, 501, 699] {
            let status_s = status.to_string();
            cases.push(
                case(format!("A21[{method} {status}]"), |t| {
                    t.url(
                        r,
                        "/makeheader",
                        &[
                            ("pfh", &acao(O)),
                            (
                                "pfh",
                                &hv(
                                    "Access-Control-Allow-Methods",
                                    "GET, HEAD, POST, PUT, CHICKEN",
                                ),
                            ),
                            ("pfh", &hv("Access-Control-Allow-Headers", "x-nonsimple")),
                            ("status", &status_s),
                            ("h", &acao(O)),
                        ],
                    )
                })
                .method(method)
                .header("x-nonsimple", "1")
                .preflights(1)
                .check(move |o| match o.json["actual"]["status"].as_u64() {
                    Some(s) if s == u64::from(status) => Ok(()),
                    other => Err(format!("actual status {other:?}, expected {status}")),
                }),
            );
        }
    }
    run_all("A", cases);
}
