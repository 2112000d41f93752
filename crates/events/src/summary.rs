use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::daily_json::DailyJson;
use super::model::{Event, date_of_day, day_of};

/// What happened on one UTC day with events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    pub total: u32,
    /// Distinct engineers with events that day.
    pub engineers: u32,
    /// Indexed by the action's position in the store's sorted action names.
    pub actions: Box<[u32]>,
}

impl DayTotals {
    /// Totals for every day that has events; `events` must be sorted by time.
    pub(crate) fn index(events: &[Event], action_count: usize) -> BTreeMap<i64, DayTotals> {
        let mut days = BTreeMap::new();
        for day_events in events.chunk_by(|a, b| day_of(a.timestamp) == day_of(b.timestamp)) {
            let mut actions = vec![0u32; action_count].into_boxed_slice();
            let mut engineers: Vec<u32> = Vec::with_capacity(day_events.len());
            for event in day_events {
                actions[event.action as usize] += 1;
                engineers.push(event.engineer);
            }
            engineers.sort_unstable();
            engineers.dedup();
            days.insert(
                day_of(day_events[0].timestamp),
                DayTotals {
                    total: day_events.len() as u32,
                    engineers: engineers.len() as u32,
                    actions,
                },
            );
        }
        days
    }
}

/// One line of the daily summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Day)]
pub struct DaySummary<'a> {
    /// The UTC calendar day.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Events that day.
    pub total: i64,
    /// Events that day per action; every action the store knows is listed.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub actions: ActionCounts<'a>,
    /// Distinct engineers with events that day.
    pub engineers: i64,
    pub change: Change<'a>,
}

/// This day minus the previous calendar day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = DayChange)]
pub struct Change<'a> {
    pub total: i64,
    #[schema(value_type = BTreeMap<String, i64>)]
    pub actions: ActionCounts<'a>,
}

/// `GET /summaries/daily`'s body. `daily_json` and `DailyJson` write it fragment by fragment,
/// so this type only names its shape.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DayList<'a> {
    days: Vec<DaySummary<'a>>,
}

/// A count per action, serialized as a JSON object; every action the store knows is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCounts<'a> {
    names: &'a [Box<str>],
    counts: Vec<i64>,
}

impl Serialize for ActionCounts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.names.iter().map(|name| &**name).zip(&self.counts))
    }
}

/// One day's statistics from the per-day totals: the change is from the previous calendar day,
/// whatever range the day is listed in. `None` only for a day outside the calendar chrono knows.
pub fn day_summary<'a>(
    days: &BTreeMap<i64, DayTotals>,
    actions: &'a [Box<str>],
    day: i64,
) -> Option<DaySummary<'a>> {
    let today = days.get(&day);
    let previous = days.get(&(day - 1));
    let count = |totals: Option<&DayTotals>, action: usize| {
        totals.map_or(0, |t| i64::from(t.actions[action]))
    };
    let total = |totals: Option<&DayTotals>| totals.map_or(0, |t| i64::from(t.total));
    let counts = |f: &dyn Fn(usize) -> i64| ActionCounts {
        names: actions,
        counts: (0..actions.len()).map(f).collect(),
    };
    Some(DaySummary {
        date: date_of_day(day)?,
        total: total(today),
        actions: counts(&|a| count(today, a)),
        engineers: today.map_or(0, |t| i64::from(t.engineers)),
        change: Change {
            total: total(today) - total(previous),
            actions: counts(&|a| count(today, a) - count(previous, a)),
        },
    })
}

/// Days whose summary is not all zeros: days with events and the days right after them.
pub(crate) fn days_with_activity(days: &BTreeMap<i64, DayTotals>) -> Vec<i64> {
    let mut active: Vec<i64> = days.keys().flat_map(|&day| [day, day + 1]).collect();
    active.dedup();
    active
}

/// The daily summary of no days: without events and without a range.
pub const NO_DAYS_JSON: &[u8] = b"{\"days\":[]}";

/// `{"days":[…]}` for the days `first..=last` (days since the epoch), every day listed, from
/// per-day totals that include at least `first - 1..=last`. A store that keeps totals rather
/// than events (DynamoDB) renders with this; the memory store's cached rendering equals it.
pub fn daily_json(
    days: &BTreeMap<i64, DayTotals>,
    actions: &[Box<str>],
    first: i64,
    last: i64,
) -> Vec<u8> {
    let render_day = |day| day_json(days, actions, day);
    DailyJson::default().render(first, last, render_day, Vec::new)
}

/// One day's summary (`day_summary`) as JSON.
pub(crate) fn day_json(
    days: &BTreeMap<i64, DayTotals>,
    actions: &[Box<str>],
    day: i64,
) -> Option<String> {
    let summary = day_summary(days, actions, day)?;
    Some(serde_json::to_string(&summary).expect("a day summary serializes"))
}
