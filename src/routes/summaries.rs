use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::params::{
    Query, RangeParams, ServiceParam, check_range, instant_refusal, range_refusal,
};
use crate::error::ApiError;
use crate::events::{DayList, MAX_SUMMARY_DAYS};
use crate::state::AppState;

/// `GET /summaries/daily?from&to&service`: one entry per UTC calendar day, empty days included.
/// A timestamp selects the day that holds it; `to` stays exclusive, a date in `to` includes that
/// day. Without `to`, the store's last day; without `from`, the 366 days up to the end.
#[utoipa::path(
    get,
    path = "/summaries/daily",
    summary = "Daily statistics",
    description = "One entry per UTC day, days without events included: events, events per action, distinct engineers, and the change from the day before; of one service if one is given.",
    tag = "summaries",
    params(RangeParams, ServiceParam),
    responses((status = 200, description = "One entry per UTC day from the day of `from` to the day before `to` (or the day of `to` when it is a date), at most 366 days. Without `to`, up to the store's last day; without `from`, the 366 days up to there (or from the store's first day, if later). Empty when the store has no events.", body = DayList))
)]
pub async fn daily(
    State(state): State<AppState>,
    params: Query<(RangeParams, ServiceParam)>,
) -> Result<Response, ApiError> {
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;
    let service = params.service()?;

    let days = state.store.reader().daily_json(service, from, to).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], days).into_response())
}

pub fn errors() -> Vec<ApiError> {
    over_days(
        instant_refusal("to"),
        vec![ApiError::StoreUnavailable, ApiError::StoreNeedsUpgrade],
    )
}

/// What a route over whole days can be refused with: a parameter's refusal, the range's two,
/// the store's.
pub fn over_days(parameter: ApiError, store: Vec<ApiError>) -> Vec<ApiError> {
    let days = ApiError::RangeTooLarge {
        days: 400,
        max: MAX_SUMMARY_DAYS,
    };
    [
        vec![parameter, range_refusal(), days, ApiError::InvalidService],
        store,
    ]
    .concat()
}
