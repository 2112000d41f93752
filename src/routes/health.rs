use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Query;
use crate::error::ApiError;
use crate::metadata::BUILD_VERSION;
use crate::state::AppState;
use crate::store::Store;

/// The IETF health-check draft's `application/health+json`.
#[derive(Serialize, ToSchema)]
pub struct Health<'a> {
    /// Always `pass`: an answer means the process serves requests.
    #[schema(example = "pass")]
    status: &'static str,
    #[schema(example = "0.1.0")]
    version: &'static str,
    checks: HealthChecks<'a>,
}

#[derive(Serialize, ToSchema)]
pub struct HealthChecks<'a> {
    /// The store the service reads: `memory`, or `dynamodb:<table>`.
    #[serde(rename = "events:store")]
    store: [StoreCheck<'a>; 1],
    /// How many events the memory store holds (absent for DynamoDB: that would be a remote call).
    #[serde(rename = "events:count", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<CountCheck>, required = false)]
    count: Option<[CountCheck; 1]>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreCheck<'a> {
    #[schema(example = "pass")]
    status: &'static str,
    #[schema(example = "datastore")]
    component_type: &'static str,
    #[schema(value_type = String, example = "memory")]
    observed_value: std::borrow::Cow<'a, str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountCheck {
    #[schema(example = "pass")]
    status: &'static str,
    observed_value: usize,
}

/// `GET /health`, in the IETF health-check draft format. It reads only in-process state:
/// nothing remote can make it slow or fail.
#[utoipa::path(
    get,
    path = "/health",
    summary = "Health check",
    description = "In the IETF health-check format (`application/health+json`). Reads only what the process holds, so nothing remote can make it slow or fail; needs no API key.",
    tag = "service",
    security(()),
    responses(
        (status = 200, description = "The service answers.", content_type = "application/health+json", body = Health,
            headers(("Cache-Control" = String, description = "`no-store`"))),
    )
)]
pub async fn health(State(state): State<AppState>, _: Query) -> Result<Response, ApiError> {
    Ok((
        [
            (header::CONTENT_TYPE, "application/health+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(report(&state.store)),
    )
        .into_response())
}

/// The store it serves, and for the memory store the number of events; nothing that needs a
/// remote call (a DynamoDB outage shows as 503s on the event routes, not as a failing health).
fn report(store: &Store) -> Health<'_> {
    Health {
        status: "pass",
        version: BUILD_VERSION,
        checks: HealthChecks {
            store: [StoreCheck {
                status: "pass",
                component_type: "datastore",
                observed_value: store.name(),
            }],
            count: store.local_count().map(|count| {
                [CountCheck {
                    status: "pass",
                    observed_value: count,
                }]
            }),
        },
    }
}
