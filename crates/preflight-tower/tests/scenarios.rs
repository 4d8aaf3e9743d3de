//! The engine's scenario table (the test kit's `scenarios`) run
//! through the layer's real `Service::call`: the same rows, the same expected
//! statuses and headers, now as an application behind the layer sees them.
//!
//! One behaviour is the layer's own and shows as a difference from the engine's
//! row: an ordinary `OPTIONS` (no `Access-Control-Request-Method`) on a route
//! without `OPTIONS` is answered by the layer with `204` and `Allow` (docs/behaviour.md)
//! instead of reaching the application.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use preflight_core::{CorsConfig, MethodSet, Policy};
use preflight_test_kit::scenarios::{header_map, listing, rows};
use preflight_tower::CorsLayer;
use tower::{service_fn, Layer, ServiceExt};

/// A row's policy, from its `[cors]` table.
fn policy(toml_text: &str) -> Result<Policy, String> {
    let config: CorsConfig = toml::from_str(toml_text).expect("policy table parses");
    Policy::new(&config).map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn every_engine_scenario_through_service_call() {
    let rows = rows();
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let layer = match policy(row.policy) {
            Ok(p) => CorsLayer::new(p),
            Err(e) => {
                failures.push(format!("row {i} ({}): policy refused: {e}", row.pins));
                continue;
            }
        };
        let layer = match row.route {
            Some(methods) => layer.with_methods(MethodSet::parse(methods).expect("route methods")),
            None => layer,
        };
        let upstream = header_map(&row.upstream);
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = service_fn(move |_req: Request<Full<Bytes>>| {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut res = Response::new(Full::new(Bytes::from_static(b"app")));
            *res.headers_mut() = upstream.clone();
            async move { Ok::<_, Infallible>(res) }
        });
        let mut req = Request::builder().method(row.method).uri("/resource");
        for (k, v) in &row.request {
            req = req.header(*k, *v);
        }
        let res = layer
            .layer(app)
            .oneshot(req.body(Full::new(Bytes::new())).expect("request"))
            .await
            .expect("infallible");

        let ordinary_options = row.method == "OPTIONS"
            && !row
                .request
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("access-control-request-method"))
            && row.route.is_some_and(|m| !m.contains(&"OPTIONS"));
        let mut want_headers: Vec<(String, String)> = row
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want_status = if ordinary_options {
            let methods = MethodSet::parse(row.route.unwrap_or_default()).expect("route");
            want_headers.push((
                "allow".into(),
                String::from_utf8_lossy(methods.header_value().as_bytes()).into_owned(),
            ));
            want_headers.sort_by(|a, b| a.0.cmp(&b.0));
            StatusCode::NO_CONTENT
        } else {
            row.status
                .map(|s| StatusCode::from_u16(s).expect("status"))
                .unwrap_or(StatusCode::OK)
        };
        // The layer answers preflights and rejections itself; everything else
        // reaches the application.
        let want_inner = row.status.is_none() && !ordinary_options;
        let got_headers = listing(res.headers());
        let got_inner = calls.load(Ordering::SeqCst) == 1;
        if res.status() != want_status || got_headers != want_headers || got_inner != want_inner {
            failures.push(format!(
                "row {i} ({}): {} {:?}\n  status {} (want {want_status}), reached the app: {got_inner} (want {want_inner})\n  got  {got_headers:?}\n  want {want_headers:?}",
                row.pins, row.method, row.request, res.status()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
