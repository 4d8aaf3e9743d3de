//! Runs the allowed-preflight decision in a loop, for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/decide_loop 100000`.
use std::hint::black_box;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use preflight_core::{CorsConfig, CorsRequest, MethodSet, Policy};

fn main() {
    let policy = Policy::new(&CorsConfig {
        allow_origins: Some(vec![
            "https://app.example.com".into(),
            "https://*.example.com".into(),
        ]),
        allow_headers: Some(vec![
            "content-type".into(),
            "x-custom".into(),
            "authorization".into(),
        ]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .expect("valid policy");
    let route =
        policy.methods_for_route(&MethodSet::parse(&["GET", "PUT", "DELETE"]).expect("methods"));
    // The headers of a real Chromium preflight, in its order.
    let mut h = HeaderMap::new();
    for (k, v) in [
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
    ] {
        h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    for _ in 0..n {
        let req = CorsRequest::new(&Method::OPTIONS, black_box(&h));
        black_box(policy.decide(&req, &route));
    }
}
