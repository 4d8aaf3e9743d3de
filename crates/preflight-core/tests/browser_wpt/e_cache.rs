//! WPT cases, part E: the preflight cache, as sequences of requests on a clock.

use super::*;

pub(super) struct CacheRow {
    pub(super) id: &'static str,
    server: PreflightPy,
    request: BrowserRequest,
    /// (time, a different header value, preflight expected)
    steps: Vec<(Duration, Option<&'static str>, bool)>,
}

pub(super) fn cache_rows() -> Vec<CacheRow> {
    let ms = Duration::from_millis;
    let x_print = get(&url(R, "/cors/resources/preflight.py")).header("x-print", "1");
    vec![
        CacheRow {
            id: "E1",
            server: PreflightPy {
                allow_methods: Some("POST"),
                allow_headers: Some("x-test-header"),
                max_age: Some("12000"),
                ..Default::default()
            },
            request: req("POST", &url(R, "/preflight.py")).header("x-test-header", "test1"),
            steps: vec![(ms(0), None, true), (ms(100), Some("test2"), false)],
        },
        CacheRow {
            id: "E2",
            server: PreflightPy::default(),
            request: x_print.clone(),
            steps: vec![(ms(0), None, true), (ms(1000), None, false)],
        },
        CacheRow {
            id: "E3",
            server: PreflightPy {
                max_age: Some("0"),
                ..Default::default()
            },
            request: x_print.clone(),
            steps: vec![(ms(0), None, true), (ms(0), None, true)],
        },
        CacheRow {
            id: "E4",
            server: PreflightPy {
                max_age: Some("-1"),
                ..Default::default()
            },
            request: x_print.clone(),
            steps: vec![(ms(0), None, true), (ms(10), None, true)],
        },
        CacheRow {
            id: "E5",
            server: PreflightPy {
                max_age: Some("1"),
                ..Default::default()
            },
            request: x_print,
            steps: vec![
                (ms(0), None, true),
                (ms(500), None, false),
                (ms(1500), None, true),
            ],
        },
    ]
}

#[test]
fn wpt_cache_cases() {
    for profile in [Profile::Chromium, Profile::Spec] {
        for case in cache_rows() {
            let mut cache = PreflightCache::new(profile);
            for (i, (now, value, want_preflight)) in case.steps.iter().enumerate() {
                let mut request = case.request.clone();
                if let Some(v) = value {
                    for (_, hv) in request.headers.iter_mut() {
                        *hv = v.to_string();
                    }
                }
                let server = case.server.clone();
                let trace = simulate(&request, profile, &mut cache, *now, |r| server.respond(r));
                assert!(
                    trace.outcome.is_allowed(),
                    "{} step {i} ({profile}): {:?}",
                    case.id,
                    trace.outcome
                );
                assert_eq!(
                    trace.preflights() == 1,
                    *want_preflight,
                    "{} step {i} ({profile}): preflight sent = {}",
                    case.id,
                    trace.preflights()
                );
            }
        }
    }
}
