//! B. Response-header exposure.

use crate::harness::*;
use crate::wpt::{servers, O};

#[test]
fn b_exposure() {
    let s = servers();
    let p = s.p.as_str();
    let acao = |v: &str| hv("Access-Control-Allow-Origin", v);
    let with = |id: String, headers: Vec<String>| {
        case(id, |t| {
            let params: Vec<(&str, &str)> = headers.iter().map(|h| ("h", h.as_str())).collect();
            t.url(p, "/makeheader", &params)
        })
    };
    // Content-Length comes from hyper itself (the body is empty).
    const B1: &[&str] = &[
        "Cache-Control",
        "Content-Language",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
        "Content-Length",
    ];
    const B2: &[&str] = &["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2"];
    let mut b1 = vec![acao("*")];
    b1.extend(
        B1.iter()
            .filter(|n| **n != "Content-Length")
            .map(|n| hv(n, "1")),
    );
    let mut b2 = vec![acao("*")];
    b2.extend(B2.iter().map(|n| hv(n, "1")));
    let mut cases = vec![
        with("B1".into(), b1).exposes(B1, true),
        with("B2".into(), b2).exposes(B2, false),
        with(
            "B7".into(),
            vec![
                acao("*"),
                hv("Access-Control-Expose-Headers", "set-cookie, *"),
                hv("test", "X"),
                hv("set-cookie", "a=1"),
            ],
        )
        .exposes(&["test"], true)
        .exposes(&["set-cookie"], false),
    ];
    for creds in ["omit", "include"] {
        for name in ["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2"] {
            let cookie = name.starts_with("Set-Cookie");
            let id = format!("{}[{creds} {name}]", if cookie { "B4" } else { "B3" });
            let names: &'static [&'static str] = match name {
                "Age" => &["Age"],
                "Server" => &["Server"],
                "Warning" => &["Warning"],
                "Set-Cookie" => &["Set-Cookie"],
                _ => &["Set-Cookie2"],
            };
            cases.push(
                with(
                    id,
                    vec![
                        acao(O),
                        hv("Access-Control-Allow-Credentials", "true"),
                        hv("Access-Control-Expose-Headers", name),
                        hv(name, "1"),
                    ],
                )
                .arg(&["--credentials", creds])
                .exposes(names, !cookie),
            );
        }
    }
    run_all("B", cases);
}
