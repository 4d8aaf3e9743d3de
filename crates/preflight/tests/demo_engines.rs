//! The main job as a new user runs it: `preflight demo`, then the app's page in
//! each engine in turn (Chromium, Firefox, WebKit; one browser each). The
//! allowed calls must succeed and the refused ones must be blocked by the
//! browser, the page must show what `preflight explain` says and the three
//! engines' verdicts side by side, and the engine's own reason for each
//! refusal (where it reports one) must be the one that table gives it.

use std::process::Command;
use std::time::{Duration, Instant};

use preflight_browser_tests::{Engine, Judge, Tab};
use preflight_test_kit::cli::{free_ports, wait_for_port, Child};
use serde_json::{json, Value};

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `expression`'s value read as JSON (a string crosses every protocol alike).
async fn read(tab: &Tab<'_>, expression: &str) -> Value {
    let text = tab
        .evaluate(&format!(
            "Promise.resolve({expression}).then(v => JSON.stringify(v === undefined ? null : v))"
        ))
        .await
        .unwrap_or_else(|e| panic!("{expression}: {e}"));
    let text = text.as_str().unwrap_or_default();
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{expression}: {text:?}: {e}"))
}

/// The engines table under a refused case: `[engine, class, reason]` rows,
/// waited for (the page asks `/explain` after the refusal), bounded.
async fn engine_rows(tab: &Tab<'_>, id: &str) -> Value {
    let script = format!(
        "[...document.querySelectorAll('#{id} tr[data-engine]')].map(r => \
         [r.dataset.engine, r.className, r.cells[2].textContent])"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = read(tab, &script).await;
        if rows.as_array().is_some_and(|r| r.len() == 3) || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn demo_in(engine: Engine) {
    if !Engine::available("the demo page").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
    let started = Instant::now();
    let name = engine.name();
    let ports = free_ports(3);
    let (api, app, admin) = (ports[0], ports[1], ports[2]);
    // Ended (by its id) when the test ends, however it ends.
    let _demo = Child::spawn(
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args([
                "demo",
                "--api-port",
                &api.to_string(),
                "--app-port",
                &app.to_string(),
            ])
            .args(["--admin-port", &admin.to_string(), "--exit-after", "120"]),
    );
    for port in [api, app, admin] {
        wait_for_port(port, Duration::from_secs(20));
    }

    let app_url = format!("http://127.0.0.1:{app}/");
    let judge = Judge::launch(engine, &app_url)
        .await
        .unwrap_or_else(|e| panic!("{name} starts: {e}"));
    let tab = judge.page(&app_url).await.expect("the app loads");
    // Each button's function, awaited, then what the page shows for it.
    let cases = [
        ("get", "listTodos()", true),
        ("post", "createTodo()", true),
        (
            "put",
            "fetch(API + '/api/todos').then(r => r.json()).then(l => updateTodo(l[0].id, true))",
            true,
        ),
        ("cred", "session().then(() => session())", true),
        ("refused-header", "secretHeader()", false),
        ("refused-route", "internal()", false),
    ];
    for (id, call, allowed) in cases {
        read(&tab, &format!("({call}).then(() => true)")).await;
        let out = read(
            &tab,
            &format!(
                "(() => {{ const o = document.querySelector('#{id} .out'); return {{cls: o.className, text: o.textContent}}; }})()"
            ),
        )
        .await;
        let cls = out["cls"].as_str().unwrap_or_default();
        let text = out["text"].as_str().unwrap_or_default();
        let want = if allowed { "out ok" } else { "out bad" };
        assert_eq!(cls, want, "{name}: {id}: the page shows {text:?}");
        if allowed {
            assert!(!text.contains("Blocked"), "{name}: {id}: {text}");
        } else {
            assert!(
                text.contains("Blocked by the browser"),
                "{name}: {id}: {text}"
            );
        }
    }
    // Under each refused case, the three engines side by side, with each
    // engine's own reason (docs/browser-model.md#how-a-refusal-is-reported).
    let route_rows = engine_rows(&tab, "refused-route").await;
    assert_eq!(
        route_rows,
        json!([
            ["chromium", "bad", "MissingAllowOriginHeader"],
            ["firefox", "bad", "CORSMissingAllowOrigin"],
            ["webkit", "bad", "OriginNotAllowed"],
        ]),
        "{name}"
    );
    let header_rows = engine_rows(&tab, "refused-header").await;
    let engines: Vec<&str> = header_rows
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r[0].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        engines,
        ["chromium", "firefox", "webkit"],
        "{name}: {header_rows}"
    );
    assert!(
        header_rows
            .as_array()
            .is_some_and(|rows| rows.iter().all(|r| r[1] == "bad")),
        "{name}: every engine blocks the secret header: {header_rows}"
    );
    // The page asks `preflight explain` (on its own origin) why, and shows it.
    for (id, reason) in [
        (
            "refused-header",
            "BLOCKED at the preflight: PreflightMissingAllowOriginHeader",
        ),
        (
            "refused-route",
            "BLOCKED at the actual: MissingAllowOriginHeader",
        ),
    ] {
        let text = read(
            &tab,
            &format!("document.querySelector('#{id} .out').textContent"),
        )
        .await;
        let text = text.as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("preflight explain: {reason}")),
            "{name}: {id}: {text}"
        );
        assert!(text.contains("fix:"), "{name}: {id}: {text}");
    }
    // The cookie came back on the second credentialed call.
    let cred = read(&tab, "document.querySelector('#cred .out').textContent").await;
    assert!(
        cred.as_str()
            .unwrap_or_default()
            .contains("The cookie came back"),
        "{name}: {cred}"
    );
    // The engine's own reasons for the two refusals: the ones its row of the
    // table names.
    let row_reason = |rows: &Value| -> String {
        rows.as_array()
            .and_then(|rows| rows.iter().find(|r| r[0] == name))
            .and_then(|r| r[2].as_str())
            .unwrap_or_default()
            .to_string()
    };
    for (url, init, rows) in [
        (
            format!("http://127.0.0.1:{api}/api/todos"),
            "{headers: {'x-secret': '1'}}",
            &header_rows,
        ),
        (
            format!("http://127.0.0.1:{api}/internal/stats"),
            "{}",
            &route_rows,
        ),
    ] {
        let seen = tab.fetch(&url, init).await.unwrap();
        assert_eq!(
            seen.result,
            Err(row_reason(rows)),
            "{name}: {url} (console: {:?})",
            seen.message
        );
    }
    if engine == Engine::Chromium {
        assert_eq!(
            row_reason(&header_rows),
            "PreflightMissingAllowOriginHeader"
        );
        assert_eq!(row_reason(&route_rows), "MissingAllowOriginHeader");
    }
    drop(tab);
    drop(judge);
    eprintln!(
        "demo page in {name}: 6 calls as the demo says, the engines table ({header_rows}), {name}'s own verdicts, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_in_chromium() {
    demo_in(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_in_firefox() {
    demo_in(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_in_webkit() {
    demo_in(Engine::WebKit).await;
}
