//! The express lane (docs/behaviour.md, "The express lane") over real
//! sockets: its answers are hyper's, byte for byte but the date; a
//! connection moves from the lane to hyper in the middle of pipelined
//! requests and keeps their order; its requests are logged and counted as
//! the full path logs and counts them.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use preflight_test_kit::cli::TempDir;

const APP: &str = "https://app.example.com";

fn preflight(path: &str, origin: &str, extra: &str) -> String {
    format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: gateway.test\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: PUT\r\n{extra}\r\n"
    )
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

/// Read whole responses off `s` until `count` have come: (status, head
/// without its `date` line, body).
fn responses(s: &mut TcpStream, count: usize) -> Vec<(u16, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    while out.len() < count {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            let n = s.read(&mut chunk).expect("a response within 5 s");
            assert!(n > 0, "closed after {} responses", out.len());
            buf.extend_from_slice(&chunk[..n]);
            continue;
        };
        let head = String::from_utf8(buf[..end].to_vec()).expect("ascii head");
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .map_or(0, |v| v.trim().parse().expect("a length"));
        while buf.len() < end + 4 + length {
            let n = s.read(&mut chunk).expect("the body within 5 s");
            assert!(n > 0, "closed in a body");
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[end + 4..end + 4 + length].to_vec();
        let status = head[9..12].parse().expect("a status");
        let head: Vec<&str> = head.lines().filter(|l| !l.starts_with("date: ")).collect();
        out.push((status, head.join("\n"), body));
        buf.drain(..end + 4 + length);
    }
    out
}

fn exchange(addr: SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let mut s = connect(addr);
    s.write_all(request.as_bytes()).expect("write");
    responses(&mut s, 1).remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_answers_every_allowed_preflight_as_hyper_does() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    let cases = [
        preflight("/api/users/1", APP, ""),
        preflight("/api/users/1", APP, "Access-Control-Request-Headers: content-type\r\n"),
        preflight(
            "/api/users/1",
            APP,
            "Access-Control-Request-Headers: authorization,content-type\r\n",
        ),
        // Re-cased by a proxy: the policy writes its own spelling.
        preflight(
            "/api/users/1",
            APP,
            "Access-Control-Request-Headers: Content-Type, Authorization\r\n",
        ),
        // Two lines of the field.
        preflight(
            "/api/users/1",
            APP,
            "Access-Control-Request-Headers: content-type\r\nAccess-Control-Request-Headers: authorization\r\n",
        ),
        preflight("/api/users/1?page=2&x=%20", APP, ""),
        preflight("/api/users/1", "http://localhost:3000", "Connection: keep-alive\r\n"),
        // The route has GET alone; its policy says `*`.
        preflight("/public/file", "https://anyone.example", "").replace("Method: PUT", "Method: GET"),
        preflight(
            "/api/users/1",
            APP,
            "User-Agent: Mozilla/5.0\r\nAccept: */*\r\nSec-Fetch-Mode: cors\r\nReferer: https://app.example.com/\r\n",
        ),
    ];
    let pairs = tokio::task::spawn_blocking(move || {
        cases
            .iter()
            .map(|req| {
                // The same request with `Content-Length: 0` is hyper's
                // (the lane leaves any request with a body field).
                let full = req.replacen("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", 1);
                assert_ne!(&full, req);
                (req.clone(), exchange(addr, req), exchange(addr, &full))
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("the client");
    for (req, lane, hyper) in pairs {
        assert_eq!(lane.0, 204, "{req}");
        assert_eq!(lane, hyper, "{req}");
    }
    g.shutdown().await;
}

/// Odd but legal heads, and some that are not: whether the lane answers
/// one or leaves it to hyper, the client gets what hyper would answer (the
/// same head with `Content-Length: 0`, which the lane always leaves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_heads_get_what_hyper_would_answer() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    let base = preflight(
        "/api/users/1",
        APP,
        "Access-Control-Request-Headers: content-type\r\n",
    );
    let with = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        base.replacen(from, to, 1)
    };
    let fields = |n: usize| -> String { (0..n).map(|i| format!("X-F{i}: v\r\n")).collect() };
    let cases: Vec<(&str, String)> = vec![
        ("LF line ends", base.replace("\r\n", "\n")),
        ("odd name case", with("Origin:", "oRiGiN:")),
        (
            "spaces around a value",
            with(
                "Origin: https://app.example.com",
                "Origin:   https://app.example.com  ",
            ),
        ),
        ("a tab in a value", with("Method: PUT", "Method:\tPUT")),
        (
            "obs-text in another field",
            with("Origin:", "User-Agent: caf\u{e9}\r\nOrigin:"),
        ),
        ("an empty ACRH", with("Headers: content-type", "Headers: ")),
        (
            "commas in ACRH",
            with("Headers: content-type", "Headers: , ,content-type,"),
        ),
        (
            "upper-case ACRH",
            with("Headers: content-type", "Headers: CONTENT-TYPE"),
        ),
        (
            "a header not allowed",
            with("Headers: content-type", "Headers: x-secret"),
        ),
        ("a lower-case method", with("OPTIONS ", "options ")),
        ("a lower-case ACRM", with("Method: PUT", "Method: put")),
        (
            "ACRM that is not a token",
            with("Method: PUT", "Method: P(T"),
        ),
        ("a null origin", with("https://app.example.com", "null")),
        (
            "an origin with a path",
            with("https://app.example.com", "https://app.example.com/"),
        ),
        (
            "an origin that differs in case",
            with("https://app.example.com", "https://APP.example.com"),
        ),
        (
            "47 more fields",
            with("Origin:", &format!("{}Origin:", fields(43))),
        ),
        (
            "48 more fields",
            with("Origin:", &format!("{}Origin:", fields(48))),
        ),
        (
            "a folded line",
            with("Method: PUT\r\n", "Method: PUT\r\n continued\r\n"),
        ),
        ("a NUL in a value", with("Method: PUT", "Method: P\0T")),
        (
            "a long path",
            with("/api/users/1", &format!("/api/{}", "a".repeat(7000))),
        ),
        (
            "a path over the head's 8 KiB",
            with("/api/users/1", &format!("/api/{}", "a".repeat(9000))),
        ),
    ];
    let results = tokio::task::spawn_blocking(move || {
        cases
            .into_iter()
            .map(|(what, req)| {
                let end = if req.contains("\r\n\r\n") {
                    "\r\n\r\n"
                } else {
                    "\n\n"
                };
                let nl = if end == "\n\n" { "\n" } else { "\r\n" };
                let full = req.replacen(end, &format!("{nl}Content-Length: 0{end}"), 1);
                (
                    what,
                    answer_or_close(addr, &req),
                    answer_or_close(addr, &full),
                )
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("the client");
    let mut lane_answered = 0;
    for (what, lane, hyper) in results {
        assert_eq!(lane, hyper, "{what}");
        lane_answered += usize::from(lane.starts_with("HTTP/1.1 204"));
    }
    assert!(
        lane_answered >= 8,
        "only {lane_answered} allowed: the cases test little"
    );
    g.shutdown().await;
}

/// The first answer on a new connection (head without `date`, and the
/// body), or what the connection did instead.
fn answer_or_close(addr: SocketAddr, request: &str) -> String {
    let mut s = connect(addr);
    if s.write_all(request.as_bytes()).is_err() {
        return "write failed".into();
    }
    let mut got = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            return head
                .lines()
                .filter(|l| !l.starts_with("date: "))
                .collect::<Vec<_>>()
                .join("\n");
        }
        match s.read(&mut chunk) {
            Ok(0) => return format!("closed after {} bytes", got.len()),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => return format!("read error: {:?}", e.kind()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_keep_their_order_across_the_move_to_hyper() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    let answers = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        for i in 0..40 {
            let acrh = if i % 2 == 0 { "content-type" } else { "authorization" };
            all.push_str(&preflight(
                "/api/users/1",
                APP,
                &format!("Access-Control-Request-Headers: {acrh}\r\n"),
            ));
        }
        all.push_str("GET /api/users/1 HTTP/1.1\r\nHost: gateway.test\r\nOrigin: https://app.example.com\r\n\r\n");
        all.push_str(&preflight("/api/users/2", APP, ""));
        all.push_str(&preflight("/nowhere", APP, ""));
        let mut s = connect(addr);
        s.write_all(all.as_bytes()).expect("write");
        responses(&mut s, 43)
    })
    .await
    .expect("the client");
    for (i, (status, head, _)) in answers[..40].iter().enumerate() {
        assert_eq!(*status, 204, "{i}: {head}");
        let acrh = if i % 2 == 0 {
            "content-type"
        } else {
            "authorization"
        };
        assert!(
            head.contains(&format!("access-control-allow-headers: {acrh}")),
            "{i}: {head}"
        );
    }
    let (status, head, _) = &answers[40];
    assert_eq!(*status, 200, "the GET, proxied: {head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com"),
        "{head}"
    );
    assert_eq!(answers[41].0, 204, "{}", answers[41].1);
    // No route: the default policy's layer answers the preflight (hyper's path).
    assert_eq!(answers[42].0, 204, "{}", answers[42].1);
    assert_eq!(up.hits(), 1, "only the GET went upstream");
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_in_pieces_is_answered_once_whole() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    let (status, head, _) = tokio::task::spawn_blocking(move || {
        let req = preflight("/api/users/1", APP, "");
        let mut s = connect(addr);
        for piece in req.as_bytes().chunks(17) {
            s.write_all(piece).expect("write");
            std::thread::sleep(Duration::from_millis(20));
        }
        responses(&mut s, 1).remove(0)
    })
    .await
    .expect("the client");
    assert_eq!(status, 204, "{head}");
    assert!(head.contains("access-control-allow-origin: https://app.example.com"));
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_logs_and_counts_its_preflights_as_the_full_path_does() {
    let dir = TempDir::new("express-log");
    let up = upstream().await;
    let text = BASE.replacen("[server]\n", "[server]\naccess_log = \"access.log\"\n", 1);
    let cfg = config(&text, up.addr, Some(dir.path()));
    let g = preflight_gateway::start(preflight_gateway::Gateway::new(cfg))
        .await
        .expect("start");
    let addr = g.local_addrs()[0];
    tokio::task::spawn_blocking(move || {
        let req = preflight("/api/users/1", APP, "");
        let full = req.replacen("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", 1);
        assert_eq!(exchange(addr, &req).0, 204);
        assert_eq!(exchange(addr, &full).0, 204);
    })
    .await
    .expect("the client");
    let gateway = g.gateway().clone();
    let (requests, allowed, refused) = gateway.metrics().totals();
    assert_eq!((requests, allowed, refused), (2, 2, 0));
    let text = gateway.metrics().encode();
    let line = text
        .lines()
        .find(|l| l.starts_with("preflight_requests_total{") && l.contains("OPTIONS"))
        .expect("the request counter");
    assert!(
        line.contains("route=\"/api/{*rest}\"") && line.contains("204") && line.ends_with(" 2"),
        "{line}"
    );
    g.shutdown().await;
    gateway.flush_access_log(Duration::from_secs(5));
    let log = std::fs::read_to_string(dir.path().join("access.log")).expect("the log");
    // The fields but the time, the client's port and the milliseconds.
    let fields = |line: &str| -> Vec<String> {
        line.split(' ')
            .skip(1)
            .filter(|f| !f.starts_with("ms="))
            .map(|f| match f.strip_prefix("remote=") {
                Some(r) => format!("remote={}", r.rsplit_once(':').map_or(r, |(ip, _)| ip)),
                None => f.to_owned(),
            })
            .collect()
    };
    let lines: Vec<Vec<String>> = log.lines().map(fields).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[0], lines[1], "{log}");
    assert!(log.contains("cors=preflight-allowed"), "{log}");
}

/// A gateway serving TLS with a fresh certificate, and a client config
/// that trusts it and offers `http/1.1` only.
async fn tls_gateway(
    up: &Upstream,
    dir: &TempDir,
) -> (
    preflight_gateway::RunningGateway,
    tokio_rustls::TlsConnector,
) {
    use std::sync::Arc;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a cert");
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).expect("cert");
    std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem()).expect("key");
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
    .expect("start");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).expect("a root");
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    (g, tokio_rustls::TlsConnector::from(Arc::new(client)))
}

async fn tls_connect(
    tls: &tokio_rustls::TlsConnector,
    port: u16,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    tls.connect(name, tcp).await.expect("handshake")
}

/// Over TLS (ALPN `http/1.1`) the lane answers as over plain TCP: the same
/// bytes as hyper's answer to the same preflight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_lane_answers_as_hyper_does() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let up = upstream().await;
    let dir = TempDir::new("express-tls");
    let (g, tls) = tls_gateway(&up, &dir).await;
    let port = g.local_addrs()[0].port();
    let ask = |req: String| {
        let tls = tls.clone();
        async move {
            let mut s = tls_connect(&tls, port).await;
            s.write_all(req.as_bytes()).await.expect("write");
            let mut got = Vec::new();
            let mut chunk = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut chunk).await.expect("read");
                assert!(n > 0, "closed before an answer");
                got.extend_from_slice(&chunk[..n]);
            }
            let text = String::from_utf8(got).expect("ascii");
            text.lines()
                .filter(|l| !l.starts_with("date: "))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let req = preflight(
        "/api/users/1",
        APP,
        "Access-Control-Request-Headers: content-type\r\n",
    );
    let full = req.replacen("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", 1);
    let (lane, hyper) = tokio::time::timeout(Duration::from_secs(10), async {
        (ask(req).await, ask(full).await)
    })
    .await
    .expect("both answered within 10 s");
    assert!(lane.starts_with("HTTP/1.1 204 No Content"), "{lane}");
    assert_eq!(lane, hyper);
    g.shutdown().await;
}

/// Many preflights sent over TLS at once, read only later: the lane's
/// writes wait for the client, and every answer arrives, the last ones too
/// (a TLS stream keeps records it made until it is flushed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_every_answer_to_a_long_pipeline_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const N: usize = 20_000;
    let up = upstream().await;
    let dir = TempDir::new("express-tls-pipeline");
    let (g, tls) = tls_gateway(&up, &dir).await;
    let port = g.local_addrs()[0].port();
    let s = tls_connect(&tls, port).await;
    let (mut rd, mut wr) = tokio::io::split(s);
    let one = preflight("/api/users/1", APP, "");
    let writer = tokio::spawn(async move {
        let all = one.repeat(N);
        wr.write_all(all.as_bytes()).await.expect("write");
        wr.flush().await.expect("flush");
        wr
    });
    // Not read for a while: the gateway's socket fills and its writes wait.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answers = tokio::time::timeout(Duration::from_secs(30), async {
        let mut count = 0;
        let mut tail: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while count < N {
            let n = rd.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed after {count} answers");
            tail.extend_from_slice(&chunk[..n]);
            let mut at = 0;
            while let Some(i) = tail[at..].windows(4).position(|w| w == b"\r\n\r\n") {
                assert!(tail[at..].starts_with(b"HTTP/1.1 204 "), "answer {count}");
                at += i + 4;
                count += 1;
            }
            tail.drain(..at);
        }
        count
    })
    .await;
    let count = answers.expect("every answer within 30 s");
    assert_eq!(count, N);
    drop(writer.await.expect("the writer"));
    g.shutdown().await;
}
