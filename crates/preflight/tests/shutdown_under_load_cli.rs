//! SIGTERM while `preflight serve` is under load (RELIABILITY.md, "Shutdown
//! under load"; docs/behaviour.md, "Reload and graceful shutdown"): every
//! request in flight is answered whole (a slow upload and a long streamed
//! response among them), no client sees a reset, new connections are
//! refused, `/readyz` fails at once, a WebSocket tunnel gets a Close frame
//! (RFC 6455 §7.4.1, 1001 "going away") and an orderly end, and the process
//! exits 0 within `grace_period`. A second SIGTERM, or the end of the grace
//! period, ends what is left.
//!
//! `drain_cli.rs` holds the single-request version; these add the load.
#![cfg(target_os = "linux")]

mod reliability_common;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper_util::rt::TokioIo;
use preflight_test_kit::raw::request;
use preflight_test_kit::server::{self, Server};
use reliability_common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How soon after SIGTERM `/readyz` must say 503.
const READINESS_FLIP: Duration = Duration::from_millis(200);

/// Pieces of the streamed response, and the pause between them.
const STREAM_PIECES: usize = 20;
const STREAM_PAUSE: Duration = Duration::from_millis(100);
const STREAM_PIECE: usize = 4096;

/// The slow upload: its size, pieces and pause.
const UPLOAD: usize = 1 << 20;
const UPLOAD_PIECES: usize = 20;
const UPLOAD_PAUSE: Duration = Duration::from_millis(100);

/// A response body of `left` pieces, `pause` apart.
struct Trickle {
    left: usize,
    sleep: Pin<Box<tokio::time::Sleep>>,
    pause: Duration,
}

impl Body for Trickle {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.left -= 1;
        let next = tokio::time::Instant::now() + self.pause;
        self.sleep.as_mut().reset(next);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; STREAM_PIECE])))))
    }
}

/// The upstream: `/api/fast`, `/api/held` (answered after 30 s), a slow
/// streamed `/api/stream`, `/api/upload` (answers the length it read), and
/// an echoing WebSocket on `/ws`.
fn upstream() -> Server {
    Server::streaming(|mut req| async move {
        let path = req.uri().path().to_string();
        let text = |s: String| {
            let mut r = Response::new(server::full(s));
            r.headers_mut().insert(
                "content-type",
                "text/plain".parse().expect("a header value"),
            );
            r
        };
        match path.as_str() {
            "/api/held" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                text("held".into())
            }
            "/api/stream" => Response::new(
                Trickle {
                    left: STREAM_PIECES,
                    sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
                    pause: STREAM_PAUSE,
                }
                .boxed(),
            ),
            "/api/upload" => match req.into_body().collect().await {
                Ok(body) => text(body.to_bytes().len().to_string()),
                Err(_) => {
                    let mut r = text("broken body".into());
                    *r.status_mut() = StatusCode::BAD_REQUEST;
                    r
                }
            },
            "/ws" => {
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
                    .insert("connection", "upgrade".parse().expect("a header value"));
                r.headers_mut()
                    .insert("upgrade", "websocket".parse().expect("a header value"));
                r
            }
            _ => text("fast".into()),
        }
    })
    .expect("the upstream starts")
}

fn config(listen: u16, admin: u16, upstream: SocketAddr, grace: &str) -> String {
    format!(
        r#"[server]
{}grace_period = "{grace}"
upstream_timeout = "60s"
body_idle_timeout = "10s"

[cors]
allow_origins = ["{APP}"]
allow_headers = ["content-type"]

[[routes]]
path = "/api/{{*rest}}"
methods = ["GET", "POST"]
upstream = "http://{upstream}"

[[routes]]
path = "/ws"
methods = ["GET"]
upstream = "http://{upstream}"
websocket = true
"#,
        server_lines(listen, admin)
    )
}

/// A masked WebSocket frame from the client (RFC 6455 §5.2), payload < 126.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Open a WebSocket tunnel through the gateway and check that it echoes.
async fn open_tunnel(listen: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(listen)
        .await
        .expect("connect for the tunnel");
    let req = format!(
        "GET /ws HTTP/1.1\r\nhost: {listen}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\norigin: {APP}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("the handshake");
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(ANSWER, s.read(&mut buf))
            .await
            .expect("the handshake's answer in time")
            .expect("the handshake's answer");
        assert!(n > 0, "closed before the handshake's answer");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let ping = client_frame(0x1, b"ping");
    s.write_all(&ping).await.expect("a frame");
    let mut back = vec![0u8; ping.len()];
    tokio::time::timeout(ANSWER, s.read_exact(&mut back))
        .await
        .expect("the echo in time")
        .expect("the echo");
    assert_eq!(back, ping);
    s
}

/// What the WebSocket client saw at shutdown.
#[derive(Debug)]
struct TunnelEnd {
    /// The bytes read before the end.
    bytes: Vec<u8>,
    /// `Ok` for an orderly end of the stream, else the error.
    end: Result<(), String>,
    after: Duration,
}

/// Read the tunnel until it ends (answering a Close frame with one).
async fn tunnel_end(mut s: TcpStream, since: Instant, within: Duration) -> TunnelEnd {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 1024];
    let mut answered = false;
    let deadline = tokio::time::Instant::now() + within;
    let end = loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => break Err(format!("still open after {within:?}")),
            Ok(Ok(0)) => break Ok(()),
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&buf[..n]);
                if !answered && bytes.first() == Some(&0x88) && bytes.len() >= 4 {
                    answered = true;
                    let _ = s.write_all(&client_frame(0x8, &bytes[2..4])).await;
                }
            }
            Ok(Err(e)) => break Err(format!("{:?}: {e}", e.kind())),
        }
    };
    TunnelEnd {
        bytes,
        end,
        after: since.elapsed(),
    }
}

/// The outcomes of the load's requests.
#[derive(Default, Debug)]
struct Tally {
    answered: AtomicUsize,
    /// Closed cleanly before any byte of an answer, on a kept-alive
    /// connection: the request was never taken, a client may send it again.
    not_taken: AtomicUsize,
    refused: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

/// Load: GETs on kept-alive connections (a new one every 10 requests) until
/// a connection is refused or closed before its request was taken (a client
/// behind a load balancer then goes to another gateway), or `stop`.
async fn load(listen: SocketAddr, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let mut conn: Option<Conn> = None;
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if conn.is_none() || n % 10 == 0 {
            match Conn::open(listen).await {
                Ok(c) => conn = Some(c),
                Err(Failure::Refused) => {
                    tally.refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => {
                    tally
                        .failures
                        .lock()
                        .unwrap()
                        .push(format!("connect: {e:?}"));
                    return;
                }
            }
        }
        let Some(c) = conn.as_mut() else { return };
        n += 1;
        match c
            .send(&head(listen, "GET", "/api/fast", &[("origin", APP)]), b"")
            .await
        {
            Ok(a) if a.status == 200 && a.body == b"fast" => {
                tally.answered.fetch_add(1, Ordering::Relaxed);
                if a.closes() {
                    conn = None;
                    n = 0;
                }
            }
            Ok(a) => {
                tally
                    .failures
                    .lock()
                    .unwrap()
                    .push(format!("{} {:?}", a.status, a.headers));
                return;
            }
            Err(Failure::ClosedBeforeAnswer) => {
                // The gateway closed the connection before taking the
                // request: as a client behind a load balancer, this one
                // goes elsewhere (here: stops).
                tally.not_taken.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tally
                    .failures
                    .lock()
                    .unwrap()
                    .push(format!("request {n} on its connection: {e:?}"));
                return;
            }
        }
    }
}

#[test]
fn sigterm_under_load_answers_every_request_in_flight_and_resets_none() {
    let grace = Duration::from_secs(5);
    let workers = scale(16, 64);
    let load_before = scale(Duration::from_millis(500), Duration::from_secs(5));
    let upstream = upstream();
    let up = upstream.addr();
    let mut gateway = Gateway::start("shutdown-load", |l, a| config(l, a, up, "5s"));
    let (listen, admin) = (gateway.listen, gateway.admin);
    let rt = runtime();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        tasks.push(rt.spawn(load(listen, tally.clone(), stop.clone())));
    }
    std::thread::sleep(load_before);
    assert!(
        tally.answered.load(Ordering::Relaxed) > 0,
        "the load got no answer"
    );
    // In flight at SIGTERM: a slow upload, a long streamed response, a tunnel.
    let upload = rt.spawn(async move {
        let body: Vec<u8> = (0..UPLOAD).map(|i| (i % 251) as u8).collect();
        let len = UPLOAD.to_string();
        let mut c = Conn::open(listen).await?;
        let h = head(
            listen,
            "POST",
            "/api/upload",
            &[
                ("origin", APP),
                ("content-type", "application/octet-stream"),
                ("content-length", &len),
            ],
        );
        c.send_slowly(&h, &body, UPLOAD_PIECES, UPLOAD_PAUSE).await
    });
    let stream = rt.spawn(async move {
        let mut c = Conn::open(listen).await?;
        c.send(&head(listen, "GET", "/api/stream", &[("origin", APP)]), b"")
            .await
    });
    let tunnel = rt.block_on(open_tunnel(listen));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !upload.is_finished() && !stream.is_finished(),
        "too late: the upload or the stream ended before SIGTERM"
    );

    let signalled = Instant::now();
    gateway.child.signal("TERM");
    let tunnel_end = rt.spawn(tunnel_end(
        tunnel,
        signalled,
        grace + Duration::from_secs(2),
    ));

    // /readyz fails at once.
    let flipped = loop {
        let r = request(admin, "GET", "/readyz", &[]).expect("the admin listener answers");
        if r.status == 503 {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < READINESS_FLIP,
            "/readyz still 200 after {:?}",
            signalled.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // New connections are refused (a SYN in the 100 ms while the listener
    // takes its queue is dropped, and its connect times out here).
    let refused_after = loop {
        match std::net::TcpStream::connect_timeout(&listen, Duration::from_millis(200)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                break signalled.elapsed()
            }
            _ => {}
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "the listener still accepts"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let status = gateway.child.wait_exit(grace + Duration::from_secs(5));
    let exited = signalled.elapsed();
    stop.store(true, Ordering::Relaxed);

    let (upload, stream, tunnel_end) = rt.block_on(async {
        tokio::time::timeout(ANSWER, async {
            for t in tasks {
                let _ = t.await;
            }
            (upload.await, stream.await, tunnel_end.await)
        })
        .await
        .expect("the clients end")
    });
    drop(rt);
    let upload = upload.expect("the upload task");
    let stream = stream.expect("the stream task");
    let tunnel_end = tunnel_end.expect("the tunnel task");
    let failures = tally.failures.lock().unwrap().clone();
    println!(
        "figure: shutdown under load: {workers} connections in a loop; {} answered, {} failed, {} closed before being taken (kept-alive, clean), {} refused",
        tally.answered.load(Ordering::Relaxed),
        failures.len(),
        tally.not_taken.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed)
    );
    println!(
        "figure: shutdown under load: /readyz 503 after {}, new connections refused after {}, exit {:?} after {exited:.2?} (grace_period 5s)",
        ms(flipped),
        ms(refused_after),
        status.code()
    );
    println!(
        "figure: shutdown under load: tunnel ended after {:.2?} ({:?}, {} bytes, first {:02x?})",
        tunnel_end.after,
        tunnel_end.end,
        tunnel_end.bytes.len(),
        &tunnel_end.bytes[..tunnel_end.bytes.len().min(4)]
    );
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let upload = upload.unwrap_or_else(|e| panic!("the slow upload in flight failed: {e:?}"));
    assert_eq!(
        (upload.status, upload.body.as_slice()),
        (200, UPLOAD.to_string().as_bytes())
    );
    let stream = stream.unwrap_or_else(|e| panic!("the streamed response in flight failed: {e:?}"));
    assert_eq!(stream.status, 200);
    assert_eq!(stream.body.len(), STREAM_PIECES * STREAM_PIECE);
    // The tunnel: a Close frame with 1001, then an orderly end.
    assert_eq!(tunnel_end.end, Ok(()), "{tunnel_end:?}");
    assert_eq!(
        tunnel_end.bytes.get(..4),
        Some(&[0x88, 0x02, 0x03, 0xe9][..]),
        "no Close frame (1001) before the end: {tunnel_end:?}"
    );
    assert_eq!(
        status.code(),
        Some(0),
        "{status}:\n{}",
        gateway.child.output()
    );
    assert!(
        exited < grace,
        "exited {exited:?} after SIGTERM, grace_period {grace:?}"
    );
}

/// A request that outlives `grace_period` is ended with it: the process
/// exits 0 just after the grace period, the client sees its connection end
/// rather than wait.
#[test]
fn the_end_of_the_grace_period_ends_what_is_left() {
    let upstream = upstream();
    let up = upstream.addr();
    let mut gateway = Gateway::start("shutdown-grace", |l, a| config(l, a, up, "1s"));
    let listen = gateway.listen;
    let rt = runtime();
    let held = rt.spawn(async move {
        let mut c = Conn::open(listen).await?;
        c.send(&head(listen, "GET", "/api/held", &[("origin", APP)]), b"")
            .await
    });
    cli_wait_for_upstream(&upstream, "/api/held");
    let signalled = Instant::now();
    gateway.child.signal("TERM");
    let status = gateway.child.wait_exit(Duration::from_secs(5));
    let exited = signalled.elapsed();
    let held = rt
        .block_on(async { tokio::time::timeout(ANSWER, held).await })
        .expect("the held request ends")
        .expect("the held task");
    println!("figure: grace period: a request held past grace_period = 1s was ended {exited:.2?} after SIGTERM ({:?}); exit {:?}", held.as_ref().map(|a| a.status), status.code());
    assert_eq!(
        status.code(),
        Some(0),
        "{status}:\n{}",
        gateway.child.output()
    );
    assert!(exited >= Duration::from_secs(1), "{exited:?}");
    assert!(exited < Duration::from_millis(2500), "{exited:?}");
    assert!(held.is_err(), "{held:?}");
}

/// A second SIGTERM ends the shutdown at once, long before the grace period.
#[test]
fn a_second_sigterm_ends_what_is_left_at_once() {
    let upstream = upstream();
    let up = upstream.addr();
    let mut gateway = Gateway::start("shutdown-twice", |l, a| config(l, a, up, "20s"));
    let listen = gateway.listen;
    let rt = runtime();
    let held = rt.spawn(async move {
        let mut c = Conn::open(listen).await?;
        c.send(&head(listen, "GET", "/api/held", &[("origin", APP)]), b"")
            .await
    });
    cli_wait_for_upstream(&upstream, "/api/held");
    gateway.child.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        gateway.child.is_running(),
        "the first SIGTERM did not wait for the request in flight"
    );
    let second = Instant::now();
    gateway.child.signal("TERM");
    let status = gateway.child.wait_exit(Duration::from_secs(5));
    let exited = second.elapsed();
    let held = rt
        .block_on(async { tokio::time::timeout(ANSWER, held).await })
        .expect("the held request ends")
        .expect("the held task");
    println!("figure: second SIGTERM: the process exited {exited:.2?} after it ({:?}), grace_period 20s; the held request: {:?}", status.code(), held.as_ref().map(|a| a.status));
    assert!(exited < Duration::from_secs(1), "{exited:?}");
    assert_eq!(
        status.code(),
        Some(0),
        "{status}:\n{}",
        gateway.child.output()
    );
    assert!(held.is_err(), "{held:?}");
}

fn cli_wait_for_upstream(upstream: &Server, path: &str) {
    preflight_test_kit::cli::poll(
        "the request to reach the upstream",
        Duration::from_secs(10),
        || {
            upstream
                .received()
                .iter()
                .any(|r| r.path == path)
                .then_some(())
        },
    );
}
