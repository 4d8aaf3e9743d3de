//! The browser suite's tools: headless Chromium driven over the Chrome DevTools
//! Protocol (CDP). The HTTP servers the pages talk to are the test kit's
//! (`preflight-test-kit`).
//!
//! CDP reports the exact `corsErrorStatus.corsError` of a blocked request
//! (`Network.loadingFailed`), which page JavaScript never sees; that is what the
//! simulator's reasons are compared with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

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

/// True when the suite must run (CI sets `PREFLIGHT_REQUIRE_BROWSER=1`): a
/// missing browser is then a failure, not a skip.
pub fn browser_required() -> bool {
    std::env::var("PREFLIGHT_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A headless Chromium in its own process group, ended (the whole group) on drop.
pub struct Browser {
    child: tokio::process::Child,
    pgid: Option<u32>,
    outgoing: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
    events: Mutex<Option<mpsc::UnboundedReceiver<Value>>>,
    _profile: TempDir,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Start Chromium headless with a fresh profile and connect to it.
    pub async fn launch() -> Result<Browser, String> {
        let path = chromium_path().ok_or("Chromium is not installed (apt-get install chromium)")?;
        let dir = std::env::temp_dir().join(format!(
            "preflight-chromium-{}-{}",
            std::process::id(),
            NEXT_PROFILE.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("profile dir: {e}"))?;
        let profile = TempDir(dir.clone());
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
        .arg(format!("--user-data-dir={}", dir.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start Chromium: {e}"))?;
        let pgid = child.id();
        let stderr = child.stderr.take().ok_or("no stderr")?;
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

        let (ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .map_err(|e| format!("cannot connect to DevTools: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let (outgoing, mut out_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let pending_in = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let waiter = pending_in.lock().ok().and_then(|mut p| p.remove(&id));
                    if let Some(waiter) = waiter {
                        let result = match value.get("error") {
                            Some(err) => Err(err.to_string()),
                            None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                        };
                        let _ = waiter.send(result);
                    }
                } else {
                    let _ = event_tx.send(value);
                }
            }
        });
        Ok(Browser {
            child,
            pgid,
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
            events: Mutex::new(Some(event_rx)),
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
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| "poisoned")?.insert(id, tx);
        self.outgoing
            .send(msg.to_string())
            .map_err(|_| "DevTools connection closed".to_string())?;
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| format!("{method}: no answer in 30 s"))?
            .map_err(|_| "DevTools connection closed".to_string())?
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
        // Wait until the document can run script.
        for _ in 0..100 {
            let ready = page
                .evaluate("document.readyState")
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

static NEXT_PROFILE: AtomicU64 = AtomicU64::new(0);

impl Drop for Browser {
    fn drop(&mut self) {
        // End Chromium's whole process group (renderers, zygote), by its id.
        if let Some(pgid) = self.pgid {
            let _ = std::process::Command::new("kill")
                .arg("-KILL")
                .arg("--")
                .arg(format!("-{pgid}"))
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
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

/// What Chromium did with one `fetch()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserOutcome {
    /// `Ok((status, exposed header names))` or `Err(corsError name)`; the name
    /// is empty when the request failed without a CORS error.
    pub result: Result<(u16, Vec<String>), String>,
    /// How many preflights Chromium sent for it (as seen on the network).
    pub preflights: usize,
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
        Ok(BrowserOutcome { result, preflights })
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
