use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Query;
use crate::error::ApiError;
use crate::metadata::Metadata;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct MetadataList {
    /// One entry: this service.
    myapplication: [Metadata; 1],
}

/// `GET /metadata`: version, description and last commit SHA.
#[utoipa::path(
    get,
    path = "/metadata",
    summary = "Version and last commit",
    description = "The deployed version, description and commit SHA, from SSM Parameter Store when deployed (cached; refetched after `METADATA_CACHE_TTL_SECONDS`).",
    tag = "service",
    responses((status = 200, description = "What is deployed: read from SSM Parameter Store when `SSM_PARAMETER_PREFIX` is set, else what the binary was built from.", body = MetadataList))
)]
pub async fn metadata(
    State(state): State<AppState>,
    _: Query,
) -> Result<Json<MetadataList>, ApiError> {
    let metadata = state
        .metadata
        .get()
        .await
        .map_err(|error| ApiError::MetadataUnavailable(error.0))?;
    Ok(Json(MetadataList {
        myapplication: [metadata],
    }))
}

pub fn errors() -> Vec<ApiError> {
    vec![ApiError::MetadataUnavailable(
        "Metadata is unavailable: SSM Parameter Store did not answer in time".into(),
    )]
}
