//! A preflighted request that is redirected: which hops each engine
//! preflights (docs/browser-model.md#preflight-after-a-redirect). The server
//! answers every preflight with leave to go on and every first request with
//! the case's redirect to the same origin; the preflights it receives, with
//! their `Access-Control-Request-*` headers, and the verdict must be the ones
//! the engine's profile predicts. Chromium preflights a hop only when its own
//! method and headers need it; Firefox and WebKit preflight every hop of a
//! request that was preflighted once.

use std::time::Duration;

use preflight_browser_tests::cases::credentials_mode;
use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::{
    simulate, BrowserRequest, ExchangeKind, FetchOutcome, PreflightCache, ServerResponse,
};
use preflight_core::Origin;
use preflight_test_kit::Server;

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// (redirect status, method, credentials mode, the request's headers, where
/// the redirect goes: `same` origin or the `other` one, whether the hop's
/// preflight answer allows `authorization`)
type RedirectCase = (
    u16,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    bool,
);

const XA: &[(&str, &str)] = &[("x-a", "1")];
const AUTH: &[(&str, &str)] = &[("authorization", "Bearer t")];
const BOTH: &[(&str, &str)] = &[("x-a", "1"), ("authorization", "Bearer t")];

const CASES: &[RedirectCase] = &[
    (303, "PATCH", "include", &[], "same", true),
    (303, "PATCH", "omit", &[], "same", true),
    (302, "PATCH", "include", &[], "same", true),
    (303, "POST", "include", XA, "same", true),
    (303, "GET", "include", XA, "same", true),
    (303, "PUT", "same-origin", &[], "same", true),
    (307, "PUT", "include", &[], "same", true),
    (301, "POST", "include", XA, "same", true),
    (302, "GET", "omit", &[], "same", true),
    // A cross-origin hop drops Authorization (docs/browser-model.md#redirect-drops-authorization).
    (307, "GET", "omit", AUTH, "other", true),
    (307, "GET", "omit", AUTH, "other", false),
    (307, "GET", "omit", XA, "other", false),
    (307, "GET", "omit", BOTH, "other", false),
    (307, "GET", "omit", BOTH, "other", true),
];

/// The server's answer to `method path` from a page on `page`; `other` is
/// the second server's origin. The path says the case:
/// `/start/STATUS/same|other/auth|noauth/N` and then `/final/...`.
fn answer(page: &str, other: &str, method: &str, path: &str) -> (u16, Vec<(String, String)>) {
    let on_other = path.starts_with("/final/") && path.contains("/other/");
    let mut headers = if on_other {
        vec![("access-control-allow-origin".to_string(), "*".to_string())]
    } else {
        vec![
            ("access-control-allow-origin".to_string(), page.to_string()),
            (
                "access-control-allow-credentials".to_string(),
                "true".to_string(),
            ),
        ]
    };
    if method == "OPTIONS" {
        let allow = if path.contains("/noauth/") {
            "x-a"
        } else {
            "x-a, authorization"
        };
        headers.push((
            "access-control-allow-methods".into(),
            "PATCH, PUT, POST".into(),
        ));
        headers.push(("access-control-allow-headers".into(), allow.into()));
        return (204, headers);
    }
    match path.strip_prefix("/start/") {
        Some(rest) => {
            let status = rest
                .split('/')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(302);
            let base = if rest.contains("/other/") { other } else { "" };
            headers.push(("location".into(), format!("{base}/final/{rest}")));
            (status, headers)
        }
        None => (200, headers),
    }
}

/// Each preflight as (path, ACRM, ACRH).
type Preflights = Vec<(String, Option<String>, Option<String>)>;

async fn judge(engine: Engine) {
    if !Engine::available("the redirected-preflight cases").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let profile = engine.profile();
    let page = Server::page().unwrap();
    let page_origin = page.origin();
    let other_origin: std::sync::Arc<std::sync::OnceLock<String>> = Default::default();
    let serve = || {
        let (page, other) = (page_origin.clone(), other_origin.clone());
        Server::start(move |req| {
            let other = other.get().map_or("", String::as_str);
            let (status, headers) = answer(&page, other, &req.method, req.path_only());
            (status, headers, "ok".to_string())
        })
        .unwrap()
    };
    let api = serve();
    let other = serve();
    let _ = other_origin.set(other.origin());
    let page_url = format!("{page_origin}/");
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    let origin = Origin::parse_serialized(&page_origin).unwrap();
    let mut failures = Vec::new();
    let mut second_preflights = 0;
    for (i, &(status, method, credentials, headers, to, allow_auth)) in CASES.iter().enumerate() {
        let auth = if allow_auth { "auth" } else { "noauth" };
        let tag = format!("{status}/{to}/{auth}/{i}");
        let url = format!("{}/start/{tag}", api.origin());
        let fields: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let init = serde_json::json!({"method": method, "credentials": credentials, "headers": fields, "cache": "no-store"})
            .to_string();
        let seen = tokio::time::timeout(Duration::from_secs(60), tab.fetch(&url, &init))
            .await
            .unwrap_or_else(|_| panic!("{tag}: no verdict in 60 s"))
            .unwrap_or_else(|e| panic!("{tag}: fetch runs: {e}"));
        let mut log = api.received();
        log.extend(other.received());
        log.sort_by_key(|r| r.seq);
        let received: Preflights = log
            .iter()
            .filter(|r| r.method == "OPTIONS" && r.path.ends_with(&tag))
            .map(|r| {
                (
                    r.path_only().to_string(),
                    r.header("access-control-request-method").map(String::from),
                    r.header("access-control-request-headers").map(String::from),
                )
            })
            .collect();
        let mut req = BrowserRequest::new(origin.clone(), url.parse().unwrap())
            .method(method)
            .credentials(credentials_mode(credentials));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let trace = simulate(
            &req,
            profile,
            &mut PreflightCache::new(profile),
            Duration::ZERO,
            |sent| {
                let (status, headers) =
                    answer(&page_origin, &other.origin(), &sent.method, sent.url.path());
                ServerResponse { status, headers }
            },
        );
        let predicted: Preflights = trace
            .exchanges
            .iter()
            .filter(|e| e.request.kind == ExchangeKind::Preflight)
            .map(|e| {
                (
                    e.request.url.path().to_string(),
                    e.request.header("access-control-request-method"),
                    e.request.header("access-control-request-headers"),
                )
            })
            .collect();
        let allowed = matches!(trace.outcome, FetchOutcome::Allowed(_));
        second_preflights += received
            .iter()
            .filter(|p| p.0.starts_with("/final/"))
            .count();
        if received != predicted || seen.result.is_ok() != allowed {
            failures.push(format!(
                "{status} {method} credentials {credentials} headers {headers:?} to the {to} origin, authorization allowed there {allow_auth}: {} sent preflights {received:?} and {:?}; the {profile} profile predicts {predicted:?} and {:?}",
                engine.name(),
                seen.result,
                trace.outcome.is_allowed(),
            ));
        }
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
        second_preflights >= 3,
        "{}: the cases must preflight a hop",
        engine.name()
    );
    eprintln!(
        "redirected preflights: {} cases, {second_preflights} preflights after a redirect: {} and its profile agree",
        CASES.len(),
        engine.name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_preflights_hops_as_its_profile() {
    judge(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_preflights_hops_as_its_profile() {
    judge(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit_preflights_hops_as_its_profile() {
    judge(Engine::WebKit).await;
}
