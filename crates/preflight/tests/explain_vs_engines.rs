//! `preflight explain` must predict what every engine does. The gateway runs
//! with a configuration of several routes and policies in front of a real
//! upstream; Chromium, Firefox and WebKit in turn (one browser each), on a page
//! of another origin, fetch through it; and `Gateway::explain` with that
//! engine's profile (the gateway's own layers in process, plus the browser
//! simulator) must reach the same verdict, with the engine's own reason
//! wherever the engine reports one (Chromium over CDP, Firefox and WebKit
//! from their console messages).

use std::path::Path;

use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::CredentialsMode;
use preflight_gateway::explain::ExplainQuery;
use preflight_gateway::{Config, Gateway};
use preflight_test_kit::Server;
use serde_json::json;

struct Case {
    name: &'static str,
    path: &'static str,
    method: &'static str,
    headers: &'static [(&'static str, &'static str)],
    credentials: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "simple GET",
        path: "/api/items/1",
        method: "GET",
        headers: &[],
        credentials: false,
    },
    Case {
        name: "PUT with JSON, preflighted",
        path: "/api/items/1",
        method: "PUT",
        headers: &[("content-type", "application/json")],
        credentials: false,
    },
    Case {
        name: "DELETE with credentials",
        path: "/api/items/1",
        method: "DELETE",
        headers: &[],
        credentials: true,
    },
    Case {
        name: "POST on a route without POST",
        path: "/api/items/1",
        method: "POST",
        headers: &[("content-type", "application/json")],
        credentials: false,
    },
    Case {
        name: "patch (lower case) is not PATCH",
        path: "/api/items/1",
        method: "patch",
        headers: &[],
        credentials: false,
    },
    Case {
        name: "a header not in allow_headers",
        path: "/api/items/1",
        method: "GET",
        headers: &[("x-secret", "1")],
        credentials: false,
    },
    Case {
        name: "Authorization not listed",
        path: "/api/items/1",
        method: "GET",
        headers: &[("authorization", "Bearer t")],
        credentials: false,
    },
    Case {
        name: "public route with `*`",
        path: "/api/public/a",
        method: "GET",
        headers: &[],
        credentials: false,
    },
    Case {
        name: "public route with `*`, credentials",
        path: "/api/public/a",
        method: "GET",
        headers: &[],
        credentials: true,
    },
    Case {
        name: "route with cors = false",
        path: "/internal/stats",
        method: "GET",
        headers: &[],
        credentials: false,
    },
    Case {
        name: "route that allows another origin",
        path: "/api/partner/x",
        method: "GET",
        headers: &[],
        credentials: false,
    },
    Case {
        name: "route that allows another origin, preflighted",
        path: "/api/partner/x",
        method: "POST",
        headers: &[("content-type", "application/json")],
        credentials: false,
    },
    Case {
        name: "no route: the gateway's 404 is readable",
        path: "/nothing/here",
        method: "GET",
        headers: &[],
        credentials: false,
    },
    Case {
        name: "method not on the route: 405 is readable",
        path: "/api/public/a",
        method: "POST",
        headers: &[("content-type", "text/plain")],
        credentials: false,
    },
];

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn explain_predicts(engine: Engine) {
    if !Engine::available("explain through a gateway").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let started = std::time::Instant::now();
    let profile = engine.profile();
    let page = Server::page().unwrap();
    // The upstream grants everything itself; the gateway must replace that.
    let upstream = Server::start(|_| {
        (
            200,
            vec![
                ("content-type".into(), "application/json".into()),
                ("access-control-allow-origin".into(), "*".into()),
                ("x-request-id".into(), "7".into()),
            ],
            "{}".into(),
        )
    })
    .unwrap();
    let config_text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[cors]
allow_origins = ["{page}"]
allow_headers = ["content-type"]
expose_headers = ["x-request-id"]
allow_credentials = true
max_age = 600

[[routes]]
path = "/api/items/{{id}}"
methods = ["GET", "PUT", "DELETE"]
upstream = "{up}"

[[routes]]
path = "/api/public/{{*rest}}"
methods = ["GET"]
upstream = "{up}"
cors = {{ allow_origins = ["*"], allow_credentials = false }}

[[routes]]
path = "/internal/{{*rest}}"
methods = ["GET"]
upstream = "{up}"
cors = false

[[routes]]
path = "/api/partner/{{*rest}}"
methods = ["GET", "POST"]
upstream = "{up}"
cors = {{ allow_origins = ["https://partner.example.com"] }}
"#,
        page = page.origin(),
        up = upstream.origin()
    );
    let config =
        Config::parse(&config_text, Path::new("test.toml"), Path::new(".")).expect("config loads");
    let running = preflight_gateway::start(Gateway::new(config))
        .await
        .expect("gateway starts");
    let gateway_origin = format!("http://{}", running.local_addrs()[0]);

    let page_url = format!("{}/", page.origin());
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("page loads");
    let mut failures = Vec::new();
    let (mut allowed, mut blocked, mut reasons_compared) = (0, 0, 0);
    for (n, case) in CASES.iter().enumerate() {
        // A query of its own per case: cases share paths, and a console
        // message about an earlier case's URL that arrives late must not
        // read as this one's (Firefox's trailing "did not succeed" line).
        let url = format!("{gateway_origin}{}?case={n}", case.path);
        let headers: serde_json::Map<String, serde_json::Value> = case
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let init = json!({
            "method": case.method,
            "headers": headers,
            "credentials": if case.credentials { "include" } else { "same-origin" },
        });
        let seen = tab
            .fetch(&url, &init.to_string())
            .await
            .unwrap_or_else(|e| panic!("{}: fetch runs: {e}", case.name));
        let engine_said = seen.result.clone().map(|(status, _)| status);

        let explained = running
            .gateway()
            .explain(&ExplainQuery {
                path: case.path.to_string(),
                origin: page.origin(),
                method: case.method.to_string(),
                headers: case
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                credentials: if case.credentials {
                    CredentialsMode::Include
                } else {
                    CredentialsMode::SameOrigin
                },
                profile,
                all_engines: false,
            })
            .await
            .expect("explain runs");
        let report = &preflight_doctor::report::Report::from_explanation(&explained);
        // The verdict, and the reason in the engine's own terms.
        let predicted: Result<u16, Option<&str>> = if report.is_allowed() {
            Ok(report.actual.leg.status.unwrap_or(0))
        } else {
            Err(explained.trace.reason_name(profile))
        };
        match &engine_said {
            Ok(_) => allowed += 1,
            Err(_) => blocked += 1,
        }
        let agree = match (&engine_said, &predicted) {
            (Ok(a), Ok(b)) => a == b,
            (Err(reported), Err(named)) => {
                if reported.is_empty() {
                    true
                } else {
                    reasons_compared += 1;
                    Some(reported.as_str()) == *named
                }
            }
            _ => false,
        };
        if !agree {
            failures.push(format!(
                "{}: {} {engine_said:?} (console: {:?}), explain --profile {profile} {predicted:?}\n{}",
                case.name,
                engine.name(),
                seen.message,
                report.to_text()
            ));
        }
    }
    drop(tab);
    drop(judge);
    running.shutdown().await;
    assert!(
        failures.is_empty(),
        "{}: {} of {} cases differ:\n{}",
        engine.name(),
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    assert!(
        allowed >= 5 && blocked >= 5,
        "the table must exercise both verdicts ({allowed} allowed, {blocked} blocked)"
    );
    // Every blocked case carries a reason from the engines that report one.
    assert_eq!(
        reasons_compared,
        blocked,
        "{}: only {reasons_compared} of {blocked} refusals carried a reason",
        engine.name()
    );
    eprintln!(
        "explain vs {}: {} cases ({allowed} allowed, {blocked} blocked, {reasons_compared} reasons compared) agree with explain --profile {profile}, in {:.1} s",
        engine.name(),
        CASES.len(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_predicts_chromium() {
    explain_predicts(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_predicts_firefox() {
    explain_predicts(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_predicts_webkit() {
    explain_predicts(Engine::WebKit).await;
}
