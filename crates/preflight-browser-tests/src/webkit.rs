//! WebKitGTK's MiniBrowser driven over WebDriver classic (`WebKitWebDriver`,
//! under `xvfb-run` since MiniBrowser needs a display).
//!
//! WebDriver classic is a handful of JSON-over-HTTP calls here (new session,
//! navigate, execute async script, delete session), so they are made with
//! hyper, already in the workspace, one connection per call, each bounded;
//! a WebDriver client crate would bring a second HTTP stack for four requests.
//!
//! WebKit gives page script only `TypeError: Load failed` for a blocked
//! request and its console message reached neither stdout nor WebDriver
//! classic, so a WebKit verdict carries no reason (docs/browser-model.md#browser-profiles).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::process::{free_port, Group, TempDir};
use crate::{fetch_script, parse_fetch_result, BrowserOutcome};

const DRIVER: &str = "/usr/bin/WebKitWebDriver";
const XVFB_RUN: &str = "/usr/bin/xvfb-run";

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

/// True when WebKitWebDriver, MiniBrowser and xvfb-run are all installed.
pub fn webkit_installed() -> bool {
    minibrowser_path().is_some()
        && std::path::Path::new(DRIVER).exists()
        && std::path::Path::new(XVFB_RUN).exists()
}

/// A WebDriver session in MiniBrowser; the driver's process group (xvfb-run,
/// Xvfb, the driver, MiniBrowser and its web processes) ends on drop.
pub struct WebKit {
    port: u16,
    session: String,
    _group: Group,
    _home: TempDir,
}

impl WebKit {
    /// Start the driver, open a session and load `url`.
    pub async fn launch(url: &str) -> Result<WebKit, String> {
        WebKit::launch_with(url, &[]).await
    }

    /// [`WebKit::launch`] with extra environment variables for MiniBrowser
    /// and its processes.
    pub async fn launch_with(url: &str, env: &[(String, String)]) -> Result<WebKit, String> {
        // xvfb-run -a and the driver's port are picked free, but another
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
            return Err(
                "WebKitWebDriver or xvfb-run is missing (apt-get install webkit2gtk-driver xvfb)"
                    .into(),
            );
        }
        // A fresh home: MiniBrowser's data and cache directories follow it.
        let home = TempDir::new("webkit")?;
        let port = free_port()?;
        // The driver passes no environment of its own to MiniBrowser, so an
        // environment for the browser alone (a fast clock must not speed up
        // the driver's own timeouts) goes through a wrapper script.
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
            .arg(DRIVER)
            .arg(format!("--port={port}"))
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let group = Group::spawn(&mut cmd, "WebKitWebDriver")?;
        let mut webkit = WebKit {
            port,
            session: String::new(),
            _group: group,
            _home: home,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "MiniBrowser",
            "webkitgtk:browserOptions": {"binary": binary, "args": ["--automation"]},
        }}});
        // The driver takes a moment to listen (xvfb-run starts Xvfb first).
        let mut created = Err("WebKitWebDriver did not answer in 30 s".to_string());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            match webkit.call("POST", "/session", &caps).await {
                Ok(v) => {
                    created = Ok(v);
                    break;
                }
                // The driver's own answer ends the wait; anything else (not
                // listening yet, a connection closed early) is retried.
                Err(e) if e.starts_with("webdriver: ") => {
                    created = Err(e);
                    break;
                }
                Err(e) => {
                    created = Err(format!("WebKitWebDriver did not answer in 30 s: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
            }
        }
        let created = created?;
        webkit.session = created["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no sessionId in {created}"))?
            .to_string();
        let s = webkit.session.clone();
        webkit
            .call(
                "POST",
                &format!("/session/{s}/timeouts"),
                &json!({"script": 30_000, "pageLoad": 30_000}),
            )
            .await?;
        webkit
            .call("POST", &format!("/session/{s}/url"), &json!({"url": url}))
            .await?;
        Ok(webkit)
    }

    /// One WebDriver command: its `value`, or the WebDriver error.
    async fn call(&self, method: &str, path: &str, body: &Value) -> Result<Value, String> {
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(conn);
            let req = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", format!("127.0.0.1:{}", self.port))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .map_err(|e| e.to_string())?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("{path}: {e}"))?;
            let status = resp.status();
            let bytes = http_body_util::Limited::new(resp.into_body(), 1 << 20)
                .collect()
                .await
                .map_err(|e| format!("{path}: {e}"))?
                .to_bytes();
            let value: Value =
                serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
            if !status.is_success() {
                return Err(format!("webdriver: {path}: {status} {}", value["value"]));
            }
            Ok(value["value"].clone())
        };
        tokio::time::timeout(Duration::from_secs(40), exchange)
            .await
            .map_err(|_| format!("{method} {path}: no answer in 40 s"))?
    }

    /// Evaluate `expression` (a promise is awaited) and return its value.
    pub async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let script = format!(
            "const done = arguments[arguments.length - 1]; Promise.resolve({expression}).then(done, e => done('script error: ' + e));"
        );
        self.call(
            "POST",
            &format!("/session/{}/execute/async", self.session),
            &json!({"script": script, "args": []}),
        )
        .await
    }

    /// Run `fetch(url, init)` in the page: a verdict without a reason.
    pub async fn fetch(&self, url: &str, init: &str) -> Result<BrowserOutcome, String> {
        let value = self.evaluate(&fetch_script(url, init)).await?;
        let result = parse_fetch_result(&value)?;
        Ok(BrowserOutcome {
            result,
            preflights: 0,
            message: String::new(),
        })
    }
}
