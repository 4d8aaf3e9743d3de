//! `Access-Control-Request-Headers` from arbitrary bytes, one header line per
//! input line, parsed alone and inside a full preflight decision.
#![no_main]

use std::sync::OnceLock;

use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use preflight_core::header_list::{MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES};
use preflight_core::{
    CorsConfig, CorsRequest, Decision, HeaderListError, Policy, RequestedHeaders,
};

fn policies() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let table = |origins: &[&str], headers: &[&str], credentials: bool| {
            Policy::new(&CorsConfig {
                allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
                allow_headers: Some(headers.iter().map(|s| s.to_string()).collect()),
                allow_credentials: Some(credentials),
                max_age: Some(600),
                ..CorsConfig::default()
            })
            .expect("fuzz policy is valid")
        };
        vec![
            table(
                &["https://app.example.com", "https://*.example.com"],
                &["content-type", "x-a"],
                true,
            ),
            table(&["*"], &["*"], false),
            table(&["https://app.example.com"], &["*", "authorization"], true),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<HeaderValue> = data
        .split(|&b| b == b'\n')
        .filter_map(|l| HeaderValue::from_bytes(l).ok())
        .collect();
    let total: usize = lines.iter().map(HeaderValue::len).sum();

    match RequestedHeaders::parse(lines.iter()) {
        Ok(parsed) => {
            assert!(total <= MAX_REQUEST_HEADERS_BYTES);
            assert!(parsed.len() <= MAX_REQUEST_HEADER_NAMES);
            let list = parsed.to_lowercase_list();
            assert!(HeaderValue::from_str(&list).is_ok(), "{list:?}");
            if let Some(line) = parsed.canonical_line() {
                assert_eq!(line.as_bytes(), list.as_bytes());
            }
        }
        Err(HeaderListError::TooLong(n)) => assert!(n > MAX_REQUEST_HEADERS_BYTES && n <= total),
        Err(_) => assert!(total <= MAX_REQUEST_HEADERS_BYTES),
    }

    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
    headers.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    for line in &lines {
        headers.append(ACCESS_CONTROL_REQUEST_HEADERS, line.clone());
    }
    let method = Method::OPTIONS;
    let req = CorsRequest::new(&method, &headers);
    for policy in policies() {
        let decision = policy.decide(&req, policy.methods());
        if let Decision::PreflightAllowed(p) = &decision {
            if let Some(h) = &p.allow_headers {
                assert!(!h.as_bytes().iter().any(u8::is_ascii_uppercase), "{h:?}");
            }
        }
        let mut response = HeaderMap::new();
        decision.apply(&mut response);
    }
});
