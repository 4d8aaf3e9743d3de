//! A real WebSocket client and server (tokio-tungstenite) through the
//! gateway: the handshake's headers reach both ends, frames go both ways,
//! and a page from a disallowed origin cannot open one
//! (RELIABILITY.md, "Requests at the edge").

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use http::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use preflight_test_kit::server::{self, Server};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

const WAIT: Duration = Duration::from_secs(5);

/// An upstream that accepts every WebSocket handshake and echoes text
/// frames in upper case.
fn echo_upstream() -> Server {
    Server::streaming(|mut req| async move {
        let key = req
            .headers()
            .get("sec-websocket-key")
            .map(|k| derive_accept_key(k.as_bytes()))
            .unwrap_or_default();
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let mut ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                if ws.send(Message::text(t.to_uppercase())).await.is_err() {
                    return;
                }
            }
        });
        let mut r = Response::new(server::empty());
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = r.headers_mut();
        h.insert("connection", "upgrade".parse().unwrap());
        h.insert("upgrade", "websocket".parse().unwrap());
        h.insert("sec-websocket-accept", key.parse().unwrap());
        r
    })
    .expect("the WebSocket upstream starts")
}

async fn connect(
    gateway: std::net::SocketAddr,
    origin: &str,
) -> Result<WebSocketStream<tokio::net::TcpStream>, WsError> {
    let mut req = format!("ws://{gateway}/ws").into_client_request().unwrap();
    req.headers_mut().insert("origin", origin.parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(gateway).await.unwrap();
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(req, tcp))
        .await
        .expect("the handshake in time")?;
    Ok(ws)
}

#[tokio::test]
async fn a_websocket_from_an_allowed_origin_works_and_from_another_is_refused() {
    let up = echo_upstream();
    let g = gateway(BASE, up.addr()).await;
    let addr = g.local_addrs()[0];

    let mut ws = connect(addr, "https://app.example.com").await.unwrap();
    ws.send(Message::text("hello")).await.unwrap();
    let back = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    assert_eq!(back.unwrap().unwrap(), Message::text("HELLO"));
    let seen = up.last().unwrap();
    assert_eq!(seen.header("upgrade"), Some("websocket"));
    assert!(seen.header("sec-websocket-key").is_some());
    assert_eq!(seen.header("origin"), Some("https://app.example.com"));
    let _ = ws.close(None).await;
    drop(ws);

    let hits = up.hits();
    match connect(addr, "https://evil.example.net").await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), StatusCode::FORBIDDEN),
        other => panic!("a cross-site WebSocket was opened: {:?}", other.map(|_| ())),
    }
    assert_eq!(
        up.hits(),
        hits,
        "the refused handshake reached the upstream"
    );
    g.shutdown().await;
}

/// Send `GET /ws-cap-probe` on a new connection; the answer's status line,
/// once it comes.
async fn probe(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect (the kernel's queue takes it)");
    s.write_all(b"GET /api/ws-cap-probe HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n")
        .await
        .expect("the probe's request");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap_or_default().to_string()
}

/// docs/configuration.md, `max_connections`: a WebSocket tunnel holds its
/// client connection for as long as it lives, so tunnels count against the
/// cap (each holds two descriptors), and a busy tunnel is never closed to
/// make room: at the cap a new connection waits until a tunnel ends.
#[tokio::test]
async fn websocket_tunnels_count_against_max_connections() {
    let up = echo_upstream();
    let text = BASE.replace(
        "grace_period = \"3s\"",
        "grace_period = \"3s\"\nmax_connections = 2",
    );
    let g = gateway(&text, up.addr()).await;
    let addr = g.local_addrs()[0];
    let mut first = connect(addr, "https://app.example.com").await.unwrap();
    let mut second = connect(addr, "https://app.example.com").await.unwrap();
    for ws in [&mut first, &mut second] {
        ws.send(Message::text("up")).await.unwrap();
        let back = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        assert_eq!(back.unwrap().unwrap(), Message::text("UP"));
    }
    let waiting = tokio::spawn(probe(addr));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served while two tunnels filled a cap of 2: {:?}",
        waiting.await
    );
    // Both tunnels still work: neither was closed to make room.
    for ws in [&mut first, &mut second] {
        ws.send(Message::text("still")).await.unwrap();
        let back = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        assert_eq!(back.unwrap().unwrap(), Message::text("STILL"));
    }
    let _ = first.close(None).await;
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(Ok(_)) = first.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the closed tunnel did not end");
    drop(first);
    let status = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the waiting connection is served once a tunnel ended")
        .expect("the probe");
    // (The echo upstream answers every request with a 101, which the
    // gateway turns into a 502: any answer shows the connection served.)
    assert!(status.starts_with("HTTP/1.1 "), "{status:?}");
    drop(second);
    g.shutdown().await;
}
