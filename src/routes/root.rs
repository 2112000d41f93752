use axum::Json;
use axum::extract::RawQuery;
use serde_json::{Value, json};

use super::params::Params;
use crate::error::ApiError;

/// `GET /`: takes no parameters, like every route that lists none.
pub async fn root(RawQuery(query): RawQuery) -> Result<Json<Value>, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    Ok(Json(json!({ "message": "Hello, World!" })))
}
