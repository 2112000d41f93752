use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::cursor::{self, Scope};
use super::params::{Params, check_range};
use crate::error::ApiError;
use crate::events::{EventQuery, EventView};
use crate::state::AppState;

#[derive(Serialize)]
struct EventList<'a> {
    events: Vec<EventView<'a>>,
    next_cursor: Option<String>,
}

/// `GET /events?from&to&engineer&action&limit&cursor`
pub async fn list_events(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(
        query.as_deref(),
        &["from", "to", "engineer", "action", "limit", "cursor"],
    )?;
    let engineer = params.text("engineer")?;
    event_page(&state, &params, "/events", engineer)
}

/// One page of events for a list route; `engineer` comes from the query or the path.
pub(super) fn event_page(
    state: &AppState,
    params: &Params,
    route: &str,
    engineer: Option<&str>,
) -> Result<Response, ApiError> {
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;
    let action = params.text("action")?;
    let limit = params.limit()?;
    let scope = Scope {
        route,
        from,
        to,
        engineer,
        action,
    };
    let after = match params.text("cursor")? {
        Some(value) => Some(cursor::decode(value, &scope)?),
        None => None,
    };

    let page = state.store.query(&EventQuery {
        from,
        to,
        engineer,
        action,
        after,
        limit,
    });
    let list = EventList {
        events: page.events,
        next_cursor: page.next.map(|position| cursor::encode(position, &scope)),
    };
    Ok(Json(list).into_response())
}
