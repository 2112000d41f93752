use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

use super::events::{self, EventList, page_query, render};
use super::params::{PageParams, Query, RangeParams, ServiceParam};
use crate::error::ApiError;
use crate::events::{EngineerList, is_engineer_name};
use crate::state::AppState;

/// `GET /engineers?service`: every engineer, sorted by name, with event counts and first/last
/// event.
#[utoipa::path(
    get,
    path = "/engineers",
    summary = "Every engineer",
    description = "Every engineer with events (in the service, if one is given), sorted by name, with their event count and first and last event.",
    tag = "engineers",
    params(ServiceParam),
    responses((status = 200, description = "Every engineer with events, sorted by name.", body = EngineerList))
)]
pub async fn list_engineers(
    State(state): State<AppState>,
    params: Query<ServiceParam>,
) -> Result<Response, ApiError> {
    let service = params.service()?;
    let reader = state.store.reader();
    let body = reader.engineers_json(service).await?.into_owned();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /engineers/{engineer}/events?from&to&service&action&limit&cursor`
#[utoipa::path(
    get,
    path = "/engineers/{engineer}/events",
    summary = "One engineer's events",
    description = "The events of one engineer between `from` and `to`, oldest first, a page at a time; 404 `engineer_not_found` for a name no event (of the service, if one is given) carries, 404 `service_not_found` for a service without events.",
    tag = "engineers",
    params(
        ("engineer" = String, Path, min_length = 1, description = "The engineer's exact name, percent-encoded.", example = "alice"),
        RangeParams,
        ServiceParam,
        PageParams
    ),
    responses((status = 200, description = "The engineer's events in the range, oldest first.", body = EventList))
)]
pub async fn engineer_events(
    State(state): State<AppState>,
    engineer: Result<Path<String>, PathRejection>,
    uri: Uri,
    params: Query<(RangeParams, ServiceParam, PageParams)>,
) -> Result<Response, ApiError> {
    // A name no event can carry (not UTF-8, too long, a control character) is not looked up:
    // DynamoDB refuses a key over 2048 bytes with a ValidationException.
    let engineer = match engineer {
        Ok(Path(engineer)) if is_engineer_name(&engineer) => engineer,
        Ok(Path(engineer)) => return Err(ApiError::EngineerNotFound(engineer)),
        Err(_) => {
            let segment = uri.path().rsplit('/').nth(1).unwrap_or_default();
            return Err(ApiError::EngineerNotFound(segment.to_owned()));
        }
    };
    let route = "/engineers/{engineer}/events";
    let (query, scope) = page_query(&params, route, Some(&engineer))?;
    let reader = state.store.reader();
    match reader.engineer_events(&query).await? {
        Some(page) => Ok(render(&page, &scope)),
        None => match query.service {
            Some(service) if !reader.knows_service(service).await? => {
                Err(ApiError::ServiceNotFound(service.to_owned()))
            }
            _ => Err(ApiError::EngineerNotFound(engineer.clone())),
        },
    }
}

pub fn errors() -> Vec<ApiError> {
    vec![
        ApiError::InvalidService,
        ApiError::StoreUnavailable,
        ApiError::StoreNeedsUpgrade,
    ]
}

pub fn events_errors() -> Vec<ApiError> {
    let mut errors = events::errors();
    errors.push(ApiError::EngineerNotFound("nobody".into()));
    errors.push(ApiError::ServiceNotFound("octo-org/none".into()));
    errors
}
