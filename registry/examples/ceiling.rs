//! The benchmark ceiling: trivial axum handlers for the same routes the registry benchmark
//! hits, built like the registry (axum 0.8, tokio multi-thread runtime, release profile).
//! Whatever the registry does beyond this is its own cost.
//!
//! Run: `cargo run --release -p charter-registry --example ceiling -- 127.0.0.1:18082`

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18082".into());
    // Answers of the same size as the registry's, for a small record schema.
    let schema = json!({
        "schema": "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}",
        "guid": "69644336-0f14-09f9-2247-41232f68c1d6",
        "schemaType": "AVRO"
    });
    let by_id = schema.clone();
    let app = Router::new()
        .route(
            "/schemas/ids/{id}",
            get(move || async move { Json(by_id.clone()) }),
        )
        .route(
            "/subjects/{subject}",
            post(|Json(body): Json<Value>| async move {
                Json(json!({"subject": "bench", "version": 1, "id": 1, "schema": body["schema"]}))
            }),
        );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
