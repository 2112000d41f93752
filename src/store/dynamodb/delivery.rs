//! The delivery metrics on DynamoDB: per-commit firsts (`SVC#<service>#COMMIT#<sha>`), pushed
//! commits' places and ships (`shipping`), and per-day facts (`DLV#<YYYY>`, and each
//! service's), kept by `POST /events` in the event's own transaction and by `import`, so that
//! `GET /metrics/delivery` reads one Query per calendar year and no event.
//!
//! A commit is a (service, sha) pair: its firsts are its service's. The whole store's days
//! pool the services': each commit's contribution and each deploy and rollback goes to its
//! service's day and to the store's, whose deploy instants and rollbacks carry their service,
//! so that a rollback is restored by its own service's next deploy.
//!
//! A commit adds to the days its lead time starts and ends on (`Firsts::contribution`: its lead
//! time or "unstaged" on its first deploy's day, "started" on its start's, "resolved" on the
//! day it stops being pending). When an event moves a commit's firsts, its old contribution is
//! taken away and its new one added: the changes are counts added or subtracted, which commute
//! with other writers'. A pushed commit counts by its place and its ship; any other by its own
//! first stage and first deploy.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::items::{CommitItem, DeliveryDayItem, EventItem, Item, PlaceItem, ShipItem, to_item};
use super::keys::{self, Scope};
use super::transact::{Change, put_new};
use super::{DynamoDbFailure, DynamoDbStore};
use crate::events::{
    DayChange, DeliveryActions, DeliveryDay, DeliveryKind, Firsts, PushOrder, Timestamp,
    ship_earlier_commits,
};

/// What the day items record they were counted for.
pub fn counted(actions: &DeliveryActions) -> String {
    let DeliveryActions {
        deploy,
        stage,
        rollback,
        commit,
        hotfix,
    } = actions;
    format!("{deploy} {stage} {rollback} {commit} {hotfix}")
}

/// A day's change applied to its stored item in memory (`service`: the changing event's).
pub fn apply(change: &DayChange, item: &mut DeliveryDayItem, service: &str) {
    item.deploys += change.deploys;
    item.hotfixes += change.hotfixes;
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
    item.from_commit += change.from_commit;
    item.unstaged += change.unstaged;
    item.started += change.started;
    for (day, count) in &change.resolved {
        *item.resolved.entry(keys::day_sk(*day)).or_default() += count;
    }
}

/// A deploy instant with its service, as the whole store's days keep them.
fn tagged(at: Timestamp, service: &str) -> String {
    format!("{at} {service}")
}

/// What `event` adds to its own day besides its commit's firsts.
pub fn event_change(event: &EventItem, actions: &DeliveryActions) -> Option<(i64, DayChange)> {
    DayChange::of_event(actions.kind_of(&event.action)?, event.id, event.ts)
}

/// Its commit's firsts after `event` (its own deploys only); `None` if the event is no
/// deploy, stage or commit event. A commit's first recorded commit event stands: a later one
/// changes nothing.
pub fn firsts_after(
    before: Firsts,
    event: &EventItem,
    actions: &DeliveryActions,
) -> Option<Firsts> {
    match actions.kind_of(&event.action)? {
        DeliveryKind::Rollback => None,
        DeliveryKind::Commit if before.commit().is_some() => Some(before),
        kind => Some(before.after(kind, event.ts)),
    }
}

/// A stored commit's firsts, its own first deploy as its deploy (absent: none).
pub fn firsts_of(commit: Option<&CommitItem>) -> Firsts {
    commit.map_or_else(Firsts::default, |c| {
        Firsts::new(c.commit, c.stage, c.deploy)
    })
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

/// One service's delivery items, recomputed from all its events (verify).
pub struct Recomputed {
    pub commits: Vec<CommitItem>,
    pub places: Vec<PlaceItem>,
    pub ships: Vec<ShipItem>,
    pub days: Vec<DeliveryDayItem>,
}

/// Every commit's firsts, every pushed commit's place, the ships and every day's facts of one
/// service, recomputed from all its events (verify).
pub fn recompute(service: &str, events: &[EventItem], actions: &DeliveryActions) -> Recomputed {
    let scope = Scope::Service(service);
    let counted = counted(actions);
    // Each commit's firsts (its own deploys only) and place.
    let mut commits: BTreeMap<&str, (Firsts, Option<PushOrder>)> = BTreeMap::new();
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
        let (firsts, place) = commits.entry(&event.sha).or_default();
        match actions.kind_of(&event.action) {
            Some(DeliveryKind::Commit) => {
                let here = PushOrder {
                    at: event.ts,
                    id: event.id,
                };
                *place = Some(here.first_recorded(*place));
            }
            Some(DeliveryKind::Rollback) | None => {}
            Some(kind) => *firsts = firsts.after(kind, event.ts),
        }
    }
    commits.retain(|_, (firsts, place)| !firsts.is_none() || place.is_some());
    let mut commit_items = Vec::with_capacity(commits.len());
    let mut shipped: BTreeMap<&str, Firsts> = BTreeMap::new();
    for (&sha, &(firsts, place)) in &commits {
        let firsts = match place {
            Some(place) => firsts.after(DeliveryKind::Commit, place.at),
            None => firsts,
        };
        commit_items.push(CommitItem {
            pk: keys::commit_pk(scope, sha),
            sk: keys::COMMIT_SK.to_owned(),
            commit: firsts.commit(),
            pushed_id: place.map(|place| place.id),
            stage: firsts.stage(),
            deploy: firsts.deploy(),
        });
        shipped.insert(sha, firsts);
    }
    // Places and ships from the pushed commits, in order.
    let mut pushed: Vec<(PushOrder, &str, Option<Timestamp>)> = (commits.iter())
        .filter_map(|(&sha, &(firsts, place))| Some((place?, sha, firsts.deploy())))
        .collect();
    pushed.sort_unstable();
    let places = (pushed.iter())
        .map(|&(place, sha, _)| PlaceItem {
            pk: keys::push_order_pk(service),
            sk: keys::place_sk(place),
            sha: sha.to_owned(),
        })
        .collect();
    let mut ships = Vec::new();
    let mut earliest_later = Timestamp::MAX;
    for &(place, _, deploy) in pushed.iter().rev() {
        if let Some(deploy) = deploy.filter(|&deploy| deploy < earliest_later) {
            earliest_later = deploy;
            ships.push(ShipItem {
                pk: keys::ships_pk(service),
                sk: keys::place_sk(place),
                deploy,
            });
        }
    }
    ships.reverse();
    // Each pushed commit shipped by the first deploy at or after its place: the domain's rule.
    let mut in_order: Vec<(PushOrder, &mut Firsts)> = (shipped.iter_mut())
        .filter_map(|(sha, firsts)| Some((commits[sha].1?, firsts)))
        .collect();
    ship_earlier_commits(&mut in_order);
    for firsts in shipped.values() {
        for (day, change) in firsts.contribution() {
            add(day, &change);
        }
    }
    Recomputed {
        commits: commit_items,
        places,
        ships,
        days: days
            .into_values()
            .map(DeliveryDayItem::without_zeros)
            .collect(),
    }
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
            whole.hotfixes += item.hotfixes;
            (whole.service_times).extend(item.times.iter().map(|&at| tagged(at, service)));
            for (id, &at) in &item.rollbacks {
                whole.rollbacks.insert(id.clone(), at);
                let services = whole.rollback_services.get_or_insert_default();
                services.insert(id.clone(), service.to_owned());
            }
            for (lead, count) in &item.leads {
                *whole.leads.entry(lead.clone()).or_default() += count;
            }
            whole.from_commit += item.from_commit;
            whole.unstaged += item.unstaged;
            whole.started += item.started;
            for (on, count) in &item.resolved {
                *whole.resolved.entry(on.clone()).or_default() += count;
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
    let mut parsed = || {
        Some(DeliveryDay {
            day: keys::day_of_sk(&item.sk)?,
            deploys: count(&item.deploys)?,
            hotfixes: count(&item.hotfixes)?,
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
            leads_from_commit: count(&item.from_commit)?,
            deployed_without_stage: count(&item.unstaged)?,
            started: count(&item.started)?,
            resolved: (item.resolved.iter())
                .map(|(on, n)| Some((keys::day_of_sk(on)?, count(n)?)))
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
    for (attribute, delta) in [
        ("hotfixes", delta.hotfixes),
        ("unstaged", delta.unstaged),
        ("from_commit", delta.from_commit),
        ("started", delta.started),
    ] {
        if delta != 0 {
            change.add(attribute, delta);
        }
    }
    for (lead, count) in &delta.leads {
        change.add_in_map("leads", &lead.to_string(), *count);
    }
    for (started_on, count) in &delta.resolved {
        change.add_in_map("resolved", &keys::day_sk(*started_on), *count);
    }
    change.build(store)
}

/// A commit's firsts written as `after` (`pushed_id`: the id of the commit event that pushed
/// it, if this write pushes it): created, or moved only if every first is still what was read.
/// (Every one: the days' changes were computed from them all, so a writer that moved another
/// first in between must make this one read again.)
pub fn commit_write(
    store: &DynamoDbStore,
    scope: Scope<'_>,
    stored: Option<&CommitItem>,
    sha: &str,
    (after, pushed_id): (Firsts, Option<u64>),
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let Some(stored) = stored else {
        return put_new(
            store,
            to_item(&CommitItem {
                pk: keys::commit_pk(scope, sha),
                sk: keys::COMMIT_SK.to_owned(),
                commit: after.commit(),
                pushed_id: pushed_id.filter(|_| after.commit().is_some()),
                stage: after.stage(),
                deploy: after.deploy(),
            }),
        );
    };
    let mut change = Change::new(&stored.pk, &stored.sk);
    // Ids are numbers up to u64's, beyond a timestamp's i64.
    change.still("pushed_id", stored.pushed_id);
    if let Some(id) = pushed_id.filter(|_| stored.pushed_id.is_none()) {
        change.set_number("pushed_id", id);
    }
    for (attribute, was, to) in [
        ("commit", stored.commit, after.commit()),
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
