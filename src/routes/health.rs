use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::params::Params;
use crate::error::ApiError;
use crate::metadata::BUILD_VERSION;
use crate::state::AppState;

/// `GET /health`, in the IETF health-check draft format. It reads only in-process state:
/// nothing remote can make it slow or fail.
pub async fn health(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let body = json!({
        "status": "pass",
        "version": BUILD_VERSION,
        "checks": {
            "events:count": [{ "status": "pass", "observedValue": state.store.len() }]
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/health+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(body),
    ))
}
