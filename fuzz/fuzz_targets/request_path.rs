//! The gateway's request path in process: an arbitrary method, request
//! target and header fields (and a small body) through the edge checks, the
//! router, the route's CORS layer, the method check and the proxy, to a
//! stand-in upstream on loopback started once per process.
//!
//! Never a panic, and the answer is a valid HTTP response: a final status,
//! a body that ends (within a bound in time and size) and agrees with its
//! `Content-Length`, and CORS headers only as the Fetch standard's CORS
//! check (§3.2.5) can accept them: `Access-Control-Allow-Origin` once, `*` or
//! the request's one `Origin`, and never `*` with credentials allowed.
//!
//! Input: a flags byte, then lines (`\n`): the method, the request target,
//! then `name: value` header lines; after an empty line, the body.
//! Flags: bit 0 HTTP/2 (else HTTP/1.1), bit 1 no `Host` added, bit 2 over
//! TLS (as the connection info says).
#![no_main]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_LENGTH, HOST, ORIGIN,
};
use http::{HeaderName, HeaderValue, Method, Request, Response, Uri, Version};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use libfuzzer_sys::fuzz_target;
use preflight_gateway::{body, Config, ConnInfo, Gateway};

/// The most a response body may hold: the gateway's own answers and the
/// stand-in's are small.
const BODY_MAX: usize = 1 << 20;

struct World {
    runtime: tokio::runtime::Runtime,
    gateway: Gateway,
}

/// The gateway's configuration, with its routes pointing at the stand-in.
/// Each CORS variant of docs/configuration.md: the default (listed and
/// wildcard origins, credentials), a public route (`*`, no credentials,
/// a stripped prefix), a route with CORS off, one that rejects disallowed
/// origins, and one with WebSocket upgrades.
fn config_text(up: SocketAddr) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:1"
upstream_timeout = "2s"
connect_timeout = "1s"
body_limit = "16KiB"
body_idle_timeout = "2s"

[cors]
allow_origins = ["https://app.example.com", "https://*.example.com", "http://localhost:*"]
allow_headers = ["content-type", "authorization", "x-*"]
expose_headers = ["x-request-id"]
allow_credentials = true
max_age = 600

[[routes]]
path = "/api/users/{{id}}"
methods = ["GET", "PUT", "DELETE"]
upstream = "http://{up}"

[[routes]]
path = "/api/public/{{*rest}}"
methods = ["GET", "POST"]
upstream = "http://{up}"
strip_prefix = "/api/public"
cors = {{ allow_origins = ["*"], allow_credentials = false, allow_headers = ["*"] }}

[[routes]]
path = "/internal/{{*rest}}"
methods = ["GET", "POST"]
upstream = "http://{up}/base"
cors = false

[[routes]]
path = "/strict/{{*rest}}"
methods = ["POST", "PATCH"]
upstream = "http://{up}"
cors = {{ on_disallowed_origin = "reject" }}

[[routes]]
path = "/ws"
methods = ["GET"]
upstream = "http://{up}"
websocket = true
"#
    )
}

/// The stand-in upstream: reads the request body (bounded) and answers 200
/// with a small body and a header of its own.
async fn stand_in(listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                let _ = Limited::new(req.into_body(), BODY_MAX).collect().await;
                let mut res = Response::new(Full::new(Bytes::from_static(b"upstream")));
                res.headers_mut()
                    .insert("x-upstream", HeaderValue::from_static("stand-in"));
                Ok::<_, std::convert::Infallible>(res)
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port for the stand-in upstream");
        let up = listener.local_addr().expect("the stand-in's address");
        runtime.spawn(stand_in(listener));
        let config = Config::parse(
            &config_text(up),
            Path::new("fuzz.toml"),
            Path::new("/nonexistent-fuzz-base"),
        )
        .unwrap_or_else(|e| panic!("the fuzz configuration is refused: {e}"));
        World {
            runtime,
            gateway: Gateway::new(config),
        }
    })
}

/// The request the fuzz bytes describe; `None` when hyper would not have
/// parsed it into a request at all (an invalid method, target or field).
fn request(data: &[u8]) -> Option<(Request<body::GatewayBody>, u8)> {
    let (&flags, rest) = data.split_first()?;
    let (head, body_bytes) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let method = Method::from_bytes(lines.next()?).ok()?;
    let uri = Uri::try_from(lines.next()?).ok()?;
    let version = if flags & 1 == 1 {
        Version::HTTP_2
    } else {
        Version::HTTP_11
    };
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .version(version)
        .body(body::full(Bytes::copy_from_slice(body_bytes)))
        .ok()?;
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
        req.headers_mut().append(name, value);
    }
    if flags & 2 == 0 && !req.headers().contains_key(HOST) {
        req.headers_mut()
            .insert(HOST, HeaderValue::from_static("gateway.test"));
    }
    Some((req, flags))
}

fuzz_target!(|data: &[u8]| {
    let Some((req, flags)) = request(data) else {
        return;
    };
    let origins: Vec<HeaderValue> = req.headers().get_all(ORIGIN).iter().cloned().collect();
    let conn = ConnInfo {
        remote: SocketAddr::from(([127, 0, 0, 1], 40000)),
        tls: flags & 4 == 4,
    };
    let w = world();
    let (status, headers, collected) = w.runtime.block_on(async {
        let res = tokio::time::timeout(Duration::from_secs(10), w.gateway.handle_body(req, conn))
            .await
            .expect("the gateway answered within 10 s");
        let (parts, res_body) = res.into_parts();
        let collected = tokio::time::timeout(
            Duration::from_secs(10),
            Limited::new(res_body, BODY_MAX).collect(),
        )
        .await
        .expect("the response body ended within 10 s")
        .map(|c| c.to_bytes());
        (parts.status, parts.headers, collected)
    });
    assert!(
        status.as_u16() >= 200 || status.as_u16() == 101,
        "an interim status as the final answer: {status}"
    );
    assert_ne!(status.as_u16(), 500, "an internal error");
    if let Ok(bytes) = &collected {
        if let Some(cl) = headers.get(CONTENT_LENGTH) {
            let declared: usize = cl
                .to_str()
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("a Content-Length that is no number: {cl:?}"));
            assert_eq!(
                declared,
                bytes.len(),
                "Content-Length disagrees with the body"
            );
        }
    }
    let acao: Vec<&HeaderValue> = headers
        .get_all(ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .collect();
    assert!(
        acao.len() <= 1,
        "Access-Control-Allow-Origin more than once: {acao:?}"
    );
    if let Some(allowed) = acao.first() {
        if allowed.as_bytes() != b"*" {
            assert_eq!(
                origins.len(),
                1,
                "Access-Control-Allow-Origin {allowed:?} for the origins {origins:?}"
            );
            assert_eq!(*allowed, &origins[0], "another origin allowed than sent");
        } else {
            assert!(
                headers.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none(),
                "`*` with credentials allowed"
            );
        }
    }
});
