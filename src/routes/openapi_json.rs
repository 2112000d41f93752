use axum::extract::RawQuery;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::params::Params;
use crate::error::ApiError;
use crate::openapi::OPENAPI_JSON;

/// `GET /openapi.json`: this API's OpenAPI 3.1 description (`docs/openapi.json`).
#[utoipa::path(
    get,
    path = "/openapi.json",
    summary = "This description",
    description = "The OpenAPI 3.1 description of this API, as `docs/openapi.json` in the repository.",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API.", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    Ok(([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response())
}
