use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::events::{page_query, render};
use super::params::Params;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /engineers`: every engineer, sorted by name, with event counts and first/last event.
pub async fn list_engineers(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let body = state.store.reader().engineers_json().await?.into_owned();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /engineers/{engineer}/events?from&to&action&limit&cursor`
pub async fn engineer_events(
    State(state): State<AppState>,
    engineer: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(engineer) = engineer
        .map_err(|_| ApiError::invalid("engineer", "must be valid UTF-8 once percent-decoded"))?;
    let params = Params::parse(
        query.as_deref(),
        &["from", "to", "action", "limit", "cursor"],
    )?;
    let request = page_query(&params, Some(&engineer))?;
    let scope = request.scope("/engineers/{engineer}/events");
    let query = request.with_cursor(&params, &scope)?;
    let reader = state.store.reader();
    match reader.engineer_events(&query).await? {
        Some(page) => Ok(render(&page, &scope)),
        None => Err(ApiError::EngineerNotFound(engineer.clone())),
    }
}
