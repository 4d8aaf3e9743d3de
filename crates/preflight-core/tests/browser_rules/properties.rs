//! Property tests: docs/browser-model.md#unsafe-request-header-names's output is always sorted, lower case and
//! de-duplicated, and a whole fetch never panics.

use super::*;
use proptest::prelude::*;

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Accept".to_string()),
        Just("accept-language".to_string()),
        Just("Content-Language".to_string()),
        Just("content-type".to_string()),
        Just("Range".to_string()),
        Just("DPR".to_string()),
        Just("Save-Data".to_string()),
        "[A-Za-z][A-Za-z0-9-]{0,12}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}",
        "[ -~]{0,140}",
        "(text|multipart|application)/(plain|form-data|x-www-form-urlencoded|json)(;[ a-z=\"]{0,20}){0,3}",
        "bytes=[0-9]{0,25}-[0-9]{0,25}",
    ]
}

proptest! {
    #[test]
    fn r05_output_is_sorted_lower_case_unique(headers in proptest::collection::vec((header_name(), header_value()), 0..24)) {
        for profile in [Profile::Chromium, Profile::Spec] {
            let names = cors_unsafe_request_header_names(&headers, profile);
            for w in names.windows(2) {
                prop_assert!(w[0] < w[1], "not strictly sorted: {:?}", names);
            }
            for n in &names {
                prop_assert_eq!(n.to_ascii_lowercase(), n.clone());
                prop_assert!(headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)));
            }
        }
    }

    #[test]
    fn the_whole_fetch_never_panics(
        method in "[A-Za-z*]{1,8}",
        headers in proptest::collection::vec((header_name(), header_value()), 0..6),
        responses in proptest::collection::vec((100u16..1000, proptest::collection::vec((header_name(), header_value()), 0..5)), 1..4),
        acao in prop_oneof![Just(APP.to_string()), Just("*".to_string()), Just("null".to_string()), "\\PC{0,30}"],
        creds in prop_oneof![Just(CredentialsMode::Omit), Just(CredentialsMode::SameOrigin), Just(CredentialsMode::Include)],
        location in prop_oneof![Just("/next".to_string()), Just("https://u:p@app.example/".to_string()), "\\PC{0,30}"],
    ) {
        let mut req = request(&method, &api("/x")).credentials(creds);
        req.headers = headers;
        for profile in [Profile::Chromium, Profile::Spec] {
            let mut cache = PreflightCache::new(profile);
            let mut i = 0;
            let trace = simulate(&req, profile, &mut cache, Duration::ZERO, |_| {
                let (status, extra) = &responses[i % responses.len()];
                i += 1;
                let mut headers = extra.clone();
                headers.push(("Access-Control-Allow-Origin".into(), acao.clone()));
                headers.push(("Location".into(), location.clone()));
                ServerResponse { status: *status, headers }
            });
            prop_assert!(trace.exchanges.len() <= 2 * 21 + 2);
            if let FetchOutcome::Blocked(b) = &trace.outcome {
                prop_assert!(!b.message.is_empty());
            }
        }
    }
}
