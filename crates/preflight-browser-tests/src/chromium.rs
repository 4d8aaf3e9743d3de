//! Headless Chromium driven over the Chrome DevTools Protocol (CDP).
//!
//! CDP reports the exact `corsErrorStatus.corsError` of a blocked request
//! (`Network.loadingFailed`), which page JavaScript never sees; that is what the
//! simulator's reasons are compared with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::process::{Group, TempDir};
use crate::rpc::Rpc;
use crate::BrowserOutcome;

/// Where Debian's Chromium lives; the wrapper script in /usr/bin prints a
/// harmless warning, so the binary is preferred.
pub fn chromium_path() -> Option<PathBuf> {
    [
        "/usr/lib/chromium/chromium",
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A headless Chromium in its own process group, ended (the whole group) on drop.
pub struct Browser {
    rpc: Rpc,
    events: Mutex<Option<mpsc::UnboundedReceiver<Value>>>,
    _group: Group,
    _profile: TempDir,
}

impl Browser {
    /// Start Chromium headless with a fresh profile and connect to it.
    pub async fn launch() -> Result<Browser, String> {
        Browser::launch_with(&[]).await
    }

    /// [`Browser::launch`] with extra environment variables.
    pub async fn launch_with(env: &[(String, String)]) -> Result<Browser, String> {
        let path = chromium_path().ok_or("Chromium is not installed (apt-get install chromium)")?;
        let profile = TempDir::new("chromium")?;
        let mut cmd = tokio::process::Command::new(path);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut group = Group::spawn(&mut cmd, "Chromium")?;
        let stderr = group.child().stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let ws_url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Some(url.trim().to_string());
                }
            }
            None
        })
        .await
        .map_err(|_| "Chromium did not open its DevTools endpoint in 30 s".to_string())?
        .ok_or("Chromium exited before opening its DevTools endpoint")?;
        // Keep draining stderr so that Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (rpc, event_rx) = Rpc::connect(&ws_url).await?;
        Ok(Browser {
            rpc,
            events: Mutex::new(Some(event_rx)),
            _group: group,
            _profile: profile,
        })
    }

    /// Send a CDP command (to the browser, or to a page session) and wait for
    /// its result.
    pub async fn send(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let mut msg = json!({"method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.rpc.call(msg).await
    }

    /// Open a page at `url` with the Network domain enabled.
    pub async fn open(&self, url: &str) -> Result<Page<'_>, String> {
        let events = self
            .events
            .lock()
            .map_err(|_| "poisoned")?
            .take()
            .ok_or("one page per browser in this harness")?;
        let target = self
            .send(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target_id = target["targetId"]
            .as_str()
            .ok_or("no targetId")?
            .to_string();
        let attached = self
            .send(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("no sessionId")?
            .to_string();
        let page = Page {
            browser: self,
            session,
            events: tokio::sync::Mutex::new(events),
            urls: Mutex::default(),
        };
        page.send("Network.enable", json!({})).await?;
        page.send("Page.enable", json!({})).await?;
        page.send("Page.navigate", json!({"url": url})).await?;
        // Wait until the document can run script: the new one, not the
        // about:blank it replaces (complete too).
        for _ in 0..100 {
            let ready = page
                .evaluate("location.href !== 'about:blank' && document.readyState")
                .await
                .unwrap_or_default();
            if ready == json!("complete") {
                return Ok(page);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{url} did not load"))
    }
}

/// A page (tab) with its CDP session.
pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    /// requestId -> (url, method, is a preflight)
    urls: Mutex<HashMap<String, (String, String, bool)>>,
}

impl Page<'_> {
    /// Send a command in this page's session.
    pub async fn send(&self, method: &str, params: Value) -> Result<Value, String> {
        self.browser.send(Some(&self.session), method, params).await
    }

    /// Evaluate an expression (promises awaited) and return its value.
    pub async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let r = self
            .send(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!("script error: {ex}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Run `fetch(url, init)` in the page and report what Chromium decided,
    /// with the `corsError` CDP gave for a blocked request. `init` is a JS
    /// object literal.
    pub async fn fetch(&self, url: &str, init: &str) -> Result<BrowserOutcome, String> {
        let script = format!(
            "fetch({url:?}, {init}).then(async r => {{ const names = []; r.headers.forEach((v, k) => names.push(k)); \
             return {{ok: true, status: r.status, headers: names}}; }}, e => ({{ok: false, error: String(e)}}))"
        );
        let value = self.evaluate(&script).await?;
        // Let the network events for this request arrive.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (cors_error, preflights) = self.drain_events(url).await;
        let result = if value["ok"] == json!(true) {
            let headers = value["headers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            Ok((value["status"].as_u64().unwrap_or(0) as u16, headers))
        } else {
            Err(cors_error.unwrap_or_default())
        };
        Ok(BrowserOutcome {
            result,
            preflights,
            message: String::new(),
        })
    }

    async fn drain_events(&self, url: &str) -> (Option<String>, usize) {
        let mut events = self.events.lock().await;
        let mut cors_error = None;
        let mut preflights = 0;
        while let Ok(ev) = events.try_recv() {
            let method = ev["method"].as_str().unwrap_or_default();
            let params = &ev["params"];
            let id = params["requestId"].as_str().unwrap_or_default().to_string();
            match method {
                "Network.requestWillBeSent" => {
                    let req_url = params["request"]["url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let req_method = params["request"]["method"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let is_preflight = params["type"] == json!("Preflight");
                    if req_url == url && is_preflight {
                        preflights += 1;
                    }
                    // A redirect keeps the request id; remember the first URL.
                    if let Ok(mut urls) = self.urls.lock() {
                        urls.entry(id)
                            .or_insert((req_url, req_method, is_preflight));
                    }
                }
                "Network.loadingFailed" => {
                    let known = self.urls.lock().ok().and_then(|u| u.get(&id).cloned());
                    if let Some((req_url, _, false)) = known {
                        if req_url == url {
                            if let Some(e) = params["corsErrorStatus"]["corsError"].as_str() {
                                cors_error = Some(e.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        (cors_error, preflights)
    }
}
