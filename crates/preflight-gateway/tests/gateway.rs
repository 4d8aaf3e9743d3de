//! The gateway over real sockets: a test upstream on 127.0.0.1:0 and the
//! gateway in front of it.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    assert_eq!(up.seen.hits.load(Ordering::SeqCst), 0);
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
    assert_eq!(up.seen.hits.load(Ordering::SeqCst), 0);
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
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
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
async fn hop_by_hop_headers_are_removed_and_forwarded_headers_added() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = client();
    let (status, h, _) = send(
        &c,
        "GET",
        url(&g, "/api/hop"),
        &[
            ("connection", "x-client-hop"),
            ("x-client-hop", "1"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic x"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-kept", "yes"),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for name in ["x-secret-hop", "keep-alive", "proxy-authenticate"] {
        assert!(h.get(name).is_none(), "{name} leaked to the client");
    }
    let (_, _, seen) = up.seen.last.lock().unwrap().clone().unwrap();
    for name in ["x-client-hop", "te", "proxy-authorization"] {
        assert!(seen.get(name).is_none(), "{name} reached the upstream");
    }
    assert_eq!(seen["x-kept"], "yes");
    assert_eq!(seen["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(
        seen["x-forwarded-host"],
        g.local_addrs()[0].to_string().as_str()
    );
    g.shutdown().await;
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let up = upstream().await;
    let text = BASE.replace("body_limit = \"1MiB\"", "body_limit = \"100MiB\"");
    let g = gateway(&text, up.addr).await;
    let c = client();

    // Download: the first bytes arrive while the upstream still holds the rest.
    let req = http::Request::get(url(&g, "/api/stream"))
        .body(preflight_gateway::body::empty())
        .unwrap();
    let res = c.request(req).await.unwrap();
    let mut body = res.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.data_ref().unwrap().as_ref(), b"first");
    up.seen.release.notify_one();
    let mut total = 0usize;
    while let Some(f) = body.frame().await {
        total += f.unwrap().data_ref().map_or(0, |d| d.len());
    }
    assert_eq!(total, 50 << 20);

    // Upload: the upstream sees the first chunk before the client sends the rest.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(2);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
    let req = http::Request::post(url(&g, "/api/upload"))
        .body(preflight_gateway::body::boxed(StreamBody::new(stream)))
        .unwrap();
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.request(req).await }
    });
    tx.send(Ok(Frame::data(Bytes::from_static(b"start"))))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), up.seen.first_chunk.notified())
        .await
        .unwrap();
    let chunk = Bytes::from(vec![b'z'; 1 << 20]);
    for _ in 0..50 {
        tx.send(Ok(Frame::data(chunk.clone()))).await.unwrap();
    }
    drop(tx);
    let res = pending.await.unwrap().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(up.seen.body_bytes.load(Ordering::SeqCst), 5 + (50 << 20));
    g.shutdown().await;
}

#[tokio::test]
async fn openapi_import() {
    let up = upstream().await;
    let dir = temp_dir("openapi");
    std::fs::write(
        dir.join("api.yaml"),
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /users:\n    get: {}\n    post: {}\n  /users/{id}:\n    get: {}\n    delete: {}\n",
    )
    .unwrap();
    let text = "[server]\nlisten = \"127.0.0.1:0\"\n[cors]\nallow_origins = [\"https://app.example.com\"]\n[[openapi]]\nfile = \"api.yaml\"\nupstream = \"http://UP\"\nprefix = \"/v1\"\nstrip_prefix = \"/v1\"\n";
    let config = config(text, up.addr, Some(&dir));
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
    let dir = temp_dir("reload");
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
async fn graceful_shutdown_finishes_requests_in_flight() {
    let up = upstream().await;
    let text = BASE.replace("upstream_timeout = \"400ms\"", "upstream_timeout = \"5s\"");
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    let c = client();
    let slow = tokio::spawn({
        let c = c.clone();
        let u = format!("http://{addr}/api/slow");
        async move { send(&c, "GET", u, &[], None).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    g.shutdown().await;
    let (status, _, body) = slow.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "slow");
    assert!(started.elapsed() < Duration::from_secs(3));
    // No longer accepting.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn h2c_is_served() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = h2c_client();
    let req = http::Request::get(url(&g, "/api/h2"))
        .header("origin", APP)
        .body(preflight_gateway::body::empty())
        .unwrap();
    let res = c.request(req).await.unwrap();
    assert_eq!(res.version(), http::Version::HTTP_2);
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"GET /api/h2");
    g.shutdown().await;
}

#[tokio::test]
async fn upgrade_is_passed_through() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let mut s = tokio::net::TcpStream::connect(g.local_addrs()[0])
        .await
        .unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: https://app.example.com\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the 101");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com"),
        "{head}"
    );
    s.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echo, b"ping");
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
    assert!(!e.report.is_allowed());
    assert_eq!(e.report.preflight.status, Some(403));
    assert_eq!(
        e.report.reason.as_deref(),
        Some("PreflightMissingAllowOriginHeader")
    );
    assert_eq!(e.route.as_deref(), Some("/api/{*rest}"));
    assert_eq!(up.seen.hits.load(Ordering::SeqCst), 0);
    g.shutdown().await;
}

#[tokio::test]
async fn tls_with_alpn_h2_and_http1() {
    use hyper_rustls::HttpsConnectorBuilder;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use std::sync::Arc;

    let up = upstream().await;
    let dir = temp_dir("tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    let text = BASE.replace(
        "[server]\n",
        "[server]\ntls = { cert = \"cert.pem\", key = \"key.pem\" }\n",
    );
    let g = preflight_gateway::start(preflight_gateway::Gateway::new(config(
        &text,
        up.addr,
        Some(&dir),
    )))
    .await
    .unwrap();
    let port = g.local_addrs()[0].port();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    for (h2, version) in [
        (true, http::Version::HTTP_2),
        (false, http::Version::HTTP_11),
    ] {
        let b = HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_only();
        let connector = if h2 {
            b.enable_all_versions().build()
        } else {
            b.enable_http1().build()
        };
        let c: Client<_, preflight_gateway::body::GatewayBody> =
            Client::builder(TokioExecutor::new()).build(connector);
        let req = http::Request::get(format!("https://localhost:{port}/api/tls"))
            .header("origin", APP)
            .body(preflight_gateway::body::empty())
            .unwrap();
        let res = c.request(req).await.unwrap();
        assert_eq!(res.version(), version);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["access-control-allow-origin"], APP);
    }
    let (_, _, seen) = up.seen.last.lock().unwrap().clone().unwrap();
    assert_eq!(seen["x-forwarded-proto"], "https");
    g.shutdown().await;
}

/// Regression: an HTTP/1.0 upstream (Python's http.server) made the gateway
/// answer its client in HTTP/1.0.
#[tokio::test]
async fn an_http10_upstream_does_not_downgrade_the_client() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    let g = gateway(BASE, up).await;
    let mut s = tokio::net::TcpStream::connect(g.local_addrs()[0])
        .await
        .unwrap();
    s.write_all(b"GET /api/users/1 HTTP/1.1\r\nhost: x\r\norigin: https://app.example.com\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("access-control-allow-origin: https://app.example.com"),
        "{text}"
    );
    g.shutdown().await;
}

/// The connect timeout: an upstream whose accept queue is full never completes
/// the TCP handshake, so the gateway gives up after `connect_timeout` with a
/// 504 that still carries the CORS headers.
#[tokio::test]
async fn connect_timeout_is_a_504_with_cors_headers() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap(); // never accepts
    let up = listener.local_addr().unwrap();
    // Fill the accept queue so that further SYNs are dropped.
    let mut held = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(up),
        )
        .await
        {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    let g = gateway(BASE, up).await;
    let c = client();
    let started = std::time::Instant::now();
    let (status, h, body) =
        send(&c, "GET", url(&g, "/api/users/1"), &[("origin", APP)], None).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        body.contains("did not accept the connection in time"),
        "{body}"
    );
    assert_eq!(h["access-control-allow-origin"], APP);
    // connect_timeout is 300 ms in BASE; upstream_timeout (400 ms) must not be what fired.
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(held);
    drop(listener);
    g.shutdown().await;
}
