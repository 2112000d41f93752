//! The delivery metrics on DynamoDB: per-commit firsts (`COMMIT#<sha>`) and per-day facts
//! (`DLV#<YYYY>`), kept by `POST /events` in the event's own transaction and by `import`, so
//! that `GET /metrics/delivery` reads one Query per calendar year and no event.
//!
//! A commit adds to the days its first stage and first deploy fall on (its lead time or
//! "unstaged" on the deploy's day, its "staged" entry on the stage's day). When an event moves
//! a commit's firsts, its old contribution is taken away and its new one added: the changes
//! are counts added or subtracted, which commute with other writers'.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::items::{CommitItem, DeliveryDayItem, EventItem, Item, to_item};
use super::keys;
use super::transact::{Change, put_new};
use super::{DynamoStore, StoreFailure};
use crate::events::{DeliveryActions, DeliveryDay, Timestamp, day_of};

/// What the day items record they were counted for.
pub fn counted(actions: &DeliveryActions) -> String {
    format!("{} {} {}", actions.deploy, actions.stage, actions.rollback)
}

/// A change to one day's facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayDelta {
    pub deploys: i64,
    /// A deploy instant to add.
    pub time: Option<Timestamp>,
    /// A rollback to add: id, instant.
    pub rollback: Option<(u64, Timestamp)>,
    /// Lead time → commits.
    pub leads: BTreeMap<i64, i64>,
    pub unstaged: i64,
    /// Day of first deploy (`None`: not deployed) → commits.
    pub staged: BTreeMap<Option<i64>, i64>,
}

impl DayDelta {
    fn add(&mut self, other: &DayDelta, sign: i64) {
        self.deploys += sign * other.deploys;
        self.unstaged += sign * other.unstaged;
        for (lead, count) in &other.leads {
            *self.leads.entry(*lead).or_default() += sign * count;
        }
        for (day, count) in &other.staged {
            *self.staged.entry(*day).or_default() += sign * count;
        }
        self.time = self.time.or(other.time);
        self.rollback = self.rollback.or(other.rollback);
        self.leads.retain(|_, count| *count != 0);
        self.staged.retain(|_, count| *count != 0);
    }

    pub fn is_empty(&self) -> bool {
        *self == DayDelta::default()
    }

    /// Applied to an item in memory.
    pub fn apply_to(&self, item: &mut DeliveryDayItem) {
        item.deploys += self.deploys;
        item.times.extend(self.time);
        if let Some((id, at)) = self.rollback {
            item.rollbacks.insert(id.to_string(), at);
        }
        for (lead, count) in &self.leads {
            *item.leads.entry(lead.to_string()).or_default() += count;
        }
        item.unstaged += self.unstaged;
        for (day, count) in &self.staged {
            *item.staged.entry(staged_key(*day)).or_default() += count;
        }
    }
}

fn staged_key(deployed_on: Option<i64>) -> String {
    deployed_on.map_or_else(|| keys::NOT_DEPLOYED.to_owned(), keys::day_sk)
}

/// The days a commit with these firsts adds to, and what it adds to each.
pub fn contribution(
    stage: Option<Timestamp>,
    deploy: Option<Timestamp>,
) -> BTreeMap<i64, DayDelta> {
    let mut days: BTreeMap<i64, DayDelta> = BTreeMap::new();
    if let Some(deployed) = deploy {
        let day = days.entry(day_of(deployed)).or_default();
        match stage {
            Some(staged) if staged <= deployed => {
                day.leads.insert(deployed - staged, 1);
            }
            _ => day.unstaged = 1,
        }
    }
    if let Some(staged) = stage {
        days.entry(day_of(staged))
            .or_default()
            .staged
            .insert(deploy.map(day_of), 1);
    }
    days
}

/// Per-day changes when a commit's firsts go from `before` to `after`.
pub fn moved(
    before: (Option<Timestamp>, Option<Timestamp>),
    after: (Option<Timestamp>, Option<Timestamp>),
) -> BTreeMap<i64, DayDelta> {
    let mut days = contribution(after.0, after.1);
    for (day, old) in contribution(before.0, before.1) {
        days.entry(day).or_default().add(&old, -1);
    }
    days.retain(|_, delta| !delta.is_empty());
    days
}

/// Per-day changes an event brings besides its commit's: a deploy's count and instant, a
/// rollback.
pub fn event_delta(event: &EventItem, actions: &DeliveryActions) -> Option<(i64, DayDelta)> {
    let day = day_of(event.ts);
    if event.action == actions.deploy {
        Some((
            day,
            DayDelta {
                deploys: 1,
                time: Some(event.ts),
                ..DayDelta::default()
            },
        ))
    } else if event.action == actions.rollback {
        Some((
            day,
            DayDelta {
                rollback: Some((event.id, event.ts)),
                ..DayDelta::default()
            },
        ))
    } else {
        None
    }
}

/// A day's facts from its own events alone: deploys, their instants, rollbacks (what `import`
/// recomputes; commits' facts are moved instead).
pub fn event_facts(day: i64, events: &[EventItem], actions: &DeliveryActions) -> DeliveryDayItem {
    let mut facts = DeliveryDayItem::empty(day, &counted(actions));
    for event in events {
        if let Some((_, delta)) = event_delta(event, actions) {
            delta.apply_to(&mut facts);
        }
    }
    facts
}

/// Merges `more` into `days`.
pub fn merge(days: &mut BTreeMap<i64, DayDelta>, more: BTreeMap<i64, DayDelta>) {
    for (day, delta) in more {
        days.entry(day).or_default().add(&delta, 1);
    }
}

/// A commit's firsts after `event`, from its firsts before; `None` if the event is neither a
/// deploy nor a stage.
pub fn firsts_after(
    before: (Option<Timestamp>, Option<Timestamp>),
    event: &EventItem,
    actions: &DeliveryActions,
) -> Option<(Option<Timestamp>, Option<Timestamp>)> {
    let earliest = |first: Option<Timestamp>| Some(first.map_or(event.ts, |t| t.min(event.ts)));
    if event.action == actions.stage {
        Some((earliest(before.0), before.1))
    } else if event.action == actions.deploy {
        Some((before.0, earliest(before.1)))
    } else {
        None
    }
}

/// Every commit's firsts and every day's facts, recomputed from all events (verify).
pub fn recompute(
    events: &[EventItem],
    actions: &DeliveryActions,
) -> (Vec<CommitItem>, Vec<DeliveryDayItem>) {
    let counted = counted(actions);
    let mut commits: BTreeMap<&str, (Option<Timestamp>, Option<Timestamp>)> = BTreeMap::new();
    let mut days: BTreeMap<i64, DeliveryDayItem> = BTreeMap::new();
    fn day<'d>(
        days: &'d mut BTreeMap<i64, DeliveryDayItem>,
        day: i64,
        counted: &str,
    ) -> &'d mut DeliveryDayItem {
        days.entry(day)
            .or_insert_with(|| DeliveryDayItem::empty(day, counted))
    }
    for event in events {
        if let Some((on, delta)) = event_delta(event, actions) {
            delta.apply_to(day(&mut days, on, &counted));
        }
        let firsts = commits.entry(&event.sha).or_default();
        if let Some(after) = firsts_after(*firsts, event, actions) {
            *firsts = after;
        }
    }
    let mut commit_items = Vec::new();
    for (sha, (stage, deploy)) in commits {
        if stage.is_none() && deploy.is_none() {
            continue;
        }
        for (on, delta) in contribution(stage, deploy) {
            delta.apply_to(day(&mut days, on, &counted));
        }
        commit_items.push(CommitItem {
            pk: keys::commit_pk(sha),
            sk: keys::COMMIT_SK.to_owned(),
            stage,
            deploy,
        });
    }
    (
        commit_items,
        days.into_values()
            .map(DeliveryDayItem::without_zeros)
            .collect(),
    )
}

/// The domain's per-day facts from a stored day; `None` if its key or an entry does not
/// parse (logged), which only a broken table holds.
pub fn to_day(item: &DeliveryDayItem) -> Option<DeliveryDay> {
    let broken = |what: &str| {
        tracing::error!(
            key = format!("{}/{}", item.pk, item.sk),
            what,
            "a delivery day does not parse"
        );
    };
    let Some(day) = keys::day_of_sk(&item.sk) else {
        broken("date");
        return None;
    };
    let count = |n: i64| u32::try_from(n).ok();
    let mut leads = Vec::new();
    for (lead, n) in &item.leads {
        match (lead.parse::<i64>(), count(*n)) {
            (Ok(lead), Some(n)) => leads.push((lead, n)),
            _ => {
                broken("leads");
                return None;
            }
        }
    }
    let mut staged = Vec::new();
    for (deployed_on, n) in &item.staged {
        let deployed_on = match deployed_on.as_str() {
            keys::NOT_DEPLOYED => None,
            date => match keys::day_of_sk(date) {
                Some(day) => Some(day),
                None => {
                    broken("staged");
                    return None;
                }
            },
        };
        match count(*n) {
            Some(n) => staged.push((deployed_on, n)),
            None => {
                broken("staged");
                return None;
            }
        }
    }
    let (Some(deploys), Some(unstaged)) = (count(item.deploys), count(item.unstaged)) else {
        broken("counts");
        return None;
    };
    Some(DeliveryDay {
        day,
        deploys,
        deploy_times: item.times.iter().copied().collect(),
        rollback_times: item.rollbacks.values().copied().collect(),
        leads,
        deployed_without_stage: unstaged,
        staged,
    })
}

/// The write that brings a stored day (`None`: absent) by `delta`: a new item, or an update
/// whose counts add (they commute with other writers').
pub fn day_write(
    store: &DynamoStore,
    day: i64,
    current: Option<&DeliveryDayItem>,
    delta: &DayDelta,
    counted: &str,
) -> Result<TransactWriteItem, StoreFailure> {
    let Some(current) = current else {
        let mut item = DeliveryDayItem::empty(day, counted);
        delta.apply_to(&mut item);
        return put_new(store, to_item(&item));
    };
    let mut change = Change::new(&current.pk, &current.sk);
    if delta.deploys != 0 {
        change.add("deploys", delta.deploys);
    }
    if let Some(at) = delta.time {
        change.add_number_to_set("times", at);
    }
    if let Some((id, at)) = delta.rollback {
        change.set_in_map(
            "rollbacks",
            &id.to_string(),
            AttributeValue::N(at.to_string()),
        );
    }
    if delta.unstaged != 0 {
        change.add("unstaged", delta.unstaged);
    }
    for (lead, count) in &delta.leads {
        change.add_in_map("leads", &lead.to_string(), *count);
    }
    for (deployed_on, count) in &delta.staged {
        change.add_in_map("staged", &staged_key(*deployed_on), *count);
    }
    change.build(store)
}

/// The stored items' keys, for reading before a write.
pub fn day_key(day: i64) -> Item {
    super::items::key(keys::delivery_days_pk(day), keys::day_sk(day))
}
