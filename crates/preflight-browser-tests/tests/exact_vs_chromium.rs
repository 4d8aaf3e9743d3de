//! What Chromium does with the answers of a real gateway where preflight is
//! exact (docs/configuration.md): a route's non-standard method under
//! `allow_methods` left out, and `max_age = -1`.

use std::time::Duration;

use preflight_browser_tests::{browser_required, chromium_path, Browser};
use preflight_gateway::{Config, Gateway, RunningGateway};
use preflight_test_kit::{Received, Server};

/// Wait (at most two seconds) until the gateway has counted `want` allowed
/// preflights, and return the count it has then.
async fn allowed_preflights(gateway: &RunningGateway, want: u64) -> u64 {
    let mut got = gateway.gateway().metrics().totals().1;
    for _ in 0..40 {
        if got >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        got = gateway.gateway().metrics().totals().1;
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_methods_and_max_age_minus_one_in_chromium() {
    if chromium_path().is_none() {
        assert!(
            !browser_required(),
            "PREFLIGHT_REQUIRE_BROWSER=1 but Chromium is not installed"
        );
        eprintln!("SKIPPED: Chromium is not installed; the browser suite did not run");
        return;
    }
    let page = Server::page().expect("the page server starts");
    let upstream = Server::start(|req: &Received| {
        (
            200,
            vec![("content-type".to_string(), "text/plain".to_string())],
            format!("{} done", req.method),
        )
    })
    .expect("the upstream starts");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[cors]
allow_origins = ["{page}"]

[[routes]]
path = "/purge"
methods = ["GET", "PURGE"]
upstream = "http://{up}"

[[routes]]
path = "/no-cache"
methods = ["GET", "PUT"]
upstream = "http://{up}"
cors = {{ max_age = -1 }}
"#,
        page = page.origin(),
        up = upstream.addr()
    );
    let config = Config::parse(
        &config,
        std::path::Path::new("exact.toml"),
        std::path::Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let gateway = tokio::time::timeout(
        Duration::from_secs(10),
        preflight_gateway::start(Gateway::new(config)),
    )
    .await
    .expect("the gateway starts in 10 s")
    .expect("the gateway starts");
    let base = format!("http://{}", gateway.local_addrs()[0]);

    let browser = Browser::launch().await.expect("Chromium starts");
    let tab = browser
        .open(&format!("{}/", page.origin()))
        .await
        .expect("the page opens");

    // `allow_methods` left out: every method of the route, PURGE included.
    let purge = tab
        .fetch(&format!("{base}/purge"), "{method: 'PURGE'}")
        .await
        .expect("PURGE fetch");
    assert!(
        matches!(&purge.result, Ok((200, _))),
        "PURGE after an allowed preflight: {purge:?}"
    );
    assert_eq!(allowed_preflights(&gateway, 1).await, 1, "{purge:?}");
    assert!(
        upstream.received().iter().any(|r| r.method == "PURGE"),
        "the PURGE reached the upstream: {:?}",
        upstream.received()
    );

    // `max_age = -1`: `Access-Control-Max-Age: 0`, so Chromium keeps no
    // preflight: the second PUT is preflighted again. (Chromium re-preflights
    // after the old `-1` too, so this pins what a browser does with the
    // answer; the header's value itself is pinned by the scenario table.)
    let url = format!("{base}/no-cache");
    for n in 1..=2 {
        let put = tab.fetch(&url, "{method: 'PUT'}").await.expect("PUT fetch");
        assert!(matches!(&put.result, Ok((200, _))), "PUT {n}: {put:?}");
        assert_eq!(
            allowed_preflights(&gateway, 1 + n).await,
            1 + n,
            "PUT {n} had a preflight of its own: {put:?}"
        );
    }
    drop(tab);
    drop(browser);
    gateway.shutdown().await;
}
