//! What one decision costs. Figures and targets: BENCHMARKS.md.
//!
//! Run: `cargo bench -p preflight-core --bench decide -- --warm-up-time 1 --measurement-time 3`
//!
//! Every routine consumes its result with `std::hint::black_box` and returns
//! nothing: criterion 0.5 passes a returned value through its own
//! `black_box`, a `read_volatile` that copies it byte by byte, which for a
//! 208-byte `Decision` cost more than the decision (BENCHMARKS.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use preflight_core::{CorsConfig, CorsRequest, Decision, MethodSet, Policy};

fn policy(origins: Vec<String>) -> Policy {
    Policy::new(&CorsConfig {
        allow_origins: Some(origins),
        allow_headers: Some(vec![
            "content-type".into(),
            "x-custom".into(),
            "authorization".into(),
        ]),
        expose_headers: Some(vec!["x-request-id".into()]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .expect("bench policy is valid")
}

fn small_policy() -> Policy {
    policy(vec![
        "https://app.example.com".into(),
        "https://*.example.com".into(),
        "http://localhost:*".into(),
    ])
}

/// 1,000 exact origins and 100 subdomain patterns.
fn large_policy() -> Policy {
    let mut origins: Vec<String> = (0..1000)
        .map(|i| format!("https://app{i}.customer{i}.com"))
        .collect();
    origins.extend((0..100).map(|i| format!("https://*.tenant{i}.example.net")));
    policy(origins)
}

fn preflight_request(origin: &'static str, acrh: HeaderValue) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ORIGIN, HeaderValue::from_static(origin));
    h.insert(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    h.insert(ACCESS_CONTROL_REQUEST_HEADERS, acrh);
    h
}

fn actual_request(origin: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ORIGIN, HeaderValue::from_static(origin));
    h
}

fn bench_decide(c: &mut Criterion) {
    let small = small_policy();
    let route = small.methods_for_route(&MethodSet::parse(&["GET", "PUT", "DELETE"]).unwrap());
    let options = Method::OPTIONS;
    let get = Method::GET;
    let mut response = HeaderMap::with_capacity(16);

    // Chromium's form: lower case, `,` without space, so it is echoed as is.
    let allowed = preflight_request(
        "https://app.example.com",
        HeaderValue::from_static("content-type,x-custom"),
    );
    c.bench_function("preflight_allowed/decide+write", |b| {
        b.iter(|| {
            response.clear();
            let req = CorsRequest::new(&options, black_box(&allowed));
            match small.decide(&req, &route) {
                Decision::PreflightAllowed(p) => p.write(&mut response),
                other => panic!("{other:?}"),
            }
            black_box(&response);
        })
    });

    // What a server does per preflight: a new response map each time, made
    // by inserting the answer's headers, or cloned from the route's prebuilt
    // answer (preflight-tower does the latter).
    c.bench_function("preflight_allowed/decide+write_new_map", |b| {
        b.iter(|| {
            let req = CorsRequest::new(&options, black_box(&allowed));
            let mut headers = HeaderMap::with_capacity(8);
            match small.decide(&req, &route) {
                Decision::PreflightAllowed(p) => p.write(&mut headers),
                other => panic!("{other:?}"),
            }
            black_box(headers);
        })
    });
    let answer = small.preflight_answer(&route);
    c.bench_function("preflight_allowed/decide+prebuilt_answer", |b| {
        b.iter(|| {
            let req = CorsRequest::new(&options, black_box(&allowed));
            match small.decide(&req, &route) {
                Decision::PreflightAllowed(p) => {
                    black_box(answer.headers(p));
                }
                other => panic!("{other:?}"),
            }
        })
    });

    // The same, in its two halves: the decision, and writing it into the map.
    c.bench_function("preflight_allowed/decide", |b| {
        b.iter(|| {
            let req = CorsRequest::new(&options, black_box(&allowed));
            black_box(small.decide(&req, &route));
        })
    });
    let decided = small.decide(&CorsRequest::new(&options, &allowed), &route);
    c.bench_function("preflight_allowed/write", |b| {
        b.iter(|| {
            response.clear();
            black_box(&decided).apply(&mut response);
            black_box(&response);
        })
    });

    // A proxy re-cased and spaced the list, so the answer is re-written.
    let recased = preflight_request(
        "https://app.example.com",
        HeaderValue::from_static("Content-Type, X-Custom"),
    );
    c.bench_function("preflight_allowed_recased/decide+write", |b| {
        b.iter(|| {
            response.clear();
            let req = CorsRequest::new(&options, black_box(&recased));
            match small.decide(&req, &route) {
                Decision::PreflightAllowed(p) => p.write(&mut response),
                other => panic!("{other:?}"),
            }
            black_box(&response);
        })
    });

    let evil = preflight_request(
        "https://app.example.com.evil.com",
        HeaderValue::from_static("content-type"),
    );
    c.bench_function("preflight_disallowed_origin/decide", |b| {
        b.iter(|| {
            let req = CorsRequest::new(&options, black_box(&evil));
            black_box(small.decide(&req, &route));
        })
    });

    let actual = actual_request("https://app.example.com");
    c.bench_function("actual_allowed/decide+apply", |b| {
        b.iter(|| {
            response.clear();
            let req = CorsRequest::new(&get, black_box(&actual));
            small.decide(&req, small.methods()).apply(&mut response);
            black_box(&response);
        })
    });

    let large = large_policy();
    for (name, origin) in [
        ("large_policy/exact", "https://app517.customer517.com"),
        (
            "large_policy/subdomain",
            "https://eu.api.tenant42.example.net",
        ),
        (
            "large_policy/miss",
            "https://app517.customer517.com.evil.net",
        ),
    ] {
        let req_headers = actual_request(origin);
        c.bench_function(&format!("{name}/decide"), |b| {
            b.iter(|| {
                let req = CorsRequest::new(&get, black_box(&req_headers));
                black_box(large.decide(&req, large.methods()));
            })
        });
    }

    // 1 MiB of `a,a,a,...`: refused on its length before any scanning.
    let hostile_value = HeaderValue::from_str(&"a,".repeat(512 * 1024)).unwrap();
    assert_eq!(hostile_value.len(), 1 << 20);
    let hostile = preflight_request("https://app.example.com", hostile_value);
    c.bench_function("hostile_acrh_1mib/decide", |b| {
        b.iter(|| {
            let req = CorsRequest::new(&options, black_box(&hostile));
            match small.decide(&req, &route) {
                Decision::PreflightRefused(r) => {
                    black_box(r);
                }
                other => panic!("{other:?}"),
            }
        })
    });

    // The worst case within the bounds: 4 KiB of empty items is scanned whole.
    let within = preflight_request(
        "https://app.example.com",
        HeaderValue::from_str(&", ".repeat(2048)).unwrap(),
    );
    c.bench_function("acrh_4kib_empty_items/decide", |b| {
        b.iter(|| {
            let req = CorsRequest::new(&options, black_box(&within));
            black_box(small.decide(&req, &route));
        })
    });
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);
