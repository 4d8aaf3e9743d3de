//! The gateway over real sockets, as a CORS server: a test upstream (the test
//! kit's server) and the gateway in front of it; preflights, actual requests,
//! route overrides, errors, OpenAPI routes, reloads, the admin endpoints.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::StreamBody;
use hyper::body::Frame;
use preflight_test_kit::cli::free_port;

const APP: &str = "https://app.example.com";

#[tokio::test]
async fn preflight_allowed_never_reaches_the_upstream() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    let (status, h, _) = send(
        &c,
        "OPTIONS",
        url(&g, "/api/users/1"),
        &[
            ("origin", APP),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "Content-Type"),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h["access-control-allow-origin"], APP);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-allow-methods"], "GET, POST, PUT, DELETE");
    assert_eq!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase(),
        "content-type"
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert!(vary(&h).contains(&"origin".to_string()));
    assert_eq!(up.hits(), 0);
    g.shutdown().await;
}

#[tokio::test]
async fn preflight_refusals_are_403_without_cors_headers() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    let cases: [(&str, &str, &str, &str); 5] = [
        ("/api/x", "https://evil.example.net", "GET", ""),
        ("/api/x", APP, "PATCH", ""),
        ("/api/x", APP, "PUT", "x-secret"),
        ("/public/x", APP, "POST", ""),
        ("/internal/x", APP, "POST", ""),
    ];
    for (path, origin, method, headers) in cases {
        let mut hs = vec![
            ("origin", origin),
            ("access-control-request-method", method),
        ];
        if !headers.is_empty() {
            hs.push(("access-control-request-headers", headers));
        }
        let (status, h, _) = send(&c, "OPTIONS", url(&g, path), &hs, None).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{path} {origin} {method} {headers}"
        );
        assert!(h.get("access-control-allow-origin").is_none());
    }
    assert_eq!(up.hits(), 0);
    // The refusals are counted and listed.
    let refused = g.gateway().metrics().recent_refusals();
    assert_eq!(refused.len(), 5);
    assert_eq!(refused[4].code, "origin_not_allowed");
    assert_eq!(refused[0].code, "cors_disabled");
    g.shutdown().await;
}

#[tokio::test]
async fn actual_requests_get_cors_headers_and_upstream_ones_are_replaced() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    let (status, h, body) = send(&c, "GET", url(&g, "/api/cors"), &[("origin", APP)], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "own cors");
    let acao: Vec<_> = h.get_all("access-control-allow-origin").iter().collect();
    assert_eq!(acao, [APP]);
    assert_eq!(h["access-control-expose-headers"], "x-request-id");
    let v = vary(&h);
    assert!(
        v.contains(&"origin".into()) && v.contains(&"accept-encoding".into()),
        "{v:?}"
    );
    assert_eq!(v.iter().filter(|x| *x == "origin").count(), 1);

    // A disallowed origin is forwarded without CORS headers (the default).
    let (status, h, _) = send(
        &c,
        "GET",
        url(&g, "/api/cors"),
        &[("origin", "https://evil.example.net")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get("access-control-allow-origin").is_none());
    assert!(h.get("access-control-allow-credentials").is_none());

    // Port patterns.
    let (_, h, _) = send(
        &c,
        "GET",
        url(&g, "/api/x"),
        &[("origin", "http://localhost:5173")],
        None,
    )
    .await;
    assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
    g.shutdown().await;
}

#[tokio::test]
async fn route_overrides_and_disabled_cors() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    // /public: `*` without credentials, strip_prefix.
    let (status, h, body) = send(
        &c,
        "GET",
        url(&g, "/public/a?q=1"),
        &[("origin", "https://anyone.example.org")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h.get("access-control-allow-credentials").is_none());
    assert_eq!(body, "GET /a?q=1");

    // /strict: reject disallowed origins, upstream path prefix.
    let (status, h, body) = send(
        &c,
        "GET",
        url(&g, "/strict/b"),
        &[("origin", "https://evil.example.net")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(h.get("access-control-allow-origin").is_none());
    assert!(body.contains("not in allow_origins"), "{body}");
    let (status, _, body) = send(&c, "GET", url(&g, "/strict/b"), &[("origin", APP)], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "GET /base/b");

    // cors = false: forwarded, upstream's CORS headers removed.
    let (status, h, _) = send(
        &c,
        "GET",
        url(&g, "/internal/cors"),
        &[("origin", APP)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get("access-control-allow-origin").is_none());
    g.shutdown().await;
}

#[tokio::test]
async fn gateway_errors_carry_cors_headers() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    // 404 (default policy).
    let (status, h, body) = send(&c, "GET", url(&g, "/nowhere"), &[("origin", APP)], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(h["access-control-allow-origin"], APP);
    assert!(body.contains("no route"));
    // 405 with Allow.
    let (status, h, _) = send(&c, "PATCH", url(&g, "/api/x"), &[("origin", APP)], None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(h["allow"], "GET, POST, PUT, DELETE");
    assert_eq!(h["access-control-allow-origin"], APP);
    // An ordinary OPTIONS: 204 with Allow.
    let (status, h, _) = send(&c, "OPTIONS", url(&g, "/api/x"), &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h["allow"], "GET, POST, PUT, DELETE");
    // 413 by Content-Length.
    let big: &'static str = Box::leak("x".repeat(2 << 20).into_boxed_str());
    let (status, h, _) = send(
        &c,
        "POST",
        url(&g, "/api/upload"),
        &[("origin", APP)],
        Some(big),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h["access-control-allow-origin"], APP);
    // 504: the upstream is slower than upstream_timeout.
    let (status, h, _) = send(&c, "GET", url(&g, "/api/slow"), &[("origin", APP)], None).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(h["access-control-allow-origin"], APP);
    g.shutdown().await;

    // 502: nothing listens on the upstream's port.
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let g = gateway(BASE, closed).await;
    let (status, h, _) = send(&c, "GET", url(&g, "/api/x"), &[("origin", APP)], None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(h["access-control-allow-origin"], APP);
    g.shutdown().await;
}

#[tokio::test]
async fn body_limit_applies_while_streaming() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    // A chunked body (no Content-Length) larger than 1 MiB.
    let stream = futures_util::stream::iter((0..40).map(|_| {
        Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![b'y'; 64 * 1024])))
    }));
    let req = http::Request::post(url(&g, "/api/upload"))
        .header("origin", APP)
        .body(preflight_gateway::body::boxed(StreamBody::new(stream)))
        .unwrap();
    let res = c.request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    g.shutdown().await;
}

#[tokio::test]
async fn openapi_import() {
    let up = upstream().await;
    let dir = TempDir::new("gw-openapi");
    std::fs::write(
        dir.join("api.yaml"),
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /users:\n    get: {}\n    post: {}\n  /users/{id}:\n    get: {}\n    delete: {}\n",
    )
    .unwrap();
    let text = "[server]\nlisten = \"127.0.0.1:0\"\n[cors]\nallow_origins = [\"https://app.example.com\"]\n[[openapi]]\nfile = \"api.yaml\"\nupstream = \"http://UP\"\nprefix = \"/v1\"\nstrip_prefix = \"/v1\"\n";
    let config = config(text, up.addr, Some(dir.path()));
    assert_eq!(config.routes.len(), 2);
    let g = preflight_gateway::start(preflight_gateway::Gateway::new(config))
        .await
        .unwrap();
    let c = client();
    let (status, h, _) = send(
        &c,
        "OPTIONS",
        url(&g, "/v1/users/7"),
        &[("origin", APP), ("access-control-request-method", "DELETE")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h["access-control-allow-methods"], "GET, DELETE");
    let (status, _, _) = send(
        &c,
        "OPTIONS",
        url(&g, "/v1/users/7"),
        &[("origin", APP), ("access-control-request-method", "PUT")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = send(
        &c,
        "DELETE",
        url(&g, "/v1/users/7"),
        &[("origin", APP)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "DELETE /users/7");
    g.shutdown().await;
}

#[tokio::test]
async fn reload_good_and_bad() {
    let up = upstream().await;
    let dir = TempDir::new("gw-reload");
    let file = dir.join("preflight.toml");
    let v1 = "[server]\nlisten = \"127.0.0.1:0\"\n[cors]\nallow_origins = [\"https://app.example.com\"]\n[[routes]]\npath = \"/one\"\nmethods = [\"GET\"]\nupstream = \"http://UP\"\n".replace("UP", &up.addr.to_string());
    std::fs::write(&file, &v1).unwrap();
    let config = preflight_gateway::Config::load(&file).unwrap();
    let g = preflight_gateway::start(preflight_gateway::Gateway::new(config))
        .await
        .unwrap();
    let c = client();
    assert_eq!(
        send(&c, "GET", url(&g, "/two"), &[], None).await.0,
        StatusCode::NOT_FOUND
    );

    std::fs::write(&file, v1.replace("/one", "/two")).unwrap();
    g.gateway().reload().unwrap();
    assert_eq!(
        send(&c, "GET", url(&g, "/two"), &[], None).await.0,
        StatusCode::OK
    );

    // A bad file: the running configuration stays, and the reason is kept.
    std::fs::write(
        &file,
        v1.replace("https://app.example.com", "https://*.github.io"),
    )
    .unwrap();
    let err = g.gateway().reload().unwrap_err();
    assert!(err.to_string().contains("allow_origins[0]"), "{err}");
    assert_eq!(
        send(&c, "GET", url(&g, "/two"), &[], None).await.0,
        StatusCode::OK
    );
    let status = g.gateway().metrics().last_reload().unwrap();
    assert!(
        !status.ok && status.message.contains("public suffix"),
        "{}",
        status.message
    );
    assert!(g
        .gateway()
        .metrics()
        .encode()
        .contains("preflight_reloads_total{result=\"failed\"} 1"));

    // The file watcher reloads on change.
    let _watch = preflight_gateway::reload::spawn(g.gateway().clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::write(&file, v1.replace("/one", "/three")).unwrap();
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if send(&c, "GET", url(&g, "/three"), &[], None).await.0 == StatusCode::OK {
            ok = true;
            break;
        }
    }
    assert!(ok, "the file change was not picked up");
    g.shutdown().await;
}

#[tokio::test]
async fn admin_endpoints_and_explain() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let admin = g.admin_addr().unwrap();
    let c = client();
    let _ = send(
        &c,
        "OPTIONS",
        url(&g, "/api/x"),
        &[
            ("origin", "https://evil.example.net"),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .await;
    let (status, _, body) = send(&c, "GET", format!("http://{admin}/healthz"), &[], None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let (status, _, _) = send(&c, "GET", format!("http://{admin}/readyz"), &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, metrics) = send(&c, "GET", format!("http://{admin}/metrics"), &[], None).await;
    assert!(metrics.contains("preflight_preflights_total{route=\"/api/{*rest}\",verdict=\"refused\",reason=\"origin_not_allowed\"} 1"), "{metrics}");
    let (_, _, page) = send(&c, "GET", format!("http://{admin}/"), &[], None).await;
    assert!(page.contains("/internal/{*rest}") && page.contains("origin_not_allowed"));
    // The dashboard's live counters.
    let (status, _, counters) =
        send(&c, "GET", format!("http://{admin}/counters"), &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let counters: serde_json::Value = serde_json::from_str(&counters).unwrap();
    assert_eq!(
        (counters["refused"].as_u64(), counters["recent"].as_u64()),
        (Some(1), Some(1)),
        "{counters}"
    );
    let (_, _, page) = send(
        &c,
        "GET",
        format!("http://{admin}/?path=%2Fapi%2Fx&origin=https%3A%2F%2Fapp.example.com&method=PUT&headers=content-type&credentials=on"),
        &[],
        None,
    )
    .await;
    assert!(
        page.contains("the preflight allows this request")
            || page.contains("script can read the response"),
        "{page}"
    );
    assert!(page.contains("class=ok"), "{page}");
    let e = g
        .gateway()
        .explain(&preflight_gateway::admin::ExplainQuery {
            path: "/api/x".into(),
            origin: APP.into(),
            method: "PUT".into(),
            headers: vec![("x-secret".into(), "1".into())],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!e.trace.outcome.is_allowed());
    let preflight = e
        .trace
        .exchanges
        .iter()
        .find(|x| x.request.kind == preflight_core::browser::ExchangeKind::Preflight)
        .and_then(|x| x.response.as_ref());
    assert_eq!(preflight.map(|r| r.status), Some(403));
    assert_eq!(
        e.trace.outcome.blocked().map(|b| b.name()),
        Some("PreflightMissingAllowOriginHeader")
    );
    assert_eq!(e.route.as_deref(), Some("/api/{*rest}"));
    assert_eq!(up.hits(), 0);
    g.shutdown().await;
}
