//! An axum API with preflight's CORS layer, per route.
//!
//! Run it:   cargo run -p preflight-tower --example axum            (listens on 127.0.0.1:3000)
//! Try it:   cargo run --release -- check http://127.0.0.1:3000/api/todos \
//!               --origin http://127.0.0.1:8081 -X POST -H 'content-type: application/json'
//!
//! The default policy allows one origin with credentials; `/api/todos` has GET
//! and POST, `/api/todos/{id}` has GET, PUT and DELETE, so a preflight asking
//! for DELETE on `/api/todos` is refused (403), as it should be.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use preflight_core::{CorsConfig, MethodSet};
use preflight_tower::CorsLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());

    // Validated once, here: an insecure or malformed policy is an error now,
    // never a panic later.
    let cors = CorsLayer::from_config(&CorsConfig {
        allow_origins: Some(vec![
            "http://127.0.0.1:8081".into(),
            "http://localhost:*".into(),
        ]),
        allow_headers: Some(vec!["content-type".into()]),
        expose_headers: Some(vec!["x-request-id".into()]),
        allow_credentials: Some(true),
        max_age: Some(600),
        ..CorsConfig::default()
    })
    .map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        lines.join("\n")
    })?;

    let app = Router::new()
        .route(
            "/api/todos",
            get(list).post(create).layer(
                cors.clone()
                    .with_methods(MethodSet::parse(&["GET", "POST"])?),
            ),
        )
        .route(
            "/api/todos/{id}",
            get(show)
                .put(show)
                .delete(remove)
                .layer(cors.with_methods(MethodSet::parse(&["GET", "PUT", "DELETE"])?)),
        );

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "axum API with preflight CORS on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

async fn list() -> Json<serde_json::Value> {
    Json(serde_json::json!([{"id": 1, "title": "try preflight"}]))
}

async fn create(Json(todo): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(todo)
}

async fn show(Path(id): Path<u64>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"id": id, "title": "try preflight"}))
}

async fn remove(Path(_id): Path<u64>) -> http::StatusCode {
    http::StatusCode::NO_CONTENT
}
