//! axum with tower-http's `CorsLayer`, configured like bench/preflight.toml:
//! one origin, credentials, `GET, PUT, DELETE`, `content-type, authorization`,
//! exposed `x-request-id`, max-age 600. Usage: `axum_cors 127.0.0.1:PORT`.
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, Method};
use tower_http::cors::CorsLayer;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18106".into());
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_static("https://app.example.com"))
        .allow_methods([Method::GET, Method::PUT, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([http::HeaderName::from_static("x-request-id")])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600));
    let app = Router::new()
        .route("/api/{*rest}", get(|| async { "{\"id\":1}" }))
        .layer(cors);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
