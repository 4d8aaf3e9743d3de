//! Headless Firefox driven over WebDriver BiDi (its own remote agent, no
//! geckodriver): `session.new`, `browsingContext.navigate`, `script.evaluate`
//! with `awaitPromise`.
//!
//! Page script only sees `TypeError` for a blocked request; Firefox's reason is
//! in the console message it logs for it ("Cross-Origin Request Blocked: ...
//! (Reason: CORS header 'Access-Control-Allow-Origin' missing)"), which BiDi
//! delivers as a `log.entryAdded` event. [`reason_name`] turns that text into
//! Firefox's documented reason name (`CORSMissingAllowOrigin`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::process::{free_port, Group, TempDir};
use crate::rpc::Rpc;
use crate::{fetch_script, parse_fetch_result, BrowserOutcome};

/// Where Debian's Firefox ESR (or a Firefox) is installed.
pub fn firefox_path() -> Option<PathBuf> {
    ["/usr/bin/firefox-esr", "/usr/bin/firefox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A headless Firefox with one top-level browsing context, its process group
/// ended on drop.
pub struct Firefox {
    rpc: Rpc,
    context: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    _group: Group,
    _profile: TempDir,
}

impl Firefox {
    /// Start Firefox with a fresh profile, open a BiDi session and load `url`.
    pub async fn launch(url: &str) -> Result<Firefox, String> {
        Firefox::launch_with(url, &[]).await
    }

    /// [`Firefox::launch`] with extra environment variables.
    pub async fn launch_with(url: &str, env: &[(String, String)]) -> Result<Firefox, String> {
        let path =
            firefox_path().ok_or("Firefox is not installed (apt-get install firefox-esr)")?;
        let profile = TempDir::new("firefox")?;
        let port = free_port()?;
        let mut cmd = tokio::process::Command::new(path);
        cmd.arg("--headless")
            .arg("--remote-debugging-port")
            .arg(port.to_string())
            .arg("--profile")
            .arg(profile.path())
            .arg("--no-remote")
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut group = Group::spawn(&mut cmd, "Firefox")?;
        let stderr = group.child().stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let ws_base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("WebDriver BiDi listening on ") {
                    return Some(
                        line[at + "WebDriver BiDi listening on ".len()..]
                            .trim()
                            .to_string(),
                    );
                }
            }
            None
        })
        .await
        .map_err(|_| "Firefox did not open its BiDi endpoint in 30 s".to_string())?
        .ok_or("Firefox exited before opening its BiDi endpoint")?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (rpc, events) =
            Rpc::connect(&format!("{}/session", ws_base.trim_end_matches('/'))).await?;
        rpc.call(json!({"method": "session.new", "params": {"capabilities": {}}}))
            .await?;
        rpc.call(json!({"method": "session.subscribe", "params": {"events": ["log.entryAdded"]}}))
            .await?;
        let tree = rpc
            .call(json!({"method": "browsingContext.getTree", "params": {}}))
            .await?;
        let context = tree["contexts"][0]["context"]
            .as_str()
            .ok_or("Firefox has no browsing context")?
            .to_string();
        rpc.call(json!({"method": "browsingContext.navigate",
            "params": {"context": context, "url": url, "wait": "complete"}}))
            .await?;
        let firefox = Firefox {
            rpc,
            context,
            events: tokio::sync::Mutex::new(events),
            _group: group,
            _profile: profile,
        };
        firefox.settle_loopback_dns().await?;
        Ok(firefox)
    }

    /// Put Firefox's DNS cache for `127.0.0.1` in the state a page's API host
    /// is in after its first request, so that a cached preflight is reused
    /// from the first time, as it is for a host name.
    ///
    /// Firefox reuses a cached preflight only if the DNS cache holds a record
    /// of its host and none was updated after the preflight was cached (its
    /// defence against DNS rebinding, `CheckDNSCache` in
    /// `nsCORSListenerProxy.cpp`); the check looks up the host three times,
    /// any family, IPv4 only and IPv6 only, without going to the network. For
    /// a host name the lookup made to connect leaves the records, older than
    /// any preflight. For an IP address no lookup is needed to connect, and
    /// each of the check's lookups that finds no record makes one, dated now:
    /// in a fresh Firefox ESR 153 the first two reuses of a cached preflight
    /// to `127.0.0.1` (in the top-level site `127.0.0.1`) each make one and
    /// fail, and the request is preflighted again; every later one succeeds
    /// (`MOZ_LOG=nsHostResolver:5`: "Host is IP Literal" at a failing check,
    /// "Using cached address" three times at a passing one; with the API at
    /// a name for `127.0.0.1`, the first reuse succeeds). The suite's servers
    /// are all `127.0.0.1`, so three preflighted fetches to a server of our
    /// own, before any case, make those records, without caching anything a
    /// case can reuse (docs/browser-model.md#preflight-cache).
    async fn settle_loopback_dns(&self) -> Result<(), String> {
        let server = PreflightServer::start().await?;
        let url = format!("http://{}/settle-dns", server.addr);
        let init = json!({"method": "PUT"}).to_string();
        for _ in 0..SETTLE_FETCHES {
            let before = server.preflights();
            let value = self.evaluate(&fetch_script(&url, &init)).await?;
            if parse_fetch_result(&value)?.is_err() {
                return Err(format!("Firefox blocked the DNS warm-up fetch to {url}"));
            }
            if before > 0 && server.preflights() == before {
                // Reused: the records are there.
                return Ok(());
            }
        }
        Err(format!(
            "Firefox reused no cached preflight to {url} in {SETTLE_FETCHES} fetches \
             ({} preflights)",
            server.preflights()
        ))
    }

    /// Evaluate `expression` in the page (promises awaited); the value must be
    /// a string, a number or a boolean (BiDi serializes others by shape).
    pub async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let r = self
            .rpc
            .call(json!({"method": "script.evaluate", "params": {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": true,
                "resultOwnership": "none",
            }}))
            .await?;
        if r["type"] != json!("success") {
            return Err(format!("script error: {r}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Run `fetch(url, init)` in the page; a blocked request carries Firefox's
    /// reason name (empty when it logged none).
    pub async fn fetch(&self, url: &str, init: &str) -> Result<BrowserOutcome, String> {
        // Earlier requests' messages must not be read as this one's: those
        // pending are dropped, and one logged before this fetch began but
        // delivered late (cases may share a URL) is known by its timestamp.
        self.drain("", 0, &mut Vec::new()).await;
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let value = self.evaluate(&fetch_script(url, init)).await?;
        let mut result = parse_fetch_result(&value)?;
        let mut message = None;
        if result.is_err() {
            // The console messages are logged as the request fails; wait for
            // the first, bounded, then for any that follow it.
            let mut messages = Vec::new();
            for _ in 0..40 {
                let before = messages.len();
                self.drain(url, since, &mut messages).await;
                if !messages.is_empty() && messages.len() == before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            // The first message names the cause; a preflight that failed is
            // followed by "CORS request did not succeed" for the request.
            let name = messages
                .first()
                .and_then(|m| reason_name(m))
                .unwrap_or_default();
            result = Err(name.to_string());
            message = Some(messages.join("\n"));
        }
        Ok(BrowserOutcome {
            result,
            preflights: 0,
            message: message.unwrap_or_default(),
        })
    }

    /// Read the pending log entries; keep the CORS messages about `url`
    /// logged at or after `since` (milliseconds since the Unix epoch, the
    /// unit of the entry's `timestamp` in WebDriver BiDi's `log.LogEntry`).
    async fn drain(&self, url: &str, since: u64, found: &mut Vec<String>) {
        let mut events = self.events.lock().await;
        while let Ok(ev) = events.try_recv() {
            if ev["method"] != json!("log.entryAdded") {
                continue;
            }
            if ev["params"]["timestamp"]
                .as_u64()
                .is_some_and(|t| t < since)
            {
                continue;
            }
            let text = ev["params"]["text"].as_str().unwrap_or_default();
            if is_about(text, url) {
                found.push(text.to_string());
            }
        }
    }
}

/// At most this many fetches for [`Firefox::settle_loopback_dns`]: Firefox ESR
/// 153 reuses the preflight at the fourth.
const SETTLE_FETCHES: usize = 6;

/// A server on `127.0.0.1` that allows a `PUT` from any origin, its preflight
/// cached 600 s, and counts the preflights; stopped, with its connections,
/// on drop.
struct PreflightServer {
    addr: std::net::SocketAddr,
    preflights: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl PreflightServer {
    async fn start() -> Result<PreflightServer, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let preflights = Arc::new(AtomicUsize::new(0));
        let counter = preflights.clone();
        let task = tokio::spawn(async move {
            // Owned here, so that the connections end with the task.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let counter = counter.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let preflight = req.method() == Method::OPTIONS;
                    if preflight {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    let mut resp = Response::builder().status(if preflight { 204 } else { 200 });
                    if let Some(origin) = req.headers().get("origin") {
                        resp = resp.header("access-control-allow-origin", origin.clone());
                    }
                    if preflight {
                        resp = resp
                            .header("access-control-allow-methods", "PUT")
                            .header("access-control-max-age", "600");
                    }
                    let resp = resp.body(Empty::<Bytes>::new()).map_err(|e| e.to_string());
                    async move { resp }
                });
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(PreflightServer {
            addr,
            preflights,
            task,
        })
    }

    fn preflights(&self) -> usize {
        self.preflights.load(Ordering::SeqCst)
    }
}

impl Drop for PreflightServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether `text` is a CORS console message about `url`: "... resource at
/// URL. (Reason: ...)", the URL ending at the period, or, in some messages
/// (credentials with `*`), in curly quotes: "at ‘URL’. (Reason: ...)".
fn is_about(text: &str, url: &str) -> bool {
    !url.is_empty()
        && text.contains("(Reason: ")
        && (text.contains(&format!("{url}. ")) || text.contains(&format!("\u{2018}{url}\u{2019}.")))
}

/// Firefox's documented CORS reason name for its console message (the text in
/// `(Reason: ...)`, from `dom/locales/en-US/chrome/security/security.properties`).
pub fn reason_name(message: &str) -> Option<&'static str> {
    let start = message.find("(Reason: ")? + "(Reason: ".len();
    let reason = &message[start..];
    const TABLE: &[(&str, &str)] = &[
        ("CORS disabled", "CORSDisabled"),
        ("CORS request did not succeed", "CORSDidNotSucceed"),
        (
            "CORS header 'Origin' cannot be added",
            "CORSOriginHeaderNotAdded",
        ),
        (
            "CORS request external redirect not allowed",
            "CORSExternalRedirectNotAllowed",
        ),
        ("CORS request not HTTP", "CORSRequestNotHttp"),
        (
            "CORS header 'Access-Control-Allow-Origin' missing",
            "CORSMissingAllowOrigin",
        ),
        (
            "CORS header 'Access-Control-Allow-Origin' does not match",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "Credential is not supported if the CORS header 'Access-Control-Allow-Origin' is '*'",
            "CORSNotSupportingCredentials",
        ),
        (
            "Did not find method in CORS header 'Access-Control-Allow-Methods'",
            "CORSMethodNotFound",
        ),
        (
            "expected 'true' in CORS header 'Access-Control-Allow-Credentials'",
            "CORSMissingAllowCredentials",
        ),
        (
            "CORS preflight channel did not succeed",
            "CORSPreflightDidNotSucceed",
        ),
        ("missing token", "CORSMissingAllowHeaderFromPreflight"),
        (
            "Multiple CORS header 'Access-Control-Allow-Origin' not allowed",
            "CORSMultipleAllowOriginNotAllowed",
        ),
    ];
    // Firefox prints curly quotes; compare with straight ones.
    let reason = reason.replace(['\u{2018}', '\u{2019}'], "'");
    TABLE
        .iter()
        .find(|(text, _)| reason.starts_with(text))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::{is_about, reason_name};

    #[test]
    fn messages_are_matched_to_their_url_quoted_or_not() {
        let url = "http://127.0.0.1:9/api/public/a";
        // Firefox ESR 153's message for credentials with `*` quotes the URL.
        let quoted = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at \u{2018}http://127.0.0.1:9/api/public/a\u{2019}. (Reason: Credential is not supported if the CORS header \u{2018}Access-Control-Allow-Origin\u{2019} is \u{2018}*\u{2019}).";
        let plain = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://127.0.0.1:9/api/public/a. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} missing). Status code: 200.";
        assert!(is_about(quoted, url));
        assert!(is_about(plain, url));
        assert_eq!(reason_name(quoted), Some("CORSNotSupportingCredentials"));
        assert_eq!(reason_name(plain), Some("CORSMissingAllowOrigin"));
        // Another URL, a prefix of it, or no URL: not about it.
        assert!(!is_about(plain, "http://127.0.0.1:9/api/public"));
        assert!(!is_about(quoted, "http://127.0.0.1:9/api"));
        assert!(!is_about(plain, ""));
    }
}
