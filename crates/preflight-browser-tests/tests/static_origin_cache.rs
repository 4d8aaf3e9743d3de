//! Fetch, "CORS protocol and HTTP caches", in Chromium: a response whose
//! `Access-Control-Allow-Origin` is static (`*`) must carry it on every
//! response, CORS request or not. Otherwise the browser's HTTP cache keeps the
//! copy fetched without `Origin` (a `no-cors` fetch, an `<img>`) and serves it
//! to the next cross-origin `fetch()` of the same URL, which is then blocked.
//!
//! Two upstreams answer with `Cache-Control: max-age=600`: one that writes
//! `*` only when the request has `Origin` (the cache effect, shown on
//! Chromium itself), and one with no CORS headers at all, behind a real
//! gateway whose route allows `*` (docs/behaviour.md: the gateway writes `*`
//! on every response, so the cached copy passes).
//!
//! Origins of browser extensions: a web page cannot send
//! `Origin: chrome-extension://<id>` (Chromium sends the page's own origin and
//! drops a script's `Origin` header), so the suite cannot show an extension's
//! request being allowed; it shows the other half, that listing an extension's
//! origin opens nothing to a web page that claims it.

use std::time::Duration;

use preflight_browser_tests::{browser_required, chromium_path, Browser};
use preflight_gateway::{Config, Gateway};
use preflight_test_kit::{Received, Server};

/// A cacheable resource; `*` only on requests that carry `Origin` when
/// `star_on_cors_only`, no CORS header at all otherwise.
fn resource_server(star_on_cors_only: bool) -> Server {
    Server::start(move |req: &Received| {
        let mut headers = vec![
            ("content-type".to_string(), "text/plain".to_string()),
            ("cache-control".to_string(), "max-age=600".to_string()),
        ];
        let has_origin = req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("origin"));
        if star_on_cors_only && has_origin {
            headers.push(("access-control-allow-origin".into(), "*".into()));
        }
        (200, headers, "cached body".to_string())
    })
    .expect("the resource server starts")
}

/// The number of GETs of `path` the server got.
fn hits(server: &Server, path: &str) -> usize {
    server
        .received()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

const NO_CORS: &str = "{mode: 'no-cors', credentials: 'omit'}";
const CORS: &str = "{mode: 'cors', credentials: 'omit'}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_star_survives_the_browser_cache() {
    if chromium_path().is_none() {
        assert!(
            !browser_required(),
            "PREFLIGHT_REQUIRE_BROWSER=1 but Chromium is not installed"
        );
        eprintln!("SKIPPED: Chromium is not installed; the browser suite did not run");
        return;
    }
    let page = Server::page().expect("the page server starts");
    let direct = resource_server(true);
    let behind = resource_server(false);
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[[routes]]
path = "/cached"
methods = ["GET"]
upstream = "http://{}"
cors = {{ allow_origins = ["*"] }}
"#,
        behind.addr()
    );
    let config = Config::parse(
        &config,
        std::path::Path::new("static-origin.toml"),
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
    let through_gateway = format!("http://{}/cached", gateway.local_addrs()[0]);
    let direct_url = format!("{}/cached", direct.origin());

    let browser = Browser::launch().await.expect("Chromium starts");
    let tab = browser
        .open(&format!("{}/", page.origin()))
        .await
        .expect("the page opens");

    // The cache effect: the no-cors copy has no `*`; the cors fetch gets it
    // from the cache and Chromium blocks it.
    let warm = tab
        .fetch(&direct_url, NO_CORS)
        .await
        .expect("no-cors fetch");
    assert_eq!(warm.result, Ok((0, vec![])), "an opaque response: {warm:?}");
    let blocked = tab.fetch(&direct_url, CORS).await.expect("cors fetch");
    assert_eq!(
        blocked.result,
        Err("MissingAllowOriginHeader".to_string()),
        "the cached header-less copy is blocked: {blocked:?}"
    );
    assert_eq!(
        hits(&direct, "/cached"),
        1,
        "the cors fetch was served from the cache: {:?}",
        direct.received()
    );

    // Through the gateway: the no-cors copy carries `*`, so the same cached
    // copy passes the CORS check.
    let warm = tab
        .fetch(&through_gateway, NO_CORS)
        .await
        .expect("no-cors fetch");
    assert_eq!(warm.result, Ok((0, vec![])), "an opaque response: {warm:?}");
    let allowed = tab.fetch(&through_gateway, CORS).await.expect("cors fetch");
    assert!(
        matches!(&allowed.result, Ok((200, _))),
        "the cached copy with `*` is allowed: {allowed:?}"
    );
    assert_eq!(
        hits(&behind, "/cached"),
        1,
        "the cors fetch was served from the cache: {:?}",
        behind.received()
    );
    drop(tab);
    drop(browser);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cannot_claim_an_extension_origin() {
    if chromium_path().is_none() {
        assert!(
            !browser_required(),
            "PREFLIGHT_REQUIRE_BROWSER=1 but Chromium is not installed"
        );
        eprintln!("SKIPPED: Chromium is not installed; the browser suite did not run");
        return;
    }
    const EXTENSION: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
    let page = Server::page().expect("the page server starts");
    let upstream = resource_server(false);
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[[routes]]
path = "/cached"
methods = ["GET"]
upstream = "http://{}"
cors = {{ allow_origins = ["{EXTENSION}"], allow_credentials = true }}
"#,
        upstream.addr()
    );
    let config = Config::parse(
        &config,
        std::path::Path::new("extension.toml"),
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
    let url = format!("http://{}/cached", gateway.local_addrs()[0]);

    let browser = Browser::launch().await.expect("Chromium starts");
    let tab = browser
        .open(&format!("{}/", page.origin()))
        .await
        .expect("the page opens");
    let init = format!(
        "{{mode: 'cors', credentials: 'include', cache: 'no-store', headers: {{'Origin': '{EXTENSION}'}}}}"
    );
    let outcome = tab.fetch(&url, &init).await.expect("cors fetch");
    assert_eq!(
        outcome.result,
        Err("MissingAllowOriginHeader".to_string()),
        "{outcome:?}"
    );
    let seen = upstream.received();
    let origins: Vec<&str> = seen
        .iter()
        .flat_map(|r| r.headers.iter())
        .filter(|(k, _)| k.eq_ignore_ascii_case("origin"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        origins,
        [page.origin().as_str()],
        "Chromium sends the page's origin, never the script's: {seen:?}"
    );
    drop(tab);
    drop(browser);
    gateway.shutdown().await;
}
