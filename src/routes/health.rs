use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::params::Params;
use crate::error::ApiError;
use crate::metadata::BUILD_VERSION;
use crate::state::AppState;
use crate::store::Store;

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
        "checks": checks(&state.store),
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/health+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(body),
    ))
}

/// The store it serves, and for the memory store the number of events; nothing that needs a
/// remote call (a DynamoDB outage shows as 503s on the event routes, not as a failing health).
fn checks(store: &Store) -> serde_json::Value {
    let mut checks = json!({
        "events:store": [{ "status": "pass", "componentType": "datastore", "observedValue": store.name() }]
    });
    if let Some(count) = store.local_count() {
        checks["events:count"] = json!([{ "status": "pass", "observedValue": count }]);
    }
    checks
}
