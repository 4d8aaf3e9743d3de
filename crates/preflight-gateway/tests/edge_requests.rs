//! The gateway at the edge, over real sockets: paths normalized before
//! routing, request targets and `Host`, forwarding headers, and what an
//! HTTP/2 request becomes on the HTTP/1.1 hop (RELIABILITY.md, "Requests at
//! the edge").

mod common;

use common::*;
use http::StatusCode;
use preflight_test_kit::raw;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example.net";

/// The raw client's request on a blocking thread (it blocks on its socket).
async fn raw_request(
    addr: std::net::SocketAddr,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
) -> raw::Response {
    tokio::task::spawn_blocking(move || raw::request(addr, method, path, headers))
        .await
        .unwrap()
        .unwrap()
}

/// Hand-made bytes on a blocking thread, the answer parsed.
async fn raw_exchange(addr: std::net::SocketAddr, bytes: String) -> raw::Response {
    tokio::task::spawn_blocking(move || {
        raw::Response::parse(&raw::exchange(addr, bytes.as_bytes()).unwrap()).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn dot_segments_are_removed_before_routing_and_forwarding() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    // Each of these names /internal/secret (a `cors = false` route) through
    // the public route's prefix.
    for path in [
        "/public/../internal/secret",
        "/public/%2e%2e/internal/secret",
        "/public/%2E%2E/%2e%2e/internal/secret",
        "/public/./x/../../internal/secret",
        "//public//..//internal//secret",
    ] {
        let res = raw_request(addr, "GET", path, &[("origin", EVIL)]).await;
        assert_eq!(res.status, 200, "{path}: {res:?}");
        assert_eq!(
            res.header("access-control-allow-origin"),
            None,
            "{path} was answered with the public route's CORS headers"
        );
        assert_eq!(res.body, "GET /internal/secret", "{path}");
    }
    // Repeated slashes are merged and the route still matches.
    let res = raw_request(addr, "GET", "//api//users///1?x=1", &[]).await;
    assert_eq!(
        (res.status, res.body.as_str()),
        (200, "GET /api/users/1?x=1")
    );
    // The route's methods are those of the normalized path's route.
    let hits = up.hits();
    let res = raw_request(addr, "DELETE", "/api/../internal/secret", &[]).await;
    assert_eq!(res.status, 405, "{res:?}");
    assert_eq!(up.hits(), hits, "the DELETE reached the upstream");
    g.shutdown().await;
}

#[tokio::test]
async fn encoded_slashes_are_refused_unless_the_route_allows_them() {
    let up = upstream().await;
    let text = format!(
        "{BASE}\n[[routes]]\npath = \"/files/{{*rest}}\"\nmethods = [\"GET\"]\nupstream = \"http://UP\"\nallow_encoded_slashes = true\n"
    );
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    for path in [
        "/api/users/..%2f..%2finternal%2fsecret",
        "/api/users/..%2F..%2Finternal%2Fsecret",
        "/api/users/..%5c..%5cinternal%5csecret",
    ] {
        let hits = up.hits();
        let res = raw_request(addr, "DELETE", path, &[("origin", APP)]).await;
        assert_eq!(res.status, 400, "{path}: {res:?}");
        assert_eq!(up.hits(), hits, "{path} reached the upstream");
        // The gateway's own error carries the CORS headers for an allowed origin.
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some(APP),
            "{res:?}"
        );
        assert!(res.body.contains("encoded"), "{}", res.body);
    }
    let res = raw_request(addr, "GET", "/files/a%2Fb", &[]).await;
    assert_eq!((res.status, res.body.as_str()), (200, "GET /files/a%2Fb"));
    g.shutdown().await;
}

#[tokio::test]
async fn absolute_form_to_another_host_and_missing_host_are_400() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    let res = raw_exchange(
        addr,
        format!("GET http://evil.example.net/api/x HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    // The same authority as Host is an ordinary request (RFC 9112 §3.2.2).
    let res = raw_exchange(
        addr,
        format!("GET http://{addr}/api/x HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!((res.status, res.body.as_str()), (200, "GET /api/x"));
    assert_eq!(up.hits(), 1);
    // RFC 9112 §3.2: an HTTP/1.1 request without Host gets 400.
    let res = raw_exchange(
        addr,
        "GET /api/x HTTP/1.1\r\nx-forwarded-host: evil.example.net\r\nconnection: close\r\n\r\n"
            .into(),
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    assert_eq!(up.hits(), 1, "a request without Host reached the upstream");
    // HTTP/1.0 has no Host requirement.
    let res = raw_exchange(addr, "GET /api/x HTTP/1.0\r\n\r\n".into()).await;
    assert_eq!(res.status, 200, "{res:?}");
    g.shutdown().await;
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_replaced() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let addr = g.local_addrs()[0];
    let res = raw_request(
        addr,
        "GET",
        "/api/x",
        &[
            ("forwarded", "for=1.2.3.4;host=evil.example.net"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-host", "evil.example.net"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-prefix", "/admin"),
            ("x-real-ip", "1.2.3.4"),
            ("x-original-url", "/internal/secret"),
            ("x-rewrite-url", "/internal/secret"),
        ],
    )
    .await;
    assert_eq!(res.status, 200);
    let seen = up.last_headers();
    for name in [
        "forwarded",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-real-ip",
        "x-original-url",
        "x-rewrite-url",
    ] {
        assert!(
            seen.get(name).is_none(),
            "{name} reached the upstream: {seen:?}"
        );
    }
    assert_eq!(seen.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-host"], addr.to_string().as_str());
    g.shutdown().await;
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_are_appended() {
    let up = upstream().await;
    let text = BASE.replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1/32\"]\n",
    );
    let g = gateway(&text, up.addr).await;
    let addr = g.local_addrs()[0];
    let res = raw_request(
        addr,
        "GET",
        "/api/x",
        &[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
            ("x-real-ip", "203.0.113.7"),
        ],
    )
    .await;
    assert_eq!(res.status, 200);
    let seen = up.last_headers();
    assert_eq!(seen["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(seen["x-forwarded-host"], "api.example.com");
    assert_eq!(seen["x-real-ip"], "203.0.113.7");
    g.shutdown().await;
}

#[tokio::test]
async fn h2_cookie_fields_are_joined_for_the_http1_upstream() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = h2c_client();
    let (status, _, _) = send(
        &c,
        "GET",
        url(&g, "/api/x"),
        &[("cookie", "a=1"), ("cookie", "b=2")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = up.last_headers();
    let cookies: Vec<_> = seen.get_all("cookie").iter().collect();
    assert_eq!(cookies, ["a=1; b=2"], "RFC 9113 §8.2.3: one cookie line");
    g.shutdown().await;
}

#[tokio::test]
async fn more_than_one_origin_is_a_disallowed_origin() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let c = h2c_client();
    // Two Origin fields over h2: the first would be allowed.
    let (status, h, _) = send(
        &c,
        "GET",
        url(&g, "/api/x"),
        &[("origin", APP), ("origin", EVIL)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");
    assert_eq!(up.last_headers().get_all("origin").iter().count(), 1);
    // Two lines over HTTP/1.1, and a list in one line.
    let addr = g.local_addrs()[0];
    let res = raw_request(addr, "GET", "/api/x", &[("origin", APP), ("origin", EVIL)]).await;
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    assert_eq!(up.last_headers().get_all("origin").iter().count(), 1);
    const LIST: &[(&str, &str)] = &[("origin", "https://app.example.com https://evil.example.net")];
    let res = raw_request(addr, "GET", "/api/x", LIST).await;
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    // A preflight with two origins is refused.
    let hits = up.hits();
    let res = raw_request(
        addr,
        "OPTIONS",
        "/api/x",
        &[
            ("origin", APP),
            ("origin", EVIL),
            ("access-control-request-method", "PUT"),
        ],
    )
    .await;
    assert_eq!(res.status, 403, "{res:?}");
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(up.hits(), hits);
    g.shutdown().await;
}

#[tokio::test]
async fn explain_names_the_route_of_the_normalized_path() {
    let up = upstream().await;
    let g = gateway(BASE, up.addr).await;
    let e = g
        .gateway()
        .explain(&preflight_gateway::admin::ExplainQuery {
            path: "/public/%2e%2e/internal/secret".into(),
            origin: APP.into(),
            method: "GET".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(e.route.as_deref(), Some("/internal/{*rest}"));
    assert!(!e.trace.outcome.is_allowed(), "a cors = false route");
    g.shutdown().await;
}
