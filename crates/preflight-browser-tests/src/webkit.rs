//! WebKitGTK's MiniBrowser driven over its remote Web Inspector (under
//! `xvfb-run`, since MiniBrowser needs a display).
//!
//! `WEBKIT_INSPECTOR_HTTP_SERVER=127.0.0.1:PORT` makes MiniBrowser serve the
//! inspector over HTTP: `GET /` lists the pages, each with a websocket path
//! (`/socket/1/1/WebPage`) that speaks the WebKit Inspector protocol, JSON
//! commands answered by id as in the Chrome DevTools Protocol. The page itself
//! is a target behind that socket: each command goes wrapped in
//! `Target.sendMessageToTarget`, and its answer and the page's events come
//! back in `Target.dispatchMessageFromTarget`. `Runtime.evaluate` and
//! `Runtime.awaitPromise` run the fetch; `Console.messageAdded` delivers
//! WebKit's console message for a blocked request ("Origin X is not allowed
//! by Access-Control-Allow-Origin. Status code: 200"), which [`reason_name`]
//! turns into the name the simulator's webkit profile gives
//! (docs/browser-model.md#webkit).
//!
//! WebKitWebDriver is not used: it reaches MiniBrowser over the inspector's
//! other socket (`WEBKIT_INSPECTOR_SERVER`, at an address of its choosing),
//! which the HTTP server moves to a port of its own, so a WebDriver session
//! never starts with the HTTP server on; and WebDriver classic delivers no
//! console messages.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::process::{free_port, Group, TempDir};
use crate::rpc::Rpc;
use crate::{fetch_script, parse_fetch_result, BrowserOutcome};

const XVFB_RUN: &str = "/usr/bin/xvfb-run";

/// How long one command to the page (a fetch included) may take.
const PAGE_TIMEOUT: Duration = Duration::from_secs(40);

/// Where `libwebkit2gtk-4.1-0` installs MiniBrowser.
pub fn minibrowser_path() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        "/usr/libexec/webkit2gtk-4.1/MiniBrowser",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// True when MiniBrowser and xvfb-run are both installed.
pub fn webkit_installed() -> bool {
    minibrowser_path().is_some() && std::path::Path::new(XVFB_RUN).exists()
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// MiniBrowser with one page open, its inspector socket connected; the
/// process group (xvfb-run, Xvfb, MiniBrowser and its web processes) ends on
/// drop.
pub struct WebKit {
    rpc: Rpc,
    target: Arc<Mutex<String>>,
    waiters: Waiters,
    next_id: std::sync::atomic::AtomicU64,
    console: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    _group: Group,
    _home: TempDir,
}

impl WebKit {
    /// Start MiniBrowser on `url` and connect to its page.
    pub async fn launch(url: &str) -> Result<WebKit, String> {
        WebKit::launch_with(url, &[]).await
    }

    /// [`WebKit::launch`] with extra environment variables for MiniBrowser
    /// and its processes.
    pub async fn launch_with(url: &str, env: &[(String, String)]) -> Result<WebKit, String> {
        // xvfb-run -a and the inspector's port are picked free, but another
        // process can take either in between: up to three starts, each with a
        // fresh home and port, each bounded.
        let mut last = String::new();
        for attempt in 1..=3 {
            match WebKit::launch_once(url, env).await {
                Ok(w) => return Ok(w),
                Err(e) => {
                    eprintln!("WebKit start {attempt} of 3 failed: {e}");
                    last = e;
                }
            }
        }
        Err(last)
    }

    async fn launch_once(url: &str, env: &[(String, String)]) -> Result<WebKit, String> {
        let browser = minibrowser_path()
            .ok_or("MiniBrowser is not installed (apt-get install webkit2gtk-driver)")?;
        if !webkit_installed() {
            return Err("xvfb-run is missing (apt-get install xvfb)".into());
        }
        // A fresh home: MiniBrowser's data and cache directories follow it.
        let home = TempDir::new("webkit")?;
        let port = free_port()?;
        // An environment for the browser alone (a fast clock must not reach
        // Xvfb) goes through a wrapper script.
        let binary = if env.is_empty() {
            browser
        } else {
            let wrapper = home.path().join("minibrowser");
            let mut script = String::from("#!/bin/sh\n");
            for (k, v) in env {
                script.push_str(&format!("export {k}='{v}'\n"));
            }
            script.push_str(&format!("exec '{}' \"$@\"\n", browser.display()));
            std::fs::write(&wrapper, script).map_err(|e| format!("wrapper: {e}"))?;
            std::fs::set_permissions(
                &wrapper,
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .map_err(|e| format!("wrapper: {e}"))?;
            wrapper
        };
        let mut cmd = tokio::process::Command::new(XVFB_RUN);
        cmd.arg("-a")
            .arg(binary)
            .arg(url)
            .env("WEBKIT_INSPECTOR_HTTP_SERVER", format!("127.0.0.1:{port}"))
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let group = Group::spawn(&mut cmd, "MiniBrowser")?;
        // MiniBrowser takes a moment to listen (xvfb-run starts Xvfb first)
        // and lists the page once it has one.
        let socket = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Ok(Some(path)) = target_socket(port).await {
                    return path;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .map_err(|_| "MiniBrowser listed no page on its inspector in 30 s".to_string())?;
        let (rpc, events) = Rpc::connect(&format!("ws://127.0.0.1:{port}{socket}")).await?;
        let target = Arc::new(Mutex::new(String::new()));
        let waiters: Waiters = Arc::default();
        let (console_tx, console) = mpsc::unbounded_channel();
        tokio::spawn(route(events, target.clone(), waiters.clone(), console_tx));
        let webkit = WebKit {
            rpc,
            target,
            waiters,
            next_id: std::sync::atomic::AtomicU64::new(1),
            console: tokio::sync::Mutex::new(console),
            _group: group,
            _home: home,
        };
        // The page target is announced as the socket opens.
        tokio::time::timeout(Duration::from_secs(30), async {
            while webkit.target().is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .map_err(|_| "MiniBrowser announced no page target in 30 s".to_string())?;
        webkit.command("Console.enable", json!({})).await?;
        // The page is loaded when its document is complete at `url`; until
        // then a command can reach the document being replaced ("Missing
        // injected script"), so any answer but that one is waited past.
        let mut last = String::from("no answer");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            match webkit
                .evaluate("location.href + ' ' + document.readyState")
                .await
            {
                Ok(state) if state.as_str() == Some(&format!("{url} complete")) => {
                    return Ok(webkit)
                }
                Ok(state) => last = state.to_string(),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("MiniBrowser did not load {url} in 30 s: {last}"))
    }

    fn target(&self) -> String {
        self.target.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// One command to the page: its `result`, or the protocol's error.
    async fn command(&self, method: &str, params: Value) -> Result<Value, String> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().map_err(|_| "poisoned")?.insert(id, tx);
        let inner = json!({"id": id, "method": method, "params": params});
        self.rpc
            .call(json!({"method": "Target.sendMessageToTarget", "params": {
                "targetId": self.target(),
                "message": inner.to_string(),
            }}))
            .await?;
        let answer = tokio::time::timeout(PAGE_TIMEOUT, rx)
            .await
            .map_err(|_| format!("{method}: no answer in {} s", PAGE_TIMEOUT.as_secs()))?
            .map_err(|_| "inspector connection closed".to_string())?;
        if let Some(err) = answer.get("error") {
            return Err(format!("{method}: {err}"));
        }
        Ok(answer["result"].clone())
    }

    /// Evaluate `expression` (a promise is awaited) and return its value.
    pub async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let promise = self
            .command(
                "Runtime.evaluate",
                json!({"expression": format!("Promise.resolve({expression})")}),
            )
            .await?;
        if promise["wasThrown"] == json!(true) {
            return Err(format!("script error: {}", promise["result"]));
        }
        let object = promise["result"]["objectId"]
            .as_str()
            .ok_or_else(|| format!("script error: no promise in {promise}"))?;
        let settled = self
            .command(
                "Runtime.awaitPromise",
                json!({"promiseObjectId": object, "returnByValue": true}),
            )
            .await?;
        if settled["wasThrown"] == json!(true) {
            return Err(format!("script error: {}", settled["result"]));
        }
        Ok(settled["result"]["value"].clone())
    }

    /// Run `fetch(url, init)` in the page; a blocked request carries the name
    /// [`reason_name`] gives WebKit's console message (empty when it logged
    /// none that names a reason).
    pub async fn fetch(&self, url: &str, init: &str) -> Result<BrowserOutcome, String> {
        // Earlier requests' messages must not be read as this one's. WebKit
        // logs a blocked request's messages before its promise rejects, and
        // they come over the same socket as the answer, in order.
        self.drain(&mut Vec::new()).await;
        let value = self.evaluate(&fetch_script(url, init)).await?;
        let mut result = parse_fetch_result(&value)?;
        let mut messages = Vec::new();
        if result.is_err() {
            // The network source's copy of the cause comes last; wait for
            // it, bounded, so that it is not left for the next request.
            for _ in 0..40 {
                let before = messages.len();
                self.drain(&mut messages).await;
                let settled = !messages.is_empty() && messages.len() == before;
                if settled || messages.iter().any(|m| m.starts_with(NETWORK_COPY)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            result = Err(messages
                .iter()
                .find_map(|m| reason_name(m))
                .unwrap_or_default()
                .to_string());
        }
        Ok(BrowserOutcome {
            result,
            preflights: 0,
            message: messages.join("\n"),
        })
    }

    /// Read the pending console messages: the text of each error.
    async fn drain(&self, found: &mut Vec<String>) {
        let mut console = self.console.lock().await;
        while let Ok(message) = console.try_recv() {
            if message["level"] == json!("error") {
                if let Some(text) = message["text"].as_str() {
                    found.push(text.to_string());
                }
            }
        }
    }
}

/// The websocket path of the first page MiniBrowser's inspector lists on
/// `GET /` (`onclick="window.open('Main.html?ws=' + window.location.host +
/// '/socket/1/1/WebPage', ...)"`), `None` while it lists none.
async fn target_socket(port: u16) -> Result<Option<String>, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(
                format!("GET / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut page = Vec::new();
        stream
            .take(1 << 20)
            .read_to_end(&mut page)
            .await
            .map_err(|e| format!("read: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&page).into_owned())
    };
    let page = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "inspector listing: no answer in 5 s".to_string())??;
    Ok(socket_path(&page))
}

/// The first `'/socket/...'` path in the inspector's listing.
fn socket_path(listing: &str) -> Option<String> {
    let at = listing.find("'/socket/")?;
    let rest = &listing[at + 1..];
    rest.find('\'').map(|end| rest[..end].to_string())
}

/// Sort the socket's events: the page target's id (announced by
/// `Target.targetCreated`, replaced when a navigation commits another),
/// answers to [`WebKit::command`] by id, console messages to `console`.
async fn route(
    mut events: mpsc::UnboundedReceiver<Value>,
    target: Arc<Mutex<String>>,
    waiters: Waiters,
    console: mpsc::UnboundedSender<Value>,
) {
    while let Some(ev) = events.recv().await {
        let set_target = |id: &Value| {
            if let (Some(id), Ok(mut t)) = (id.as_str(), target.lock()) {
                *t = id.to_string();
            }
        };
        match ev["method"].as_str() {
            // A provisional target (a navigation to another process) takes
            // commands once it commits.
            Some("Target.targetCreated")
                if ev["params"]["targetInfo"]["isProvisional"] != json!(true) =>
            {
                set_target(&ev["params"]["targetInfo"]["targetId"])
            }
            Some("Target.didCommitProvisionalTarget") => set_target(&ev["params"]["newTargetId"]),
            Some("Target.dispatchMessageFromTarget") => {
                let Some(Ok(inner)) = ev["params"]["message"]
                    .as_str()
                    .map(serde_json::from_str::<Value>)
                else {
                    continue;
                };
                if let Some(id) = inner.get("id").and_then(Value::as_u64) {
                    let waiter = waiters.lock().ok().and_then(|mut w| w.remove(&id));
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(inner);
                    }
                } else if inner["method"] == json!("Console.messageAdded") {
                    let _ = console.send(inner["params"]["message"].clone());
                }
            }
            _ => {}
        }
    }
}

/// How the network source's copy of a refusal's console message begins.
const NETWORK_COPY: &str = "Failed to load resource: ";

/// The name the simulator's webkit profile gives a refusal, for WebKit's
/// console message about it (WebKitGTK 2.50; the texts are WebKit's, the
/// names the suite's own, docs/browser-model.md#webkit). `None` for a message
/// that names no CORS reason ("Fetch API cannot load URL due to access
/// control checks." follows every refusal).
pub fn reason_name(message: &str) -> Option<&'static str> {
    // The cause, without the "Failed to load resource: " that the network
    // source's copy of it starts with.
    let text = message.strip_prefix(NETWORK_COPY).unwrap_or(message);
    // Each text as WebKit logs it, a method, header name or status cut out.
    const TABLE: &[(&str, &str)] = &[
        (
            " is not allowed by Access-Control-Allow-Origin.",
            "OriginNotAllowed",
        ),
        (
            "Access-Control-Allow-Origin cannot contain more than one origin.",
            "MultipleAllowOrigin",
        ),
        (
            "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.",
            "WildcardWithCredentials",
        ),
        (
            "Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\".",
            "AllowCredentialsNotTrue",
        ),
        (
            "Preflight response is not successful.",
            "PreflightNotSuccessful",
        ),
        (
            " is not allowed by Access-Control-Allow-Methods.",
            "MethodNotAllowed",
        ),
        (
            " is not allowed by Access-Control-Allow-Headers.",
            "HeaderNotAllowed",
        ),
        (
            "Header Access-Control-Allow-Methods has an invalid value",
            "InvalidAllowMethods",
        ),
        (
            "Header Access-Control-Allow-Headers has an invalid value",
            "InvalidAllowHeaders",
        ),
    ];
    TABLE
        .iter()
        .find(|(pattern, _)| text.contains(pattern))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::{reason_name, socket_path};

    /// The page MiniBrowser (WebKitGTK 2.50) serves on `GET /`, cut short.
    #[test]
    fn the_listing_names_the_page_socket() {
        let listing = "<tr><td class=\"data\"><div class=\"targetname\"></div><div class=\"targeturl\">http://127.0.0.1:9/</div></td><td class=\"input\"><input type=\"button\" value=\"Inspect\" onclick=\"window.open('Main.html?ws=' + window.location.host + '/socket/1/1/WebPage', '_blank', 'location=no,menubar=no,status=no,toolbar=no');\"></td></tr>";
        assert_eq!(socket_path(listing).as_deref(), Some("/socket/1/1/WebPage"));
        assert_eq!(
            socket_path("<div id='targetlist'><table><tbody></tbody></table></div>"),
            None
        );
        assert_eq!(socket_path("'/socket/1/1/WebPage"), None);
    }

    /// WebKitGTK 2.50's messages, as the browser suite read them.
    #[test]
    fn console_messages_name_their_reason() {
        for (message, name) in [
            ("Origin http://127.0.0.1:9 is not allowed by Access-Control-Allow-Origin. Status code: 200", Some("OriginNotAllowed")),
            ("Failed to load resource: Origin http://127.0.0.1:9 is not allowed by Access-Control-Allow-Origin. Status code: 204", Some("OriginNotAllowed")),
            ("Access-Control-Allow-Origin cannot contain more than one origin.", Some("MultipleAllowOrigin")),
            ("Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.", Some("WildcardWithCredentials")),
            ("Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\".", Some("AllowCredentialsNotTrue")),
            ("Preflight response is not successful. Status code: 403", Some("PreflightNotSuccessful")),
            ("Method patch is not allowed by Access-Control-Allow-Methods.", Some("MethodNotAllowed")),
            ("Request header field x-test is not allowed by Access-Control-Allow-Headers.", Some("HeaderNotAllowed")),
            ("Header Access-Control-Allow-Methods has an invalid value: Bad method name", Some("InvalidAllowMethods")),
            ("Header Access-Control-Allow-Headers has an invalid value: x-a, bad name", Some("InvalidAllowHeaders")),
            // It follows every refusal and names no cause.
            ("Fetch API cannot load http://127.0.0.1:9/a due to access control checks.", None),
        ] {
            assert_eq!(reason_name(message), name, "{message}");
        }
    }
}
