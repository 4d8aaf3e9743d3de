//! Redirects (docs/browser-model.md#redirects) and the preflight cache (#max-age, #preflight-cache): each engine
//! (Chromium, Firefox, WebKit) against the simulator with its profile. Every server answer is driven by the URL's query string (as the
//! WPT servers are), so the same function answers Chromium over the network
//! and the simulator in process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::{
    simulate, BrowserRequest, FetchOutcome, PreflightCache, ServerResponse,
};
use preflight_core::Origin;
use preflight_test_kit::{Received, Server};
use serde_json::json;
use url::Url;

/// The scripted answer. Query keys: `s` status, `loc` Location, `acao`
/// (`echo` reflects the request's Origin), `acac`, `acah`, `acam`, `acma`;
/// the same keys prefixed `pf_` answer a preflight.
fn answer(method: &str, url: &Url, headers: &[(String, String)]) -> (u16, Vec<(String, String)>) {
    let prefix = if method == "OPTIONS" { "pf_" } else { "" };
    let get = |k: &str| {
        url.query_pairs()
            .find(|(name, _)| *name == format!("{prefix}{k}"))
            .map(|(_, v)| v.into_owned())
    };
    let status = get("s").and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut out = Vec::new();
    if let Some(loc) = get("loc") {
        out.push(("location".to_string(), loc));
    }
    if let Some(acao) = get("acao") {
        let value = if acao == "echo" {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("origin"))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "*".into())
        } else {
            acao
        };
        out.push(("access-control-allow-origin".into(), value));
    }
    for (key, header) in [
        ("acac", "access-control-allow-credentials"),
        ("acah", "access-control-allow-headers"),
        ("acam", "access-control-allow-methods"),
        ("acma", "access-control-max-age"),
    ] {
        if let Some(v) = get(key) {
            out.push((header.into(), v));
        }
    }
    (status, out)
}

fn hop(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{base}/hop")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

struct Case {
    name: String,
    url: String,
    method: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    /// Fetch the same URL this many times in a row (cache cases).
    repeat: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_cache_agree_with_chromium() {
    redirects_and_cache_agree(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_cache_agree_with_firefox() {
    redirects_and_cache_agree(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_cache_agree_with_webkit() {
    redirects_and_cache_agree(Engine::WebKit).await;
}

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn redirects_and_cache_agree(engine: Engine) {
    if !Engine::available("the redirect and cache cases").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let profile = engine.profile();
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let start = |log: Arc<Mutex<Vec<Received>>>| {
        Server::start(move |req| {
            if req.path == "/" || req.path.starts_with("/favicon") {
                return (
                    200,
                    vec![("content-type".into(), "text/html".into())],
                    "<!doctype html>".into(),
                );
            }
            let url = Url::parse(&format!("http://x{}", req.path)).unwrap();
            if let Ok(mut l) = log.lock() {
                l.push(req.clone());
            }
            let (status, headers) = answer(&req.method, &url, &req.headers);
            (status, headers, "ok".into())
        })
        .unwrap()
    };
    let page = start(log.clone()); // O: the page's origin
    let api = start(log.clone()); // R
    let other = start(log.clone()); // Q: a third origin
    let (o, r, q) = (page.origin(), api.origin(), other.origin());
    let userinfo_q = q.replace("http://", "http://user:pass@");

    let case = |name: &str, url: String| Case {
        name: name.into(),
        url,
        method: "GET",
        headers: vec![],
        repeat: 1,
    };
    let mut cases = vec![
        case(
            "F1 R -> R, Origin kept (cors-check-on-redirects, #redirect-taint)",
            hop(
                &r,
                &[
                    ("s", "302"),
                    ("acao", "echo"),
                    ("acac", "true"),
                    ("loc", &hop(&r, &[("acao", "*")])),
                ],
            ),
        ),
        case(
            "F2 R -> Q, Origin becomes null (redirect-taint)",
            hop(
                &r,
                &[
                    ("s", "301"),
                    ("acao", "echo"),
                    ("loc", &hop(&q, &[("acao", "*")])),
                ],
            ),
        ),
        case(
            "F2 R -> Q, ACAO null matches the null origin (cors-check, #redirect-taint)",
            hop(
                &r,
                &[
                    ("s", "302"),
                    ("acao", "echo"),
                    ("loc", &hop(&q, &[("acao", "echo")])),
                ],
            ),
        ),
        case(
            "F3 O -> R, same-origin hop first (redirect-taint)",
            hop(&o, &[("s", "302"), ("loc", &hop(&r, &[("acao", "echo")]))]),
        ),
        case(
            "F4 R -> O, back home with Origin null (redirect-taint, #preflight-after-a-redirect)",
            hop(
                &r,
                &[
                    ("s", "307"),
                    ("acao", "*"),
                    ("loc", &hop(&o, &[("acao", "*")])),
                ],
            ),
        ),
        case(
            "F4 R -> O without ACAO is blocked (preflight-after-a-redirect)",
            hop(&r, &[("s", "307"), ("acao", "*"), ("loc", &hop(&o, &[]))]),
        ),
        case(
            "F7 the redirect itself fails the CORS check (cors-check-on-redirects)",
            hop(&r, &[("s", "302"), ("loc", &hop(&r, &[("acao", "*")]))]),
        ),
        case(
            "F10 R -> R with a mismatched ACAO (cors-check)",
            hop(
                &r,
                &[
                    ("s", "302"),
                    ("acao", "*"),
                    ("loc", &hop(&r, &[("acao", &r)])),
                ],
            ),
        ),
        case(
            "F11 userinfo in Location (userinfo-in-location)",
            hop(
                &o,
                &[("s", "302"), ("loc", &hop(&userinfo_q, &[("acao", "*")]))],
            ),
        ),
        case(
            "redirect-limit-and-schemes a Location that is not http(s)",
            hop(
                &r,
                &[("s", "302"), ("acao", "*"), ("loc", "ftp://127.0.0.1/x")],
            ),
        ),
    ];
    cases.push(Case {
        name: "redirect-method-rewriting 303 turns POST into GET".into(),
        url: hop(
            &r,
            &[
                ("s", "303"),
                ("acao", "echo"),
                ("loc", &hop(&r, &[("acao", "*")])),
            ],
        ),
        method: "POST",
        headers: vec![("content-type", "text/plain")],
        repeat: 1,
    });
    cases.push(Case {
        name: "F12 same-origin redirect, then a new preflight at R (preflight-after-a-redirect)"
            .into(),
        url: hop(
            &o,
            &[
                ("s", "307"),
                (
                    "loc",
                    &hop(&r, &[("acao", "*"), ("pf_acao", "*"), ("pf_acah", "x-w3c")]),
                ),
            ],
        ),
        method: "GET",
        headers: vec![("x-w3c", "1")],
        repeat: 1,
    });
    cases.push(Case {
        name: "F12 ... and blocked when that preflight lacks ACAH (preflight-after-a-redirect, #request-headers-allowed)".into(),
        url: hop(
            &o,
            &[
                ("s", "307"),
                ("loc", &hop(&r, &[("acao", "*"), ("pf_acao", "*")])),
            ],
        ),
        method: "GET",
        headers: vec![("x-w3c", "1")],
        repeat: 1,
    });
    cases.push(Case {
        name: "F14 a preflight answered with a redirect (no-redirect-on-a-preflight)".into(),
        url: hop(
            &r,
            &[
                ("acao", "*"),
                ("pf_s", "301"),
                ("pf_acao", "*"),
                ("pf_acam", "PUT"),
                ("pf_loc", &hop(&r, &[])),
            ],
        ),
        method: "PUT",
        headers: vec![],
        repeat: 1,
    });
    cases.push(Case {
        name: "E1 a cached preflight is not sent again (preflight-cache)".into(),
        url: hop(
            &r,
            &[
                ("acao", "*"),
                ("pf_acao", "*"),
                ("pf_acam", "PUT"),
                ("pf_acma", "600"),
            ],
        ),
        method: "PUT",
        headers: vec![],
        repeat: 2,
    });
    cases.push(Case {
        name: "E2 without max-age the preflight is cached 5 s (max-age)".into(),
        url: hop(
            &r,
            &[("acao", "*"), ("pf_acao", "*"), ("pf_acah", "x-print")],
        ),
        method: "GET",
        headers: vec![("x-print", "1")],
        repeat: 2,
    });
    cases.push(Case {
        name: "E3 max-age 0 is never reused (max-age)".into(),
        url: hop(
            &r,
            &[
                ("acao", "*"),
                ("pf_acao", "*"),
                ("pf_acah", "x-print"),
                ("pf_acma", "0"),
            ],
        ),
        method: "GET",
        headers: vec![("x-print", "1")],
        repeat: 2,
    });
    cases.push(Case {
        name: "E4 max-age -1 is never reused (max-age)".into(),
        url: hop(
            &r,
            &[
                ("acao", "*"),
                ("pf_acao", "*"),
                ("pf_acah", "x-print"),
                ("pf_acma", "-1"),
            ],
        ),
        method: "GET",
        headers: vec![("x-print", "1")],
        repeat: 2,
    });

    let page_url = format!("{o}/");
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    let origin = Origin::parse_serialized(&o).unwrap();
    let mut failures = Vec::new();
    for c in &cases {
        log.lock().unwrap().clear();
        let headers: serde_json::Map<String, serde_json::Value> = c
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let init = json!({"method": c.method, "headers": headers}).to_string();
        let mut seen = Vec::new();
        for _ in 0..c.repeat {
            seen.push(
                tab.fetch(&c.url, &init)
                    .await
                    .expect("fetch runs")
                    .result
                    .map(|(status, _)| status),
            );
        }
        let chromium_requests = summarize(&log.lock().unwrap());

        let mut req = BrowserRequest::new(origin.clone(), c.url.parse().unwrap()).method(c.method);
        for (k, v) in &c.headers {
            req = req.header(*k, *v);
        }
        let mut cache = PreflightCache::new(profile);
        let mut simulated = Vec::new();
        let mut simulated_requests = Vec::new();
        for i in 0..c.repeat {
            let trace = simulate(
                &req,
                profile,
                &mut cache,
                Duration::from_millis(100 * i as u64),
                |sent| {
                    let (status, headers) = answer(&sent.method, &sent.url, &sent.headers);
                    ServerResponse { status, headers }
                },
            );
            simulated.push(match &trace.outcome {
                FetchOutcome::Allowed(ok) => Ok(ok.status),
                FetchOutcome::Blocked(b) => {
                    Err(profile.reason_name(b).unwrap_or_default().to_string())
                }
                FetchOutcome::Withheld => unreachable!("simulate answers every request"),
            });
            for e in &trace.exchanges {
                simulated_requests.push(format!(
                    "{} {} origin={}",
                    e.request.method,
                    e.request.url.port().unwrap_or(0),
                    e.request.header("origin").unwrap_or_else(|| "-".into())
                ));
            }
        }
        // Chromium only tells the page "TypeError" for a network error that is
        // not a CORS error; compare those as an empty name. An engine that
        // reports no name (Firefox or WebKit where it logs none known) is
        // compared by verdict.
        let simulated_cmp: Vec<Result<u16, String>> = simulated
            .iter()
            .zip(&seen)
            .map(|(r, seen)| {
                r.clone().map_err(|e| {
                    let unnamed = engine != Engine::Chromium && seen == &Err(String::new());
                    if e.starts_with("net::") || e == "TypeError" || unnamed {
                        String::new()
                    } else {
                        e
                    }
                })
            })
            .collect();
        if seen != simulated_cmp || chromium_requests != simulated_requests {
            failures.push(format!(
                "{}:\n    {:9} {:?} {:?}\n    simulator {:?} {:?}",
                c.name,
                engine.name(),
                seen,
                chromium_requests,
                simulated,
                simulated_requests
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} cases differ:\n{}",
        engine.name(),
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "browser suite: {} redirect and cache cases, {} and the {profile} profile agree",
        cases.len(),
        engine.name()
    );
}

/// The requests a server saw, in arrival order, as `METHOD port origin=...`.
fn summarize(log: &[Received]) -> Vec<String> {
    let mut log: Vec<&Received> = log.iter().collect();
    log.sort_by_key(|r| r.seq);
    log.iter()
        .map(|r| {
            let host = r
                .headers
                .iter()
                .find(|(k, _)| k == "host")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let port = host
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(0);
            let origin = r
                .headers
                .iter()
                .find(|(k, _)| k == "origin")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "-".into());
            format!("{} {} origin={}", r.method, port, origin)
        })
        .collect()
}
