//! Test helpers: an upstream (the test kit's server) that says what it
//! received, a gateway started from configuration text, and a client.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use preflight_gateway::body::{boxed, GatewayBody};
use preflight_gateway::{Config, Gateway, RunningGateway};
#[allow(unused_imports)]
pub use preflight_test_kit::cli::TempDir;
use preflight_test_kit::server::{self, Server};
use tokio::sync::Notify;

/// What the upstream's handlers share with the test: what it holds back
/// until told, and what it counted.
#[derive(Default)]
pub struct Held {
    /// Bytes of the last request body, counted while streaming.
    pub body_bytes: AtomicUsize,
    /// Released by the test to let `/stream` finish.
    pub release: Notify,
    /// Raised by `/upload` when its first chunk arrived.
    pub first_chunk: Notify,
}

/// The test upstream: the kit's server with the handlers below.
pub struct Upstream {
    pub addr: SocketAddr,
    pub held: Arc<Held>,
    server: Server,
}

impl Upstream {
    /// How many requests reached the upstream.
    pub fn hits(&self) -> usize {
        self.server.hits()
    }

    /// The headers of the last request that reached the upstream.
    pub fn last_headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.server.last().map(|r| r.headers).unwrap_or_default() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                map.append(n, v);
            }
        }
        map
    }
}

type Body = GatewayBody;

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<server::Body> {
    let mut r = Response::new(server::full(body));
    *r.status_mut() = status;
    r
}

async fn upstream_handle(seen: Arc<Held>, mut req: Request<Incoming>) -> Response<server::Body> {
    let path = req.uri().path().to_string();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    match path.as_str() {
        "/slow" | "/api/slow" => {
            tokio::time::sleep(Duration::from_millis(800)).await;
            respond(StatusCode::OK, "slow")
        }
        "/cors" | "/api/cors" => {
            let mut r = respond(StatusCode::OK, "own cors");
            r.headers_mut()
                .insert("access-control-allow-origin", "*".parse().unwrap());
            r.headers_mut()
                .insert("access-control-allow-credentials", "true".parse().unwrap());
            r.headers_mut()
                .insert("vary", "Accept-Encoding".parse().unwrap());
            r
        }
        "/hop" | "/api/hop" => {
            let mut r = respond(StatusCode::OK, "hop");
            r.headers_mut()
                .insert("connection", "x-secret-hop".parse().unwrap());
            r.headers_mut().insert("x-secret-hop", "1".parse().unwrap());
            r.headers_mut()
                .insert("keep-alive", "timeout=5".parse().unwrap());
            r.headers_mut()
                .insert("proxy-authenticate", "Basic".parse().unwrap());
            r
        }
        "/stream" | "/api/stream" => {
            // First chunk now; the rest (50 MB) only once the test has seen it.
            let seen2 = seen.clone();
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
            tokio::spawn(async move {
                let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"first")))).await;
                seen2.release.notified().await;
                let chunk = Bytes::from(vec![b'x'; 1 << 20]);
                for _ in 0..50 {
                    if tx.send(Ok(Frame::data(chunk.clone()))).await.is_err() {
                        return;
                    }
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|f| (f, rx))
            });
            Response::new(StreamBody::new(stream).boxed())
        }
        "/upload" | "/api/upload" => {
            let mut body = req.into_body();
            let mut total = 0usize;
            let mut first = true;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => {
                        if let Some(d) = f.data_ref() {
                            total += d.len();
                            if first {
                                first = false;
                                seen.first_chunk.notify_one();
                            }
                        }
                    }
                    Err(_) => return respond(StatusCode::BAD_REQUEST, "broken body"),
                }
            }
            seen.body_bytes.store(total, Ordering::SeqCst);
            respond(StatusCode::OK, total.to_string())
        }
        "/ws" | "/api/ws" => {
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                if let Ok(upgraded) = on_upgrade.await {
                    let mut io = TokioIo::new(upgraded);
                    let (mut r, mut w) = tokio::io::split(&mut io);
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                }
            });
            let mut r = Response::new(server::empty());
            *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            r.headers_mut()
                .insert("connection", "upgrade".parse().unwrap());
            r.headers_mut()
                .insert("upgrade", "websocket".parse().unwrap());
            r
        }
        _ => respond(StatusCode::OK, format!("{} {}", req.method(), pq)),
    }
}

/// Start the test upstream (HTTP/1.1 with upgrades).
pub async fn upstream() -> Upstream {
    let seen = Arc::new(Held::default());
    let s = seen.clone();
    let server = Server::streaming(move |req| upstream_handle(s.clone(), req))
        .expect("the test upstream starts");
    Upstream {
        addr: server.addr(),
        held: seen,
        server,
    }
}

/// The standard test configuration, `UP` replaced by the upstream.
pub const BASE: &str = r#"
[server]
listen = "127.0.0.1:0"
admin = "127.0.0.1:0"
upstream_timeout = "400ms"
connect_timeout = "300ms"
body_limit = "1MiB"
grace_period = "3s"

[cors]
allow_origins = ["https://app.example.com", "http://localhost:*"]
allow_headers = ["content-type", "authorization"]
expose_headers = ["x-request-id"]
allow_credentials = true
max_age = 600

[[routes]]
path = "/api/{*rest}"
methods = ["GET", "POST", "PUT", "DELETE"]
upstream = "http://UP"

[[routes]]
path = "/public/{*rest}"
methods = ["GET"]
upstream = "http://UP"
strip_prefix = "/public"
cors = { allow_origins = ["*"], allow_credentials = false }

[[routes]]
path = "/internal/{*rest}"
methods = ["GET", "POST"]
upstream = "http://UP"
cors = false

[[routes]]
path = "/strict/{*rest}"
methods = ["GET"]
upstream = "http://UP/base/"
strip_prefix = "/strict"
cors = { on_disallowed_origin = "reject", debug = true }

[[routes]]
path = "/ws"
methods = ["GET"]
upstream = "http://UP"
"#;

pub fn config(text: &str, up: SocketAddr, dir: Option<&Path>) -> Config {
    let text = text.replace("UP", &up.to_string());
    let base = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    match Config::parse(&text, Path::new("test.toml"), &base) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

pub async fn gateway(text: &str, up: SocketAddr) -> RunningGateway {
    preflight_gateway::start(Gateway::new(config(text, up, None)))
        .await
        .unwrap()
}

pub type TestClient = Client<HttpConnector, Body>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

pub fn h2c_client() -> TestClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(HttpConnector::new())
}

/// Send a request with headers and an optional body; return status,
/// headers and the body as text.
pub async fn send(
    client: &TestClient,
    method: &str,
    url: String,
    headers: &[(&str, &str)],
    body: Option<&'static str>,
) -> (StatusCode, HeaderMap, String) {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = match body {
        Some(s) => boxed(Full::new(Bytes::from_static(s.as_bytes()))),
        None => boxed(Empty::<Bytes>::new()),
    };
    let res = client.request(b.body(body).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub fn url(g: &RunningGateway, path: &str) -> String {
    format!("http://{}{}", g.local_addrs()[0], path)
}

pub fn vary(h: &HeaderMap) -> Vec<String> {
    h.get_all("vary")
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect()
}
