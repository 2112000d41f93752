//! `pipeline-events-api verify [--rebuild]`: every aggregate (and every event's id item and
//! service copy), the whole store's and each service's, compared with a recomputation from
//! every event, read with a Scan (fine here: never on a request path). `--rebuild` writes what
//! differs and deletes what no event accounts for; it never changes an event. It is also the
//! upgrade from an older layout: it writes the store's totals, which say the layout, last.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::error::DisplayErrorContext;

use super::batch::{self, Write};
use super::items::{
    self, DeliveryDayItem, EngineerDayItem, EventItem, IdItem, Item, MetaItem, from_item, to_item,
};
use super::keys::{Kind, Scope};
use super::{DynamoDbStore, aggregates, delivery, keys};
use crate::events::{DeliveryActions, day_of};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: usize,
    /// Aggregates the events call for that the table lacks, or holds with other figures.
    pub missing: Vec<String>,
    pub differing: Vec<String>,
    /// Aggregates no event accounts for.
    pub extra: Vec<String>,
    /// Items that do not decode, or whose key fits no layout: `key: reason`.
    pub undecodable: Vec<String>,
    /// Ids stored more than once.
    pub duplicate_ids: Vec<u64>,
    /// Aggregate items written or deleted by `--rebuild`.
    pub repaired: usize,
}

impl VerifyReport {
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty()
            && self.differing.is_empty()
            && self.extra.is_empty()
            && self.undecodable.is_empty()
            && self.duplicate_ids.is_empty()
    }
}

pub async fn verify(store: &DynamoDbStore, rebuild: bool) -> Result<VerifyReport, String> {
    let client = store.client().await;
    let table = store.table();
    let mut report = VerifyReport::default();

    let mut events: Vec<EventItem> = Vec::new();
    let mut stored: BTreeMap<String, Item> = BTreeMap::new();
    let counted = delivery::counted(store.delivery_actions());
    let mut counter: Option<u64> = None;
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan: {}", DisplayErrorContext(&e)))?;
        for item in output.items.unwrap_or_default() {
            let key = items::key_of(&item);
            let kind = item
                .get(keys::PK)
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| keys::kind_of_pk(pk))
                .map(|(kind, scope)| (kind, scope == Scope::Whole));
            match kind {
                Some((Kind::Event, true)) => match from_item::<EventItem>(item) {
                    Ok(event) => events.push(event),
                    Err(error) => report.undecodable.push(format!("{key}: {}", error.reason)),
                },
                Some((
                    Kind::Event
                    | Kind::Day
                    | Kind::Id
                    | Kind::EngineerDay
                    | Kind::Commit
                    | Kind::PushOrder
                    | Kind::Engineers
                    | Kind::Meta,
                    _,
                )) => {
                    stored.insert(key, item);
                }
                // A service's turn orders its writers; any number will do.
                Some((Kind::Ships, _)) if key.ends_with(&format!("/{}", keys::TURN_SK)) => {}
                Some((Kind::Ships, _)) => {
                    stored.insert(key, item);
                }
                // Days past a service's frequency window linger until a write prunes them.
                Some((Kind::Services, _)) => match from_item::<MetaItem>(item) {
                    Ok(totals) => {
                        let last = totals.last_deploy;
                        let deploys = totals.deploys.clone().unwrap_or_default();
                        let by_day = (deploys.iter())
                            .filter_map(|(day, n)| Some((keys::day_of_sk(day)?, *n)));
                        let pruned = aggregates::with_deploys(totals, last, by_day);
                        stored.insert(key, to_item(&pruned));
                    }
                    Err(error) => report.undecodable.push(format!("{key}: {}", error.reason)),
                },
                // Counts kept by adding and subtracting may rest at 0: compared without them,
                // and a day left with nothing is as good as none.
                Some((Kind::DeliveryDay, _)) => match from_item::<DeliveryDayItem>(item) {
                    Ok(day) if day.holds_nothing() && day.counted == counted => {}
                    Ok(day) => {
                        stored.insert(key, to_item(&day.without_zeros()));
                    }
                    Err(error) => report.undecodable.push(format!("{key}: {}", error.reason)),
                },
                Some((Kind::Counter, _)) => {
                    counter = item
                        .get(keys::COUNTER_LAST)
                        .and_then(|last| last.as_n().ok())
                        .and_then(|last| last.parse().ok());
                    if counter.is_none() {
                        report
                            .undecodable
                            .push(format!("{key}: no number in 'last'"));
                    }
                }
                // Idempotency records: requests, not aggregates; their time to live ends them.
                Some((Kind::Idempotency, _)) => {}
                _ => report
                    .undecodable
                    .push(format!("{key}: a key of no known kind")),
            }
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    report.events = events.len();
    for event in &events {
        // The keys, from the fields; an event stored before services keeps having none.
        let expected = EventItem {
            svc: event.svc.clone(),
            ..EventItem::new(&event.clone().into_record("").view(), Scope::Whole)
        };
        if &expected != event {
            report.undecodable.push(format!(
                "{}/{}: keys disagree with the event's fields",
                event.pk, event.sk
            ));
        }
    }
    let mut ids: Vec<u64> = events.iter().map(|event| event.id).collect();
    ids.sort_unstable();
    report.duplicate_ids = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    report.duplicate_ids.dedup();

    let default_service = store.default_service();
    let mut by_service: BTreeMap<String, Vec<EventItem>> = BTreeMap::new();
    for event in &events {
        let copy = event.service_copy(default_service);
        let service = copy.svc.clone().unwrap_or_default();
        by_service.entry(service).or_default().push(copy);
    }
    let actions = store.delivery_actions();
    let mut desired: BTreeMap<String, Item> = BTreeMap::new();
    let by_id = events.iter().map(|event| to_item(&IdItem::of(event)));
    let copies = by_service.values().flatten().map(to_item);
    let whole = aggregates_of(Scope::Whole, &events, actions, &counted);
    let of_services = (by_service.iter())
        .flat_map(|(name, events)| aggregates_of(Scope::Service(name), events, actions, &counted));
    // A commit is its service's; the store's delivery days pool the services'.
    let facts: Vec<(&str, delivery::Recomputed)> = (by_service.iter())
        .map(|(name, events)| (name.as_str(), delivery::recompute(name, events, actions)))
        .collect();
    let pooled = delivery::pooled(
        facts.iter().map(|(name, facts)| (*name, &facts.days[..])),
        &counted,
    );
    let delivery = (facts.iter())
        .flat_map(|(_, facts)| {
            (facts.commits.iter().map(to_item))
                .chain(facts.places.iter().map(to_item))
                .chain(facts.ships.iter().map(to_item))
                .chain(facts.days.iter().map(to_item))
        })
        .chain(pooled.iter().map(to_item));
    for item in (by_id.chain(copies).chain(whole).chain(of_services)).chain(delivery) {
        desired.insert(items::key_of(&item), item);
    }

    let mut writes = Vec::new();
    for (key, item) in &desired {
        match stored.get(key) {
            None => report.missing.push(key.clone()),
            Some(existing) if items::normalized(existing) != items::normalized(item) => {
                report.differing.push(key.clone())
            }
            Some(_) => continue,
        }
        writes.push(Write::Put(item.clone()));
    }
    for (key, item) in &stored {
        if !desired.contains_key(key) {
            report.extra.push(key.clone());
            writes.push(Write::Delete(items::key_attributes(item)));
        }
    }
    // The id counter must be at or above every id, or POST /events would hand out a taken one.
    let max_id = events.iter().map(|e| e.id).max();
    let counter_low = max_id.filter(|max| counter.is_none_or(|last| last < *max));
    if let Some(max) = counter_low {
        let key = format!("{}/{}", keys::COUNTER_PK, keys::EVENT_ID_SK);
        match counter {
            None => report.missing.push(key),
            Some(last) => report.differing.push(format!(
                "{key} (last id {last}, below the greatest id {max})"
            )),
        }
    }
    if rebuild {
        report.repaired = writes.len() + usize::from(counter_low.is_some());
        // The store's totals last: they say the layout, which must not be this version's
        // before every other item is.
        let meta_key = format!("{}/{}", keys::META_PK, keys::META_SK);
        let (meta, others): (Vec<Write>, Vec<Write>) = writes
            .into_iter()
            .partition(|write| write.key() == meta_key);
        batch::write(client, table, others, |_| {}).await?;
        batch::write(client, table, meta, |_| {}).await?;
        if let Some(max) = counter_low {
            super::import::raise_id_counter(client, table, max).await?;
        }
    }
    Ok(report)
}

/// The aggregates of `scope` from its events but the delivery facts: days, engineers' days,
/// engineers, the totals.
fn aggregates_of(
    scope: Scope<'_>,
    events: &[EventItem],
    actions: &DeliveryActions,
    counted: &str,
) -> Vec<Item> {
    let (days, engineer_days) = aggregates::days(scope, events);
    let mut by_engineer: BTreeMap<&str, Vec<EngineerDayItem>> = BTreeMap::new();
    for event in events {
        by_engineer.entry(&event.engineer).or_default();
    }
    for day in &engineer_days {
        let name = keys::engineer_of_days_pk(&day.pk).unwrap_or_default();
        if let Some(days) = by_engineer.get_mut(name) {
            days.push(day.clone());
        }
    }
    let engineers: Vec<_> = by_engineer
        .iter()
        .filter_map(|(name, days)| aggregates::engineer(scope, name, days))
        .collect();
    let names: BTreeSet<String> = events.iter().map(|e| e.action.clone()).collect();
    let mut meta = aggregates::meta(scope, names, &engineers, Some(counted.to_owned()));
    if scope != Scope::Whole
        && let Some(totals) = meta.take()
    {
        let deploys = events.iter().filter(|e| actions.is_deploy(&e.action));
        let mut by_day: BTreeMap<i64, i64> = BTreeMap::new();
        for deploy in deploys.clone() {
            *by_day.entry(day_of(deploy.ts)).or_default() += 1;
        }
        let last = deploys.map(|deploy| deploy.ts).max();
        meta = Some(aggregates::with_deploys(totals, last, by_day));
    }
    (days.iter().map(to_item))
        .chain(engineer_days.iter().map(to_item))
        .chain(engineers.iter().map(to_item))
        .chain(meta.iter().map(to_item))
        .collect()
}
