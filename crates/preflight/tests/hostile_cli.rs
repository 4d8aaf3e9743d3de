//! Hostile input against the release binary (RELIABILITY.md, "Requests at
//! the edge"): a table of raw requests over loopback sockets, each with the
//! answer it must get (a given 4xx, or a closed connection): never a panic,
//! the gateway serving the next request after each row, and its resident
//! memory (`VmRSS` in /proc/PID/status) bounded after the whole table.
//!
//! HTTP/1.1 rows are hand-written bytes; HTTP/2 rows (h2c with prior
//! knowledge, which the plain listener speaks) are hand-built frames
//! (RFC 9113 §4.1: a 3-byte length, the type, the flags, a 4-byte stream id).
//! Every spawned process is killed (by its own pid) when its guard drops.
#![cfg(target_os = "linux")]

mod hostile_common;

use std::net::SocketAddr;
use std::time::Instant;

use hostile_common::{h1, h2, Expect, Gateway, Outcome, APP};

/// The default of `max_request_header_bytes` (docs/configuration.md).
const HEADER_LIMIT: usize = 64 * 1024;
/// The longest the three passes may take (they take about 2 s).
const TABLE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// A request line and header lines (`host` and `connection: close` first),
/// then `tail` (a body, or nothing) after the empty line.
fn http1(
    addr: SocketAddr,
    method: &[u8],
    path: &str,
    headers: &[(&[u8], &[u8])],
    tail: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method);
    out.extend_from_slice(
        format!(" {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n").as_bytes(),
    );
    for (k, v) in headers {
        out.extend_from_slice(k);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(tail);
    out
}

/// The header fields `http1` sends for `headers`, counted as the gateway
/// counts them: name, value and 4 bytes (`: ` and CRLF) a field.
fn field_bytes(addr: SocketAddr, headers: &[(&[u8], &[u8])]) -> usize {
    let base = "host".len() + addr.to_string().len() + 4 + "connection".len() + "close".len() + 4;
    base + headers
        .iter()
        .map(|(k, v)| k.len() + v.len() + 4)
        .sum::<usize>()
}

/// A preflight for PUT from `origin` (raw bytes).
fn preflight(addr: SocketAddr, origins: &[&[u8]], extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut headers: Vec<(&[u8], &[u8])> = origins.iter().map(|o| (&b"origin"[..], *o)).collect();
    headers.push((b"access-control-request-method", b"PUT"));
    headers.extend_from_slice(extra);
    http1(addr, b"OPTIONS", "/api/x", &headers, b"")
}

/// One row of the table: what is sent and what must come back.
struct Row {
    name: String,
    send: Send,
    expect: Expect,
}

enum Send {
    H1(Vec<u8>),
    /// Raw HTTP/2 bytes (h2c, prior knowledge).
    H2(Vec<u8>),
    /// A GET of `/api/x` with these headers through hyper's HTTP/2 client.
    H2Client(Vec<(String, String)>),
}

fn rows(addr: SocketAddr) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut h1row = |name: &str, bytes: Vec<u8>, expect: Expect| {
        rows.push(Row {
            name: name.to_string(),
            send: Send::H1(bytes),
            expect,
        })
    };
    let app = APP.as_bytes();
    h1row(
        "a preflight from the allowed origin (control)",
        preflight(addr, &[app], &[]),
        Expect::Allowed(204),
    );
    h1row(
        "Origin without a scheme",
        preflight(addr, &[b"app.example.com"], &[]),
        Expect::Refused(403),
    );
    h1row(
        "Origin with port 99999",
        preflight(addr, &[b"https://app.example.com:99999"], &[]),
        Expect::Refused(403),
    );
    h1row(
        "Origin with a path",
        preflight(addr, &[b"https://app.example.com/x"], &[]),
        Expect::Refused(403),
    );
    h1row(
        "Origin with a control byte",
        preflight(addr, &[b"https://app.example.com\x01"], &[]),
        Expect::Refused(400),
    );
    h1row(
        "Origin twice (the allowed one first)",
        preflight(addr, &[app, b"https://evil.example"], &[]),
        Expect::Refused(403),
    );
    h1row(
        "two origins in one Origin",
        preflight(
            addr,
            &[b"https://app.example.com https://evil.example"],
            &[],
        ),
        Expect::Refused(403),
    );
    // Found by fuzz/fuzz_targets/request_path.rs: a preflight refused at the
    // edge (no Host) was answered by the default CORS layer as allowed,
    // whatever its Origin fields.
    h1row(
        "Origin twice on a preflight without Host",
        format!(
            "OPTIONS /api/x HTTP/1.1\r\nconnection: close\r\norigin: {APP}\r\norigin: {APP}\r\naccess-control-request-method: PUT\r\n\r\n"
        )
        .into_bytes(),
        Expect::Refused(403),
    );
    h1row(
        "Origin twice on a GET: forwarded without CORS headers",
        http1(
            addr,
            b"GET",
            "/api/x",
            &[(b"origin", app), (b"origin", app)],
            b"",
        ),
        Expect::Refused(200),
    );
    h1row(
        "non-UTF-8 Origin",
        preflight(addr, &[b"https://\xff\xfe.example.com"], &[]),
        Expect::Refused(403),
    );
    h1row(
        "non-UTF-8 Access-Control-Request-Headers",
        preflight(
            addr,
            &[app],
            &[(
                b"access-control-request-headers",
                b"content-type, x-\xc3\x28",
            )],
        ),
        Expect::Refused(403),
    );
    h1row(
        "non-UTF-8 value of another header on a GET: forwarded",
        http1(
            addr,
            b"GET",
            "/api/x",
            &[(b"origin", app), (b"x-bytes", b"\xff\xfe\x80")],
            b"",
        ),
        Expect::Allowed(200),
    );
    let names_60k = vec!["x-a"; 60 * 1024 / 5].join(", ");
    h1row(
        "a 60 KiB Access-Control-Request-Headers (under the limit): refused by the policy",
        preflight(
            addr,
            &[app],
            &[(b"access-control-request-headers", names_60k.as_bytes())],
        ),
        Expect::Refused(403),
    );
    let names_100k = vec!["content-type"; 100 * 1024 / 14].join(", ");
    h1row(
        "a 100 KiB Access-Control-Request-Headers of allowed names (over the limit)",
        preflight(
            addr,
            &[app],
            &[(b"access-control-request-headers", names_100k.as_bytes())],
        ),
        Expect::Refused(431),
    );
    let names_1m = vec!["x-a"; (1 << 20) / 5].join(", ");
    h1row(
        "a 1 MiB Access-Control-Request-Headers",
        preflight(
            addr,
            &[app],
            &[(b"access-control-request-headers", names_1m.as_bytes())],
        ),
        Expect::TooLargeOrClosed,
    );
    let many: Vec<(Vec<u8>, Vec<u8>)> = (0..10_000)
        .map(|i| (format!("x-h{i}").into_bytes(), b"1".to_vec()))
        .collect();
    let many_ref: Vec<(&[u8], &[u8])> = many.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    h1row(
        "10,000 header fields",
        http1(addr, b"GET", "/api/x", &many_ref, b""),
        Expect::Status(431),
    );
    // hyper's cap on fields: 100, host and connection among them (the
    // upstream, hyper too, sees 3 forwarding fields more: 90 stays under).
    h1row(
        "90 header fields: forwarded",
        http1(addr, b"GET", "/api/x", &many_ref[..88], b""),
        Expect::Status(200),
    );
    h1row(
        "101 header fields",
        http1(addr, b"GET", "/api/x", &many_ref[..99], b""),
        Expect::Status(431),
    );
    let big = vec![b'a'; 300 * 1024];
    h1row(
        "one 300 KiB header",
        http1(
            addr,
            b"GET",
            "/api/x",
            &[(b"origin", app), (b"x-big", &big)],
            b"",
        ),
        Expect::Allowed(431),
    );
    // The limit itself: fields of exactly HEADER_LIMIT bytes pass, one more
    // byte is refused.
    let pad = |total: usize| {
        let base = field_bytes(addr, &[(b"origin", app), (b"x-pad", b"")]);
        vec![b'p'; total - base]
    };
    let at = pad(HEADER_LIMIT);
    let over = pad(HEADER_LIMIT + 1);
    assert_eq!(
        field_bytes(addr, &[(b"origin", app), (b"x-pad", &at)]),
        HEADER_LIMIT
    );
    h1row(
        "header fields of exactly max_request_header_bytes",
        http1(
            addr,
            b"GET",
            "/api/x",
            &[(b"origin", app), (b"x-pad", &at)],
            b"",
        ),
        Expect::Allowed(200),
    );
    h1row(
        "header fields one byte over max_request_header_bytes",
        http1(
            addr,
            b"GET",
            "/api/x",
            &[(b"origin", app), (b"x-pad", &over)],
            b"",
        ),
        Expect::Allowed(431),
    );
    h1row(
        "an invalid method (`GE(T`)",
        http1(addr, b"GE(T", "/api/x", &[], b""),
        Expect::Status(400),
    );
    h1row(
        "a method with a NUL byte",
        http1(addr, b"G\0T", "/api/x", &[], b""),
        Expect::Status(400),
    );
    let method = vec![b'A'; 1 << 20];
    h1row(
        "a 1 MiB method",
        http1(addr, &method, "/api/x", &[], b""),
        Expect::TooLargeOrClosed,
    );
    h1row(
        "Content-Length beyond u64",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"content-length", b"99999999999999999999999999")],
            b"",
        ),
        Expect::Status(400),
    );
    h1row(
        "a negative Content-Length",
        http1(addr, b"PUT", "/api/x", &[(b"content-length", b"-1")], b""),
        Expect::Status(400),
    );
    h1row(
        "two different Content-Length",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"content-length", b"1"), (b"content-length", b"2")],
            b"ab",
        ),
        Expect::Status(400),
    );
    h1row(
        "a Content-Length of 10^15 (above body_limit)",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"origin", app), (b"content-length", b"1000000000000000")],
            b"abc",
        ),
        Expect::Allowed(413),
    );
    h1row(
        "Content-Length 3 beside chunked: framed by chunked alone (RFC 9112 §6.1)",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[
                (b"origin", app),
                (b"content-length", b"3"),
                (b"transfer-encoding", b"chunked"),
            ],
            b"8\r\nsmuggled\r\n0\r\n\r\n",
        ),
        Expect::Allowed(200),
    );
    h1row(
        "chunk extensions (ignored, RFC 9112 §7.1.1)",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"origin", app), (b"transfer-encoding", b"chunked")],
            b"5;name=value;x\r\nhello\r\n0;last=1\r\n\r\n",
        ),
        Expect::Allowed(200),
    );
    let mut long_ext = b"5;".to_vec();
    long_ext.extend(std::iter::repeat_n(b'e', 1 << 20));
    long_ext.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    h1row(
        "a 1 MiB chunk-size line",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"transfer-encoding", b"chunked")],
            &long_ext,
        ),
        Expect::Status(400),
    );
    h1row(
        "a chunk size beyond u64",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"transfer-encoding", b"chunked")],
            b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        ),
        Expect::Status(400),
    );
    h1row(
        "chunked not last in Transfer-Encoding",
        http1(
            addr,
            b"PUT",
            "/api/x",
            &[(b"transfer-encoding", b"chunked, gzip")],
            b"5\r\nhello\r\n0\r\n\r\n",
        ),
        Expect::Status(400),
    );
    let authority = addr.to_string();
    let over_h2 = "v".repeat(HEADER_LIMIT + 1);
    for (name, headers) in [
        ("h2: a GET (control)", vec![("origin", APP)]),
        (
            "h2: one header over max_request_header_bytes",
            vec![("origin", APP), ("x-big", over_h2.as_str())],
        ),
    ] {
        let expect = if name.ends_with("(control)") {
            Expect::Allowed(200)
        } else {
            Expect::Allowed(431)
        };
        rows.push(Row {
            name: name.to_string(),
            send: Send::H2Client(
                headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            expect,
        });
    }
    let mut h2row = |name: &str, bytes: Vec<u8>, expect: Expect| {
        rows.push(Row {
            name: name.to_string(),
            send: Send::H2(bytes),
            expect,
        })
    };
    let huge_h2 = "v".repeat(4 * HEADER_LIMIT);
    h2row(
        "h2: a header list over the advertised SETTINGS_MAX_HEADER_LIST_SIZE",
        h2::connection(&[h2::get(1, "/api/x", &authority, &[("x-huge", &huge_h2)])]),
        Expect::TooLargeOrClosed,
    );
    h2row(
        "h2: rapid reset, 10,000 streams opened and cancelled",
        h2::connection(&[h2::rapid_reset(10_000, &authority)]),
        Expect::Closed,
    );
    h2row(
        "h2: CONTINUATION flood (16 MiB, END_HEADERS never set)",
        h2::connection(&[h2::continuation_flood(1, 16 << 20, &authority)]),
        Expect::Closed,
    );
    rows
}

fn run_row(gw: &Gateway, row: &Row) -> Outcome {
    match &row.send {
        Send::H1(bytes) => h1::exchange(gw.listen, bytes),
        Send::H2(bytes) => h2::exchange(gw.listen, bytes),
        Send::H2Client(headers) => {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            h2::client_get(gw.listen, "/api/x", &headers)
        }
    }
}

#[test]
fn hostile_input_table_gets_4xx_or_a_close_and_memory_stays_bounded() {
    let gw = Gateway::start("hostile-table");
    let rows = rows(gw.listen);
    let start = gw.rss_kib();
    // Warm up (the allocator, the pools), then measure.
    for row in &rows {
        let _ = run_row(&gw, row);
    }
    let before = gw.rss_kib();
    let started = Instant::now();
    let mut failures = Vec::new();
    const PASSES: usize = 3;
    for pass in 0..PASSES {
        // Each row has its own deadline; the whole table has one too.
        assert!(
            started.elapsed() < TABLE_DEADLINE,
            "the table took longer than {TABLE_DEADLINE:?}; failures so far: {failures:?}"
        );
        for row in &rows {
            let t = Instant::now();
            let hits = gw.upstream.hits();
            let outcome = run_row(&gw, row);
            let took = t.elapsed();
            let reached = gw.upstream.hits() - hits;
            if pass == 0 {
                println!(
                    "row: {:<75} {:<40} {took:.2?}, {reached} upstream request(s)",
                    row.name,
                    outcome.to_string()
                );
            }
            if let Err(why) = row.expect.check(&outcome) {
                failures.push(format!("{}: {why} (got {outcome})", row.name));
            }
            if let Err(why) = gw.still_serving() {
                failures.push(format!("after {}: {why}", row.name));
            }
        }
    }
    // The length beside chunked was not forwarded: the upstream got the
    // whole chunked body, with no Content-Length of 3.
    let smuggled: Vec<_> = gw
        .upstream
        .received()
        .into_iter()
        .filter(|r| r.body.as_ref() == b"smuggled")
        .collect();
    assert_eq!(
        smuggled.len(),
        PASSES + 1,
        "the chunked body reached the upstream each time (warm-up and passes)"
    );
    for r in &smuggled {
        assert_ne!(r.header("content-length"), Some("3"), "{r:?}");
    }
    let after = gw.rss_kib();
    let peak = gw.hwm_kib();
    println!(
        "figure: {} rows x {PASSES} passes in {:.1?}: RSS {start} KiB at start, {before} -> {after} KiB (peak {peak} KiB)",
        rows.len(),
        started.elapsed()
    );
    let output = gw.child.output();
    assert!(
        !output.contains("panicked"),
        "the gateway panicked:\n{output}"
    );
    assert!(
        failures.is_empty(),
        "{} row(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        after.saturating_sub(before) < 24 * 1024,
        "RSS grew from {before} to {after} KiB over {PASSES} passes"
    );
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
}
