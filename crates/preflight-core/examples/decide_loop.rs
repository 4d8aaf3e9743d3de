//! Runs the allowed-preflight decision in a loop, for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/decide_loop 100000`
//! (the 13 headers of a real Chromium preflight), or with `bench` after the
//! count for the request and policy of `preflight_allowed/decide` in
//! `benches/decide.rs` (three headers). BENCHMARKS.md divides the difference
//! of two counts by the difference of their loops.
use std::hint::black_box;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use preflight_core::{CorsConfig, CorsRequest, MethodSet, Policy};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let bench = std::env::args().nth(2).is_some_and(|s| s == "bench");
    let mut origins = vec![
        "https://app.example.com".to_string(),
        "https://*.example.com".into(),
    ];
    if bench {
        origins.push("http://localhost:*".into());
    }
    let policy = Policy::new(&CorsConfig {
        allow_origins: Some(origins),
        allow_headers: Some(vec![
            "content-type".into(),
            "x-custom".into(),
            "authorization".into(),
        ]),
        expose_headers: bench.then(|| vec!["x-request-id".into()]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .expect("valid policy");
    let route =
        policy.methods_for_route(&MethodSet::parse(&["GET", "PUT", "DELETE"]).expect("methods"));
    // The headers of a real Chromium preflight, in its order.
    let chromium = [
        ("host", "api.example.com"),
        ("connection", "keep-alive"),
        ("accept", "*/*"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type,x-custom"),
        ("origin", "https://app.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
        ),
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-dest", "empty"),
        ("referer", "https://app.example.com/"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "en-US,en;q=0.9"),
    ];
    // The benchmark's: the three CORS headers.
    let three = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type,x-custom"),
    ];
    let mut h = HeaderMap::new();
    for (k, v) in if bench { &three[..] } else { &chromium[..] } {
        h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    for _ in 0..n {
        let req = CorsRequest::new(&Method::OPTIONS, black_box(&h));
        black_box(policy.decide(&req, &route));
    }
}
