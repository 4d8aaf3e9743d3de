//! The gateway over real sockets, as a proxy: hop-by-hop headers, streamed
//! bodies, graceful shutdown, h2c, upgrades, TLS, old upstreams, connect
//! timeouts; a test upstream (the test kit's server) behind it.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use preflight_test_kit::{Reply, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APP: &str = "https://app.example.com";

#[tokio::test]
async fn hop_by_hop_headers_are_removed_and_forwarded_headers_added() {
    let up = upstream().await;
    // The client is a trusted proxy here: its X-Forwarded-For is appended to
    // (an untrusted one's is replaced: tests/edge_requests.rs).
    let text = BASE.replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let g = gateway(&text, up.addr).await;
    let c = client();
    let (status, h, _) = send(
        &c,
        "GET",
        url(&g, "/api/hop"),
        &[
            ("connection", "x-client-hop"),
            ("x-client-hop", "1"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic x"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-kept", "yes"),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for name in ["x-secret-hop", "keep-alive", "proxy-authenticate"] {
        assert!(h.get(name).is_none(), "{name} leaked to the client");
    }
    let seen = up.last_headers();
    for name in ["x-client-hop", "te", "proxy-authorization"] {
        assert!(seen.get(name).is_none(), "{name} reached the upstream");
    }
    assert_eq!(seen["x-kept"], "yes");
    assert_eq!(seen["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(
        seen["x-forwarded-host"],
        g.local_addrs()[0].to_string().as_str()
    );
    g.shutdown().await;
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let up = upstream().await;
    let text = BASE.replace("body_limit = \"1MiB\"", "body_limit = \"100MiB\"");
    let g = gateway(&text, up.addr).await;
    let c = client();

    // Download: the first bytes arrive while the upstream still holds the rest.
    let req = http::Request::get(url(&g, "/api/stream"))
        .body(preflight_gateway::body::empty())
        .unwrap();
    let res = c.request(req).await.unwrap();
    let mut body = res.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.data_ref().unwrap().as_ref(), b"first");
    up.held.release.notify_one();
    let mut total = 0usize;
    while let Some(f) = body.frame().await {
        total += f.unwrap().data_ref().map_or(0, |d| d.len());
    }
    assert_eq!(total, 50 << 20);

    // Upload: the upstream sees the first chunk before the client sends the rest.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(2);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
    let req = http::Request::post(url(&g, "/api/upload"))
        .body(preflight_gateway::body::boxed(StreamBody::new(stream)))
        .unwrap();
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.request(req).await }
    });
    tx.send(Ok(Frame::data(Bytes::from_static(b"start"))))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), up.held.first_chunk.notified())
        .await
        .unwrap();
    let chunk = Bytes::from(vec![b'z'; 1 << 20]);
    for _ in 0..50 {
        tx.send(Ok(Frame::data(chunk.clone()))).await.unwrap();
    }
    drop(tx);
    let res = pending.await.unwrap().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(up.held.body_bytes.load(Ordering::SeqCst), 5 + (50 << 20));
    g.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let up = upstream().await;
    let text = BASE.replace("upstream_timeout = \"400ms\"", "upstream_timeout = \"5s\"");
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    let c = client();
    let slow = tokio::spawn({
        let c = c.clone();
        let u = format!("http://{addr}/api/slow");
        async move { send(&c, "GET", u, &[], None).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    g.shutdown().await;
    let (status, _, body) = slow.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "slow");
    assert!(started.elapsed() < Duration::from_secs(3));
    // No longer accepting.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn h2c_is_served() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = h2c_client();
    let req = http::Request::get(url(&g, "/api/h2"))
        .header("origin", APP)
        .body(preflight_gateway::body::empty())
        .unwrap();
    let res = c.request(req).await.unwrap();
    assert_eq!(res.version(), http::Version::HTTP_2);
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"GET /api/h2");
    g.shutdown().await;
}

#[tokio::test]
async fn upgrade_is_passed_through() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let mut s = tokio::net::TcpStream::connect(g.local_addrs()[0])
        .await
        .unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: https://app.example.com\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the 101");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com"),
        "{head}"
    );
    s.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echo, b"ping");
    g.shutdown().await;
}

#[tokio::test]
async fn tls_with_alpn_h2_and_http1() {
    use hyper_rustls::HttpsConnectorBuilder;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use std::sync::Arc;

    let up = upstream().await;
    let dir = TempDir::new("gw-tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    let text = BASE.replace(
        "[server]\n",
        "[server]\ntls = { cert = \"cert.pem\", key = \"key.pem\" }\n",
    );
    let g = preflight_gateway::start(preflight_gateway::Gateway::new(config(
        &text,
        up.addr,
        Some(dir.path()),
    )))
    .await
    .unwrap();
    let port = g.local_addrs()[0].port();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    for (h2, version) in [
        (true, http::Version::HTTP_2),
        (false, http::Version::HTTP_11),
    ] {
        let b = HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_only();
        let connector = if h2 {
            b.enable_all_versions().build()
        } else {
            b.enable_http1().build()
        };
        let c: Client<_, preflight_gateway::body::GatewayBody> =
            Client::builder(TokioExecutor::new()).build(connector);
        let req = http::Request::get(format!("https://localhost:{port}/api/tls"))
            .header("origin", APP)
            .body(preflight_gateway::body::empty())
            .unwrap();
        let res = c.request(req).await.unwrap();
        assert_eq!(res.version(), version);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["access-control-allow-origin"], APP);
    }
    let seen = up.last_headers();
    assert_eq!(seen["x-forwarded-proto"], "https");
    g.shutdown().await;
}

/// Regression: an HTTP/1.0 upstream (Python's http.server) made the gateway
/// answer its client in HTTP/1.0.
#[tokio::test]
async fn an_http10_upstream_does_not_downgrade_the_client() {
    let old = Server::start(|_| {
        Reply::ok("ok")
            .header("content-type", "text/plain")
            .version(http::Version::HTTP_10)
    })
    .expect("the HTTP/1.0 upstream starts");
    let up = old.addr();
    let g = gateway(BASE, up).await;
    let mut s = tokio::net::TcpStream::connect(g.local_addrs()[0])
        .await
        .unwrap();
    s.write_all(b"GET /api/users/1 HTTP/1.1\r\nhost: x\r\norigin: https://app.example.com\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("access-control-allow-origin: https://app.example.com"),
        "{text}"
    );
    g.shutdown().await;
}

/// The connect timeout: an upstream whose accept queue is full never completes
/// the TCP handshake, so the gateway gives up after `connect_timeout` with a
/// 504 that still carries the CORS headers.
#[tokio::test]
async fn connect_timeout_is_a_504_with_cors_headers() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap(); // never accepts
    let up = listener.local_addr().unwrap();
    // Fill the accept queue so that further SYNs are dropped.
    let mut held = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(up),
        )
        .await
        {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    let g = gateway(BASE, up).await;
    let c = client();
    let started = std::time::Instant::now();
    let (status, h, body) =
        send(&c, "GET", url(&g, "/api/users/1"), &[("origin", APP)], None).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        body.contains("did not accept the connection in time"),
        "{body}"
    );
    assert_eq!(h["access-control-allow-origin"], APP);
    // connect_timeout is 300 ms in BASE; upstream_timeout (400 ms) must not be what fired.
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(held);
    drop(listener);
    g.shutdown().await;
}
