//! The lane's choice of requests, byte for byte: what it answers, what it
//! leaves whole for hyper, and a head that comes a byte at a time.

use std::path::Path;

use super::*;
use crate::config::Config;

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
access_log = "off"
max_request_header_bytes = 2048

[cors]
allow_origins = ["https://app.example.com"]
allow_headers = ["content-type", "authorization"]
allow_credentials = true
max_age = 600

[[routes]]
path = "/api/{*rest}"
methods = ["GET", "PUT", "DELETE"]
upstream = "http://127.0.0.1:9"

[[routes]]
path = "/open/{*rest}"
methods = ["GET"]
upstream = "http://127.0.0.1:9"
cors = false
"#;

fn lane() -> Lane {
    let config = Config::parse(CONFIG, Path::new("test.toml"), Path::new(".")).expect("config");
    Lane::new(
        Gateway::new(config),
        "127.0.0.1:5000".parse().expect("addr"),
    )
}

/// What Chromium sends for `fetch(url, {method: "PUT", headers: {"Content-Type": "application/json"}})`.
const CHROMIUM: &str = "OPTIONS /api/users/1 HTTP/1.1\r\n\
Host: 127.0.0.1:8080\r\n\
Connection: keep-alive\r\n\
Accept: */*\r\n\
Access-Control-Request-Method: PUT\r\n\
Access-Control-Request-Headers: content-type\r\n\
Origin: https://app.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36\r\n\
Sec-Fetch-Mode: cors\r\n\
Sec-Fetch-Site: cross-site\r\n\
Sec-Fetch-Dest: empty\r\n\
Referer: https://app.example.com/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US\r\n\r\n";

fn step(lane: &mut Lane, bytes: &[u8]) -> (Step, BytesMut, Vec<u8>) {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    let mut scratch = HeaderMap::new();
    let step = lane.step(&mut buf, &mut scratch, &mut out);
    (step, buf, out)
}

fn answer_fields(out: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(out).expect("ascii");
    text.split("\r\n")
        .filter(|l| !l.starts_with("date: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_chromium_preflight_is_answered_in_the_lane() {
    let mut lane = lane();
    let (step, rest, out) = step(&mut lane, CHROMIUM.as_bytes());
    assert!(matches!(step, Step::Answered));
    assert!(rest.is_empty(), "the head is consumed");
    assert_eq!(
        answer_fields(&out),
        [
            "HTTP/1.1 204 No Content",
            "access-control-allow-origin: https://app.example.com",
            "access-control-allow-credentials: true",
            "access-control-allow-methods: GET, PUT, DELETE",
            "access-control-allow-headers: content-type",
            "access-control-max-age: 600",
            "vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            "",
            "",
        ]
    );
    let text = String::from_utf8(out).expect("ascii");
    let date = text
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .expect("a date");
    assert!(
        httpdate::parse_http_date(date.trim_end()).is_ok(),
        "{date:?}"
    );
    // The lane's answer is counted as the full path counts it.
    let (requests, allowed, _) = lane.gateway.metrics().totals();
    assert_eq!((requests, allowed), (1, 1));
}

#[test]
fn a_head_that_comes_a_byte_at_a_time_is_answered_when_whole() {
    let mut lane = lane();
    let bytes = CHROMIUM.as_bytes();
    for end in 1..bytes.len() {
        let (step, rest, out) = step(&mut lane, &bytes[..end]);
        assert!(
            matches!(step, Step::NeedMore),
            "at {end} of {}",
            bytes.len()
        );
        assert_eq!(&rest[..], &bytes[..end]);
        assert!(out.is_empty());
    }
}

#[test]
fn two_preflights_in_one_read_are_answered_in_order() {
    let mut lane = lane();
    let second = CHROMIUM.replace("content-type", "authorization");
    let both = format!("{CHROMIUM}{second}");
    let mut buf = BytesMut::from(both.as_bytes());
    let mut out = Vec::new();
    let mut scratch = HeaderMap::new();
    assert!(matches!(
        lane.step(&mut buf, &mut scratch, &mut out),
        Step::Answered
    ));
    assert_eq!(&buf[..], second.as_bytes());
    assert!(matches!(
        lane.step(&mut buf, &mut scratch, &mut out),
        Step::Answered
    ));
    assert!(buf.is_empty());
    let text = String::from_utf8(out).expect("ascii");
    let allowed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("access-control-allow-headers: "))
        .collect();
    assert_eq!(allowed, ["content-type", "authorization"]);
}

/// Each is answered by hyper, as every request was before the lane: the
/// lane writes nothing and leaves (or puts back) every byte.
#[test]
fn requests_the_lane_does_not_take_are_left_whole_for_hyper() {
    let mut lane = lane();
    let with = |from: &str, to: &str| {
        assert!(CHROMIUM.contains(from), "{from}");
        CHROMIUM.replacen(from, to, 1)
    };
    let pad: String = (0..MAX_FIELDS)
        .map(|i| format!("X-Pad-{i}: 1\r\n"))
        .collect();
    let big = format!("X-Big: {}\r\n", "b".repeat(2048));
    let cases: Vec<(&str, String)> = vec![
        ("a GET", with("OPTIONS ", "GET ")),
        ("HTTP/1.0", with("HTTP/1.1\r\n", "HTTP/1.0\r\n")),
        (
            "an ordinary OPTIONS",
            with("Access-Control-Request-Method: PUT\r\n", ""),
        ),
        ("no Origin", with("Origin: https://app.example.com\r\n", "")),
        (
            "two Origins",
            with("Accept: */*\r\n", "Origin: https://app.example.com\r\n"),
        ),
        (
            "a list in Origin",
            with(
                "Origin: https://app.example.com",
                "Origin: https://app.example.com https://b.example",
            ),
        ),
        (
            "two ACRMs",
            with("Accept: */*\r\n", "Access-Control-Request-Method: GET\r\n"),
        ),
        ("no Host", with("Host: 127.0.0.1:8080\r\n", "")),
        ("two Hosts", with("Accept: */*\r\n", "Host: b.example\r\n")),
        (
            "absolute-form",
            with(
                "OPTIONS /api/users/1",
                "OPTIONS http://127.0.0.1:8080/api/users/1",
            ),
        ),
        ("a dot segment", with("/api/users/1", "/api/./users/1")),
        ("an escape", with("/api/users/1", "/api/users/%31")),
        ("a double slash", with("/api/users/1", "/api//users/1")),
        (
            "a byte outside the plain set",
            with("/api/users/1", "/api/users/{1}"),
        ),
        (
            "Connection: close",
            with("Connection: keep-alive", "Connection: close"),
        ),
        (
            "Content-Length: 0",
            with("Accept: */*\r\n", "Content-Length: 0\r\n"),
        ),
        (
            "Transfer-Encoding",
            with("Accept: */*\r\n", "Transfer-Encoding: chunked\r\n"),
        ),
        ("Upgrade", with("Accept: */*\r\n", "Upgrade: websocket\r\n")),
        (
            "Expect",
            with("Accept: */*\r\n", "Expect: 100-continue\r\n"),
        ),
        (
            "more fields than the lane parses",
            with("Accept: */*\r\n", &pad),
        ),
        (
            "fields over max_request_header_bytes",
            with("Accept: */*\r\n", &big),
        ),
        ("no route", with("/api/users/1", "/elsewhere")),
        ("a route without CORS", with("/api/users/1", "/open/x")),
        (
            "a refused origin",
            with("https://app.example.com\r\n", "https://evil.example\r\n"),
        ),
        (
            "a method the route lacks",
            with("Method: PUT", "Method: PATCH"),
        ),
        (
            "a header the policy does not allow",
            with("Headers: content-type", "Headers: x-secret"),
        ),
        ("a bad head", with("HTTP/1.1\r\n", "HTTP/1.1 junk\r\n")),
        (
            "the HTTP/2 preface",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_owned(),
        ),
    ];
    for (what, bytes) in cases {
        let (step, rest, out) = step(&mut lane, bytes.as_bytes());
        let handed = match step {
            Step::Handoff => rest.freeze(),
            Step::HandoffTaken(head) => rejoin(head, rest),
            Step::Answered => panic!("{what}: answered in the lane"),
            Step::NeedMore => panic!("{what}: waits for more"),
        };
        assert_eq!(&handed[..], bytes.as_bytes(), "{what}: bytes for hyper");
        assert!(
            out.is_empty(),
            "{what}: wrote {:?}",
            String::from_utf8_lossy(&out)
        );
    }
    let (requests, preflights, _) = lane.gateway.metrics().totals();
    assert_eq!(
        (requests, preflights),
        (0, 0),
        "nothing counted by the lane"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Whatever the bytes (a real head with bytes changed, cut or added),
    /// the lane never panics, answers only a whole preflight it allows, and
    /// otherwise waits or gives every byte to hyper.
    #[test]
    fn any_bytes_are_answered_whole_or_left_whole(
        edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY, 0u8..3), 0..6),
        cut in 0usize..420,
    ) {
        let mut bytes = CHROMIUM.as_bytes().to_vec();
        for (at, b, kind) in edits {
            let at = at % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = b,
                1 => bytes.insert(at, b),
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => {}
            }
        }
        if cut < bytes.len() && cut % 3 == 0 {
            bytes.truncate(cut);
        }
        let mut lane = lane();
        let (step, rest, out) = step(&mut lane, &bytes);
        match step {
            Step::Answered => {
                proptest::prop_assert!(out.starts_with(b"HTTP/1.1 204 No Content\r\n"));
                proptest::prop_assert!(out.ends_with(b"\r\n\r\n"));
                proptest::prop_assert!(bytes.ends_with(&rest));
            }
            Step::NeedMore | Step::Handoff => {
                proptest::prop_assert_eq!(&rest[..], &bytes[..]);
                proptest::prop_assert!(out.is_empty());
            }
            Step::HandoffTaken(head) => {
                proptest::prop_assert_eq!(&rejoin(head, rest)[..], &bytes[..]);
                proptest::prop_assert!(out.is_empty());
            }
        }
    }
}

/// Every path the lane takes is one the full path's normalization leaves
/// as it is; the rest go to hyper.
#[test]
fn the_lane_takes_only_paths_normalization_leaves_alone() {
    let taken = [
        "/api/users/1",
        "/api/users/1?page=2&q=%20a",
        "/a-b_c~d!$&'()*+,;=:@/e",
        "/api/x.json",
        "/api/users/",
    ];
    let left = [
        "api/users",
        "/api//users",
        "/api/./users",
        "/api/../users",
        "/api/.hidden",
        "/api/%2F",
        "/api/users%31",
        "/api\\users",
        "/api/{x}",
        "/api/\u{e9}",
        "/api/users?q=a b",
    ];
    for path in taken {
        let got = plain_path(path).unwrap_or_else(|| panic!("{path} is taken"));
        let before_query = path.split('?').next().unwrap_or(path);
        assert_eq!(got, before_query);
        let n = crate::path::normalize(got).expect("normalizes");
        assert_eq!(n.path, got, "{path}");
        assert!(!n.encoded_separator, "{path}");
    }
    for path in left {
        assert_eq!(plain_path(path), None, "{path} is left for hyper");
    }
    let long = format!("/{}", "a".repeat(crate::path::MAX_PATH));
    assert_eq!(
        plain_path(&long),
        None,
        "over the length normalization takes"
    );
}

#[global_allocator]
static GLOBAL: preflight_test_kit::alloc::Counting = preflight_test_kit::alloc::Counting;

/// The lane answers a kept-alive connection's preflights without a heap
/// allocation: after the first (which makes the connection's scratch map,
/// fetches its counters and formats this second's date), none, with the
/// read buffer kept and refilled as `Lane::run` keeps it.
#[test]
fn the_lane_answers_without_allocating() {
    let mut lane = lane();
    let mut buf = BytesMut::with_capacity(4096);
    let mut out = Vec::with_capacity(1024);
    let mut scratch = HeaderMap::with_capacity(4);
    let mut answer = |buf: &mut BytesMut, out: &mut Vec<u8>, scratch: &mut HeaderMap| {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        buf.extend_from_slice(CHROMIUM.as_bytes());
        let step = lane.step(buf, scratch, out);
        out.clear();
        matches!(step, Step::Answered)
    };
    for _ in 0..3 {
        assert!(answer(&mut buf, &mut out, &mut scratch));
    }
    let (count, answered) = preflight_test_kit::alloc::allocations(|| {
        (0..200)
            .filter(|_| answer(&mut buf, &mut out, &mut scratch))
            .count()
    });
    assert_eq!(answered, 200);
    assert_eq!(count, 0, "allocations in 200 preflights");
}
