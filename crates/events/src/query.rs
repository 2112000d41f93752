use std::ops::Range;

use super::model::{EventView, Timestamp};

/// Where a page ended: the last event returned. The next page starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub timestamp: Timestamp,
    pub id: u64,
}

/// A page request over the events. `from` is inclusive, `to` exclusive; both are whole seconds.
#[derive(Debug, Clone, Default)]
pub struct EventQuery<'a> {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub engineer: Option<&'a str>,
    pub action: Option<&'a str>,
    /// One service's events, or, without it, every service's.
    pub service: Option<&'a str>,
    pub after: Option<Position>,
    pub limit: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page<'a> {
    pub events: Vec<EventView<'a>>,
    /// Set when more events match: the position to continue after.
    pub next: Option<Position>,
}

impl<'a> Page<'a> {
    /// The first `limit` of `events`, and where the next page starts if more match: `more`
    /// are known to, or `events` holds more than `limit`.
    pub(crate) fn first(mut events: Vec<EventView<'a>>, limit: usize, more: bool) -> Self {
        let more = more || events.len() > limit;
        events.truncate(limit);
        let next = events.last().filter(|_| more).map(|event| Position {
            timestamp: event.timestamp,
            id: event.id,
        });
        Self { events, next }
    }
}

/// The part of a time-ordered index inside the query's window and after its cursor.
pub(crate) fn bounds<T>(
    items: &[T],
    position: impl Fn(&T) -> (Timestamp, u64),
    query: &EventQuery<'_>,
) -> Range<usize> {
    let mut start = 0;
    if let Some(from) = query.from {
        start = start.max(items.partition_point(|item| position(item).0 < from));
    }
    if let Some(after) = query.after {
        let after = (after.timestamp, after.id);
        start = start.max(items.partition_point(|item| position(item) <= after));
    }
    let end = match query.to {
        Some(to) => items.partition_point(|item| position(item).0 < to),
        None => items.len(),
    };
    start..end.max(start)
}
