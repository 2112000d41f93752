use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;

use super::cursor::{self, Scope};
use super::params::{
    EngineerParam, PageParams, Params, Query, RangeParams, ServiceParam, check_range,
    instant_refusal, range_refusal,
};
use crate::error::ApiError;
use crate::events::{EVENT_JSON_BYTES, EventQuery, EventView, write_events_json};
use crate::state::AppState;
use crate::store::EventPage;

/// A page of events, in (timestamp, id) order.
// The schema of what `render` writes, for the OpenAPI description (the fuzz test checks every
// answer against it).
#[derive(ToSchema)]
pub struct EventList<'a> {
    #[schema(value_type = Vec<EventView>)]
    pub events: &'a [EventView<'a>],
    /// Where the next page starts, or `null` on the last page: pass it as `cursor` with the same
    /// `from`, `to`, `service` and filters.
    pub next_cursor: Option<String>,
}

/// `GET /events?from&to&service&engineer&action&limit&cursor`
#[utoipa::path(
    get,
    path = "/events",
    summary = "Events in a range",
    description = "Events between `from` (included) and `to` (excluded), oldest first, optionally of one service, engineer or action, a page at a time. Follow `next_cursor` for the next page.",
    tag = "events",
    params(RangeParams, ServiceParam, EngineerParam, PageParams),
    responses((status = 200, description = "Events in the range, oldest first.", body = EventList))
)]
pub async fn list_events(
    State(state): State<AppState>,
    params: Query<(RangeParams, ServiceParam, EngineerParam, PageParams)>,
) -> Result<Response, ApiError> {
    let (query, scope) = page_query(&params, "/events", params.engineer()?)?;
    let reader = state.store.reader();
    let page = reader.events(&query).await?;
    Ok(render(&page, &scope))
}

/// What a page of events can be refused with.
pub fn errors() -> Vec<ApiError> {
    vec![
        instant_refusal("from"),
        range_refusal(),
        ApiError::InvalidService,
        ApiError::InvalidCursor,
        ApiError::StoreUnavailable,
        ApiError::StoreNeedsUpgrade,
    ]
}

/// Reads `from`, `to`, `service`, `action`, `limit` and `cursor` (`engineer` comes from the
/// query or the path): the query, and the scope its cursors are bound to (the route and the
/// filters).
pub(super) fn page_query<'a>(
    params: &'a Params,
    route: &'a str,
    engineer: Option<&'a str>,
) -> Result<(EventQuery<'a>, Scope<'a>), ApiError> {
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;
    let service = params.service()?;
    let action = params.action()?;
    let limit = params.limit()?;
    let scope = Scope {
        route,
        from,
        to,
        engineer,
        action,
        service,
    };
    let after = (params.text("cursor")?)
        .map(|value| cursor::decode(value, &scope))
        .transpose()?;
    let query = EventQuery {
        from,
        to,
        engineer,
        action,
        service,
        after,
        limit,
    };
    Ok((query, scope))
}

/// `{"events":[…],"next_cursor":…}`, as `EventList` describes it, written into a buffer sized
/// for the page (grown from axum's 128 bytes instead, a page of 100 was copied a few times over)
/// by the domain's page writer: through serde's generic serializer the JSON was most of a page's
/// CPU time (BENCHMARKS.md).
pub(super) fn render(page: &EventPage<'_>, scope: &Scope<'_>) -> Response {
    let events = page.events();
    let next_cursor = page.next().map(|position| cursor::encode(position, scope));
    let mut body = Vec::with_capacity(64 + events.len() * EVENT_JSON_BYTES);
    body.extend_from_slice(b"{\"events\":");
    write_events_json(&events, &mut body);
    body.extend_from_slice(b",\"next_cursor\":");
    serde_json::to_writer(&mut body, &next_cursor).expect("a cursor serializes");
    body.push(b'}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
