//! Fetch, "CORS protocol and HTTP caches", in each engine (Chromium, Firefox,
//! WebKit): a response whose
//! `Access-Control-Allow-Origin` is static (`*`) must carry it on every
//! response, CORS request or not. Otherwise the browser's HTTP cache keeps the
//! copy fetched without `Origin` (a `no-cors` fetch, an `<img>`) and serves it
//! to the next cross-origin `fetch()` of the same URL, which is then blocked.
//!
//! Two upstreams answer with `Cache-Control: max-age=600`: one that writes
//! `*` only when the request has `Origin` (the cache effect, shown on each
//! engine itself), and one with no CORS headers at all, behind a real
//! gateway whose route allows `*` (docs/behaviour.md: the gateway writes `*`
//! on every response, so the cached copy passes).
//!
//! Origins of browser extensions: a web page cannot send
//! `Origin: chrome-extension://<id>` (`Origin` is a forbidden request header:
//! each engine sends the page's own origin and drops a script's), so the suite cannot show an extension's
//! request being allowed; it shows the other half, that listing an extension's
//! origin opens nothing to a web page that claims it.

mod gateway_kit;

use gateway_kit::start_gateway;
use preflight_browser_tests::{Engine, Judge};
use preflight_core::browser::{Blocked, CorsError, Stage};
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

/// One engine at a time: two cores are shared.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the engine's driver reports for a response without
/// `Access-Control-Allow-Origin`: its profile's reason name ("" where the
/// engine reports none).
fn missing_allow_origin(engine: Engine) -> String {
    let blocked = Blocked {
        error: CorsError::MissingAllowOriginHeader.into(),
        stage: Stage::Actual,
        message: String::new(),
        fix: String::new(),
    };
    engine
        .profile()
        .reason_name(&blocked)
        .unwrap_or_default()
        .to_string()
}

/// Launch `engine` on the page; the judge and its tab are used together.
async fn launch(engine: Engine, page: &Server) -> (Judge, String) {
    let page_url = format!("{}/", page.origin());
    let judge = Judge::launch(engine, &page_url)
        .await
        .unwrap_or_else(|e| panic!("{} starts: {e}", engine.name()));
    (judge, page_url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_star_survives_the_browser_cache_in_chromium() {
    a_static_star_survives_the_browser_cache(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_star_survives_the_browser_cache_in_firefox() {
    a_static_star_survives_the_browser_cache(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_star_survives_the_browser_cache_in_webkit() {
    a_static_star_survives_the_browser_cache(Engine::WebKit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cannot_claim_an_extension_origin_in_chromium() {
    a_page_cannot_claim_an_extension_origin(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cannot_claim_an_extension_origin_in_firefox() {
    a_page_cannot_claim_an_extension_origin(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cannot_claim_an_extension_origin_in_webkit() {
    a_page_cannot_claim_an_extension_origin(Engine::WebKit).await;
}

async fn a_static_star_survives_the_browser_cache(engine: Engine) {
    if !Engine::available("the static-origin cache cases").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
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
    let gateway = start_gateway(&config, "static-origin.toml").await;
    let through_gateway = format!("http://{}/cached", gateway.local_addrs()[0]);
    let direct_url = format!("{}/cached", direct.origin());

    let (judge, page_url) = launch(engine, &page).await;
    let tab = judge.page(&page_url).await.expect("the page opens");

    // The cache effect: the no-cors copy has no `*`; in every engine the
    // cors fetch gets it from the cache and is blocked. (WebKit 2.50 under
    // WebKitWebDriver's automation session fetched again in the other mode;
    // the MiniBrowser the suite now drives, a browsing session like a
    // user's, reuses the copy as the others do.)
    let warm = tab
        .fetch(&direct_url, NO_CORS)
        .await
        .expect("no-cors fetch");
    assert_eq!(warm.result, Ok((0, vec![])), "an opaque response: {warm:?}");
    let second = tab.fetch(&direct_url, CORS).await.expect("cors fetch");
    assert_eq!(
        second.result,
        Err(missing_allow_origin(engine)),
        "{}: the cached header-less copy is blocked: {second:?}",
        engine.name()
    );
    assert_eq!(
        hits(&direct, "/cached"),
        1,
        "{}: the cors fetch was served from the cache: {:?}",
        engine.name(),
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
        "{}: the cached copy with `*` is allowed: {allowed:?}",
        engine.name()
    );
    assert_eq!(
        hits(&behind, "/cached"),
        1,
        "{}: the cors fetch was served from the cache: {:?}",
        engine.name(),
        behind.received()
    );
    drop(tab);
    drop(judge);
    gateway.shutdown().await;
}

async fn a_page_cannot_claim_an_extension_origin(engine: Engine) {
    if !Engine::available("the extension-origin case").contains(&engine) {
        return;
    }
    let _turn = ONE_ENGINE.lock().await;
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
    let gateway = start_gateway(&config, "extension.toml").await;
    let url = format!("http://{}/cached", gateway.local_addrs()[0]);

    let (judge, page_url) = launch(engine, &page).await;
    let tab = judge.page(&page_url).await.expect("the page opens");
    let init = format!(
        "{{mode: 'cors', credentials: 'include', cache: 'no-store', headers: {{'Origin': '{EXTENSION}'}}}}"
    );
    let outcome = tab.fetch(&url, &init).await.expect("cors fetch");
    assert_eq!(
        outcome.result,
        Err(missing_allow_origin(engine)),
        "{}: {outcome:?}",
        engine.name()
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
        "{} sends the page's origin, never the script's: {seen:?}",
        engine.name()
    );
    drop(tab);
    drop(judge);
    gateway.shutdown().await;
}
