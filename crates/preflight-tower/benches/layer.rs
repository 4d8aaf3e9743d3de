//! `Service::call` of preflight's layer against tower-http's `CorsLayer`,
//! configured as closely as it allows, in the same run, around a trivial inner
//! service. Request construction is set-up, outside the measured time.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use preflight_core::CorsConfig;
use tower::{service_fn, Layer, Service};

const APP: &str = "https://app.example.com";

/// Every future here is ready at once: poll it once with a no-op waker.
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the benchmark's services are synchronous"),
    }
}

fn inner() -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future: Send,
> + Clone {
    service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    })
}

fn preflight_layer() -> preflight_tower::CorsLayer {
    preflight_tower::CorsLayer::from_config(&CorsConfig {
        allow_origins: Some(vec![APP.into(), "https://admin.example.com".into()]),
        allow_methods: Some(vec![
            "GET".into(),
            "POST".into(),
            "PUT".into(),
            "DELETE".into(),
        ]),
        allow_headers: Some(vec!["content-type".into(), "authorization".into()]),
        expose_headers: Some(vec!["x-request-id".into()]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .expect("valid policy")
}

fn tower_http_layer() -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    CorsLayer::new()
        .allow_origin(AllowOrigin::list([
            HeaderValue::from_static(APP),
            HeaderValue::from_static("https://admin.example.com"),
        ]))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

fn preflight(origin: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/users/1")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Full::new(Bytes::new()))
        .expect("valid request")
}

fn actual() -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri("/api/users/1")
        .header(header::ORIGIN, APP)
        .body(Full::new(Bytes::new()))
        .expect("valid request")
}

type MakeRequest = fn() -> Request<Full<Bytes>>;

fn bench(c: &mut Criterion) {
    let cases: [(&str, MakeRequest); 3] = [
        ("allowed preflight", || preflight(APP)),
        ("refused preflight (origin)", || {
            preflight("https://evil.example.net")
        }),
        ("allowed actual request", actual),
    ];
    for (name, make) in cases {
        let mut group = c.benchmark_group(name);
        let mut ours = preflight_layer().layer(inner());
        group.bench_function("preflight-tower", |b| {
            b.iter_batched(make, |req| now(ours.call(req)), BatchSize::SmallInput)
        });
        let mut theirs = tower_http_layer().layer(inner());
        group.bench_function("tower-http", |b| {
            b.iter_batched(make, |req| now(theirs.call(req)), BatchSize::SmallInput)
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
