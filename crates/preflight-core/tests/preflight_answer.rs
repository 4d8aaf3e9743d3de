//! The prebuilt answer to an allowed preflight ([`PreflightAnswer`]) is
//! byte for byte, in order, what [`PreflightAllowed::write`] writes into an
//! empty map: a table of policies × preflights, each compared as the list of
//! (name, value) a server writes.

use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use preflight_core::{CorsConfig, CorsRequest, Decision, MethodSet, Policy};

fn config(origins: &[&str], headers: &[&str]) -> CorsConfig {
    CorsConfig {
        allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
        allow_headers: Some(headers.iter().map(|s| s.to_string()).collect()),
        ..CorsConfig::default()
    }
}

fn policies() -> Vec<(&'static str, Policy)> {
    let listed = ["https://app.example.com", "https://*.example.com"];
    let mut out = Vec::new();
    let mut add = |name, c: CorsConfig| out.push((name, Policy::new(&c).expect(name)));
    add("listed", config(&listed, &["content-type", "x-custom"]));
    add(
        "credentials, max_age, 200",
        CorsConfig {
            allow_credentials: Some(true),
            max_age: Some(600),
            preflight_status: Some(200),
            ..config(&listed, &["content-type", "x-custom"])
        },
    );
    add(
        "every origin, no credentials",
        config(&["*"], &["content-type"]),
    );
    add("every header", config(&listed, &["*"]));
    add(
        "methods listed",
        CorsConfig {
            allow_methods: Some(vec!["GET".into(), "PUT".into(), "PATCH".into()]),
            max_age: Some(0),
            ..config(&listed, &["content-type", "x-custom", "authorization"])
        },
    );
    out
}

/// (origin, ACRM, ACRH lines)
const PREFLIGHTS: &[(&str, &str, &[&str])] = &[
    ("https://app.example.com", "PUT", &["content-type"]),
    ("https://app.example.com", "PUT", &[]),
    ("https://a.b.example.com", "GET", &["content-type,x-custom"]),
    // Re-cased by a proxy: the answer is re-written, not echoed.
    (
        "https://app.example.com",
        "PUT",
        &["Content-Type, X-Custom"],
    ),
    (
        "https://app.example.com",
        "PATCH",
        &["x-custom", "content-type"],
    ),
    ("https://app.example.com", "PUT", &[""]),
];

fn pairs(headers: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn the_prebuilt_answer_is_what_write_writes() {
    let mut compared = 0;
    for (name, policy) in policies() {
        let route = MethodSet::parse(&["GET", "PUT", "PATCH", "DELETE"]).expect("methods");
        for methods in [policy.methods().clone(), policy.methods_for_route(&route)] {
            let answer = policy.preflight_answer(&methods);
            for (origin, acrm, acrh) in PREFLIGHTS {
                let mut req = HeaderMap::new();
                req.insert(ORIGIN, HeaderValue::from_static(origin));
                req.insert(
                    ACCESS_CONTROL_REQUEST_METHOD,
                    HeaderValue::from_static(acrm),
                );
                for line in *acrh {
                    req.append(
                        ACCESS_CONTROL_REQUEST_HEADERS,
                        HeaderValue::from_static(line),
                    );
                }
                let decision = policy.decide(&CorsRequest::new(&Method::OPTIONS, &req), &methods);
                let Decision::PreflightAllowed(allowed) = decision else {
                    continue;
                };
                let mut written = HeaderMap::new();
                allowed.write(&mut written);
                let mut fields = Vec::new();
                answer.for_each_field(&allowed, |n, v| {
                    fields.push((n.as_str().to_owned(), v.as_bytes().to_vec()))
                });
                let prebuilt = answer.headers(allowed);
                assert_eq!(
                    fields,
                    pairs(&written),
                    "fields: {name}: {origin} {acrm} {acrh:?}"
                );
                assert_eq!(
                    pairs(&prebuilt),
                    pairs(&written),
                    "{name}: {origin} {acrm} {acrh:?}"
                );
                compared += 1;
            }
        }
    }
    // Most of the table is allowed: a refusal everywhere would compare nothing.
    assert!(
        compared >= 40,
        "only {compared} allowed preflights compared"
    );
}
