//! The main job as a new user runs it: `preflight demo`, then the app's page in
//! headless Chromium. The allowed calls must succeed and the refused ones must
//! be blocked by the browser, for the reason the simulator names.

use std::process::Command;
use std::time::Duration;

use preflight_browser_tests::{browser_required, chromium_path, Browser};
use preflight_test_kit::cli::{free_ports, wait_for_port, Child};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_in_chromium() {
    if chromium_path().is_none() {
        assert!(
            !browser_required(),
            "PREFLIGHT_REQUIRE_BROWSER=1 but Chromium is not installed"
        );
        eprintln!("SKIPPED: Chromium is not installed; the demo was not tried in a browser");
        return;
    }
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

    let browser = Browser::launch().await.expect("Chromium starts");
    let tab = browser
        .open(&format!("http://127.0.0.1:{app}/"))
        .await
        .expect("the app loads");
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
        tab.evaluate(call)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let out: Value = tab
            .evaluate(&format!(
                "(() => {{ const o = document.querySelector('#{id} .out'); return {{cls: o.className, text: o.textContent}}; }})()"
            ))
            .await
            .unwrap();
        let cls = out["cls"].as_str().unwrap_or_default();
        let text = out["text"].as_str().unwrap_or_default();
        let want = if allowed { "out ok" } else { "out bad" };
        assert_eq!(cls, want, "{id}: the page shows {text:?}");
        if allowed {
            assert!(!text.contains("Blocked"), "{id}: {text}");
        } else {
            assert!(text.contains("Blocked by the browser"), "{id}: {text}");
        }
    }
    // The page asks `preflight explain` (on its own origin) why, and shows it.
    tokio::time::sleep(Duration::from_millis(300)).await;
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
        let text: Value = tab
            .evaluate(&format!("document.querySelector('#{id} .out').textContent"))
            .await
            .unwrap();
        let text = text.as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("preflight explain: {reason}")),
            "{id}: {text}"
        );
        assert!(text.contains("fix:"), "{id}: {text}");
    }
    // Under each refused case, the three engines side by side, with each
    // engine's own reason (docs/browser-model.md#how-a-refusal-is-reported).
    let rows: Value = tab
        .evaluate(
            "[...document.querySelectorAll('#refused-route tr[data-engine]')].map(r => \
             [r.dataset.engine, r.className, r.cells[2].textContent])",
        )
        .await
        .unwrap();
    assert_eq!(
        rows,
        serde_json::json!([
            ["chromium", "bad", "MissingAllowOriginHeader"],
            ["firefox", "bad", "CORSMissingAllowOrigin"],
            [
                "webkit",
                "bad",
                "WebKit names no reason; in Chromium's terms MissingAllowOriginHeader"
            ],
        ])
    );
    // The cookie came back on the second credentialed call.
    let cred: Value = tab
        .evaluate("document.querySelector('#cred .out').textContent")
        .await
        .unwrap();
    assert!(
        cred.as_str()
            .unwrap_or_default()
            .contains("The cookie came back"),
        "{cred}"
    );
    // Chromium's own reasons for the two refusals.
    let refused = tab
        .fetch(
            &format!("http://127.0.0.1:{api}/api/todos"),
            "{headers: {'x-secret': '1'}}",
        )
        .await
        .unwrap();
    assert_eq!(
        refused.result,
        Err("PreflightMissingAllowOriginHeader".to_string())
    );
    let internal = tab
        .fetch(&format!("http://127.0.0.1:{api}/internal/stats"), "{}")
        .await
        .unwrap();
    assert_eq!(internal.result, Err("MissingAllowOriginHeader".to_string()));
}
