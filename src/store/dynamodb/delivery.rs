//! The delivery metrics on DynamoDB: per-commit firsts (`SVC#<service>#COMMIT#<sha>`) and
//! per-day facts (`DLV#<YYYY>`, and each service's), kept by `POST /events` in the event's own
//! transaction and by `import`, so that `GET /metrics/delivery` reads one Query per calendar
//! year and no event.
//!
//! A commit is a (service, sha) pair: its firsts are its service's. The whole store's days
//! pool the services': each commit's contribution and each deploy and rollback goes to its
//! service's day and to the store's, whose deploy instants and rollbacks carry their service,
//! so that a rollback is restored by its own service's next deploy.
//!
//! A commit adds to the days its first stage and first deploy fall on (its lead time or
//! "unstaged" on the deploy's day, its "staged" entry on the stage's day). When an event moves
//! a commit's firsts, its old contribution is taken away and its new one added: the changes
//! are counts added or subtracted, which commute with other writers'.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::items::{CommitItem, DeliveryDayItem, EventItem, Item, to_item};
use super::keys::{self, Scope};
use super::transact::{Change, put_new};
use super::{DynamoDbFailure, DynamoDbStore};
use crate::events::{DayChange, DeliveryActions, DeliveryDay, DeliveryKind, Firsts, Timestamp};

/// What the day items record they were counted for.
pub fn counted(actions: &DeliveryActions) -> String {
    format!("{} {} {}", actions.deploy, actions.stage, actions.rollback)
}

/// A day's change applied to its stored item in memory (`service`: the changing event's).
pub fn apply(change: &DayChange, item: &mut DeliveryDayItem, service: &str) {
    item.deploys += change.deploys;
    let whole = item.rollback_services.is_some();
    if let Some(at) = change.time {
        match whole {
            true => item.service_times.insert(tagged(at, service)),
            false => item.times.insert(at),
        };
    }
    if let Some((id, at)) = change.rollback {
        item.rollbacks.insert(id.to_string(), at);
        if let Some(services) = &mut item.rollback_services {
            services.insert(id.to_string(), service.to_owned());
        }
    }
    for (lead, count) in &change.leads {
        *item.leads.entry(lead.to_string()).or_default() += count;
    }
    item.unstaged += change.unstaged;
    for (day, count) in &change.staged {
        *item.staged.entry(staged_key(*day)).or_default() += count;
    }
}

/// A deploy instant with its service, as the whole store's days keep them.
fn tagged(at: Timestamp, service: &str) -> String {
    format!("{at} {service}")
}

fn staged_key(deployed_on: Option<i64>) -> String {
    deployed_on.map_or_else(|| keys::NOT_DEPLOYED.to_owned(), keys::day_sk)
}

/// What `event` adds to its own day besides its commit's firsts.
pub fn event_change(event: &EventItem, actions: &DeliveryActions) -> Option<(i64, DayChange)> {
    DayChange::of_event(actions.kind_of(&event.action)?, event.id, event.ts)
}

/// Its commit's firsts after `event`; `None` if the event is neither a deploy nor a stage.
pub fn firsts_after(
    before: Firsts,
    event: &EventItem,
    actions: &DeliveryActions,
) -> Option<Firsts> {
    match actions.kind_of(&event.action)? {
        DeliveryKind::Rollback => None,
        kind => Some(before.after(kind, event.ts)),
    }
}

/// A stored commit's firsts (absent: none).
pub fn firsts_of(commit: Option<&CommitItem>) -> Firsts {
    commit.map_or_else(Firsts::default, |c| Firsts::new(c.stage, c.deploy))
}

/// A day's facts from its own events alone: deploys, their instants, rollbacks (what `import`
/// recomputes; commits' facts are moved instead).
pub fn event_facts(
    scope: Scope<'_>,
    day: i64,
    events: &[EventItem],
    actions: &DeliveryActions,
    default_service: &str,
) -> DeliveryDayItem {
    let mut facts = DeliveryDayItem::empty(scope, day, &counted(actions));
    for event in events {
        if let Some((_, change)) = event_change(event, actions) {
            let service = event.svc.as_deref().unwrap_or(default_service);
            apply(&change, &mut facts, service);
        }
    }
    facts
}

/// Every commit's firsts and every day's facts of one service, recomputed from all its events
/// (verify).
pub fn recompute(
    service: &str,
    events: &[EventItem],
    actions: &DeliveryActions,
) -> (Vec<CommitItem>, Vec<DeliveryDayItem>) {
    let scope = Scope::Service(service);
    let counted = counted(actions);
    let mut commits: BTreeMap<&str, Firsts> = BTreeMap::new();
    // Items, not changes: a change holds one deploy instant and one rollback, a day many.
    let mut days: BTreeMap<i64, DeliveryDayItem> = BTreeMap::new();
    let mut add = |day: i64, change: &DayChange| {
        let item = days
            .entry(day)
            .or_insert_with(|| DeliveryDayItem::empty(scope, day, &counted));
        apply(change, item, service);
    };
    for event in events {
        if let Some((day, change)) = event_change(event, actions) {
            add(day, &change);
        }
        let firsts = commits.entry(&event.sha).or_default();
        if let Some(after) = firsts_after(*firsts, event, actions) {
            *firsts = after;
        }
    }
    commits.retain(|_, firsts| !firsts.is_none());
    for firsts in commits.values() {
        for (day, change) in firsts.contribution() {
            add(day, &change);
        }
    }
    let commit_items = commits
        .into_iter()
        .map(|(sha, firsts)| CommitItem {
            pk: keys::commit_pk(scope, sha),
            sk: keys::COMMIT_SK.to_owned(),
            stage: firsts.stage(),
            deploy: firsts.deploy(),
        })
        .collect();
    (
        commit_items,
        days.into_values()
            .map(DeliveryDayItem::without_zeros)
            .collect(),
    )
}

/// The whole store's days from every service's (`services`: name, its days).
pub fn pooled<'a>(
    services: impl IntoIterator<Item = (&'a str, &'a [DeliveryDayItem])>,
    counted: &str,
) -> Vec<DeliveryDayItem> {
    let mut days: BTreeMap<String, DeliveryDayItem> = BTreeMap::new();
    for (service, of_service) in services {
        for item in of_service {
            let Some(day) = keys::day_of_sk(&item.sk) else {
                continue;
            };
            let whole = days
                .entry(item.sk.clone())
                .or_insert_with(|| DeliveryDayItem::empty(Scope::Whole, day, counted));
            whole.deploys += item.deploys;
            (whole.service_times).extend(item.times.iter().map(|&at| tagged(at, service)));
            for (id, &at) in &item.rollbacks {
                whole.rollbacks.insert(id.clone(), at);
                let services = whole.rollback_services.get_or_insert_default();
                services.insert(id.clone(), service.to_owned());
            }
            for (lead, count) in &item.leads {
                *whole.leads.entry(lead.clone()).or_default() += count;
            }
            whole.unstaged += item.unstaged;
            for (on, count) in &item.staged {
                *whole.staged.entry(on.clone()).or_default() += count;
            }
        }
    }
    days.into_values()
        .map(DeliveryDayItem::without_zeros)
        .collect()
}

/// Numbers for services, as the domain tells deploys and rollbacks of the store's days apart.
#[derive(Default)]
pub struct ServiceNumbers(std::collections::HashMap<String, u32>);

impl ServiceNumbers {
    fn of(&mut self, service: &str) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(service.to_owned()).or_insert(next)
    }
}

/// The domain's per-day facts from a stored day; `None` if its key or an entry does not
/// parse (logged), which only a broken table holds.
pub fn to_day(item: &DeliveryDayItem, services: &mut ServiceNumbers) -> Option<DeliveryDay> {
    let count = |n: &i64| u32::try_from(*n).ok();
    let deployed_on = |key: &str| match key {
        keys::NOT_DEPLOYED => Some(None),
        date => keys::day_of_sk(date).map(Some),
    };
    let mut parsed = || {
        Some(DeliveryDay {
            day: keys::day_of_sk(&item.sk)?,
            deploys: count(&item.deploys)?,
            deploy_times: match &item.rollback_services {
                None => item.times.iter().map(|&at| (0, at)).collect(),
                Some(_) => (item.service_times.iter())
                    .map(|entry| {
                        let (at, service) = entry.split_once(' ')?;
                        Some((services.of(service), at.parse().ok()?))
                    })
                    .collect::<Option<_>>()?,
            },
            rollback_times: match &item.rollback_services {
                None => item.rollbacks.values().map(|&at| (0, at)).collect(),
                Some(of) => (item.rollbacks.iter())
                    .map(|(id, &at)| Some((services.of(of.get(id)?), at)))
                    .collect::<Option<_>>()?,
            },
            leads: (item.leads.iter())
                .map(|(lead, n)| Some((lead.parse().ok()?, count(n)?)))
                .collect::<Option<_>>()?,
            deployed_without_stage: count(&item.unstaged)?,
            staged: (item.staged.iter())
                .map(|(on, n)| Some((deployed_on(on)?, count(n)?)))
                .collect::<Option<_>>()?,
        })
    };
    let day = parsed();
    if day.is_none() {
        let key = format!("{}/{}", item.pk, item.sk);
        tracing::error!(key, "a delivery day does not parse");
    }
    day
}

/// The write that brings a stored day (`None`: absent) by `delta`, a change by an event of
/// `service`: a new item, or an update whose counts add (they commute with other writers').
pub fn day_write(
    store: &DynamoDbStore,
    scope: Scope<'_>,
    day: i64,
    current: Option<&DeliveryDayItem>,
    (delta, service): (&DayChange, &str),
    counted: &str,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let Some(current) = current else {
        let mut item = DeliveryDayItem::empty(scope, day, counted);
        apply(delta, &mut item, service);
        return put_new(store, to_item(&item));
    };
    let mut change = Change::new(&current.pk, &current.sk);
    if delta.deploys != 0 {
        change.add("deploys", delta.deploys);
    }
    let whole = scope == Scope::Whole;
    if let Some(at) = delta.time {
        let added = match whole {
            true => (
                "service_times",
                AttributeValue::Ss(vec![tagged(at, service)]),
            ),
            false => ("times", AttributeValue::Ns(vec![at.to_string()])),
        };
        change.add_value(added.0, added.1);
    }
    if let Some((id, at)) = delta.rollback {
        let id = id.to_string();
        change.set_in_map("rollbacks", &id, AttributeValue::N(at.to_string()));
        if whole {
            let service = AttributeValue::S(service.to_owned());
            change.set_in_map("rollback_services", &id, service);
        }
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

/// A commit's firsts written as `after`: created, or moved only if both are still what was
/// read. (Both: the days' changes were computed from the pair, so a writer that moved the other
/// first in between must make this one read again.)
pub fn commit_write(
    store: &DynamoDbStore,
    scope: Scope<'_>,
    stored: Option<&CommitItem>,
    sha: &str,
    after: Firsts,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let Some(stored) = stored else {
        return put_new(
            store,
            to_item(&CommitItem {
                pk: keys::commit_pk(scope, sha),
                sk: keys::COMMIT_SK.to_owned(),
                stage: after.stage(),
                deploy: after.deploy(),
            }),
        );
    };
    let mut change = Change::new(&stored.pk, &stored.sk);
    for (attribute, was, to) in [
        ("stage", stored.stage, after.stage()),
        ("deploy", stored.deploy, after.deploy()),
    ] {
        change.still(attribute, was);
        if let Some(to) = to.filter(|_| to != was) {
            change.set_number(attribute, to);
        }
    }
    change.build(store)
}

/// A delivery day's key, for reading before a write.
pub fn day_key(scope: Scope<'_>, day: i64) -> Item {
    super::items::key(keys::delivery_days_pk(scope, day), keys::day_sk(day))
}

/// A commit's key, for reading before a write.
pub fn commit_key(scope: Scope<'_>, sha: &str) -> Item {
    super::items::key(keys::commit_pk(scope, sha), keys::COMMIT_SK)
}
