use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::params::Query;
use crate::error::ApiError;
use crate::events::EventView;
use crate::state::AppState;

/// `GET /events/{id}`: one event, as the lists show it.
#[utoipa::path(
    get,
    path = "/events/{id}",
    summary = "One event",
    description = "The event with this id, as the lists show it.",
    tag = "events",
    params(("id" = u64, Path, description = "The event's id, as `POST /events` and the lists give it.")),
    responses((status = 200, description = "The event.", body = EventView))
)]
pub async fn event_by_id(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    _: Query,
) -> Result<Response, ApiError> {
    // Not UTF-8 once decoded: not a number either.
    let id = id.map_or(Err(not_an_id()), |Path(id)| parse_id(&id))?;
    match state.store.reader().event(id).await? {
        Some(event) => Ok(Json(event.view()).into_response()),
        None => Err(ApiError::EventNotFound(id)),
    }
}

fn parse_id(text: &str) -> Result<u64, ApiError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_an_id());
    }
    text.parse().map_err(|_| {
        ApiError::invalid(
            "id",
            format!("is out of range: event ids are at most {}", u64::MAX),
        )
    })
}

fn not_an_id() -> ApiError {
    ApiError::invalid("id", "must be an event id, a whole number")
}

pub fn errors() -> Vec<ApiError> {
    vec![
        not_an_id(),
        ApiError::EventNotFound(42),
        ApiError::StoreUnavailable,
    ]
}
