//! The simulator must agree with every engine: the single-fetch cases
//! (`preflight_browser_tests::cases`) served by a real HTTP server to
//! Chromium, Firefox and WebKit, each judged against its own profile. Compared
//! per case: the verdict, the status and exposed headers of an allowed
//! request, the preflights the server received (with their
//! `Access-Control-Request-*` headers), and the engine's reason name wherever
//! the engine reports one (Chromium over CDP, Firefox from its console
//! message, WebKit from its console message read over its remote Web
//! Inspector). Chromium must name every refusal, and its preflights must
//! carry their headers in the order the simulator plans
//! (docs/browser-model.md#preflight-request).
//!
//! One browser per engine runs the whole table; the engines take turns.

use std::time::{Duration, Instant};

use preflight_browser_tests::cases::{credentials_mode, fill, header, CASES};
use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::{
    simulate, BrowserRequest, ExchangeKind, FetchOutcome, PreflightCache, ServerResponse,
};
use preflight_core::Origin;
use preflight_test_kit::Server;
use serde_json::json;

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn judge_cases(engine: Engine) {
    if !Engine::available("the single-fetch cases").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let started = Instant::now();
    let profile = engine.profile();
    let page = Server::page().unwrap();
    let page_origin = page.origin();
    let origin_for_api = page_origin.clone();
    let api = Server::start(move |req| {
        let index: usize = req
            .path
            .trim_start_matches("/case/")
            .split(['?', '/'])
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        let Some(case) = CASES.get(index) else {
            return (404, vec![], String::new());
        };
        let (status, headers) = if req.method == "OPTIONS" {
            case.preflight
        } else {
            case.actual
        };
        (status, fill(headers, &origin_for_api), "body".into())
    })
    .unwrap();
    let page_url = format!("{page_origin}/");
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    let origin = Origin::parse_serialized(&page_origin).unwrap();
    let mut failures = Vec::new();
    let mut reasons_compared = 0;
    let mut checked_preflights = 0;
    let mut orders_compared = 0;
    for (i, case) in CASES.iter().enumerate() {
        let url = format!("{}/case/{i}", api.origin());
        let headers: serde_json::Map<String, serde_json::Value> = case
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let init = json!({"method": case.method, "headers": headers, "credentials": case.credentials, "cache": "no-store"});
        let seen = tab
            .fetch(&url, &init.to_string())
            .await
            .unwrap_or_else(|e| panic!("{}: fetch runs: {e}", case.name));

        let mut req = BrowserRequest::new(origin.clone(), url.parse().unwrap())
            .method(case.method)
            .credentials(credentials_mode(case.credentials));
        for (k, v) in case.headers {
            req = req.header(*k, *v);
        }
        let mut cache = PreflightCache::new(profile);
        let trace = simulate(&req, profile, &mut cache, Duration::ZERO, |sent| {
            let (status, headers) = match sent.kind {
                ExchangeKind::Preflight => case.preflight,
                ExchangeKind::Actual => case.actual,
            };
            ServerResponse {
                status,
                headers: fill(headers, &page_origin),
            }
        });
        let set_by_case: Vec<String> = case
            .actual
            .1
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        let only_case_headers = |names: Vec<String>| {
            let mut names: Vec<String> = names
                .into_iter()
                .map(|n| n.to_ascii_lowercase())
                .filter(|n| set_by_case.contains(n))
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let simulated: Result<(u16, Vec<String>), Option<&str>> = match &trace.outcome {
            FetchOutcome::Allowed(ok) => {
                Ok((ok.status, only_case_headers(ok.exposed_headers.clone())))
            }
            FetchOutcome::Blocked(blocked) => Err(profile.reason_name(blocked)),
            FetchOutcome::Withheld => unreachable!("simulate answers every request"),
        };
        let engine_said = seen
            .result
            .clone()
            .map(|(status, names)| (status, only_case_headers(names)));
        let agree = match (&engine_said, &simulated) {
            (Ok(a), Ok(b)) => a == b,
            (Err(reported), Err(predicted)) => {
                if reported.is_empty() {
                    // Chromium names every refusal over CDP.
                    engine != Engine::Chromium
                } else {
                    reasons_compared += 1;
                    Some(reported.as_str()) == *predicted
                }
            }
            _ => false,
        };
        let path = format!("/case/{i}");
        let received: Vec<(Option<String>, Option<String>)> = api
            .received()
            .iter()
            .filter(|r| r.path == path && r.method == "OPTIONS")
            .map(|r| {
                (
                    header(&r.headers, "access-control-request-method"),
                    header(&r.headers, "access-control-request-headers"),
                )
            })
            .collect();
        let simulated_preflights: Vec<(Option<String>, Option<String>)> = trace
            .exchanges
            .iter()
            .filter(|e| e.request.kind == ExchangeKind::Preflight)
            .map(|e| {
                (
                    e.request.header("access-control-request-method"),
                    e.request.header("access-control-request-headers"),
                )
            })
            .collect();
        if engine == Engine::Chromium {
            // docs/browser-model.md#preflight-request: the preflight's headers
            // in Chromium's order. Compare the order of the names the
            // simulator plans, as they arrived on the wire (hyper keeps the
            // order in which names first appear).
            let planned_order: Vec<Vec<String>> = trace
                .exchanges
                .iter()
                .filter(|e| e.request.kind == ExchangeKind::Preflight)
                .map(|e| {
                    e.request
                        .headers
                        .iter()
                        .map(|(k, _)| k.to_ascii_lowercase())
                        .collect()
                })
                .collect();
            let wire_order: Vec<Vec<String>> = api
                .received()
                .iter()
                .filter(|r| r.path == path && r.method == "OPTIONS")
                .zip(&planned_order)
                .map(|(r, planned)| {
                    r.headers
                        .iter()
                        .map(|(k, _)| k.to_ascii_lowercase())
                        .filter(|k| planned.contains(k))
                        .collect()
                })
                .collect();
            if wire_order != planned_order {
                failures.push(format!(
                    "{}: preflight header order on the wire {wire_order:?}, planned {planned_order:?}",
                    case.name
                ));
            }
            orders_compared += planned_order.len();
        }
        if !agree || received != simulated_preflights {
            failures.push(format!(
                "{}: {} {:?} with preflights {:?} (console: {:?}), simulator ({profile}) {:?} with {:?}",
                case.name,
                engine.name(),
                engine_said,
                received,
                seen.message,
                simulated,
                simulated_preflights
            ));
        }
        checked_preflights += received.len();
    }
    drop(tab);
    drop(judge);
    assert!(
        failures.is_empty(),
        "{}: {} of {} cases differ:\n{}",
        engine.name(),
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    assert!(
        checked_preflights >= 20,
        "the suite must exercise preflights"
    );
    if engine == Engine::Chromium {
        assert!(
            orders_compared >= 20,
            "chromium: only {orders_compared} preflights' header order compared"
        );
    }
    assert!(
        reasons_compared >= 10,
        "{}: only {reasons_compared} reasons read",
        engine.name()
    );
    eprintln!(
        "browser suite: {} cases ({checked_preflights} preflights, {reasons_compared} reasons, {orders_compared} preflight header orders compared): {} and the {profile} profile agree on every one, in {:.1} s",
        CASES.len(),
        engine.name(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_agrees_with_its_profile() {
    judge_cases(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_agrees_with_its_profile() {
    judge_cases(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit_agrees_with_its_profile() {
    judge_cases(Engine::WebKit).await;
}
