use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Query;
use crate::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Greeting {
    #[schema(example = "Hello, World!")]
    message: &'static str,
}

/// `GET /`: takes no parameters, like every route that lists none.
#[utoipa::path(
    get,
    path = "/",
    summary = "A greeting",
    description = "Answers a fixed greeting: a first call to check the URL and the key.",
    tag = "service",
    responses((status = 200, description = "A greeting.", body = Greeting))
)]
pub async fn root(_: Query) -> Result<Json<Greeting>, ApiError> {
    Ok(Json(Greeting {
        message: "Hello, World!",
    }))
}
