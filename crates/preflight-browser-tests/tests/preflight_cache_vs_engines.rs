//! The preflight cache (docs/browser-model.md#max-age, #preflight-cache) in
//! each engine against its profile: the same request fetched twice, with the
//! real time between them given to the simulator's cache, and the preflights
//! the server received counted. The caps themselves (2 h, 24 h, 10 min) are
//! too long to wait for; these cases pin the default, a short max-age that
//! expires, and the values every engine refuses to cache.

use std::time::{Duration, Instant};

use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::{
    simulate, BrowserRequest, ExchangeKind, PreflightCache, ServerResponse,
};
use preflight_core::Origin;
use preflight_test_kit::Server;
use serde_json::json;

struct CacheCase {
    name: &'static str,
    /// `Access-Control-Max-Age` on the preflight, if any.
    max_age: Option<&'static str>,
    /// Pause between the two fetches.
    pause: Duration,
    /// The preflight and the response answer `Access-Control-Allow-Origin: *`
    /// (else the origin).
    wildcard: bool,
    /// `Access-Control-Allow-Methods` on the preflight.
    methods: &'static str,
    /// `Access-Control-Allow-Headers` on the preflight, and whether the
    /// request sends `x-a: 1` (a header that needs leave).
    headers: Option<&'static str>,
    send_header: bool,
}

/// A case's defaults: a PUT, leave for PUT, no headers.
const BASE: CacheCase = CacheCase {
    name: "",
    max_age: None,
    pause: Duration::ZERO,
    wildcard: false,
    methods: "PUT",
    headers: None,
    send_header: false,
};

const CASES: &[CacheCase] = &[
    CacheCase {
        name: "no max-age: the default keeps it for the second fetch",
        max_age: None,
        pause: Duration::ZERO,
        wildcard: false,
        ..BASE
    },
    CacheCase {
        name: "max-age 1 expires after 2.5 s",
        max_age: Some("1"),
        pause: Duration::from_millis(2500),
        wildcard: false,
        ..BASE
    },
    CacheCase {
        name: "max-age 600 is reused",
        max_age: Some("600"),
        pause: Duration::ZERO,
        wildcard: false,
        ..BASE
    },
    CacheCase {
        name: "max-age 0 is not cached",
        max_age: Some("0"),
        pause: Duration::ZERO,
        wildcard: false,
        ..BASE
    },
    CacheCase {
        name: "max-age -1 is not cached",
        max_age: Some("-1"),
        pause: Duration::ZERO,
        wildcard: false,
        ..BASE
    },
    CacheCase {
        name: "max-age that is not a number: the default",
        max_age: Some("ten"),
        pause: Duration::ZERO,
        wildcard: false,
        ..BASE
    },
    CacheCase {
        name: "max-age 600 with ACAO *",
        max_age: Some("600"),
        pause: Duration::ZERO,
        wildcard: true,
        ..BASE
    },
    CacheCase {
        name: "max-age 600 with Access-Control-Allow-Methods *",
        max_age: Some("600"),
        wildcard: true,
        methods: "*",
        ..BASE
    },
    CacheCase {
        name: "max-age 600 with Access-Control-Allow-Headers *",
        max_age: Some("600"),
        wildcard: true,
        headers: Some("*"),
        send_header: true,
        ..BASE
    },
    CacheCase {
        name: "max-age 600 with the header allowed by name",
        max_age: Some("600"),
        headers: Some("x-a"),
        send_header: true,
        ..BASE
    },
    CacheCase {
        name: "an empty max-age",
        max_age: Some(""),
        ..BASE
    },
];

static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn judge_cache(engine: Engine) {
    if !Engine::available("the preflight-cache cases").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let profile = engine.profile();
    let page = Server::page().unwrap();
    let page_origin = page.origin();
    let for_api = page_origin.clone();
    let answer = move |index: usize, preflight: bool| -> (u16, Vec<(String, String)>) {
        let wildcard = CASES.get(index).is_some_and(|c| c.wildcard);
        let acao = if wildcard {
            "*".to_string()
        } else {
            for_api.clone()
        };
        let mut h = vec![("access-control-allow-origin".to_string(), acao)];
        if preflight {
            let case = CASES.get(index).unwrap_or(&BASE);
            h.push(("access-control-allow-methods".into(), case.methods.into()));
            if let Some(v) = case.headers {
                h.push(("access-control-allow-headers".into(), v.into()));
            }
            if let Some(v) = CASES.get(index).and_then(|c| c.max_age) {
                h.push(("access-control-max-age".into(), v.into()));
            }
        }
        (if preflight { 204 } else { 200 }, h)
    };
    let server_answer = answer.clone();
    let api = Server::start(move |req| {
        let index = req
            .path
            .trim_start_matches("/cache/")
            .parse()
            .unwrap_or(usize::MAX);
        let (status, headers) = server_answer(index, req.method == "OPTIONS");
        (status, headers, String::new())
    })
    .unwrap();
    let page_url = format!("{page_origin}/");
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    let origin = Origin::parse_serialized(&page_origin).unwrap();
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let url = format!("{}/cache/{i}", api.origin());
        // Default cache mode: "no-store" makes Chromium and Firefox skip the preflight cache too.
        let mut req = BrowserRequest::new(origin.clone(), url.parse().unwrap()).method("PUT");
        let init = if case.send_header {
            req = req.header("x-a", "1");
            json!({"method": "PUT", "headers": {"x-a": "1"}}).to_string()
        } else {
            json!({"method": "PUT"}).to_string()
        };
        let mut cache = PreflightCache::new(profile);
        let mut simulated = 0;
        let start = Instant::now();
        for round in 0..2 {
            if round == 1 {
                tokio::time::sleep(case.pause).await;
            }
            let now = start.elapsed();
            let seen = tab.fetch(&url, &init).await.expect("fetch runs");
            assert!(
                seen.result.is_ok(),
                "{}: {} blocked {:?}",
                case.name,
                engine.name(),
                seen
            );
            let trace = simulate(&req, profile, &mut cache, now, |sent| {
                let (status, headers) = answer(i, sent.kind == ExchangeKind::Preflight);
                ServerResponse { status, headers }
            });
            simulated += trace
                .exchanges
                .iter()
                .filter(|e| e.request.kind == ExchangeKind::Preflight)
                .count();
        }
        let path = format!("/cache/{i}");
        let received = api
            .received()
            .iter()
            .filter(|r| r.path == path && r.method == "OPTIONS")
            .count();
        if received != simulated {
            failures.push(format!(
                "{}: {} sent {received} preflights, the {profile} profile {simulated}",
                case.name,
                engine.name()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "preflight cache: {} cases, {} and the {profile} profile agree",
        CASES.len(),
        engine.name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_cache_agrees_with_its_profile() {
    judge_cache(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_cache_agrees_with_its_profile() {
    judge_cache(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit_cache_agrees_with_its_profile() {
    judge_cache(Engine::WebKit).await;
}
