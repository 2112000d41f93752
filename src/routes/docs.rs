use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::params::Query;
use crate::error::ApiError;

/// The reference page, `docs/index.html`: rendered from the description by `make openapi`, its
/// script and styles inside it, so it opens without a network. Not in the Lambda package (the
/// `docs-page` feature): it would take the zip past its budget.
#[cfg(feature = "docs-page")]
pub const DOCS_HTML: Option<&str> = Some(include_str!("../../docs/index.html"));
#[cfg(not(feature = "docs-page"))]
pub const DOCS_HTML: Option<&str> = None;

/// `GET /docs`: the API reference for people.
#[utoipa::path(
    get,
    path = "/docs",
    summary = "Reference page",
    description = "This description rendered for people (Swagger UI), with nothing loaded from elsewhere.",
    tag = "service",
    responses((status = 200, description = "This description as a page for people, with nothing loaded from elsewhere. The local server (`make run`) serves it; the Lambda package answers 404 `docs_not_served`.", content_type = "text/html"))
)]
pub async fn docs(_: Query) -> Result<Response, ApiError> {
    let html = DOCS_HTML.ok_or(ApiError::DocsNotServed)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}
