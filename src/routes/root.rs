use axum::Json;
use serde_json::{Value, json};

/// `GET /`
pub async fn root() -> Json<Value> {
    Json(json!({ "message": "Hello, World!" }))
}
