//! The aggregates, computed from events: what import writes after the events and what
//! `verify` compares the table with. One definition, so the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet};

use super::items::{DayItem, EngineerDayItem, EngineerItem, EventItem, MetaItem};
use super::keys::{self, Scope};
use crate::events::{Timestamp, day_of};

/// Per-day totals and per-engineer-per-day figures of `events` (any order, all of `scope`), one
/// of each per day (and engineer) that has events.
pub fn days(scope: Scope<'_>, events: &[EventItem]) -> (Vec<DayItem>, Vec<EngineerDayItem>) {
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
                    pk: keys::engineer_days_pk(scope, &event.engineer),
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
            pk: keys::days_pk(scope, day),
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
pub fn engineer(scope: Scope<'_>, name: &str, days: &[EngineerDayItem]) -> Option<EngineerItem> {
    Some(EngineerItem {
        pk: keys::engineers_pk(scope),
        sk: name.to_owned(),
        events: days.iter().map(|day| day.events).sum(),
        first: days.iter().map(|day| day.first).min()?,
        last: days.iter().map(|day| day.last).max()?,
    })
}

/// The store's totals (or a service's), from every engineer's; `None` without events;
/// `delivery_counted` as the caller decides. The store's say the layout is this version's.
pub fn meta(
    scope: Scope<'_>,
    actions: BTreeSet<String>,
    engineers: &[EngineerItem],
    delivery_counted: Option<String>,
) -> Option<MetaItem> {
    if actions.is_empty() {
        return None;
    }
    let (pk, sk) = scope.totals_key();
    Some(MetaItem {
        pk: pk.to_owned(),
        sk: sk.to_owned(),
        actions,
        first: engineers.iter().map(|e| e.first).min()?,
        last: engineers.iter().map(|e| e.last).max()?,
        events: engineers.iter().map(|e| e.events).sum(),
        delivery_counted,
        layout: (scope == Scope::Whole).then_some(keys::LAYOUT),
        last_deploy: None,
        deploys: (scope != Scope::Whole).then(BTreeMap::new),
    })
}

/// A service's totals with its last deploy and its deploys on the days its deployment
/// frequency counts (`by_day`: day → deploys, any days).
pub fn with_deploys(
    mut meta: MetaItem,
    last_deploy: Option<Timestamp>,
    by_day: impl IntoIterator<Item = (i64, i64)>,
) -> MetaItem {
    let from = meta.frequency_from();
    meta.last_deploy = last_deploy;
    meta.deploys = Some(
        by_day
            .into_iter()
            .filter(|&(day, count)| day >= from && count != 0)
            .map(|(day, count)| (keys::day_sk(day), count))
            .collect(),
    );
    meta
}
