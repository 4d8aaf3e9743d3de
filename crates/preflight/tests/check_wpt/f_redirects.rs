//! F. Redirects. Here the page's origin is the `o` listener, so that hops to
//! and from the page's own origin are real.

use crate::harness::*;
use crate::wpt::servers;

#[test]
fn f_redirects() {
    let s = servers();
    let (o, r, p) = (s.o.as_str(), s.r.as_str(), s.p.as_str());
    let acao = |v: &str| hv("Access-Control-Allow-Origin", v);
    // `base/redirect.py` -> `to` with `status`.
    let redirect = |id: String, base: &str, status: u16, to: &dyn Fn(&At) -> String| {
        case(id, |t| {
            let location = to(t);
            t.url(
                base,
                "/redirect.py",
                &[
                    ("redirect_status", &status.to_string()),
                    ("location", &location),
                ],
            )
        })
        .origin(o)
    };
    // `base/makeheader` -> `to`, with literal headers on the 302.
    let literal = |id: &str, base: &str, headers: Vec<String>, to: &dyn Fn(&At) -> String| {
        case(id, |t| {
            let location = to(t);
            let mut params: Vec<(&str, &str)> = headers.iter().map(|h| ("h", h.as_str())).collect();
            params.push(("status", "302"));
            params.push(("location", &location));
            t.url(base, "/makeheader", &params)
        })
        .origin(o)
    };
    let mut cases = Vec::new();
    for status in [301u16, 302, 303, 307, 308] {
        cases.push(
            redirect(format!("F1[{status}]"), r, status, &|t| {
                t.url(r, "/preflight.py", &[])
            })
            .preflights(0)
            .final_origin(o.to_string()),
        );
        cases.push(
            redirect(format!("F2[{status}]"), r, status, &|t| {
                t.url(p, "/preflight.py", &[])
            })
            .final_origin("null".into()),
        );
        cases.push(
            redirect(format!("F3[{status}]"), o, status, &|t| {
                t.url(r, "/preflight.py", &[])
            })
            .final_origin(o.to_string()),
        );
        cases.push(
            redirect(format!("F4[{status}]"), r, status, &|t| {
                t.url(o, "/preflight.py", &[])
            })
            .final_origin("null".into()),
        );
    }
    // F4, the other half: back on O the response still needs ACAO (docs/browser-model.md#preflight-after-a-redirect).
    cases.push(
        redirect("F4[no ACAO at O]".into(), r, 302, &|t| {
            t.url(o, "/makeheader", &[])
        })
        .block("MissingAllowOriginHeader", "actual"),
    );
    cases.push(
        literal("F6", r, vec![acao("*")], &|t| {
            t.url(o, "/makeheader", &[("h", &acao("null"))])
        })
        .final_origin("null".into()),
    );
    for (id, headers, reason) in [
        ("F7[null]", vec![acao("null")], "AllowOriginMismatch"),
        ("F7[none]", vec![], "MissingAllowOriginHeader"),
    ] {
        cases.push(
            literal(id, r, headers, &|t| {
                t.url(r, "/makeheader", &[("h", &acao("*"))])
            })
            .block(reason, "actual")
            .check(|out| match out.actuals().len() {
                1 => Ok(()),
                n => Err(format!(
                    "{n} requests; the refused redirect must not be followed"
                )),
            }),
        );
    }
    cases.push(
        literal("F8", o, vec![], &|t| {
            t.url(r, "/makeheader", &[("h", &acao("*"))])
        })
        .final_origin(o.to_string()),
    );
    cases.push(
        literal("F10", r, vec![acao("*")], &|t| {
            t.url(r, "/makeheader", &[("h", &acao(r))])
        })
        .block("AllowOriginMismatch", "actual"),
    );
    let userinfo = |base: &str, info: &str| {
        let rest = base.strip_prefix("http://").unwrap_or(base);
        format!("http://{info}@{rest}")
    };
    for (label, from, to) in [
        ("O->user:password@P", o, userinfo(p, "user:password")),
        ("O->user:@P", o, userinfo(p, "user:")),
        ("O->:password@P", o, userinfo(p, ":password")),
        ("P->user:pass@O", p, userinfo(o, "user:pass")),
        ("P->user:pass@R", p, userinfo(r, "user:pass")),
    ] {
        cases.push(
            redirect(format!("F11[{label}]"), from, 302, &|t| {
                t.url(&to, "/preflight.py", &[])
            })
            .block("RedirectContainsCredentials", "actual")
            .check(|out| match out.seen.len() {
                1 => Ok(()),
                n => Err(format!(
                    "{n} requests; the userinfo URL must not be requested"
                )),
            }),
        );
    }
    cases.push(redirect("F11[no userinfo]".into(), o, 302, &|t| {
        t.url(p, "/preflight.py", &[])
    }));
    for (label, allow, expect) in [
        ("allowed", "x-w3c", Expect::Allow),
        (
            "refused",
            "x-other",
            Expect::Block("HeaderDisallowedByPreflightResponse", "preflight"),
        ),
    ] {
        let mut c = redirect(format!("F12[{label}]"), o, 302, &|t| {
            t.url(r, "/preflight.py", &[("allow_headers", allow)])
        })
        .header("x-w3c", "1")
        .check(|out| {
            // No preflight on the same-origin first hop; one at R (docs/browser-model.md#preflight-after-a-redirect).
            let at: Vec<&str> = out.preflights().iter().map(|s| s.server).collect();
            if at == ["r"] {
                Ok(())
            } else {
                Err(format!("preflights at {at:?}, expected one at R"))
            }
        });
        c.expect = expect;
        cases.push(c);
    }
    for status in [301u16, 302, 303, 307, 308] {
        cases.push(
            case(format!("F14[{status}]"), |t| {
                t.url(
                    r,
                    "/redirect.py",
                    &[
                        ("redirect_status", &status.to_string()),
                        ("redirect_preflight", "1"),
                        ("allow_headers", "x-force-preflight"),
                        ("location", &t.url(r, "/preflight.py", &[])),
                    ],
                )
            })
            .origin(o)
            .header("x-force-preflight", "1")
            .block("PreflightDisallowedRedirect", "preflight")
            .preflights(1)
            .check(|out| match out.actuals().len() {
                0 => Ok(()),
                n => Err(format!(
                    "{n} other requests; a preflight redirect is never followed"
                )),
            }),
        );
    }
    run_all("F", cases);
}
