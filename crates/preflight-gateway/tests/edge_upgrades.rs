//! The gateway at the edge, over real sockets: which upgrades are tunnelled,
//! the WebSocket handshake's `Origin`, tunnels' idle timeout and shutdown,
//! and the admin listener's `Host` (RELIABILITY.md, "Requests at the edge").

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example.net";
const WAIT: Duration = Duration::from_secs(5);

/// Send an upgrade request and read the answer's head; the stream stays
/// open for what follows.
async fn handshake(
    addr: SocketAddr,
    path: &str,
    upgrade: &str,
    origin: Option<&str>,
) -> (String, TcpStream) {
    let mut s = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let origin = origin
        .map(|o| format!("origin: {o}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: upgrade\r\nupgrade: {upgrade}\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .expect("the head of the answer in time")
            .unwrap();
        assert!(
            n > 0,
            "closed before the answer's head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.extend_from_slice(&buf[..n]);
    }
    (String::from_utf8_lossy(&head).to_ascii_lowercase(), s)
}

/// Write `data` and read the echo back.
async fn echo(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).await.unwrap();
    let mut back = vec![0u8; data.len()];
    tokio::time::timeout(WAIT, s.read_exact(&mut back))
        .await
        .expect("the echo in time")
        .unwrap();
    assert_eq!(back, data);
}

/// Wait (bounded) for the peer to close: Ok(elapsed) at end of stream.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut buf = [0u8; 64];
    match tokio::time::timeout(limit, s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Ok(started.elapsed()),
        Ok(Ok(n)) => Err(format!("read {n} bytes instead of the end")),
        Err(_) => Err(format!("still open after {limit:?}")),
    }
}

#[tokio::test]
async fn only_websocket_upgrades_on_websocket_routes_are_tunnelled() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    // Another protocol: the Upgrade is not passed on, no tunnel.
    let (head, _s) = handshake(addr, "/ws", "anything", Some(APP)).await;
    assert!(!head.starts_with("http/1.1 101"), "{head}");
    assert!(up.last_headers().get("upgrade").is_none());
    // A WebSocket on a route without `websocket = true`.
    let hits = up.hits();
    let (head, _s) = handshake(addr, "/api/ws", "websocket", Some(APP)).await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert_eq!(up.hits(), hits, "the handshake reached the upstream");
    g.shutdown().await;
}

#[tokio::test]
async fn a_handshake_from_a_disallowed_origin_is_403_before_the_upstream() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    for origin in [
        EVIL,
        "null",
        "https://app.example.com https://evil.example.net",
    ] {
        let (head, _s) = handshake(addr, "/ws", "websocket", Some(origin)).await;
        assert!(head.starts_with("http/1.1 403"), "{origin}: {head}");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
    }
    assert_eq!(up.hits(), 0, "a refused handshake reached the upstream");
    // Allowed origin, and a client that is not a browser (no Origin).
    for origin in [Some(APP), None] {
        let (head, mut s) = handshake(addr, "/ws", "websocket", origin).await;
        assert!(head.starts_with("http/1.1 101"), "{origin:?}: {head}");
        echo(&mut s, b"ping").await;
    }
    // Counted like CORS refusals: metrics, dashboard.
    let admin = g.admin_addr().unwrap();
    let c = client();
    let (_, _, metrics) = send(&c, "GET", format!("http://{admin}/metrics"), &[], None).await;
    assert!(
        metrics.contains(
            "preflight_websocket_refused_total{route=\"/ws\",reason=\"origin_not_allowed\"} 3"
        ),
        "{metrics}"
    );
    let (_, _, page) = send(&c, "GET", format!("http://{admin}/"), &[], None).await;
    assert!(page.contains("<td>websocket</td>"), "{page}");
    assert!(page.contains("id=c-websocket>3<"), "{page}");
    g.shutdown().await;
}

#[tokio::test]
async fn an_idle_tunnel_is_closed_and_a_busy_one_is_not() {
    let up = upstream().await;
    let text = BASE.replace(
        "[server]\n",
        "[server]\nwebsocket_idle_timeout = \"800ms\"\n",
    );
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    let (head, mut busy) = handshake(addr, "/ws", "websocket", Some(APP)).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    let (_, mut idle) = handshake(addr, "/ws", "websocket", Some(APP)).await;
    // Traffic every 200 ms for 1.6 s keeps the busy one open.
    for _ in 0..8 {
        echo(&mut busy, b"tick").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The idle one was closed meanwhile.
    let took = closed_within(&mut idle, Duration::from_millis(100)).await;
    assert!(took.is_ok(), "idle tunnel: {took:?}");
    echo(&mut busy, b"tock").await;
    g.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_tunnels_within_the_grace_period() {
    let up = upstream().await;
    let text = BASE.replace("grace_period = \"3s\"", "grace_period = \"1s\"");
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    let (head, mut s) = handshake(addr, "/ws", "websocket", Some(APP)).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    echo(&mut s, b"ping").await;
    let started = Instant::now();
    let stopping = tokio::spawn(g.shutdown());
    let closed = closed_within(&mut s, Duration::from_secs(3)).await;
    assert!(
        closed.is_ok(),
        "the tunnel outlived the shutdown: {closed:?}"
    );
    tokio::time::timeout(WAIT, stopping).await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn admin_answers_only_its_own_host() {
    let up = upstream().await;
    let text = BASE.replace(
        "admin = \"127.0.0.1:0\"",
        "admin = \"127.0.0.1:0\"\nadmin_hosts = [\"admin.internal\"]",
    );
    let g = gateway(&text, up.addr).await;
    let admin = g.admin_addr().unwrap();
    let port = admin.port();
    let c = client();
    let get = |host: String| {
        let c = c.clone();
        async move {
            send(
                &c,
                "GET",
                format!("http://{admin}/"),
                &[("host", host.as_str())],
                None,
            )
            .await
            .0
        }
    };
    // DNS rebinding: a page's own name pointed at 127.0.0.1.
    assert_eq!(
        get(format!("rebind.evil.example:{port}")).await,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(
        get(format!("127.0.0.1:{}", port.wrapping_add(1))).await,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(get(format!("127.0.0.1:{port}")).await, StatusCode::OK);
    assert_eq!(get(format!("localhost:{port}")).await, StatusCode::OK);
    assert_eq!(get(format!("admin.internal:{port}")).await, StatusCode::OK);
    assert_eq!(get("admin.internal".into()).await, StatusCode::OK);
    g.shutdown().await;
}

#[test]
fn lint_warns_when_admin_listens_beyond_loopback() {
    let up: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let warned = |admin: &str| {
        let text = BASE.replace("admin = \"127.0.0.1:0\"", &format!("admin = \"{admin}\""));
        config(&text, up, None)
            .warnings()
            .iter()
            .any(|w| w.key == "server.admin")
    };
    assert!(warned("0.0.0.0:9901"));
    assert!(warned("[::]:9901"));
    assert!(!warned("127.0.0.1:9901"));
    assert!(!warned("[::1]:9901"));
}
