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
