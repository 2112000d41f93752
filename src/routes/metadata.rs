use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::params::Params;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /metadata`: version, description and last commit SHA.
pub async fn metadata(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let metadata = state
        .metadata
        .get()
        .await
        .map_err(|error| ApiError::MetadataUnavailable(error.0))?;
    Ok(Json(json!({ "myapplication": [metadata] })))
}
