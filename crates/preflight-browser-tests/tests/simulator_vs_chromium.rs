//! The simulator must agree with Chromium. Each case is served by a real HTTP
//! server to headless Chromium (a page on one loopback port fetching from
//! another) and, with the very same answers, to `browser::simulate`; the
//! verdict, Chromium's `corsError` name (read over CDP), the number of
//! preflights and the exposed headers must be equal.

use std::time::Duration;

use preflight_browser_tests::cases::{credentials_mode, fill, header, CASES};
use preflight_browser_tests::{browser_required, chromium_path, Browser};
use preflight_core::browser::{
    simulate, BrowserRequest, ExchangeKind, FetchOutcome, PreflightCache, Profile, ServerResponse,
};
use preflight_core::Origin;
use preflight_test_kit::Server;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_agrees_with_chromium() {
    if chromium_path().is_none() {
        assert!(
            !browser_required(),
            "PREFLIGHT_REQUIRE_BROWSER=1 but Chromium is not installed"
        );
        eprintln!("SKIPPED: Chromium is not installed; the browser suite did not run");
        return;
    }
    let page = Server::page().unwrap();
    let page_origin = page.origin();
    let origin_for_api = page_origin.clone();
    // The API answers each case by its index in the path.
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

    let browser = Browser::launch().await.expect("Chromium starts");
    let tab = browser
        .open(&format!("{page_origin}/"))
        .await
        .expect("page loads");
    let origin = Origin::parse_serialized(&page_origin).unwrap();
    let mut failures = Vec::new();
    let mut checked_preflights = 0;
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
            .expect("fetch runs");

        let mut req = BrowserRequest::new(origin.clone(), url.parse().unwrap())
            .method(case.method)
            .credentials(credentials_mode(case.credentials));
        for (k, v) in case.headers {
            req = req.header(*k, *v);
        }
        let mut cache = PreflightCache::new(Profile::Chromium);
        let trace = simulate(
            &req,
            Profile::Chromium,
            &mut cache,
            Duration::ZERO,
            |sent| {
                let (status, headers) = match sent.kind {
                    ExchangeKind::Preflight => case.preflight,
                    ExchangeKind::Actual => case.actual,
                };
                ServerResponse {
                    status,
                    headers: fill(headers, &page_origin),
                }
            },
        );
        let simulated = match &trace.outcome {
            FetchOutcome::Allowed(ok) => {
                let mut exposed: Vec<String> = ok
                    .exposed_headers
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect();
                exposed.sort();
                exposed.dedup();
                Ok((ok.status, exposed))
            }
            FetchOutcome::Blocked(blocked) => Err(blocked.name().to_string()),
            FetchOutcome::Withheld => unreachable!("simulate answers every request"),
        };
        // Compare exposed names only among the headers the case set (hyper
        // adds date and content-length of its own).
        let set_by_case: Vec<String> = case
            .actual
            .1
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        let chromium = seen.result.clone().map(|(status, names)| {
            let mut names: Vec<String> = names
                .into_iter()
                .filter(|n| set_by_case.contains(n))
                .collect();
            names.sort();
            names.dedup();
            (status, names)
        });
        // Preflights as the server saw them, and their CORS request headers.
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
        // docs/browser-model.md#preflight-request: the preflight's headers in Chromium's order. Compare the order of
        // the names the simulator plans, as they arrived on the wire (hyper
        // keeps the order in which names first appear).
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
        if chromium != simulated || received != simulated_preflights {
            failures.push(format!(
                "{}: chromium {:?} with preflights {:?}, simulator {:?} with {:?}",
                case.name, chromium, received, simulated, simulated_preflights
            ));
        }
        checked_preflights += received.len();
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    assert!(
        checked_preflights >= 20,
        "the suite must exercise preflights"
    );
    eprintln!("browser suite: {} cases ({checked_preflights} preflights), Chromium and the simulator agree on every one", CASES.len());
}
