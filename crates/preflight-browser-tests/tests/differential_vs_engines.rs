//! The differential test: random cases (`preflight_browser_tests::differential`)
//! from a printed seed, each a route with its own CORS policy in ONE gateway
//! configuration and a page's `fetch()` to it, a third of them answered by the
//! upstream with a redirect to another route, on the same origin or on the
//! gateway's second listener. The real gateway runs in front of a test kit
//! upstream; each engine's verdict on every case is compared with what
//! `preflight explain` predicts for that engine's profile (the gateway's own
//! `explain`, told what the upstream answers), and the reason wherever the
//! engine reports one (Chromium over CDP, Firefox and WebKit in their console
//! messages).
//!
//! Verdicts must agree on every case, reasons on at least 99% of those
//! reported. A disagreement prints the case in full and the seed:
//! `PREFLIGHT_DIFF_SEED=N` reruns it (the default seed is the UTC day's
//! number), `PREFLIGHT_DIFF_CASES=N` changes the count (200 by default). One browser per engine runs every case in one page; the engines
//! take turns.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_browser_tests::differential::{
    config, generate, seed, upstream_answer, DiffCase, Rng, UPSTREAM_HEADERS,
};
use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::{ExchangeKind, FetchOutcome, Profile};
use preflight_gateway::explain::{ExplainQuery, Explanation, Upstream};
use preflight_gateway::{Config, Gateway};
use preflight_test_kit::cli::free_ports;
use preflight_test_kit::Server;

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a fetch came to: `Ok((status, exposed upstream headers))` or
/// `Err(reason)` (`None`: no reason given).
type Verdict = Result<(u16, Vec<String>), Option<String>>;

/// The names of [`UPSTREAM_HEADERS`] among `names`, sorted: the headers the
/// case decides about (the gateway and the engines add others).
fn upstream_names(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .filter(|n| UPSTREAM_HEADERS.iter().any(|(k, _)| k == n))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn verdict_of(explanation: &Explanation, profile: Profile) -> Verdict {
    match &explanation.trace.outcome {
        FetchOutcome::Allowed(ok) => Ok((ok.status, upstream_names(&ok.exposed_headers))),
        FetchOutcome::Blocked(_) => Err(explanation.trace.reason_name(profile).map(String::from)),
        FetchOutcome::Withheld => Err(Some("(explain withheld the request)".into())),
    }
}

/// The requests of explain's trace, one line each, for a failure message.
fn trace_lines(explanation: &Explanation) -> String {
    explanation
        .trace
        .exchanges
        .iter()
        .map(|e| {
            let answer = e.response.as_ref().map_or("none".to_string(), |r| {
                format!("{} {:?}", r.status, r.headers)
            });
            format!(
                "    {:?} {} {} {:?} -> {answer}",
                e.request.kind, e.request.method, e.request.url, e.request.headers
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn query(case: &DiffCase, page_origin: &str, profile: Profile) -> ExplainQuery {
    ExplainQuery {
        path: case.path(),
        origin: page_origin.to_string(),
        method: case.method.clone(),
        headers: case.headers.clone(),
        credentials: preflight_browser_tests::cases::credentials_mode(case.credentials),
        profile,
        all_engines: false,
    }
}

fn case_count() -> usize {
    match std::env::var("PREFLIGHT_DIFF_CASES") {
        Ok(n) => n
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("PREFLIGHT_DIFF_CASES={n:?}: {e}")),
        Err(_) => 200,
    }
}

async fn differential(engine: Engine) {
    if !Engine::available("the differential test").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let started = Instant::now();
    let profile = engine.profile();
    let seed = seed().unwrap_or_else(|e| panic!("{e}"));
    let count = case_count();
    eprintln!(
        "differential test in {}: seed {seed} (rerun: PREFLIGHT_DIFF_SEED={seed}), {count} cases",
        engine.name()
    );
    let page = Server::page().unwrap();
    let page_origin = page.origin();
    let cases = Arc::new(generate(&mut Rng::new(seed), count, &page_origin));
    let ports = free_ports(2);
    let listen = [
        format!("127.0.0.1:{}", ports[0]),
        format!("127.0.0.1:{}", ports[1]),
    ];
    let origins = Arc::new([
        format!("http://{}", listen[0]),
        format!("http://{}", listen[1]),
    ]);
    let answer: Upstream = {
        let (cases, origins) = (cases.clone(), origins.clone());
        Arc::new(move |_method: &http::Method, path: &str| {
            upstream_answer(&cases, [&origins[0], &origins[1]], path)
        })
    };
    let upstream = {
        let answer = answer.clone();
        Server::start(move |req| {
            let method = req.method.parse().unwrap_or(http::Method::GET);
            let (status, headers) = answer(&method, &req.path);
            (status, headers, "body".to_string())
        })
        .unwrap()
    };
    let text = config(
        &cases,
        [&listen[0], &listen[1]],
        &upstream.addr().to_string(),
    );
    let config = Config::parse(&text, Path::new("differential.toml"), Path::new("."))
        .unwrap_or_else(|e| panic!("seed {seed}: the generated configuration loads: {e}"));
    let gateway = tokio::time::timeout(
        Duration::from_secs(10),
        preflight_gateway::start(Gateway::new(config)),
    )
    .await
    .expect("the gateway starts in 10 s")
    .expect("the gateway starts");
    assert_eq!(
        gateway.gateway().origin(),
        origins[0],
        "explain addresses the gateway's first listener"
    );

    let page_url = format!("{page_origin}/");
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    // PREFLIGHT_DIFF_LOG=DIR: every case and both answers, one file per engine.
    let mut log = std::env::var("PREFLIGHT_DIFF_LOG").ok().map(|dir| {
        let path = Path::new(&dir).join(format!("differential-{}.log", engine.name()));
        std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    });
    let mut failures = Vec::new();
    let mut reason_misses = Vec::new();
    let (mut reasons_reported, mut allowed, mut preflighted, mut redirected) = (0, 0, 0, 0);
    for case in cases.iter() {
        let q = query(case, &page_origin, profile);
        let explanation = gateway
            .gateway()
            .explain_with_upstream(&q, answer.clone())
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {case}: explain runs: {e}"));
        let predicted = verdict_of(&explanation, profile);
        if case.redirect.is_none() {
            // Without a redirect, `preflight explain` itself (its stand-in
            // upstream answers 200) gives the same verdict and reason.
            let plain = gateway
                .gateway()
                .explain(&q)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {case}: explain runs: {e}"));
            assert_eq!(
                verdict_of(&plain, profile).map(|(s, _)| s),
                predicted.clone().map(|(s, _)| s),
                "seed {seed}: {case}: explain and explain with the upstream differ"
            );
        }
        let url = format!("{}{}", origins[0], case.path());
        let seen = tokio::time::timeout(Duration::from_secs(60), tab.fetch(&url, &case.init()))
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: {case}: no verdict in 60 s"))
            .unwrap_or_else(|e| panic!("seed {seed}: {case}: fetch runs: {e}"));
        let engine_said: Verdict = match &seen.result {
            Ok((status, names)) => Ok((*status, upstream_names(names))),
            Err(reason) if reason.is_empty() => Err(None),
            Err(reason) => Err(Some(reason.clone())),
        };
        let report = || {
            format!(
                "seed {seed} (PREFLIGHT_DIFF_SEED={seed}): {case}\n  {}: {:?} (console: {:?})\n  explain --profile {profile}: {:?}\n{}",
                engine.name(),
                engine_said,
                seen.message,
                predicted,
                trace_lines(&explanation)
            )
        };
        if let Some(log) = log.as_mut() {
            use std::io::Write as _;
            let _ = writeln!(
                log,
                "{case}\n  {}: {engine_said:?}; explain: {predicted:?}",
                engine.name()
            );
        }
        match (&engine_said, &predicted) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(None), Err(_)) => {}
            (Err(Some(reported)), Err(reason)) => {
                reasons_reported += 1;
                if reason.as_deref() != Some(reported.as_str()) {
                    reason_misses.push(report());
                }
            }
            _ => failures.push(report()),
        }
        allowed += usize::from(predicted.is_ok());
        preflighted += usize::from(
            explanation
                .trace
                .exchanges
                .iter()
                .any(|e| e.request.kind == ExchangeKind::Preflight),
        );
        redirected += usize::from(case.redirect.is_some());
    }
    drop(tab);
    drop(judge);
    gateway.shutdown().await;
    assert!(
        failures.is_empty(),
        "{}: the verdicts of {} of {count} cases differ from explain's:\n{}",
        engine.name(),
        failures.len(),
        failures.join("\n")
    );
    let reasons_agreed = reasons_reported - reason_misses.len();
    assert!(
        reasons_agreed * 100 >= reasons_reported * 99,
        "{}: reasons agree on {reasons_agreed} of {reasons_reported} (99% needed):\n{}",
        engine.name(),
        reason_misses.join("\n")
    );
    if !reason_misses.is_empty() {
        eprintln!(
            "{}: reasons that differ (within the 1% allowed):\n{}",
            engine.name(),
            reason_misses.join("\n")
        );
    }
    // The cases must exercise both verdicts, preflights and redirects.
    assert!(
        allowed * 10 >= count && (count - allowed) * 10 >= count,
        "seed {seed}: {allowed} of {count} allowed"
    );
    assert!(
        preflighted * 5 >= count,
        "seed {seed}: {preflighted} of {count} preflighted"
    );
    assert!(
        redirected * 5 >= count,
        "seed {seed}: {redirected} of {count} redirected"
    );
    assert!(
        reasons_reported * 5 >= count - allowed,
        "{}: only {reasons_reported} reasons read for {} blocked cases",
        engine.name(),
        count - allowed
    );
    eprintln!(
        "differential test: seed {seed}, {count} cases ({allowed} allowed, {} blocked; {preflighted} preflighted, {redirected} redirected): {} and explain --profile {profile} agree on {count} of {count} verdicts and on {reasons_agreed} of {reasons_reported} reasons reported, in {:.1} s",
        count - allowed,
        engine.name(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_agrees_with_explain() {
    differential(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_agrees_with_explain() {
    differential(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit_agrees_with_explain() {
    differential(Engine::WebKit).await;
}
