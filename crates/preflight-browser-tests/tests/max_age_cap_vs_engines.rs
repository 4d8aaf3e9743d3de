//! The max-age cap (docs/browser-model.md#max-age) in WebKit against its
//! profile. The cap is 10 minutes, so MiniBrowser runs with its clocks sped up
//! 100 times (`fast_clock`, libfaketime): the server asks for four times
//! the cap; a second fetch at half the cap must reuse the preflight and a
//! third at one and a half times the cap must send a new one. The simulator's
//! cache is given the same (sped-up) times, so a profile whose cap is wrong in
//! either direction sends a different number of preflights than its engine.
//!
//! Chromium (clocks x1200) did not load the page and Firefox (x2000) did not
//! open its BiDi endpoint under libfaketime, so their caps (2 h, 24 h) are
//! not checked against the engines here.

use std::time::{Duration, Instant};

use preflight_browser_tests::{browser_required, fast_clock, Engine, Judge};
use preflight_core::browser::{
    simulate, BrowserRequest, ExchangeKind, PreflightCache, ServerResponse,
};
use preflight_core::Origin;
use preflight_test_kit::Server;
use serde_json::json;

/// How much faster the browser's clocks run: WebKit's 600 s cap takes 6 s.
const SPEED: u32 = 100;

async fn judge_cap(engine: Engine) {
    if !Engine::available("the max-age cap case").contains(&engine) {
        return;
    }
    let speed = SPEED;
    let Some(env) = fast_clock(speed) else {
        assert!(
            !browser_required(),
            "PREFLIGHT_REQUIRE_BROWSER=1 but libfaketime is not installed"
        );
        eprintln!(
            "SKIPPED: libfaketime is not installed; the max-age cap was not checked in {}",
            engine.name()
        );
        return;
    };
    let profile = engine.profile();
    let cap = profile.max_age_cap();
    let asked = (cap * 4).to_string();
    let page = Server::start(|_| {
        (
            200,
            vec![("content-type".into(), "text/html".into())],
            "<!doctype html>".into(),
        )
    })
    .unwrap();
    let page_origin = page.origin();
    let for_api = page_origin.clone();
    let answer = move |preflight: bool| -> (u16, Vec<(String, String)>) {
        let mut h = vec![("access-control-allow-origin".to_string(), for_api.clone())];
        if preflight {
            h.push(("access-control-allow-methods".into(), "PUT".into()));
            h.push(("access-control-max-age".into(), asked.clone()));
        }
        (if preflight { 204 } else { 200 }, h)
    };
    let server_answer = answer.clone();
    let api = Server::start(move |req| {
        let (status, headers) = server_answer(req.method == "OPTIONS");
        (status, headers, String::new())
    })
    .unwrap();
    let page_url = format!("{page_origin}/");
    let judge = Judge::launch_with(engine, &page_url, &env)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    let origin = Origin::parse_serialized(&page_origin).unwrap();
    let url = format!("{}/cap", api.origin());
    let req = BrowserRequest::new(origin, url.parse().unwrap()).method("PUT");
    let mut cache = PreflightCache::new(profile);
    let real = |fake_seconds: u64| Duration::from_secs_f64(fake_seconds as f64 / f64::from(speed));
    let start = Instant::now();
    let mut log = Vec::new();
    for at in [0, cap / 2, cap + cap / 2] {
        if let Some(wait) = real(at).checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let fake_now = start.elapsed().mul_f64(f64::from(speed));
        let seen = tab
            .fetch(&url, &json!({"method": "PUT"}).to_string())
            .await
            .expect("fetch runs");
        assert!(seen.result.is_ok(), "{} blocked {seen:?}", engine.name());
        let trace = simulate(&req, profile, &mut cache, fake_now, |sent| {
            let (status, headers) = answer(sent.kind == ExchangeKind::Preflight);
            ServerResponse { status, headers }
        });
        let simulated = trace
            .exchanges
            .iter()
            .filter(|e| e.request.kind == ExchangeKind::Preflight)
            .count();
        let received = api
            .received()
            .iter()
            .filter(|r| r.method == "OPTIONS")
            .count();
        log.push((fake_now.as_secs(), received, simulated));
    }
    let engine_total = log.last().map(|l| l.1).unwrap_or(0);
    let simulated_total: usize = log.iter().map(|l| l.2).sum();
    assert_eq!(
        engine_total,
        simulated_total,
        "{}: max-age {} asked, cap {cap} s in the {profile} profile; (browser time s, preflights so far, simulated) {log:?}",
        engine.name(),
        cap * 4
    );
    assert_eq!(simulated_total, 2, "the case must see the cap take effect");
    eprintln!(
        "max-age cap: {} reuses a preflight until {cap} s and not after, as the {profile} profile says ({log:?}, clocks x{speed})",
        engine.name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit_caps_max_age_as_its_profile() {
    judge_cap(Engine::WebKit).await;
}
