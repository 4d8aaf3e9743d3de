//! What each engine (Chromium, Firefox, WebKit) does with the answers of a
//! real gateway where preflight is exact (docs/configuration.md): a route's
//! non-standard method under `allow_methods` left out, and `max_age = -1`.

mod gateway_kit;

use std::time::Duration;

use gateway_kit::start_gateway;
use preflight_browser_tests::{Engine, Judge};
use preflight_gateway::RunningGateway;
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

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_methods_and_max_age_minus_one_in_chromium() {
    route_methods_and_max_age_minus_one(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_methods_and_max_age_minus_one_in_firefox() {
    route_methods_and_max_age_minus_one(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_methods_and_max_age_minus_one_in_webkit() {
    route_methods_and_max_age_minus_one(Engine::WebKit).await;
}

async fn route_methods_and_max_age_minus_one(engine: Engine) {
    if !Engine::available("the exact-preflight cases").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
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
    let gateway = start_gateway(&config, "exact.toml").await;
    let base = format!("http://{}", gateway.local_addrs()[0]);

    let page_url = format!("{}/", page.origin());
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    let tab = judge.page(&page_url).await.expect("the page opens");

    // `allow_methods` left out: every method of the route, PURGE included.
    let purge = tab
        .fetch(&format!("{base}/purge"), "{method: 'PURGE'}")
        .await
        .expect("PURGE fetch");
    assert!(
        matches!(&purge.result, Ok((200, _))),
        "{}: PURGE after an allowed preflight: {purge:?}",
        engine.name()
    );
    assert_eq!(
        allowed_preflights(&gateway, 1).await,
        1,
        "{}: {purge:?}",
        engine.name()
    );
    assert!(
        upstream.received().iter().any(|r| r.method == "PURGE"),
        "the PURGE reached the upstream: {:?}",
        upstream.received()
    );

    // `max_age = -1`: `Access-Control-Max-Age: 0`, so the engine keeps no
    // preflight: the second PUT is preflighted again (Fetch §4.8: a max-age
    // of 0 creates no cache entry; docs/browser-model.md#max-age). This pins
    // what a browser does with the answer; the header's value itself is
    // pinned by the scenario table.
    let url = format!("{base}/no-cache");
    for n in 1..=2 {
        let put = tab.fetch(&url, "{method: 'PUT'}").await.expect("PUT fetch");
        assert!(
            matches!(&put.result, Ok((200, _))),
            "{}: PUT {n}: {put:?}",
            engine.name()
        );
        assert_eq!(
            allowed_preflights(&gateway, 1 + n).await,
            1 + n,
            "{}: PUT {n} had a preflight of its own: {put:?}",
            engine.name()
        );
    }
    drop(tab);
    drop(judge);
    gateway.shutdown().await;
}
