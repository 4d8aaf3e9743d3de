//! The browser suite's tools: three real engines as judges of the simulator,
//! one harness with a driver per engine. The HTTP servers the pages talk to
//! are the test kit's (`preflight-test-kit`).
//!
//! - Chromium over the Chrome DevTools Protocol ([`Browser`], [`Page`]): the
//!   verdict and Chromium's `corsError` name.
//! - Firefox over WebDriver BiDi ([`Firefox`]): the verdict and Firefox's
//!   documented reason name, read from its console message.
//! - WebKitGTK's MiniBrowser over its remote Web Inspector ([`WebKit`]): the
//!   verdict and a name for WebKit's console message.
//!
//! [`Engine`] names them, says which simulator profile each one is judged
//! against, and [`Judge`] runs a `fetch()` in whichever was launched. Every
//! browser runs in its own process group with a fresh profile directory and
//! is ended, by its group id, when dropped; every wait is bounded.

pub mod cases;
mod chromium;
mod clock;
pub mod differential;
mod firefox;
mod process;
mod rpc;
mod webkit;

use preflight_core::browser::Profile;
use serde_json::Value;

pub use chromium::{chromium_path, Browser, Page};
pub use clock::{fast_clock, firefox_jump_clock, jump_clock, set_clock_offset, JUMP_CLOCK_REREAD};
pub use firefox::{firefox_path, reason_name as firefox_reason_name, Firefox};
pub use webkit::{minibrowser_path, reason_name as webkit_reason_name, webkit_installed, WebKit};

/// True when the suite must run (CI sets `PREFLIGHT_REQUIRE_BROWSER=1`): a
/// missing browser is then a failure, not a skip.
pub fn browser_required() -> bool {
    std::env::var("PREFLIGHT_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// What an engine did with one `fetch()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserOutcome {
    /// `Ok((status, exposed header names))` or `Err(reason name)`; the name
    /// is the engine's own (Chromium's `corsError`, Firefox's `CORS...`, the
    /// name for WebKit's console message), and empty when the engine reports
    /// none (a failure that is not a CORS failure).
    pub result: Result<(u16, Vec<String>), String>,
    /// How many preflights Chromium sent for it (as seen over CDP); 0 from
    /// the other drivers (count them at the server).
    pub preflights: usize,
    /// The engine's console message for a blocked request, where read.
    pub message: String,
}

/// A browser engine the suite can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Firefox,
    WebKit,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

    /// The simulator profile this engine is judged against.
    pub fn profile(self) -> Profile {
        match self {
            Engine::Chromium => Profile::Chromium,
            Engine::Firefox => Profile::Firefox,
            Engine::WebKit => Profile::WebKit,
        }
    }

    pub fn name(self) -> &'static str {
        self.profile().name()
    }

    /// Whether everything the driver needs is installed.
    pub fn installed(self) -> bool {
        match self {
            Engine::Chromium => chromium_path().is_some(),
            Engine::Firefox => firefox_path().is_some(),
            Engine::WebKit => webkit_installed(),
        }
    }

    /// The engines to run: the installed ones. A missing one is a failure
    /// under `PREFLIGHT_REQUIRE_BROWSER=1` and a loud skip otherwise.
    pub fn available(suite: &str) -> Vec<Engine> {
        let mut run = Vec::new();
        for engine in Engine::ALL {
            if engine.installed() {
                run.push(engine);
            } else {
                assert!(
                    !browser_required(),
                    "PREFLIGHT_REQUIRE_BROWSER=1 but {} is not installed ({suite})",
                    engine.name()
                );
                eprintln!(
                    "SKIPPED: {} is not installed; {suite} did not run in it",
                    engine.name()
                );
            }
        }
        run
    }
}

/// A launched browser with one page open.
pub enum Judge {
    Chromium(Box<Browser>),
    Firefox(Box<Firefox>),
    WebKit(Box<WebKit>),
}

impl Judge {
    /// Launch `engine` and load `url` in it.
    pub async fn launch(engine: Engine, url: &str) -> Result<Judge, String> {
        Judge::launch_with(engine, url, &[]).await
    }

    /// [`Judge::launch`] with extra environment variables for the browser.
    pub async fn launch_with(
        engine: Engine,
        url: &str,
        env: &[(String, String)],
    ) -> Result<Judge, String> {
        Ok(match engine {
            Engine::Chromium => Judge::Chromium(Box::new(Browser::launch_with(env).await?)),
            Engine::Firefox => Judge::Firefox(Box::new(Firefox::launch_with(url, env).await?)),
            Engine::WebKit => Judge::WebKit(Box::new(WebKit::launch_with(url, env).await?)),
        })
    }

    /// The page to fetch from (Chromium opens its tab here).
    pub async fn page(&self, url: &str) -> Result<Tab<'_>, String> {
        Ok(match self {
            Judge::Chromium(b) => Tab::Chromium(b.open(url).await?),
            Judge::Firefox(f) => Tab::Firefox(f),
            Judge::WebKit(w) => Tab::WebKit(w),
        })
    }
}

/// A page in one of the engines.
pub enum Tab<'a> {
    Chromium(Page<'a>),
    Firefox(&'a Firefox),
    WebKit(&'a WebKit),
}

impl Tab<'_> {
    /// Run `fetch(url, init)` (`init` a JS object literal) in the page.
    pub async fn fetch(&self, url: &str, init: &str) -> Result<BrowserOutcome, String> {
        match self {
            Tab::Chromium(p) => p.fetch(url, init).await,
            Tab::Firefox(f) => f.fetch(url, init).await,
            Tab::WebKit(w) => w.fetch(url, init).await,
        }
    }
}

impl Tab<'_> {
    /// Evaluate `expression` in the page (a promise is awaited) and return
    /// its value. Give it a string, number or boolean value to read it alike
    /// in every engine (Firefox's BiDi serializes other values by shape).
    pub async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        match self {
            Tab::Chromium(p) => p.evaluate(expression).await,
            Tab::Firefox(f) => f.evaluate(expression).await,
            Tab::WebKit(w) => w.evaluate(expression).await,
        }
    }
}

/// A script whose value is a JSON string: `{ok, status, headers}` or
/// `{ok: false, error}` (a string passes every protocol unchanged).
pub(crate) fn fetch_script(url: &str, init: &str) -> String {
    format!(
        "fetch({url:?}, {init}).then(async r => {{ const names = []; r.headers.forEach((v, k) => names.push(k)); \
         return JSON.stringify({{ok: true, status: r.status, headers: names}}); }}, e => JSON.stringify({{ok: false, error: String(e)}}))"
    )
}

/// The verdict in [`fetch_script`]'s value; a refusal with an empty reason.
pub(crate) fn parse_fetch_result(
    value: &Value,
) -> Result<Result<(u16, Vec<String>), String>, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("fetch script returned {value}"))?;
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{text}: {e}"))?;
    if v["ok"] != Value::Bool(true) {
        return Ok(Err(String::new()));
    }
    let headers = v["headers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok(Ok((v["status"].as_u64().unwrap_or(0) as u16, headers)))
}
