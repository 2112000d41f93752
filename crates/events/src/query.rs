use std::ops::Range;

use super::model::{Event, EventView, Timestamp};
use super::store::EventStore;

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
    pub after: Option<Position>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<'a> {
    pub events: Vec<EventView<'a>>,
    /// Set when more events match: the position to continue after.
    pub next: Option<Position>,
}

impl EventStore {
    /// The events matching `query`, ordered by (timestamp, id), at most `query.limit` of them.
    ///
    /// The cost is two binary searches over the narrowest index (all events, one engineer's or
    /// one action's) plus the page itself; with both an engineer and an action the smaller of
    /// the two lists is walked and the other condition filtered.
    pub fn query(&self, query: &EventQuery<'_>) -> Page<'_> {
        let empty = Page {
            events: Vec::new(),
            next: None,
        };
        let engineer = match query.engineer.map(|name| self.engineer_id(name)) {
            Some(None) => return empty,
            Some(Some(id)) => Some(id),
            None => None,
        };
        let action = match query.action.map(|name| self.action_id(name)) {
            Some(None) => return empty,
            Some(Some(id)) => Some(id),
            None => None,
        };
        let engineer_list = engineer.map(|id| &self.engineers[id].events[..]);
        let action_list = action.map(|id| &self.action_events[id][..]);
        let keep = |event: &Event| {
            engineer.is_none_or(|id| event.engineer as usize == id)
                && action.is_none_or(|id| event.action as usize == id)
        };

        let take = query.limit.saturating_add(1);
        let mut matched: Vec<&Event> = match (engineer_list, action_list) {
            (None, None) => {
                let range = bounds(&self.events, Event::position, query);
                self.events[range].iter().take(take).collect()
            }
            (Some(list), None) | (None, Some(list)) => self.walk(list, query, take, keep),
            (Some(a), Some(b)) => {
                self.walk(if a.len() <= b.len() { a } else { b }, query, take, keep)
            }
        };

        let next = if matched.len() > query.limit {
            matched.truncate(query.limit);
            matched.last().map(|event| Position {
                timestamp: event.timestamp,
                id: event.id,
            })
        } else {
            None
        };
        Page {
            events: matched.into_iter().map(|event| self.view(event)).collect(),
            next,
        }
    }

    fn walk<'s>(
        &'s self,
        list: &[u32],
        query: &EventQuery<'_>,
        take: usize,
        keep: impl Fn(&Event) -> bool,
    ) -> Vec<&'s Event> {
        let event = |position: &u32| &self.events[*position as usize];
        list[bounds(list, |position| event(position).position(), query)]
            .iter()
            .map(event)
            .filter(|e| keep(e))
            .take(take)
            .collect()
    }
}

/// The part of a time-ordered index inside the query's window and after its cursor.
fn bounds<T>(
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
