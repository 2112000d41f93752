//! The aggregates, computed from events: what import writes after the events and what
//! `verify` compares the table with. One definition, so the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet};

use super::items::{DayItem, EngineerDayItem, EngineerItem, EventItem, MetaItem};
use super::keys;
use crate::events::day_of;

/// Per-day totals and per-engineer-per-day figures of `events` (any order), one of each per
/// day (and engineer) that has events.
pub fn days(events: &[EventItem]) -> (Vec<DayItem>, Vec<EngineerDayItem>) {
    let mut by_day: BTreeMap<i64, Vec<&EventItem>> = BTreeMap::new();
    for event in events {
        by_day.entry(day_of(event.ts)).or_default().push(event);
    }
    let mut days = Vec::with_capacity(by_day.len());
    let mut engineer_days = Vec::new();
    for (day, events) in by_day {
        let mut actions: BTreeMap<String, u32> = BTreeMap::new();
        let mut engineers: BTreeMap<&str, EngineerDayItem> = BTreeMap::new();
        for event in &events {
            *actions.entry(event.action.clone()).or_default() += 1;
            let figures = engineers
                .entry(&event.engineer)
                .or_insert_with(|| EngineerDayItem {
                    pk: keys::engineer_days_pk(&event.engineer),
                    sk: keys::day_sk(day),
                    events: 0,
                    first: event.ts,
                    last: event.ts,
                });
            figures.events += 1;
            figures.first = figures.first.min(event.ts);
            figures.last = figures.last.max(event.ts);
        }
        days.push(DayItem {
            pk: keys::days_pk(day),
            sk: keys::day_sk(day),
            total: events.len() as u32,
            engineers: engineers.len() as u32,
            actions,
        });
        engineer_days.extend(engineers.into_values());
    }
    (days, engineer_days)
}

/// An engineer's totals from all of their days; `None` without days.
pub fn engineer(name: &str, days: &[EngineerDayItem]) -> Option<EngineerItem> {
    Some(EngineerItem {
        pk: keys::ENGINEERS_PK.to_owned(),
        sk: name.to_owned(),
        events: days.iter().map(|day| day.events).sum(),
        first: days.iter().map(|day| day.first).min()?,
        last: days.iter().map(|day| day.last).max()?,
    })
}

/// The store's totals from every engineer's; `None` for an empty store.
/// The store's totals, from every engineer's; `delivery_counted` as the caller decides.
pub fn meta(
    actions: BTreeSet<String>,
    engineers: &[EngineerItem],
    delivery_counted: Option<String>,
) -> Option<MetaItem> {
    if actions.is_empty() {
        return None;
    }
    Some(MetaItem {
        pk: keys::META_PK.to_owned(),
        sk: keys::META_SK.to_owned(),
        actions,
        first: engineers.iter().map(|e| e.first).min()?,
        last: engineers.iter().map(|e| e.last).max()?,
        events: engineers.iter().map(|e| e.events).sum(),
        delivery_counted,
    })
}
