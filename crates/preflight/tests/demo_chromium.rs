//! The main job as a new user runs it: `preflight demo`, then the app's page in
//! headless Chromium. The allowed calls must succeed and the refused ones must
//! be blocked by the browser, for the reason the simulator names.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use preflight_browser_tests::{browser_required, chromium_path, Browser};
use serde_json::Value;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Ends the demo process (by its id) when the test ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the demo did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

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
    let (api, app, admin) = (free_port(), free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args([
            "demo",
            "--api-port",
            &api.to_string(),
            "--app-port",
            &app.to_string(),
        ])
        .args(["--admin-port", &admin.to_string(), "--exit-after", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let _demo = Demo(child);
    for port in [api, app, admin] {
        wait_for(port);
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
