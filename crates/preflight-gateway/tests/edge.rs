//! The gateway at the edge, over real sockets: every wait has a timeout and
//! connections are capped (RELIABILITY.md, "Connections, timeouts and
//! memory"). Each test prints the figure it measured.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any test here waits for anything.
const DEADLINE: Duration = Duration::from_secs(30);

/// `BASE` with more `[server]` keys.
fn with_server_keys(keys: &str) -> String {
    BASE.replace(
        "grace_period = \"3s\"",
        &format!("grace_period = \"3s\"\n{keys}"),
    )
}

/// Read until the gateway closes the connection (or [`DEADLINE`]); the
/// bytes read and how long it took.
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> (usize, Option<Duration>) {
    let started = Instant::now();
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at((started + DEADLINE).into(), stream.read(&mut buf)).await {
            Err(_) => return (total, None),
            Ok(Ok(0)) | Ok(Err(_)) => return (total, Some(started.elapsed())),
            Ok(Ok(n)) => total += n,
        }
    }
}

/// Connect; fail the test if it takes more than a few seconds.
async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

#[tokio::test]
async fn a_one_byte_per_second_header_is_cut_after_the_header_read_timeout() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let stream = connect(g.local_addrs()[0]).await;
    let (mut read, mut write) = stream.into_split();
    let sender = tokio::spawn(async move {
        let head = b"GET /api/slowloris HTTP/1.1\r\nhost: gateway\r\nx-padding: ";
        for byte in head.iter().chain(std::iter::repeat(&b'a')).take(60) {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let (_, closed) = read_until_closed(&mut read).await;
    sender.abort();
    let closed = closed.expect("the gateway still holds a one-byte-per-second client after 30 s");
    println!("figure: a one-byte-per-second client is cut after {closed:.1?}");
    assert!(
        closed >= Duration::from_secs(9) && closed <= Duration::from_secs(12),
        "cut after {closed:?}, expected the default header_read_timeout of 10 s"
    );
    g.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_and_a_partial_h2_preface_are_closed() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let mut silent = connect(g.local_addrs()[0]).await;
    let mut preface = connect(g.local_addrs()[0]).await;
    preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let (a, b) = tokio::join!(
        read_until_closed(&mut silent),
        read_until_closed(&mut preface)
    );
    let silent = a.1.expect("a silent connection is still open after 30 s");
    let preface =
        b.1.expect("a partial HTTP/2 preface is still open after 30 s");
    println!("figure: a silent connection is closed after {silent:.1?}, a partial h2 preface after {preface:.1?}");
    for t in [silent, preface] {
        assert!(t <= Duration::from_secs(12), "closed after {t:?}");
    }
    g.shutdown().await;
}

#[tokio::test]
async fn the_admin_listener_closes_silent_connections_too() {
    let up = upstream().await;
    let text = with_server_keys("header_read_timeout = \"1s\"");
    let g = gateway(&text, up.addr).await;
    let mut silent = connect(g.admin_addr().unwrap()).await;
    let (_, closed) = read_until_closed(&mut silent).await;
    let closed = closed.expect("the admin listener still holds a silent connection after 30 s");
    println!("figure: the admin listener closes a silent connection after {closed:.1?}");
    assert!(closed <= Duration::from_secs(3), "closed after {closed:?}");
    g.shutdown().await;
}

/// Read one response with a `content-length` body off a kept-alive
/// connection; its status line.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut byte))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(n == 1, "closed in the middle of a response head");
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content-length");
    let mut body = vec![0u8; len];
    tokio::time::timeout(DEADLINE, stream.read_exact(&mut body))
        .await
        .expect("the body in time")
        .expect("read the body");
    head.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let up = upstream().await;
    let text = with_server_keys("idle_timeout = \"2s\"\nheader_read_timeout = \"1s\"");
    let g = gateway(&text, up.addr).await;
    let mut s = connect(g.local_addrs()[0]).await;
    let req = b"GET /api/a HTTP/1.1\r\nhost: gateway\r\n\r\n";
    s.write_all(req).await.unwrap();
    assert!(read_response(&mut s).await.contains("200"));
    // Kept alive past the header-read timeout: idleness between requests is
    // the idle timeout's.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.write_all(req).await.unwrap();
    assert!(read_response(&mut s).await.contains("200"));
    let (_, closed) = read_until_closed(&mut s).await;
    let closed = closed.expect("a kept-alive connection is still open after 30 s");
    println!("figure: a kept-alive connection is closed {closed:.1?} after its last response");
    assert!(
        closed >= Duration::from_millis(1500) && closed <= Duration::from_secs(4),
        "closed after {closed:?}, expected the idle_timeout of 2 s"
    );
    g.shutdown().await;
}

#[tokio::test]
async fn a_stalled_response_body_is_cut_after_the_body_idle_timeout() {
    let up = upstream().await;
    let text = with_server_keys("body_idle_timeout = \"1s\"");
    let g = gateway(&text, up.addr).await;
    let mut s = connect(g.local_addrs()[0]).await;
    // `/api/stream` sends "first" and then holds the rest until released.
    s.write_all(b"GET /api/stream HTTP/1.1\r\nhost: gateway\r\n\r\n")
        .await
        .unwrap();
    let (read, closed) = read_until_closed(&mut s).await;
    let closed = closed.expect("a stalled response body still holds the connection after 30 s");
    println!("figure: a stalled upstream body is cut after {closed:.1?}");
    assert!(read > 0, "the response head came");
    assert!(closed <= Duration::from_secs(3), "cut after {closed:?}");
    g.shutdown().await;
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_after_the_body_idle_timeout() {
    let up = upstream().await;
    let text = with_server_keys("body_idle_timeout = \"1s\"");
    let g = gateway(&text, up.addr).await;
    let mut s = connect(g.local_addrs()[0]).await;
    s.write_all(b"GET /api/stream HTTP/1.1\r\nhost: gateway\r\n\r\n")
        .await
        .unwrap();
    up.held.release.notify_one();
    // 50 MB come; the client reads nothing for 4 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (read, closed) = read_until_closed(&mut s).await;
    assert!(closed.is_some(), "still open after 30 s");
    println!("figure: a client that stops reading is cut; it got {read} of 52428805 bytes");
    assert!(
        read < 50 << 20,
        "the whole body ({read} bytes) was sent to a client that did not read"
    );
    g.shutdown().await;
}

#[tokio::test]
async fn a_stalled_request_body_is_answered_408_after_the_body_idle_timeout() {
    let up = upstream().await;
    // The upstream timeout (which covers sending the body) is longer.
    let text = with_server_keys("body_idle_timeout = \"1s\"")
        .replace("upstream_timeout = \"400ms\"", "upstream_timeout = \"10s\"");
    let g = gateway(&text, up.addr).await;
    let mut s = connect(g.local_addrs()[0]).await;
    s.write_all(
        b"POST /api/upload HTTP/1.1\r\nhost: gateway\r\ncontent-length: 100\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, s.read_to_end(&mut raw)).await;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&raw);
    println!("figure: a stalled request body is answered after {took:.1?}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?} after {took:?}");
    assert!(took <= Duration::from_secs(4), "after {took:?}");
    g.shutdown().await;
}

#[tokio::test]
async fn at_the_connection_cap_idle_connections_make_room_for_a_new_request() {
    let up = upstream().await;
    let text = with_server_keys("max_connections = 4");
    let g = gateway(&text, up.addr).await;
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(connect(g.local_addrs()[0]).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let c = client();
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        send(&c, "GET", url(&g, "/api/after-the-idle"), &[], None),
    )
    .await;
    let took = started.elapsed();
    println!("figure: at a cap of 4 with 10 idle sockets, a new request is served in {took:.1?}");
    let (status, _, _) =
        answer.expect("a new request is not served while idle sockets fill the cap");
    assert_eq!(status, 200);
    g.shutdown().await;
}

#[tokio::test]
async fn the_upstream_pool_is_capped_per_host() {
    let up = upstream().await;
    let text = with_server_keys("upstream_max_connections = 1")
        .replace("upstream_timeout = \"400ms\"", "upstream_timeout = \"5s\"");
    let g = gateway(&text, up.addr).await;
    let c = client();
    let started = Instant::now();
    // `/api/slow` answers after 800 ms: one at a time, two take twice that.
    let (a, b) = tokio::join!(
        send(&c, "GET", url(&g, "/api/slow"), &[], None),
        send(&c, "GET", url(&g, "/api/slow"), &[], None)
    );
    let took = started.elapsed();
    println!("figure: two requests through a pool of 1 take {took:.1?}");
    assert_eq!((a.0.as_u16(), b.0.as_u16()), (200, 200));
    assert!(
        took >= Duration::from_millis(1500),
        "both went at once ({took:?})"
    );
    g.shutdown().await;
}

#[tokio::test]
async fn an_h2_connection_has_at_most_h2_max_concurrent_streams() {
    let up = upstream().await;
    let text = with_server_keys("h2_max_concurrent_streams = 1")
        .replace("upstream_timeout = \"400ms\"", "upstream_timeout = \"5s\"");
    let g = gateway(&text, up.addr).await;
    let c = h2c_client();
    // Settle the connection (and its SETTINGS) first.
    let (status, _, _) = send(&c, "GET", url(&g, "/api/first"), &[], None).await;
    assert_eq!(status, 200);
    let started = Instant::now();
    let (a, b) = tokio::join!(
        send(&c, "GET", url(&g, "/api/slow"), &[], None),
        send(&c, "GET", url(&g, "/api/slow"), &[], None)
    );
    let took = started.elapsed();
    println!("figure: two 800 ms requests on one h2 connection with 1 stream take {took:.1?}");
    assert_eq!((a.0.as_u16(), b.0.as_u16()), (200, 200));
    assert!(
        took >= Duration::from_millis(1500),
        "both streams ran at once ({took:?})"
    );
    g.shutdown().await;
}

/// One HTTP/2 frame as read off the wire (RFC 9113 §4.1).
struct H2Frame {
    kind: u8,
    flags: u8,
    payload: Vec<u8>,
}

/// Read one HTTP/2 frame; `None` when the connection ended or `within` passed.
async fn read_h2_frame(stream: &mut TcpStream, within: Duration) -> Option<H2Frame> {
    let mut head = [0u8; 9];
    tokio::time::timeout(within, stream.read_exact(&mut head))
        .await
        .ok()?
        .ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    // The gateway's frames stay within the default SETTINGS_MAX_FRAME_SIZE.
    assert!(len <= 16_384, "a frame of {len} bytes");
    let mut payload = vec![0u8; len];
    tokio::time::timeout(within, stream.read_exact(&mut payload))
        .await
        .ok()?
        .ok()?;
    Some(H2Frame {
        kind: head[3],
        flags: head[4],
        payload,
    })
}

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const H2_DATA: u8 = 0x0;
const H2_SETTINGS: u8 = 0x4;
const H2_PING: u8 = 0x6;
const H2_GOAWAY: u8 = 0x7;
const H2_ACK: u8 = 0x1;
const H2_END_STREAM: u8 = 0x1;

/// An h2c connection (prior knowledge, RFC 9113 §3.3) that has sent one GET
/// and read its answer whole, and is then idle.
async fn h2c_after_one_request(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr).await;
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(H2_SETTINGS, 0, 0, &[]));
    // HPACK (RFC 7541 Appendix A): :method GET (2), :scheme http (6),
    // :path / (4), :authority "gateway" (literal, indexed name 1).
    let mut block = vec![0x82, 0x86, 0x84, 0x41, 7];
    block.extend_from_slice(b"gateway");
    hello.extend(h2_frame(0x1, 0x4 | H2_END_STREAM, 1, &block));
    s.write_all(&hello)
        .await
        .expect("the preface and a request");
    loop {
        let f = read_h2_frame(&mut s, Duration::from_secs(5))
            .await
            .expect("the answer to the first request");
        if f.kind == H2_SETTINGS && f.flags & H2_ACK == 0 {
            s.write_all(&h2_frame(H2_SETTINGS, H2_ACK, 0, &[]))
                .await
                .expect("a SETTINGS ACK");
        }
        if (f.kind == H2_DATA || f.kind == 0x1) && f.flags & H2_END_STREAM != 0 {
            return s;
        }
    }
}

/// Read frames until a PING comes (answering it when `answer`), the
/// connection ends or `within` passes; the PING's arrival, or `None`.
async fn next_ping(s: &mut TcpStream, answer: bool, within: Duration) -> Option<Instant> {
    let until = Instant::now() + within;
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        let f = read_h2_frame(s, left).await?;
        if f.kind == H2_PING && f.flags & H2_ACK == 0 {
            if answer {
                s.write_all(&h2_frame(H2_PING, H2_ACK, 0, &f.payload))
                    .await
                    .ok()?;
            }
            return Some(Instant::now());
        }
    }
}

/// RELIABILITY.md, "Connections, timeouts and memory"; docs/configuration.md,
/// `h2_keepalive_interval` and `h2_keepalive_timeout`: an idle HTTP/2
/// connection is sent a PING every interval; a client that answers keeps it,
/// a client that does not is closed once the timeout passes after a PING.
#[tokio::test]
async fn idle_h2_connections_are_pinged_and_closed_when_the_pings_go_unanswered() {
    let up = upstream().await;
    let text = with_server_keys("h2_keepalive_interval = \"1s\"\nh2_keepalive_timeout = \"1s\"");
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    let mut alive = h2c_after_one_request(addr).await;
    let mut silent = h2c_after_one_request(addr).await;
    let idle_from = Instant::now();

    let answering = async {
        let mut pings = Vec::new();
        for _ in 0..3 {
            match next_ping(&mut alive, true, Duration::from_secs(3)).await {
                Some(at) => pings.push(at.duration_since(idle_from)),
                None => break,
            }
        }
        pings
    };
    let not_answering = async {
        let ping = next_ping(&mut silent, false, Duration::from_secs(3))
            .await
            .map(|at| at.duration_since(idle_from));
        // What follows the unanswered PING: a GOAWAY and the end, within
        // the timeout and a margin.
        let mut goaway = false;
        let ended = loop {
            match read_h2_frame(&mut silent, Duration::from_secs(4)).await {
                Some(f) => goaway |= f.kind == H2_GOAWAY,
                None => break idle_from.elapsed(),
            }
        };
        (ping, goaway, ended)
    };
    let (pings, (ping, goaway, ended)) = tokio::join!(answering, not_answering);
    println!(
        "figure: h2 keep-alive (interval 1 s, timeout 1 s): an answering client got PINGs at {pings:.2?}; a silent one got its PING at {ping:.2?}, GOAWAY {goaway}, closed at {ended:.2?}"
    );
    assert_eq!(pings.len(), 3, "an answering client got PINGs at {pings:?}");
    for (i, at) in pings.iter().enumerate() {
        let want = Duration::from_secs(i as u64 + 1);
        assert!(
            *at >= want - Duration::from_millis(300) && *at <= want + Duration::from_millis(700),
            "PING {} at {at:?}, every 1 s expected: {pings:?}",
            i + 1
        );
    }
    let ping = ping.expect("no PING on an idle h2 connection within 3 s");
    assert!(
        ping <= Duration::from_millis(1700),
        "first PING at {ping:?}"
    );
    assert!(
        ended >= ping + Duration::from_millis(700) && ended <= ping + Duration::from_millis(2500),
        "a client that ignores the PING at {ping:?} was closed at {ended:?} (timeout 1 s)"
    );
    // The answering client's connection still serves: a second GET on it,
    // after its three PINGs, is answered.
    let mut block = vec![0x82, 0x86, 0x84, 0x41, 7];
    block.extend_from_slice(b"gateway");
    alive
        .write_all(&h2_frame(0x1, 0x4 | H2_END_STREAM, 3, &block))
        .await
        .expect("a second request on the answering client's connection");
    let answered = loop {
        match read_h2_frame(&mut alive, Duration::from_secs(5)).await {
            Some(f) if f.kind == H2_GOAWAY => break false,
            Some(f) if (f.kind == H2_DATA || f.kind == 0x1) && f.flags & H2_END_STREAM != 0 => {
                break true
            }
            Some(_) => {}
            None => break false,
        }
    };
    assert!(answered, "the answering client's connection was closed");
    g.shutdown().await;
}
