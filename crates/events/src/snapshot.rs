//! The events a store serves while it records new ones: the index built at load (`base`,
//! large, built once) and the events recorded since (`recent`, small, rebuilt on each record),
//! answered as one. An `EventSnapshot` never changes: recording makes a new one, so a reader
//! never sees half an event and never waits for a writer.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::daily_json::DailyJson;
use super::delivery::DeliveryIndex;
use super::delivery_facts::DeliveryActions;
use super::event_index::{EngineerList, EngineerSummary, EventIndex, InvalidRecord};
use super::load::RawEvent;
use super::model::{EventView, Timestamp, day_of};
use super::query::{EventQuery, Page};
use super::summary::{self, DayTotals};

/// Each record rebuilds `recent` (cost ∝ its length, on average half the fold size) and a fold
/// rebuilds the whole store (∝ base, once per fold size records): folding at √(2·base) recent
/// events makes the two equal and their sum least. A floor keeps a small store from folding on
/// nearly every record.
fn fold_at(base: usize) -> usize {
    const FLOOR: usize = 64;
    (2 * base).isqrt().max(FLOOR)
}

#[derive(Debug, Default)]
pub struct EventSnapshot {
    base: Arc<EventIndex>,
    recent: EventIndex,
    /// The daily totals of base and recent together, built on first use (recent non-empty).
    days: OnceLock<Days>,
    daily_json: DailyJson,
    engineers_json: OnceLock<Box<[u8]>>,
    delivery_actions: Arc<DeliveryActions>,
    /// The delivery metrics' index of base and recent together, built on first use.
    delivery: OnceLock<DeliveryIndex>,
}

#[derive(Debug)]
struct Days {
    actions: Vec<Box<str>>,
    totals: BTreeMap<i64, DayTotals>,
}

impl EventSnapshot {
    pub fn new(base: EventIndex) -> Self {
        Self {
            base: Arc::new(base),
            ..Self::default()
        }
    }

    /// This log, with the delivery metrics reading these action names (default: `deploy`,
    /// `stage`, `rollback`).
    pub fn with_delivery_actions(self, actions: impl Into<Arc<DeliveryActions>>) -> Self {
        Self {
            delivery_actions: actions.into(),
            delivery: OnceLock::new(),
            ..self
        }
    }

    /// The index the delivery metrics are answered from: built once per snapshot, by the first
    /// caller (start-up calls it for the loaded events).
    pub fn delivery(&self) -> &DeliveryIndex {
        self.delivery.get_or_init(|| {
            DeliveryIndex::build(
                self.base.iter().chain(self.recent.iter()),
                &self.delivery_actions,
            )
        })
    }

    /// This log with `events` added (their ids must be new); folds recent events into the base
    /// when there are enough of them (see `fold_at`).
    pub fn with(&self, events: impl IntoIterator<Item = RawEvent>) -> Result<Self, InvalidRecord> {
        let records = self.recent.iter().map(|e| RawEvent::from(&e));
        let recent = EventIndex::from_records(self.service(), records.chain(events))?;
        if recent.len() < fold_at(self.base.len()) {
            return Ok(Self {
                base: self.base.clone(),
                recent,
                delivery_actions: self.delivery_actions.clone(),
                ..Self::default()
            });
        }
        Ok(Self {
            delivery_actions: self.delivery_actions.clone(),
            ..Self::new(EventIndex::merged(&self.base, &recent)?)
        })
    }

    /// The service all these events belong to.
    pub fn service(&self) -> &str {
        self.base.service()
    }

    pub fn len(&self) -> usize {
        self.base.len() + self.recent.len()
    }

    /// The last instant of a deploy (the delivery actions' deploy or hotfix), if any.
    pub fn last_deploy(&self) -> Option<Timestamp> {
        let deploys = self.delivery_actions.deploys();
        self.base
            .last_of(&deploys)
            .max(self.recent.last_of(&deploys))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn max_id(&self) -> Option<u64> {
        self.base.max_id().max(self.recent.max_id())
    }

    pub fn event(&self, id: u64) -> Option<EventView<'_>> {
        self.base.event(id).or_else(|| self.recent.event(id))
    }

    pub fn has_engineer(&self, name: &str) -> bool {
        self.base.has_engineer(name) || self.recent.has_engineer(name)
    }

    pub fn time_span(&self) -> Option<(Timestamp, Timestamp)> {
        match (self.base.time_span(), self.recent.time_span()) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        }
    }

    /// As `EventIndex::query`, over both parts: each part's first page after the cursor holds
    /// the first page of the two together.
    pub fn query(&self, query: &EventQuery<'_>) -> Page<'_> {
        if self.recent.is_empty() {
            return self.base.query(query);
        }
        let (a, b) = (self.base.query(query), self.recent.query(query));
        let more = a.next.is_some() || b.next.is_some();
        let mut events = Vec::with_capacity(a.events.len() + b.events.len());
        events.extend(merge_sorted(a.events.into_iter(), b.events.into_iter()));
        Page::first(events, query.limit, more)
    }

    /// As `EventIndex::matching`, over both parts.
    pub(crate) fn matching(&self, query: &EventQuery<'_>) -> impl Iterator<Item = EventView<'_>> {
        merge_sorted(self.base.matching(query), self.recent.matching(query))
    }

    /// `{"engineers":[…]}`, rendered once per snapshot.
    pub fn engineers_json(&self) -> &[u8] {
        if self.recent.is_empty() {
            return self.base.engineers_json();
        }
        self.engineers_json
            .get_or_init(|| EngineerList::json(self.engineers().into_iter()).into())
    }

    /// Every engineer, sorted by name, with their event count and first and last event.
    pub fn engineers(&self) -> Vec<EngineerSummary<'_>> {
        merge_engineers(self.base.engineers().chain(self.recent.engineers()))
    }

    /// Every action name, sorted.
    pub fn actions(&self) -> Vec<&str> {
        let mut actions: Vec<&str> = self.base.actions().chain(self.recent.actions()).collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }

    /// `{"days":[…]}` for the days `first..=last`, as `EventIndex::daily_json` renders them.
    pub fn daily_json(&self, first: i64, last: i64) -> Vec<u8> {
        if self.recent.is_empty() {
            return self.base.daily_json(first, last);
        }
        let days = self.days.get_or_init(|| self.merge_days());
        let render_day = |day| summary::day_json(&days.totals, &days.actions, day);
        self.daily_json.render(first, last, render_day, || {
            summary::days_with_activity(&days.totals)
        })
    }

    /// Every event, in (timestamp, id) order.
    pub fn iter(&self) -> impl Iterator<Item = EventView<'_>> {
        merge_sorted(self.base.iter(), self.recent.iter())
    }

    fn merge_days(&self) -> Days {
        let mut actions: Vec<Box<str>> = self
            .base
            .actions()
            .chain(self.recent.actions())
            .map(Box::from)
            .collect();
        actions.sort_unstable();
        actions.dedup();
        let index_of = |name: &str| {
            actions
                .binary_search_by(|known| (**known).cmp(name))
                .expect("every action is in the union")
        };
        let base_map: Vec<usize> = self.base.actions().map(index_of).collect();
        let recent_map: Vec<usize> = self.recent.actions().map(index_of).collect();
        let remap = |totals: &DayTotals, map: &[usize]| {
            let mut counts = vec![0u32; actions.len()].into_boxed_slice();
            for (from, &count) in totals.actions.iter().enumerate() {
                counts[map[from]] += count;
            }
            DayTotals {
                total: totals.total,
                engineers: totals.engineers,
                actions: counts,
            }
        };
        let mut totals: BTreeMap<i64, DayTotals> = self
            .base
            .days
            .iter()
            .map(|(&day, t)| (day, remap(t, &base_map)))
            .collect();
        for (&day, recent) in &self.recent.days {
            let recent = remap(recent, &recent_map);
            // Engineers of the day new to it: recent ones without a base event that day.
            let mut names: Vec<&str> = self
                .recent
                .iter()
                .filter(|e| day_of(e.timestamp) == day)
                .map(|e| e.engineer)
                .collect();
            names.sort_unstable();
            names.dedup();
            let new_engineers = names
                .iter()
                .filter(|name| !self.base.engineer_active_on(name, day))
                .count() as u32;
            match totals.get_mut(&day) {
                Some(day) => {
                    day.total += recent.total;
                    day.engineers += new_engineers;
                    for (count, add) in day.actions.iter_mut().zip(recent.actions.iter()) {
                        *count += add;
                    }
                }
                None => {
                    totals.insert(day, recent);
                }
            }
        }
        Days { actions, totals }
    }
}

/// Two runs of events in (timestamp, id) order, as one (`a`'s first on a tie).
fn merge_sorted<'a>(
    a: impl Iterator<Item = EventView<'a>>,
    b: impl Iterator<Item = EventView<'a>>,
) -> impl Iterator<Item = EventView<'a>> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if (y.timestamp, y.id) < (x.timestamp, x.id) => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// Lists of engineers, as one sorted by name: the figures of a name in several are combined.
pub(crate) fn merge_engineers<'a>(
    lists: impl Iterator<Item = EngineerSummary<'a>>,
) -> Vec<EngineerSummary<'a>> {
    let mut merged: Vec<EngineerSummary<'a>> = lists.collect();
    merged.sort_by(|x, y| x.name.cmp(y.name));
    merged.dedup_by(|later, kept| {
        if later.name != kept.name {
            return false;
        }
        kept.events += later.events;
        kept.first_event = kept.first_event.min(later.first_event);
        kept.last_event = kept.last_event.max(later.last_event);
        true
    });
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GeneratorSettings, generate};

    /// The log, fed events one by one, answers as a store built from all of them at once.
    #[test]
    fn a_log_answers_as_one_store_of_all_its_events() {
        let all = generate(&GeneratorSettings {
            seed: 7,
            engineers: 9,
            events: 2_400,
            days: 20,
            ..GeneratorSettings::default()
        });
        let (loaded, recorded) = all.split_at(all.len() / 3);
        let mut log =
            EventSnapshot::new(EventIndex::from_records("default", loaded.to_vec()).unwrap());
        // Recorded ones arrive out of time order and with new actions and engineers.
        let mut extra: Vec<RawEvent> = recorded.iter().rev().cloned().collect();
        extra.push(RawEvent {
            id: 1_000_000,
            sha: "abcdef1".into(),
            date: loaded[3].date,
            action: "zz-new".into(),
            engineer: "newcomer".into(),
            service: None,
        });
        let mut expected = loaded.to_vec();
        let mut folded = false;
        for (n, event) in extra.into_iter().enumerate() {
            log = log.with([event.clone()]).unwrap();
            folded |= log.recent.is_empty();
            expected.push(event);
            if n % 97 != 0 && n + 1 != recorded.len() + 1 {
                continue;
            }
            let oracle = EventIndex::from_records("default", expected.clone()).unwrap();
            assert_eq!(log.len(), oracle.len());
            assert_eq!(log.engineers_json(), oracle.engineers_json());
            let (first, last) = oracle.time_span().unwrap();
            let (first, last) = (day_of(first) - 1, day_of(last) + 1);
            assert_eq!(log.daily_json(first, last), oracle.daily_json(first, last));
            assert!(log.iter().eq(oracle.iter()));
            for limit in [1, 7, 100] {
                for engineer in [
                    None,
                    Some("newcomer"),
                    Some(oracle.iter().nth(5).unwrap().engineer),
                ] {
                    let query = EventQuery {
                        limit,
                        engineer,
                        from: Some(first * 86_400 + 40_000),
                        ..EventQuery::default()
                    };
                    let mut query_log = query.clone();
                    loop {
                        let (a, b) = (log.query(&query_log), oracle.query(&query_log));
                        assert_eq!(a, b);
                        match a.next {
                            Some(after) => query_log.after = Some(after),
                            None => break,
                        }
                    }
                }
            }
            for event in oracle.iter().step_by(13) {
                assert_eq!(log.event(event.id), Some(event));
            }
            assert_eq!(log.max_id(), oracle.max_id());
        }
        assert!(
            folded,
            "the recent events were folded into the base at least once"
        );
    }
}
