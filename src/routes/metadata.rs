use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiError;

/// `GET /metadata`: version, description and last commit SHA.
pub async fn metadata(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let metadata = state
        .metadata
        .get()
        .await
        .map_err(|error| ApiError::MetadataUnavailable(error.0))?;
    Ok(Json(json!({ "myapplication": [metadata] })))
}
