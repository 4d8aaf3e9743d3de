//! The layer through the real `Service::call`: scenario tables of request in,
//! answer out, each row citing the rule or docs/behaviour.md behaviour it pins.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use preflight_core::{CorsConfig, MethodSet, OnDisallowedOrigin, Refusal};
use preflight_tower::{CorsLayer, CorsOutcome};
use tower::{service_fn, Layer, Service, ServiceExt};

const APP: &str = "https://app.example.com";

fn config() -> CorsConfig {
    CorsConfig {
        allow_origins: Some(vec![APP.into(), "https://*.example.org".into()]),
        allow_headers: Some(vec!["content-type".into(), "authorization".into()]),
        expose_headers: Some(vec!["x-request-id".into()]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    }
}

/// An inner service that answers with `status` and writes its own CORS and
/// Vary headers, to check that the layer replaces and merges them. It counts
/// its calls so that tests can see a preflight never reaches it.
fn app(
    status: StatusCode,
    calls: Arc<AtomicUsize>,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
{
    service_fn(move |_req: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let res = Response::builder()
                .status(status)
                .header("access-control-allow-origin", "*")
                .header("access-control-allow-methods", "GET")
                .header("vary", "Accept-Encoding")
                .header("x-request-id", "42")
                .body(Full::new(Bytes::from_static(b"hello")))
                .unwrap();
            Ok::<_, Infallible>(res)
        }
    })
}

struct Row {
    name: &'static str,
    method: &'static str,
    headers: &'static [(&'static str, &'static str)],
    route: Option<&'static [&'static str]>,
    inner_status: StatusCode,
    status: StatusCode,
    /// Expected response headers: (name, every value in order). An empty list
    /// means the header must be absent.
    expect: &'static [(&'static str, &'static [&'static str])],
    reaches_inner: bool,
    outcome: CorsOutcome,
}

async fn run(layer: &CorsLayer, row: &Row) {
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = match row.route {
        Some(methods) => layer
            .clone()
            .with_methods(MethodSet::parse(methods).unwrap()),
        None => layer.clone(),
    };
    let svc = layer.layer(app(row.inner_status, calls.clone()));
    let mut req = Request::builder().method(row.method).uri("/api/users/1");
    for (k, v) in row.headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::new())).unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), row.status, "{}: status", row.name);
    check_headers(row.name, res.headers(), row.expect);
    assert_eq!(
        calls.load(Ordering::SeqCst) == 1,
        row.reaches_inner,
        "{}: inner service reached",
        row.name
    );
    assert_eq!(
        res.extensions().get::<CorsOutcome>(),
        Some(&row.outcome),
        "{}: outcome",
        row.name
    );
}

fn check_headers(name: &str, headers: &HeaderMap, expect: &[(&str, &[&str])]) {
    for (header, values) in expect {
        let got: Vec<&str> = headers
            .get_all(*header)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(&got, values, "{name}: header {header}");
    }
}

const PREFLIGHT_OK: CorsOutcome = CorsOutcome::Preflight {
    allowed: true,
    reason: None,
};

#[tokio::test]
async fn scenarios_with_credentials() {
    let layer = CorsLayer::from_config(&config()).unwrap();
    let rows = [
        Row {
            name: "cors-check, #preflight-success preflight allowed with credentials echoes the origin",
            method: "OPTIONS",
            headers: &[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type"),
            ],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::NO_CONTENT,
            expect: &[
                ("access-control-allow-origin", &[APP]),
                ("access-control-allow-credentials", &["true"]),
                (
                    "access-control-allow-methods",
                    &["GET, HEAD, POST, PUT, PATCH, DELETE"],
                ),
                ("access-control-allow-headers", &["content-type"]),
                ("access-control-max-age", &["600"]),
                (
                    "vary",
                    &["Origin, Access-Control-Request-Method, Access-Control-Request-Headers"],
                ),
            ],
            reaches_inner: false,
            outcome: PREFLIGHT_OK,
        },
        Row {
            name: "behaviour: route awareness: ACAM lists the route's methods",
            method: "OPTIONS",
            headers: &[("origin", APP), ("access-control-request-method", "DELETE")],
            route: Some(&["GET", "PUT", "DELETE"]),
            inner_status: StatusCode::OK,
            status: StatusCode::NO_CONTENT,
            expect: &[
                ("access-control-allow-methods", &["GET, PUT, DELETE"]),
                ("access-control-allow-headers", &[]),
            ],
            reaches_inner: false,
            outcome: PREFLIGHT_OK,
        },
        Row {
            name: "behaviour: route awareness: a method the route lacks is refused with 403",
            method: "OPTIONS",
            headers: &[("origin", APP), ("access-control-request-method", "POST")],
            route: Some(&["GET", "PUT", "DELETE"]),
            inner_status: StatusCode::OK,
            status: StatusCode::FORBIDDEN,
            expect: &[
                ("access-control-allow-origin", &[]),
                ("access-control-allow-methods", &[]),
            ],
            reaches_inner: false,
            outcome: CorsOutcome::Preflight {
                allowed: false,
                reason: Some(Refusal::MethodNotAllowed("POST".into())),
            },
        },
        Row {
            name: "method-allowed method names compare case-sensitively",
            method: "OPTIONS",
            headers: &[("origin", APP), ("access-control-request-method", "put")],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::FORBIDDEN,
            expect: &[("access-control-allow-origin", &[])],
            reaches_inner: false,
            outcome: CorsOutcome::Preflight {
                allowed: false,
                reason: Some(Refusal::MethodNotAllowed("put".into())),
            },
        },
        Row {
            name: "request-headers-allowed a header not allowed refuses the preflight",
            method: "OPTIONS",
            headers: &[
                ("origin", APP),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "content-type,x-secret"),
            ],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::FORBIDDEN,
            expect: &[("access-control-allow-headers", &[]), ("vary", &["Origin"])],
            reaches_inner: false,
            outcome: CorsOutcome::Preflight {
                allowed: false,
                reason: Some(Refusal::HeaderNotAllowed("x-secret".into())),
            },
        },
        Row {
            name: "tolerant ACRH: case, spaces and two lines, echoed lower case",
            method: "OPTIONS",
            headers: &[
                ("origin", "https://a.b.example.org"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", " Content-Type ,"),
                ("access-control-request-headers", "Authorization"),
            ],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::NO_CONTENT,
            expect: &[
                ("access-control-allow-origin", &["https://a.b.example.org"]),
                (
                    "access-control-allow-headers",
                    &["content-type,authorization"],
                ),
            ],
            reaches_inner: false,
            outcome: PREFLIGHT_OK,
        },
        Row {
            name: "preflight from a disallowed origin: 403, no CORS headers",
            method: "OPTIONS",
            headers: &[
                ("origin", "https://app.example.com.evil.com"),
                ("access-control-request-method", "GET"),
            ],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::FORBIDDEN,
            expect: &[
                ("access-control-allow-origin", &[]),
                ("access-control-allow-credentials", &[]),
            ],
            reaches_inner: false,
            outcome: CorsOutcome::Preflight {
                allowed: false,
                reason: Some(Refusal::OriginNotAllowed),
            },
        },
        Row {
            name:
                "behaviour: OPTIONS without ACRM is ordinary: 204 + Allow on a route without OPTIONS",
            method: "OPTIONS",
            headers: &[("origin", APP)],
            route: Some(&["GET", "PUT"]),
            inner_status: StatusCode::OK,
            status: StatusCode::NO_CONTENT,
            expect: &[
                ("allow", &["GET, PUT"]),
                ("access-control-allow-origin", &[APP]),
            ],
            reaches_inner: false,
            outcome: CorsOutcome::Actual {
                allowed: true,
                reason: None,
            },
        },
        Row {
            name: "behaviour: OPTIONS without ACRM goes to a route that has OPTIONS",
            method: "OPTIONS",
            headers: &[("origin", APP)],
            route: Some(&["GET", "OPTIONS"]),
            inner_status: StatusCode::OK,
            status: StatusCode::OK,
            expect: &[("access-control-allow-origin", &[APP])],
            reaches_inner: true,
            outcome: CorsOutcome::Actual {
                allowed: true,
                reason: None,
            },
        },
        Row {
            name: "exposed-headers, #vary-origin actual request: inner ACAO replaced, expose added, Vary merged",
            method: "GET",
            headers: &[("origin", APP)],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::OK,
            expect: &[
                ("access-control-allow-origin", &[APP]),
                ("access-control-allow-credentials", &["true"]),
                ("access-control-expose-headers", &["x-request-id"]),
                ("access-control-allow-methods", &[]),
                ("vary", &["Accept-Encoding", "Origin"]),
            ],
            reaches_inner: true,
            outcome: CorsOutcome::Actual {
                allowed: true,
                reason: None,
            },
        },
        Row {
            name: "actual-response-status CORS headers on every status, 500 included",
            method: "POST",
            headers: &[("origin", APP)],
            route: None,
            inner_status: StatusCode::INTERNAL_SERVER_ERROR,
            status: StatusCode::INTERNAL_SERVER_ERROR,
            expect: &[("access-control-allow-origin", &[APP])],
            reaches_inner: true,
            outcome: CorsOutcome::Actual {
                allowed: true,
                reason: None,
            },
        },
        Row {
            name: "disallowed origin forwarded without CORS headers (the inner `*` removed)",
            method: "GET",
            headers: &[("origin", "https://evil.com")],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::OK,
            expect: &[
                ("access-control-allow-origin", &[]),
                ("vary", &["Accept-Encoding", "Origin"]),
            ],
            reaches_inner: true,
            outcome: CorsOutcome::Actual {
                allowed: false,
                reason: Some(Refusal::OriginNotAllowed),
            },
        },
        Row {
            name: "vary-origin no Origin: not CORS, but the answer varies on Origin",
            method: "GET",
            headers: &[],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::OK,
            expect: &[
                ("access-control-allow-origin", &[]),
                ("vary", &["Accept-Encoding", "Origin"]),
            ],
            reaches_inner: true,
            outcome: CorsOutcome::NotCors,
        },
    ];
    for row in &rows {
        run(&layer, row).await;
    }
}

#[tokio::test]
async fn scenarios_wildcard_without_credentials() {
    let layer = CorsLayer::from_config(&CorsConfig {
        allow_origins: Some(vec!["*".into()]),
        allow_headers: Some(vec!["*".into()]),
        ..CorsConfig::default()
    })
    .unwrap();
    let rows = [
        Row {
            name: "cors-check, #vary-origin `*` without credentials: static ACAO, no Vary: Origin",
            method: "GET",
            headers: &[("origin", "https://anyone.test")],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::OK,
            expect: &[
                ("access-control-allow-origin", &["*"]),
                ("access-control-allow-credentials", &[]),
                ("vary", &["Accept-Encoding"]),
            ],
            reaches_inner: true,
            outcome: CorsOutcome::Actual {
                allowed: true,
                reason: None,
            },
        },
        Row {
            name: "request-headers-allowed `*` in allow_headers covers x-anything, echoed by name",
            method: "OPTIONS",
            headers: &[
                ("origin", "https://anyone.test"),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "x-anything"),
            ],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::NO_CONTENT,
            expect: &[
                ("access-control-allow-origin", &["*"]),
                ("access-control-allow-headers", &["x-anything"]),
                (
                    "vary",
                    &["Access-Control-Request-Method, Access-Control-Request-Headers"],
                ),
            ],
            reaches_inner: false,
            outcome: PREFLIGHT_OK,
        },
        Row {
            name: "authorization-must-be-listed `*` never covers Authorization",
            method: "OPTIONS",
            headers: &[
                ("origin", "https://anyone.test"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "authorization"),
            ],
            route: None,
            inner_status: StatusCode::OK,
            status: StatusCode::FORBIDDEN,
            expect: &[("access-control-allow-origin", &[])],
            reaches_inner: false,
            outcome: CorsOutcome::Preflight {
                allowed: false,
                reason: Some(Refusal::AuthorizationNotListed),
            },
        },
    ];
    for row in &rows {
        run(&layer, row).await;
    }
}

#[tokio::test]
async fn reject_mode_and_debug_body() {
    let layer = CorsLayer::from_config(&CorsConfig {
        on_disallowed_origin: Some(OnDisallowedOrigin::Reject),
        debug: Some(true),
        ..config()
    })
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = layer.layer(app(StatusCode::OK, calls.clone()));
    let req = Request::get("/")
        .header("origin", "https://evil.com")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a rejected request never reaches the app"
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        b"CORS request refused: the origin is not in allow_origins\n"
    );

    let req = Request::options("/")
        .header("origin", APP)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-secret")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        b"CORS preflight refused: the request header x-secret is not in allow_headers\n"
    );
}

#[tokio::test]
async fn disabled_route_refuses_preflights_and_strips_inner_cors() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = CorsLayer::disabled().layer(app(StatusCode::OK, calls.clone()));
    let req = Request::options("/")
        .header("origin", APP)
        .header("access-control-request-method", "GET")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.extensions().get::<CorsOutcome>(),
        Some(&CorsOutcome::Preflight {
            allowed: false,
            reason: Some(Refusal::CorsDisabled)
        })
    );
    let req = Request::get("/")
        .header("origin", APP)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_eq!(
        res.extensions().get::<CorsOutcome>(),
        Some(&CorsOutcome::Actual {
            allowed: false,
            reason: Some(Refusal::CorsDisabled)
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn invalid_configuration_is_an_error_not_a_panic() {
    let errors = CorsLayer::from_config(&CorsConfig {
        allow_origins: Some(vec!["*".into()]),
        allow_credentials: Some(true),
        ..CorsConfig::default()
    })
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "allow_origins");
}
