//! Scenario tables: (policy, route methods, request) -> the whole answer.
//!
//! Each row names the section of docs/browser-model.md (`cors-check`) or of docs/behaviour.md
//! it pins. The answer is the decision's kind, the status the server sends, and
//! every response header once [`Decision::apply`] has run on the upstream's
//! headers (for an allowed preflight, `apply` is [`PreflightAllowed::write`]).
//!
//! Status: an allowed preflight carries its own; a refused preflight and a
//! rejected actual request are 403 (docs/behaviour.md); `None` means the upstream's
//! status goes through unchanged.

use http::{HeaderMap, Method};
use preflight_core::{CorsConfig, CorsRequest, Decision, MethodSet, OnDisallowedOrigin, Policy};
use preflight_test_kit::scenarios::*;

/// A row's policy, from its `[cors]` table.
fn policy(toml_text: &str) -> Policy {
    try_policy(toml_text).expect("policy table is valid")
}

/// A row's policy, or why its table is refused (a failure of that row).
fn try_policy(toml_text: &str) -> Result<Policy, String> {
    let config: CorsConfig = toml::from_str(toml_text).expect("policy table parses");
    Policy::new(&config).map_err(|e| format!("{e:?}"))
}

fn kind(decision: &Decision) -> (String, Option<u16>) {
    match decision {
        Decision::NotCors { .. } => ("NotCors".into(), None),
        Decision::PreflightAllowed(p) => ("PreflightAllowed".into(), Some(p.status.as_u16())),
        Decision::PreflightRefused(r) => (format!("PreflightRefused({})", r.code()), Some(403)),
        Decision::ActualAllowed(_) => ("ActualAllowed".into(), None),
        Decision::ActualDisallowed { on_disallowed } => match on_disallowed {
            OnDisallowedOrigin::Forward => ("ActualDisallowed(forward)".into(), None),
            OnDisallowedOrigin::Reject => ("ActualDisallowed(reject)".into(), Some(403)),
        },
    }
}

#[test]
fn scenario_table() {
    let rows = rows();
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let policy = match try_policy(row.policy) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("row {i} [{}]: policy refused: {e}", row.pins));
                continue;
            }
        };
        let route_methods = row
            .route
            .map(|m| policy.methods_for_route(&MethodSet::parse(m).expect("valid route methods")));
        let methods = route_methods.as_ref().unwrap_or(policy.methods());
        let method = Method::from_bytes(row.method.as_bytes()).unwrap();
        let request = header_map(&row.request);
        let req = CorsRequest::new(&method, &request);
        let decision = policy.decide(&req, methods);

        let mut response = header_map(&row.upstream);
        decision.apply(&mut response);
        let (got_kind, got_status) = kind(&decision);
        let got_headers = listing(&response);
        let mut want_headers: Vec<(String, String)> = row
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        want_headers.sort_by(|a, b| a.0.cmp(&b.0));

        if let Decision::PreflightAllowed(p) = &decision {
            // `write` onto an empty response is the same answer as `apply`.
            let mut fresh = HeaderMap::new();
            p.write(&mut fresh);
            let mut upstream_stripped = header_map(&row.upstream);
            preflight_core::strip_cors_headers(&mut upstream_stripped);
            let mut expected_fresh = listing(&fresh);
            expected_fresh.extend(listing(&upstream_stripped));
            expected_fresh.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                expected_fresh, got_headers,
                "row {i}: write and apply differ"
            );
        }

        if (got_kind.as_str(), got_status, &got_headers) != (row.kind, row.status, &want_headers) {
            failures.push(format!(
                "row {i} [{}]\n  want {} {:?} {:?}\n  got  {} {:?} {:?}",
                row.pins, row.kind, row.status, want_headers, got_kind, got_status, got_headers
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert!(rows.len() >= 40, "{} rows", rows.len());
}

/// The refusal's payload names what was refused, for the debug body and log.
#[test]
fn refusals_name_what_was_refused() {
    use preflight_core::{HeaderListError, Refusal};
    let creds = policy(CREDS);
    let cases: Vec<(Vec<(&'static str, &'static str)>, Refusal)> = vec![
        (
            vec![(ORIGIN, APP), (ACRM, "patch")],
            Refusal::MethodNotAllowed("patch".into()),
        ),
        (
            vec![
                (ORIGIN, APP),
                (ACRM, "GET"),
                (ACRH, "content-type, X-Other"),
            ],
            Refusal::HeaderNotAllowed("x-other".into()),
        ),
        (
            vec![(ORIGIN, APP), (ACRM, "GET"), (ACRH, leak("a".repeat(5000)))],
            Refusal::RequestHeaders(HeaderListError::TooLong(5000)),
        ),
        (
            vec![(ORIGIN, APP), (ACRM, "GET"), (ACRH, "Authorization")],
            Refusal::HeaderNotAllowed("authorization".into()),
        ),
    ];
    for (request, want) in cases {
        let headers = header_map(&request);
        let method = Method::OPTIONS;
        let req = CorsRequest::new(&method, &headers);
        match creds.decide(&req, creds.methods()) {
            Decision::PreflightRefused(r) => {
                assert_eq!(r, want);
                assert!(!r.to_string().is_empty());
            }
            other => panic!("{request:?}: {other:?}"),
        }
    }
}
