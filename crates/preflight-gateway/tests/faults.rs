//! Upstream faults (RELIABILITY.md, "Upstream faults"): what a client sees
//! when the upstream is down, silent, resets mid-body, closes its kept-alive
//! connections, or comes back. Every wait is bounded.
//!
//! Where the fault is a misbehaving socket (accepting and never answering,
//! a reset in the middle of a body, a kept-alive connection closed under a
//! request), the upstream is a small raw `TcpListener` here: the test kit's
//! `Server` is a correct HTTP server and cannot misbehave that way.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http::StatusCode;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const APP: &str = "https://app.example.com";
const LIMIT: Duration = Duration::from_secs(10);

/// Read one request head (up to the blank line); `None` at EOF first.
async fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Read the request body announced by `content-length`.
async fn read_body(s: &mut TcpStream, head: &str) {
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len.min(1 << 20)];
    let _ = s.read_exact(&mut body).await;
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// A raw upstream: `serve` runs on each accepted connection.
async fn raw_upstream<F, Fut>(listener: TcpListener, serve: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((s, _)) = listener.accept().await {
            conns.spawn(serve(s));
        }
    })
}

async fn bound() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn allow_origin(h: &http::HeaderMap) -> Option<&str> {
    h.get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

async fn get(client: &TestClient, url: String) -> (StatusCode, http::HeaderMap, String) {
    timeout(LIMIT, send(client, "GET", url, &[("origin", APP)], None))
        .await
        .expect("the gateway answers in time")
}

/// docs/behaviour.md: the gateway's own 502 carries the CORS headers.
#[tokio::test]
async fn upstream_down_is_a_502_with_cors_headers() {
    let (l, down) = bound().await;
    drop(l);
    let g = gateway(BASE, down).await;
    let (status, h, _) = get(&client(), url(&g, "/api/x")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(allow_origin(&h), Some(APP));
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
}

/// An upstream that accepts and never answers: 504 after upstream_timeout
/// (400 ms in BASE), with the CORS headers.
#[tokio::test]
async fn silent_upstream_is_a_504_after_upstream_timeout_with_cors_headers() {
    let (l, addr) = bound().await;
    let _up = raw_upstream(l, |mut s| async move {
        let _ = read_head(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let g = gateway(BASE, addr).await;
    let started = Instant::now();
    let (status, h, _) = get(&client(), url(&g, "/api/x")).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(allow_origin(&h), Some(APP));
    assert!(
        took >= Duration::from_millis(390) && took < Duration::from_millis(1500),
        "504 after {took:?}, upstream_timeout is 400ms"
    );
    println!("faults: 504 after {} ms", took.as_millis());
}

/// A reset in the middle of the body: the client's body ends in an error
/// (not a hang, not a clean short body), and the next request is served.
#[tokio::test]
async fn reset_mid_body_aborts_the_response_and_the_gateway_stays_up() {
    let (l, addr) = bound().await;
    let _up = raw_upstream(l, |mut s| async move {
        let Some(head) = read_head(&mut s).await else {
            return;
        };
        if head.starts_with("GET /api/reset ") {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
                .await;
            let _ = s.write_all(&[b'x'; 1000]).await;
            let _ = s.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            // SO_LINGER 0: close() sends a RST. Only a non-zero linger
            // blocks the thread on drop, which the deprecation is about.
            #[allow(deprecated)]
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
        } else {
            let _ = s.write_all(OK).await;
        }
    })
    .await;
    let g = gateway(BASE, addr).await;
    let c = client();
    let req = http::Request::builder()
        .uri(url(&g, "/api/reset"))
        .header("origin", APP)
        .body(preflight_gateway::body::boxed(http_body_util::Empty::<
            bytes::Bytes,
        >::new()))
        .unwrap();
    let started = Instant::now();
    let res = timeout(LIMIT, c.request(req)).await.unwrap().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = timeout(LIMIT, res.into_body().collect())
        .await
        .expect("the aborted body ends, it does not hang");
    assert!(
        body.is_err(),
        "a body cut by a reset must not look complete"
    );
    println!(
        "faults: reset seen by the client after {} ms",
        started.elapsed().as_millis()
    );
    let (status, _, text) = get(&client(), url(&g, "/api/next")).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "ok"));
}

/// An upstream that answers the first request of a connection with
/// keep-alive, then closes the connection when the next request arrives,
/// without writing a byte (the race of an upstream's idle timeout).
async fn closing_upstream(requests: Arc<AtomicUsize>) -> SocketAddr {
    let (l, addr) = bound().await;
    let _up = raw_upstream(l, move |mut s| {
        let requests = requests.clone();
        async move {
            let Some(head) = read_head(&mut s).await else {
                return;
            };
            read_body(&mut s, &head).await;
            requests.fetch_add(1, Ordering::SeqCst);
            let _ = s.write_all(OK).await;
            if let Some(head) = read_head(&mut s).await {
                read_body(&mut s, &head).await;
                requests.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
    .await;
    addr
}

/// RFC 9110 §9.2.2: an idempotent request may be retried; a GET that met a
/// kept-alive connection closed under it is sent again on a new one.
#[tokio::test]
async fn closed_keep_alive_connection_is_retried_for_a_get() {
    let requests = Arc::new(AtomicUsize::new(0));
    let addr = closing_upstream(requests.clone()).await;
    let g = gateway(BASE, addr).await;
    let c = client();
    for i in 0..5 {
        let (status, _, text) = get(&c, url(&g, "/api/x")).await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::OK, "ok"),
            "GET number {i}"
        );
    }
}

/// A POST is not idempotent: never sent twice. The one that met the closed
/// connection is a 502 and reached the upstream once.
#[tokio::test]
async fn closed_keep_alive_connection_is_not_retried_for_a_post() {
    let requests = Arc::new(AtomicUsize::new(0));
    let addr = closing_upstream(requests.clone()).await;
    let g = gateway(BASE, addr).await;
    let c = client();
    let u = url(&g, "/api/x");
    let post = || {
        timeout(
            LIMIT,
            send(&c, "POST", u.clone(), &[("origin", APP)], Some("data")),
        )
    };
    let (status, _, _) = post().await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, h, _) = post().await.unwrap();
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(allow_origin(&h), Some(APP));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "each POST reached the upstream exactly once"
    );
}

/// Pooled connections to an upstream that went away are not kept: once it
/// listens again, traffic is served within 1 s.
#[tokio::test]
async fn traffic_recovers_within_a_second_of_the_upstream_return() {
    let (l, addr) = bound().await;
    let serve = |mut s: TcpStream| async move {
        while let Some(head) = read_head(&mut s).await {
            read_body(&mut s, &head).await;
            if s.write_all(OK).await.is_err() {
                return;
            }
        }
    };
    let up = raw_upstream(l, serve).await;
    let g = gateway(BASE, addr).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(get(&c, url(&g, "/api/x")).await.0, StatusCode::OK);
    }
    // Down: the listener and every connection closed.
    up.abort();
    let _ = up.await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(&c, url(&g, "/api/x")).await.0, StatusCode::BAD_GATEWAY);
    // Back on the same port.
    let l = TcpListener::bind(addr).await.unwrap();
    let back = Instant::now();
    let _up = raw_upstream(l, serve).await;
    loop {
        let (status, _, _) = get(&c, url(&g, "/api/x")).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "still {status} 1 s after the upstream came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = back.elapsed();
    println!(
        "faults: served again {} ms after the upstream came back",
        took.as_millis()
    );
    for _ in 0..5 {
        assert_eq!(get(&c, url(&g, "/api/x")).await.0, StatusCode::OK);
    }
}
