//! The ceiling: a bare hyper HTTP/1.1 server that answers every request with
//! a fixed 204 carrying the same CORS headers as the gateway's preflight
//! answer, without reading them. Usage: `hyper204 127.0.0.1:PORT`.
use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

async fn answer(_req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let mut res = Response::new(Empty::new());
    *res.status_mut() = StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    let set = |h: &mut http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, http::HeaderValue::from_static(v));
    };
    set(h, "access-control-allow-origin", "https://app.example.com");
    set(h, "access-control-allow-credentials", "true");
    set(h, "access-control-allow-methods", "GET, PUT, DELETE");
    set(h, "access-control-allow-headers", "content-type, authorization");
    set(h, "access-control-max-age", "600");
    set(h, "vary", "Origin");
    Ok(res)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18107".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
