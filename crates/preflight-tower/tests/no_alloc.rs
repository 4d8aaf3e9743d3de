//! What the layer's allowed preflight allocates, counted with a counting
//! global allocator (this thread's allocations only, so that tests running
//! in parallel do not disturb each other).
//!
//! The decision allocates nothing (preflight-core's `tests/no_alloc.rs`).
//! The answer cannot be free of the heap while it is an `http::Response`:
//! its `HeaderMap` keeps its entries and their index in two heap blocks
//! (cloned from the route's prebuilt answer), and `http::Extensions`, where
//! the layer puts its `CorsOutcome` for the application, is a boxed map
//! (the box, the map's table, the boxed value). Those five are the whole
//! count; this test fails if another one joins them.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use preflight_core::CorsConfig;
use preflight_test_kit::alloc::{allocations, Counting};
use preflight_tower::{CorsLayer, CorsOutcome};
use tower::{service_fn, Layer, Service};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The layer's answer is ready at once: poll it once with a no-op waker.
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a preflight answer is ready at once"),
    }
}

fn layer(credentials: bool, origins: &[&str]) -> CorsLayer {
    CorsLayer::from_config(&CorsConfig {
        allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
        allow_methods: Some(vec!["GET".into(), "PUT".into(), "DELETE".into()]),
        allow_headers: Some(vec!["content-type".into(), "authorization".into()]),
        allow_credentials: Some(credentials),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .expect("valid policy")
}

fn preflight(origin: &'static str, acrh: Option<&'static str>) -> Request<()> {
    let mut req = Request::new(());
    *req.method_mut() = Method::OPTIONS;
    let h = req.headers_mut();
    h.insert(header::ORIGIN, HeaderValue::from_static(origin));
    h.insert(
        header::ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    if let Some(line) = acrh {
        h.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static(line),
        );
    }
    req
}

/// The heap blocks of the answer: the header map's two, the extensions' three.
const ANSWER_BLOCKS: usize = 5;

#[test]
fn the_allowed_preflight_allocates_only_its_response() {
    let cases = [
        (
            layer(true, &["https://app.example.com"]),
            "https://app.example.com",
            Some("content-type"),
        ),
        (
            layer(true, &["https://*.example.com"]),
            "https://a.example.com",
            Some("authorization,content-type"),
        ),
        (layer(false, &["*"]), "https://anyone.test", None),
    ];
    for (layer, origin, acrh) in cases {
        let mut svc = layer.layer(service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::from("the inner service")))
        }));
        // Warm: the first answer promotes the prebuilt values to shared ones.
        drop(now(svc.call(preflight(origin, acrh))));
        let req = preflight(origin, acrh);
        let (n, res) = allocations(|| now(svc.call(req)).expect("infallible"));
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{origin}");
        assert_eq!(
            res.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(&HeaderValue::from_static(
                if origin == "https://anyone.test" {
                    "*"
                } else {
                    origin
                }
            )),
        );
        assert!(matches!(
            res.extensions().get::<CorsOutcome>(),
            Some(CorsOutcome::Preflight { allowed: true, .. })
        ));
        println!("figure: {origin} {acrh:?}: {n} allocations");
        assert_eq!(n, ANSWER_BLOCKS, "{origin} {acrh:?}");
        let (freed, ()) = allocations(|| drop(res));
        assert_eq!(freed, 0);
    }
}
