//! `CorsRequest::new` reads what `HeaderMap::get` and `get_all` return,
//! whatever the order, the number and the repetition of the request's
//! headers, for a preflight's `OPTIONS` (read by a walk over the first
//! headers) and for every other method (read by look-ups).

use http::header::{ACCEPT, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use preflight_core::CorsRequest;

const CHROMIUM: &[(&str, &str)] = &[
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

fn map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// `n` headers of no interest, each once.
fn filler(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("x-filler-{i}"), format!("{i}")))
        .collect()
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn assert_reads_as_lookups(what: &str, headers: &HeaderMap) {
    for method in [Method::OPTIONS, Method::GET, Method::POST] {
        let req = CorsRequest::new(&method, headers);
        assert_eq!(req.origin, headers.get(ORIGIN), "{what}, {method}: Origin");
        assert_eq!(
            req.request_method,
            headers.get(ACCESS_CONTROL_REQUEST_METHOD),
            "{what}, {method}: Access-Control-Request-Method"
        );
        let lines: Vec<_> = req.request_headers.iter().collect();
        let want: Vec<_> = headers
            .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .collect();
        assert_eq!(
            lines, want,
            "{what}, {method}: Access-Control-Request-Headers"
        );
        // The same value, not only equal bytes: the first one of the name.
        if let (Some(got), Some(first)) = (req.origin, headers.get(ORIGIN)) {
            assert!(
                std::ptr::eq(got, first),
                "{what}, {method}: the first Origin"
            );
        }
    }
}

#[test]
fn a_browser_preflight_in_its_order() {
    assert_reads_as_lookups("chromium", &map(CHROMIUM));
    let mut reversed = CHROMIUM.to_vec();
    reversed.reverse();
    assert_reads_as_lookups("reversed", &map(&reversed));
}

#[test]
fn origin_and_method_past_the_first_headers_are_found() {
    for before in [0, 5, 10, 11, 12, 13, 20, 40] {
        let mut headers = filler(before);
        headers.extend(owned(&[
            ("origin", "https://late.example"),
            ("access-control-request-method", "DELETE"),
        ]));
        assert_reads_as_lookups(&format!("{before} before"), &map(&borrowed(&headers)));
        // One early, the other late.
        let mut split = owned(&[("origin", "https://early.example")]);
        split.extend(filler(before));
        split.extend(owned(&[("access-control-request-method", "PATCH")]));
        assert_reads_as_lookups(&format!("{before} between"), &map(&borrowed(&split)));
    }
}

#[test]
fn missing_names_in_short_and_long_maps() {
    for n in [0, 1, 11, 12, 13, 30] {
        let headers = filler(n);
        assert_reads_as_lookups(&format!("{n} without either"), &map(&borrowed(&headers)));
        let mut only_origin = headers.clone();
        only_origin.push(("origin".into(), "https://app.example.com".into()));
        assert_reads_as_lookups(&format!("{n}, Origin only"), &map(&borrowed(&only_origin)));
        let mut only_method = owned(&[("access-control-request-method", "PUT")]);
        only_method.extend(headers);
        assert_reads_as_lookups(&format!("{n}, ACRM only"), &map(&borrowed(&only_method)));
    }
}

/// Repeated names: the first value of each, and values of another name
/// repeated before them (the walk counts values, not names).
#[test]
fn repeated_headers_give_their_first_value() {
    let mut headers = HeaderMap::new();
    for i in 0..8 {
        headers.append(ACCEPT, HeaderValue::from_str(&format!("type/{i}")).unwrap());
    }
    headers.append(ORIGIN, HeaderValue::from_static("https://first.example"));
    headers.append(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    headers.append(ORIGIN, HeaderValue::from_static("https://second.example"));
    headers.append(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("GET"),
    );
    headers.append(
        ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_static("x-a"),
    );
    headers.append(
        ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_static("x-b"),
    );
    assert_reads_as_lookups("repeated", &headers);
    let req = CorsRequest::new(&Method::OPTIONS, &headers);
    assert_eq!(req.origin.unwrap(), "https://first.example");
    assert_eq!(req.request_method.unwrap(), "PUT");
    assert!(req.is_preflight());

    // Few names, many values: the two come after the first values.
    let mut long = HeaderMap::new();
    for i in 0..20 {
        long.append(ACCEPT, HeaderValue::from_str(&format!("type/{i}")).unwrap());
    }
    long.append(ORIGIN, HeaderValue::from_static("https://app.example.com"));
    long.append(
        ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    assert_reads_as_lookups("after 20 values of one name", &long);
    assert!(CorsRequest::new(&Method::OPTIONS, &long).is_preflight());
}
