//! Runs the allowed-preflight decision in a loop, for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/decide_loop`.
use std::hint::black_box;

use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
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
    let mut h = HeaderMap::new();
    h.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
    h.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    h.insert(
        ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_static("content-type,x-custom"),
    );
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    for _ in 0..n {
        let req = CorsRequest::new(&Method::OPTIONS, black_box(&h));
        black_box(policy.decide(&req, &route));
    }
}
