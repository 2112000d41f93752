use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::params::{Params, check_range};
use crate::app::AppState;
use crate::error::ApiError;
use crate::events::{EventStore, day_of};

/// The longest range one request may summarise, in days.
pub const MAX_DAYS: i64 = 366;

/// Each day's summary as JSON, rendered once. A day's object depends only on the data (its
/// `change` is from the previous calendar day, whatever the range), and the store never
/// changes, so a response is these fragments joined. Built on the first summary request, not
/// at start-up: the cold start does not pay for it.
#[derive(Default)]
pub struct DailyJson {
    active_days: OnceLock<HashMap<i64, Box<str>>>,
}

impl DailyJson {
    /// `{"days":[…]}` for the days `first..=last`.
    pub fn render(&self, store: &EventStore, first: i64, last: i64) -> Vec<u8> {
        let active = self.active_days.get_or_init(|| {
            store
                .days_with_activity()
                .filter_map(|day| Some((day, render_day(store, day)?.into_boxed_str())))
                .collect()
        });
        let mut out = Vec::with_capacity(16 + (last - first + 1).max(0) as usize * 200);
        out.extend_from_slice(b"{\"days\":[");
        for day in first..=last {
            let fragment: Cow<'_, str> = match active.get(&day) {
                Some(fragment) => Cow::Borrowed(fragment),
                None => match render_day(store, day) {
                    Some(fragment) => Cow::Owned(fragment),
                    None => continue,
                },
            };
            if out.last() != Some(&b'[') {
                out.push(b',');
            }
            out.extend_from_slice(fragment.as_bytes());
        }
        out.extend_from_slice(b"]}");
        out
    }
}

fn render_day(store: &EventStore, day: i64) -> Option<String> {
    let summary = store.day_summary(day)?;
    Some(serde_json::to_string(&summary).expect("a day summary serializes"))
}

/// `GET /summaries/daily?from&to`: one entry per UTC calendar day, empty days included.
/// A timestamp selects the day that holds it; `to` stays exclusive, a date in `to` includes that
/// day. Without `from` or `to`, the store's first or last day.
pub async fn daily(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["from", "to"])?;
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;

    let span = state.store.time_span();
    let first = from.map(day_of).or(span.map(|(first, _)| day_of(first)));
    let last = to
        .map(|to| day_of(to - 1))
        .or(span.map(|(_, last)| day_of(last)));
    let days = match (first.or(last), last.or(first)) {
        (Some(first), Some(last)) if first <= last => {
            let count = last - first + 1;
            if count > MAX_DAYS {
                return Err(ApiError::RangeTooLarge {
                    days: count,
                    max: MAX_DAYS,
                });
            }
            state.daily_json.render(&state.store, first, last)
        }
        _ => b"{\"days\":[]}".to_vec(),
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], days).into_response())
}
