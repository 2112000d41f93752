//! `pipeline-events-api import`: events from a file into the table, then the aggregates of
//! every day and engineer the file touches recomputed from the events in the table.
//!
//! Safe to run again, and the way to finish an import that stopped: events are written only if
//! missing (an id stored with other content stops the import), and the aggregates are
//! recomputed from what the table holds, never incremented, so a run that died between the two
//! steps is completed by the next one. The one exception is a commit's delivery facts: its days
//! change by its old and new contribution, in one transaction with the move of its firsts, which
//! happens only if they are still what was read; a rerun finds them moved and changes nothing. A
//! run over data already imported writes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;

use super::backoff::PATIENT;
use super::batch::{self, Write};
use super::items::{
    self, CommitItem, DeliveryDayItem, EngineerDayItem, EngineerItem, EventItem, IdItem, Item,
    MetaItem, decode_all, from_item, to_item,
};
use super::keys::{self, MAX_NAME_BYTES, Month, Scope};
use super::read::query_all;
use super::{DynamoDbStore, aggregates, delivery};
use crate::events::{DayChange, DeliveryKind, Firsts, SECONDS_PER_DAY, Services, day_of};

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub read: usize,
    pub written: usize,
    pub already_stored: usize,
    /// Aggregate items (days, engineers' days, engineers, the store's totals, the whole
    /// store's and each service's; events' copies for their service) rewritten.
    pub aggregates_updated: usize,
    /// Commit events of the file recorded before their commit's place (a lower id than the
    /// commit event that placed it, which an earlier import or a request stored): the commit
    /// keeps its place until `verify --rebuild` recounts the delivery facts.
    pub commits_out_of_place: usize,
}

impl ImportReport {
    pub fn changed_nothing(&self) -> bool {
        self.written == 0 && self.aggregates_updated == 0
    }
}

/// Where an import is: events checked (or items written) so far, of how many.
pub struct Progress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
}

/// Imports every event of `events` (already parsed and checked: ids unique, fields present).
pub async fn import(
    store: &DynamoDbStore,
    events: &Services,
    mut progress: impl FnMut(Progress),
) -> Result<ImportReport, String> {
    for event in events.iter() {
        for (field, value) in [("engineer", event.engineer), ("action", event.action)] {
            if value.len() > MAX_NAME_BYTES {
                return Err(format!(
                    "event id {}: {field} is {} bytes long; DynamoDB keys hold at most {MAX_NAME_BYTES}",
                    event.id,
                    value.len()
                ));
            }
        }
    }
    let client = store.client().await;
    let table = store.table();
    let mut report = ImportReport {
        read: events.len(),
        ..ImportReport::default()
    };
    let stored_meta = totals(client, table, Scope::Whole).await?;
    if let Some(meta) = stored_meta
        .as_ref()
        .filter(|meta| meta.layout() < keys::LAYOUT)
    {
        return Err(format!(
            "the table is of layout {}, older than this version's ({}); upgrade it with `verify --rebuild` first; nothing was changed",
            meta.layout(),
            keys::LAYOUT
        ));
    }

    let all: Vec<EventItem> = (events.iter())
        .map(|event| EventItem::new(&event, Scope::Whole))
        .collect();

    // 0. New ids (POST /events) start above every imported one, before the file's ids are
    //    read: a POST in between would get an id of the file, and step 2 would put the file's
    //    event over it.
    let mut given_out = 0;
    if let Some(max) = all.iter().map(|e| e.id).max() {
        given_out = match raise_id_counter(client, table, max).await? {
            Counter::Created => 0,
            Counter::Raised { from } => from,
            // Every id of the file may have been given to a POST.
            Counter::Unchanged => u64::MAX,
        };
        report.aggregates_updated += usize::from(given_out != u64::MAX);
    }

    // 1. Read: every event's own item, its copy for its service and its id item, before
    //    anything is written, so that a conflict anywhere in the file stops the import with
    //    nothing changed. An id a POST was given that the table does not hold may be a POST
    //    still writing: then wait until it has written or given up, and read again, so that it
    //    is seen (and stops the import).
    let default_service = store.default_service();
    let mut checked = check_stored(client, table, &all, default_service, &mut progress).await?;
    if checked.absent.iter().any(|&id| id <= given_out) {
        tokio::time::sleep(POSTS_IN_FLIGHT).await;
        checked = check_stored(client, table, &all, default_service, &mut progress).await?;
    }
    report.written = checked.written;
    report.already_stored = checked.already_stored;
    report.aggregates_updated += checked.copies;
    let writes = checked.writes;

    // 2. Write what is missing.
    let total = writes.len();
    let mut written = 0;
    batch::write(client, table, writes, |count| {
        written += count;
        progress(Progress {
            stage: "written",
            done: written,
            total,
        });
    })
    .await?;

    // 3. The aggregates of each service of the file, then the store's. A table's first import
    //    counts its delivery facts for the configured names; a later one keeps what the table
    //    says, so that facts counted for other names, or a table from before the facts, stays
    //    refused until verify --rebuild.
    let delivery_counted = match &stored_meta {
        None => Some(delivery::counted(store.delivery_actions())),
        Some(meta) => meta.delivery_counted.clone(),
    };
    for service in events.snapshots() {
        let name = service.service();
        let of_service: Vec<&EventItem> = (all.iter())
            .filter(|event| event.svc.as_deref() == Some(name))
            .collect();
        let scope = Scope::Service(name);
        let counted = match totals(client, table, scope).await? {
            Some(meta) => meta.delivery_counted,
            None => delivery_counted.clone(),
        };
        report.aggregates_updated += aggregates_of(
            store,
            scope,
            &of_service,
            service.actions().into_iter(),
            counted,
            &mut report.commits_out_of_place,
        )
        .await?;
    }
    let every: Vec<&EventItem> = all.iter().collect();
    let actions = events.snapshots().flat_map(|service| service.actions());
    report.aggregates_updated += aggregates_of(
        store,
        Scope::Whole,
        &every,
        actions,
        delivery_counted,
        &mut 0,
    )
    .await?;
    Ok(report)
}

/// Recomputes the aggregates of `scope` that `events` (all of `scope`, with `actions` among
/// them) touch; returns how many items it wrote.
async fn aggregates_of(
    store: &DynamoDbStore,
    scope: Scope<'_>,
    events: &[&EventItem],
    actions: impl Iterator<Item = &str>,
    delivery_counted: Option<String>,
    out_of_place: &mut usize,
) -> Result<usize, String> {
    let client = store.client().await;
    let table = store.table();
    let mut updated = 0;
    // Every touched day, recomputed from its events; then each touched engineer from their
    // days; then the totals from the engineers'.
    let touched_days: BTreeSet<i64> = events.iter().map(|e| day_of(e.ts)).collect();
    let mut desired: Vec<Item> = Vec::new();
    // The days' deploys and rollbacks (kept instead of the events themselves).
    let mut event_facts: BTreeMap<i64, DeliveryDayItem> = BTreeMap::new();
    for &day in &touched_days {
        let day_events = day_events(client, table, scope, day).await?;
        let (days, engineer_days) = aggregates::days(scope, &day_events);
        desired.extend(days.iter().map(to_item));
        desired.extend(engineer_days.iter().map(to_item));
        event_facts.insert(
            day,
            delivery::event_facts(
                scope,
                day,
                &day_events,
                store.delivery_actions(),
                store.default_service(),
            ),
        );
    }
    updated += sync(client, table, desired).await?;

    // The delivery metrics' facts: each touched day's deploys and rollbacks from its events,
    // then each commit of the file whose firsts it moves.
    updated += delivery_days(store, scope, &event_facts).await?;
    if let Scope::Service(service) = scope {
        updated += delivery_commits(store, service, events, out_of_place).await?;
    }

    let touched_engineers: BTreeSet<&str> = events.iter().map(|e| e.engineer.as_str()).collect();
    let mut desired = Vec::new();
    for engineer in touched_engineers {
        let partition = keys::engineer_days_pk(scope, engineer);
        let days: Vec<EngineerDayItem> =
            decode_all(query_all(client, table, &partition, None, true).await?)?;
        desired.extend(
            aggregates::engineer(scope, engineer, &days)
                .iter()
                .map(to_item),
        );
    }
    updated += sync(client, table, desired).await?;

    let partition = keys::engineers_pk(scope);
    let engineers: Vec<EngineerItem> =
        decode_all(query_all(client, table, &partition, None, true).await?)?;
    let stored = totals(client, table, scope).await?;
    let stored_deploy = stored.as_ref().and_then(|meta| meta.last_deploy);
    let mut all_actions: BTreeSet<String> = stored.map(|meta| meta.actions).unwrap_or_default();
    all_actions.extend(actions.map(str::to_owned));
    let mut meta = aggregates::meta(scope, all_actions, &engineers, delivery_counted);
    if scope != Scope::Whole
        && let Some(totals) = meta.take()
    {
        // Events are only ever added: the last deploy is the later of the stored one and the
        // file's; the window's deploys are the delivery days'.
        let actions = store.delivery_actions();
        let deploys = events
            .iter()
            .filter(|event| actions.is_deploy(&event.action));
        let last_deploy = deploys.map(|event| event.ts).max().max(stored_deploy);
        let (from, last) = (totals.frequency_from(), day_of(totals.last));
        let mut by_day = Vec::new();
        let between = (keys::day_sk(from), keys::day_sk(last));
        let years = BTreeSet::from([from, last].map(|day| keys::delivery_days_pk(scope, day)));
        for partition in years {
            let days: Vec<DeliveryDayItem> =
                decode_all(query_all(client, table, &partition, Some(&between), true).await?)?;
            by_day.extend(
                days.iter()
                    .filter_map(|day| Some((keys::day_of_sk(&day.sk)?, day.deploys))),
            );
        }
        meta = Some(aggregates::with_deploys(totals, last_deploy, by_day));
    }
    let desired = meta.iter().map(to_item).collect();
    updated += sync(client, table, desired).await?;
    Ok(updated)
}

/// The totals of `scope` (strongly consistent).
async fn totals(
    client: &Client,
    table: &str,
    scope: Scope<'_>,
) -> Result<Option<MetaItem>, String> {
    let (pk, sk) = scope.totals_key();
    let stored = get_decoded(client, table, vec![items::key(pk, sk)]).await?;
    Ok(stored.into_values().next())
}

/// Writes each day's deploys, hotfixes, deploy instants and rollbacks as its events say, where the table
/// holds other figures; its commits' figures are left as they are. Returns the days written.
async fn delivery_days(
    store: &DynamoDbStore,
    scope: Scope<'_>,
    event_facts: &BTreeMap<i64, DeliveryDayItem>,
) -> Result<usize, String> {
    let client = store.client().await;
    let table = store.table();
    let actions = store.delivery_actions();
    let counted = delivery::counted(actions);
    let stored: BTreeMap<String, DeliveryDayItem> = get_decoded(
        client,
        table,
        event_facts
            .keys()
            .map(|&day| delivery::day_key(scope, day))
            .collect(),
    )
    .await?;
    let mut written = 0;
    for (&day, facts) in event_facts {
        let existing = stored.get(&format!("{}/{}", facts.pk, facts.sk));
        // The facts of the events themselves; the commits' are moved, not recomputed.
        let same = |item: &DeliveryDayItem| {
            (
                item.deploys,
                item.hotfixes,
                &item.times,
                &item.service_times,
            ) == (
                facts.deploys,
                facts.hotfixes,
                &facts.times,
                &facts.service_times,
            ) && (&item.rollbacks, &item.rollback_services)
                == (&facts.rollbacks, &facts.rollback_services)
        };
        if existing.is_some_and(same)
            || (existing.is_none() && facts.deploys == 0 && facts.rollbacks.is_empty())
        {
            continue;
        }
        let mut values = to_item(facts);
        let mut value = |name: &str| values.remove(name);
        let empty_map = AttributeValue::M(HashMap::new());
        let mut update = client
            .update_item()
            .table_name(table)
            .set_key(Some(delivery::day_key(scope, day)))
            .expression_attribute_names("#counted", "counted")
            .expression_attribute_names("#deploys", "deploys")
            .expression_attribute_names("#hotfixes", "hotfixes")
            .expression_attribute_names("#times", "times")
            .expression_attribute_names("#service_times", "service_times")
            .expression_attribute_names("#rollbacks", "rollbacks")
            .expression_attribute_names("#leads", "leads")
            .expression_attribute_names("#resolved", "resolved")
            .expression_attribute_names("#unstaged", "unstaged")
            .expression_attribute_names("#from_commit", "from_commit")
            .expression_attribute_names("#started", "started")
            .expression_attribute_values(
                ":rollbacks",
                value("rollbacks").expect("a delivery day has rollbacks"),
            )
            .expression_attribute_values(":counted", AttributeValue::S(counted.clone()))
            .expression_attribute_values(":deploys", AttributeValue::N(facts.deploys.to_string()))
            .expression_attribute_values(":hotfixes", AttributeValue::N(facts.hotfixes.to_string()))
            .expression_attribute_values(":empty", empty_map)
            .expression_attribute_values(":zero", AttributeValue::N("0".into()));
        let mut set = vec![
            "#counted = if_not_exists(#counted, :counted)",
            "#deploys = :deploys",
            "#hotfixes = :hotfixes",
            "#rollbacks = :rollbacks",
            "#leads = if_not_exists(#leads, :empty)",
            "#resolved = if_not_exists(#resolved, :empty)",
            "#unstaged = if_not_exists(#unstaged, :zero)",
            "#from_commit = if_not_exists(#from_commit, :zero)",
            "#started = if_not_exists(#started, :zero)",
        ];
        let mut remove = Vec::new();
        if let Some(services) = value("rollback_services") {
            update = update
                .expression_attribute_names("#rollback_services", "rollback_services")
                .expression_attribute_values(":rollback_services", services);
            set.push("#rollback_services = :rollback_services");
        }
        for (name, alias, attribute) in [
            ("times", ":times", "#times = :times"),
            (
                "service_times",
                ":service_times",
                "#service_times = :service_times",
            ),
        ] {
            match value(name) {
                Some(times) => {
                    update = update.expression_attribute_values(alias, times);
                    set.push(attribute);
                }
                None => remove.push(format!("#{name}")),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        update = update.update_expression(expression);
        update
            .send()
            .await
            .map_err(|e| format!("UpdateItem (delivery day): {}", DisplayErrorContext(&e)))?;
        written += 1;
    }
    Ok(written)
}

/// Commits of a transaction: each brings its own item and up to four days (where its firsts
/// were and where they go), each its service's and the store's, so 10 fill at most 90 items,
/// within DynamoDB's 100 for a transaction.
const COMMITS_PER_TRANSACTION: usize = 10;

/// Moves each commit of the file whose first stage or first deploy the file changes: its
/// firsts and the days they count on, in one transaction per group of commits (re-read and
/// tried again when another writer got there first). Returns the commits moved.
async fn delivery_commits(
    store: &DynamoDbStore,
    service: &str,
    all: &[&EventItem],
    out_of_place: &mut usize,
) -> Result<usize, String> {
    let scope = Scope::Service(service);
    let client = store.client().await;
    let table = store.table();
    let actions = store.delivery_actions();
    let is_commit = |event: &&EventItem| event.action == actions.commit;
    if all.iter().any(is_commit) || has_pushed_commits(store, service).await? {
        return replay_commit_moves(store, service, all, out_of_place).await;
    }
    let mut in_file: BTreeMap<&str, Firsts> = BTreeMap::new();
    for event in all {
        let firsts = in_file.entry(&event.sha).or_default();
        if let Some(after) = delivery::firsts_after(*firsts, event, actions) {
            *firsts = after;
        }
    }
    in_file.retain(|_, firsts| !firsts.is_none());
    // Commits that count on the same days travel together: a transaction then writes each of
    // its few day items once, where random order would write up to 20 days of facts (each a
    // few KB, 2 write units per KB) for 20 commits.
    let mut shas: Vec<&str> = in_file.keys().copied().collect();
    shas.sort_by_key(|sha| {
        let firsts = in_file[sha];
        (firsts.deploy().map(day_of), firsts.stage().map(day_of))
    });
    let mut moved = 0;
    for group in shas.chunks(COMMITS_PER_TRANSACTION) {
        let mut attempt = 0;
        loop {
            let stored: BTreeMap<String, CommitItem> = get_decoded(
                client,
                table,
                group
                    .iter()
                    .map(|sha| delivery::commit_key(scope, sha))
                    .collect(),
            )
            .await?;
            let mut changes = BTreeMap::new();
            let mut writes = Vec::new();
            let mut commits = 0;
            for sha in group {
                let key = format!("{}/{}", keys::commit_pk(scope, sha), keys::COMMIT_SK);
                let current = stored.get(&key);
                let before = delivery::firsts_of(current);
                let after = before.earliest(in_file[sha]);
                if after == before {
                    continue;
                }
                DayChange::merge(&mut changes, before.moved_to(after));
                writes.push(
                    delivery::commit_write(store, scope, current, sha, (after, None))
                        .map_err(|_| "a commit's update did not build".to_owned())?,
                );
                commits += 1;
            }
            changes.retain(|_, change: &mut DayChange| !change.is_empty());
            if writes.is_empty() {
                break;
            }
            // The service's days and the store's change alike.
            let days: Vec<(Scope<'_>, i64)> = [scope, Scope::Whole]
                .into_iter()
                .flat_map(|scope| changes.keys().map(move |&day| (scope, day)))
                .collect();
            let stored_days: BTreeMap<String, DeliveryDayItem> = get_decoded(
                client,
                table,
                (days.iter())
                    .map(|&(scope, day)| delivery::day_key(scope, day))
                    .collect(),
            )
            .await?;
            let counted = delivery::counted(actions);
            for (scope, day) in days {
                let key = format!(
                    "{}/{}",
                    keys::delivery_days_pk(scope, day),
                    keys::day_sk(day)
                );
                let delta = (&changes[&day], service);
                writes.push(
                    delivery::day_write(store, scope, day, stored_days.get(&key), delta, &counted)
                        .map_err(|_| "a delivery day's update did not build".to_owned())?,
                );
            }
            let outcome = client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await;
            match outcome {
                Ok(_) => {
                    moved += commits;
                    break;
                }
                Err(error)
                    if attempt < 5
                        && (error.as_service_error())
                            .is_some_and(|e| e.is_transaction_canceled_exception()) =>
                {
                    attempt += 1;
                    tokio::time::sleep(PATIENT.delay(attempt)).await;
                }
                Err(error) => {
                    return Err(format!(
                        "TransactWriteItems (delivery facts): {}",
                        DisplayErrorContext(&error)
                    ));
                }
            }
        }
    }
    Ok(moved)
}

/// Whether the service has a pushed commit, whose ships a deploy or a push may move.
async fn has_pushed_commits(store: &DynamoDbStore, service: &str) -> Result<bool, String> {
    let pk = keys::push_order_pk(service);
    let output = (store.client().await)
        .query()
        .table_name(store.table())
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", keys::PK)
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .consistent_read(true)
        .limit(1)
        .send()
        .await
        .map_err(|e| format!("Query (pushed commits): {}", DisplayErrorContext(&e)))?;
    Ok(output.count > 0)
}

/// Moves the commits of a service with pushed commits one event at a time, in id order, as
/// `POST /events` does (a commit event places a commit, a deploy may ship those before it),
/// each in its own transaction: slower than groups of commits, and what places and ships
/// need. A rerun finds every move made and changes nothing. Returns the events that moved
/// something; counts the commit events that come before their commit's place.
async fn replay_commit_moves(
    store: &DynamoDbStore,
    service: &str,
    all: &[&EventItem],
    out_of_place: &mut usize,
) -> Result<usize, String> {
    let scopes = [Scope::Whole, Scope::Service(service)];
    let mut events: Vec<&EventItem> = all.to_vec();
    events.sort_by_key(|event| event.id);
    let mut moved = 0;
    for event in events {
        if !matches!(
            store.delivery_actions().kind_of(&event.action),
            Some(
                DeliveryKind::Commit
                    | DeliveryKind::Deploy
                    | DeliveryKind::Hotfix
                    | DeliveryKind::Stage
            )
        ) {
            continue;
        }
        let mut attempt = 0;
        loop {
            let key = delivery::commit_key(scopes[1], &event.sha);
            let stored: BTreeMap<String, CommitItem> =
                get_decoded(store.client().await, store.table(), vec![key]).await?;
            let commit = stored.into_values().next();
            let placed_later = (commit.as_ref()).and_then(|commit| commit.pushed_id);
            if event.action == store.delivery_actions().commit
                && placed_later.is_some_and(|id| id > event.id)
            {
                *out_of_place += 1;
                break;
            }
            let failed = |_| format!("event id {}: its delivery facts did not read", event.id);
            let (changes, mut writes) = store
                .commit_moves(event, scopes, commit.as_ref())
                .await
                .map_err(failed)?;
            if writes.is_empty() {
                break;
            }
            let days = store.delivery_day_writes(changes, scopes, service).await;
            writes.extend(days.map_err(failed)?);
            if writes.len() > super::transact::MAX_TRANSACTION_ITEMS {
                return Err(format!(
                    "event id {}: it moves the lead times of commits counted on more days at once \
                     than one transaction writes ({} items); it is dated long before the pushes \
                     it ships",
                    event.id,
                    writes.len()
                ));
            }
            let outcome = store.send_transaction(writes, event.id).await;
            match outcome
                .map_err(|_| format!("event id {}: its delivery facts did not write", event.id))?
            {
                None => {
                    moved += 1;
                    break;
                }
                Some(_) if attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(PATIENT.delay(attempt)).await;
                }
                Some(reasons) => {
                    return Err(format!(
                        "event id {}: its delivery facts kept being cancelled ({reasons:?})",
                        event.id
                    ));
                }
            }
        }
    }
    Ok(moved)
}

/// What step 1 found: the items to write, and the ids the table holds no event for.
#[derive(Default)]
struct Checked {
    writes: Vec<Write>,
    written: usize,
    already_stored: usize,
    /// Copies for their service of events already stored (derived, as aggregates are).
    copies: usize,
    absent: Vec<u64>,
}

/// Reads every event's own item, its service's copy and its id item; an id stored with other
/// content is an error. An item stored before events had services is `default_service`'s.
async fn check_stored(
    client: &Client,
    table: &str,
    all: &[EventItem],
    default_service: &str,
    progress: &mut impl FnMut(Progress),
) -> Result<Checked, String> {
    let service_of = |svc: Option<String>| svc.or_else(|| Some(default_service.to_owned()));
    let mut checked = Checked::default();
    let mut done = 0;
    for chunk in all.chunks(batch::MAX_GET / 3) {
        let copies: Vec<EventItem> = (chunk.iter())
            .map(|event| event.service_copy(default_service))
            .collect();
        let keys = chunk
            .iter()
            .zip(&copies)
            .flat_map(|(e, copy)| {
                [
                    items::key(&e.pk, &e.sk),
                    items::key(&copy.pk, &copy.sk),
                    items::key(keys::id_pk(e.id), keys::ID_SK),
                ]
            })
            .collect();
        let stored = batch::get(client, table, keys, &PATIENT).await?;
        for (event, copy) in chunk.iter().zip(copies) {
            let id_item = IdItem::of(event);
            let own = stored.get(&format!("{}/{}", event.pk, event.sk));
            let own_copy = stored.get(&format!("{}/{}", copy.pk, copy.sk));
            let by_id = stored.get(&format!("{}/{}", id_item.pk, id_item.sk));
            let stored_id = by_id
                .map(|item| from_item::<IdItem>(item.clone()))
                .transpose()?
                .map(|stored| IdItem {
                    svc: service_of(stored.svc.clone()),
                    ..stored
                });
            if let Some(stored) = stored_id.filter(|stored| *stored != id_item) {
                return Err(format!(
                    "event id {} is already stored with other content (timestamp {}, sha {:?}, action {:?}, engineer {:?}, service {:?}); nothing was changed",
                    event.id,
                    crate::events::format_timestamp(stored.ts),
                    stored.sha,
                    stored.action,
                    stored.engineer,
                    stored.svc.unwrap_or_default()
                ));
            }
            let stored_event = own
                .map(|item| from_item::<EventItem>(item.clone()))
                .transpose()?
                .map(|stored| EventItem {
                    svc: service_of(stored.svc.clone()),
                    ..stored
                });
            if stored_event.is_some_and(|stored| &stored != event) {
                return Err(format!(
                    "the item of event id {} holds other content than the file; nothing was changed (run verify)",
                    event.id
                ));
            }
            // A batch can be cut short between the items: write whichever is missing. (A copy
            // is derived from the event, checked above.)
            if own.is_none() {
                checked.writes.push(Write::Put(to_item(event)));
            }
            if own_copy.is_none() {
                checked.writes.push(Write::Put(to_item(&copy)));
                checked.copies += usize::from(own.is_some());
            }
            if by_id.is_none() {
                checked.writes.push(Write::Put(to_item(&id_item)));
                checked.absent.push(event.id);
            }
            if own.is_some() && by_id.is_some() {
                checked.already_stored += 1;
            } else {
                checked.written += 1;
            }
        }
        done += chunk.len();
        progress(Progress {
            stage: "checked",
            done,
            total: all.len(),
        });
    }
    Ok(checked)
}

/// How long a write given an id before the counter was raised may still write: its whole budget
/// (a webhook delivery's, whose ids are all given out first, is the longer), and one more
/// request's time for a transaction sent at the budget's end.
const POSTS_IN_FLIGHT: std::time::Duration = {
    let longest = match super::WRITE_BUDGET.as_secs() > super::DELIVERY_WRITE_BUDGET.as_secs() {
        true => super::WRITE_BUDGET,
        false => super::DELIVERY_WRITE_BUDGET,
    };
    longest.saturating_add(std::time::Duration::from_secs(1))
};

/// What raising the id counter did.
pub(super) enum Counter {
    /// It was at `max` or above.
    Unchanged,
    /// There was none: no POST ever took an id.
    Created,
    /// It was below `max`, at `from`: POSTs (or imports) have taken the ids up to `from`.
    Raised { from: u64 },
}

/// Makes the id counter at least `max` (it never goes down, so an id is never given out
/// twice).
pub(super) async fn raise_id_counter(
    client: &Client,
    table: &str,
    max: u64,
) -> Result<Counter, String> {
    let outcome = client
        .update_item()
        .table_name(table)
        .set_key(Some(items::key(keys::COUNTER_PK, keys::EVENT_ID_SK)))
        .update_expression("SET #last = :max")
        .condition_expression("attribute_not_exists(#last) OR #last < :max")
        .expression_attribute_names("#last", keys::COUNTER_LAST)
        .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
        .send()
        .await;
    match outcome {
        Ok(output) => {
            let from = output
                .attributes
                .as_ref()
                .and_then(|old| old.get(keys::COUNTER_LAST))
                .map(|last| last.as_n().ok().and_then(|n| n.parse::<u64>().ok()));
            match from {
                None => Ok(Counter::Created),
                Some(Some(from)) => Ok(Counter::Raised { from }),
                Some(None) => Err("the id counter holds no number; run verify".into()),
            }
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(Counter::Unchanged)
        }
        Err(error) => Err(format!(
            "UpdateItem (id counter): {}",
            DisplayErrorContext(&error)
        )),
    }
}

/// The events of `scope` of one UTC day, read from the table (strongly consistent).
async fn day_events(
    client: &Client,
    table: &str,
    scope: Scope<'_>,
    day: i64,
) -> Result<Vec<EventItem>, String> {
    let start = day * SECONDS_PER_DAY;
    let range = (
        keys::event_sk(start, 0),
        keys::event_sk(start + SECONDS_PER_DAY - 1, u64::MAX),
    );
    let partition = keys::events_pk(scope, Month::of(start));
    let items = query_all(client, table, &partition, Some(&range), true).await?;
    Ok(decode_all(items)?)
}

/// Writes the items of `desired` that the table does not hold as they are; returns how many.
async fn sync(client: &Client, table: &str, desired: Vec<Item>) -> Result<usize, String> {
    let keys = desired.iter().map(items::key_attributes).collect();
    let stored = batch::get(client, table, keys, &PATIENT).await?;
    let changed: Vec<Write> = desired
        .into_iter()
        .filter(|item| {
            stored.get(&items::key_of(item)).map(items::normalized) != Some(items::normalized(item))
        })
        .map(Write::Put)
        .collect();
    let count = changed.len();
    batch::write(client, table, changed, |_| {}).await?;
    Ok(count)
}

/// The items with these keys, decoded, by `pk/sk`.
async fn get_decoded<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<BTreeMap<String, T>, String> {
    batch::get(client, table, keys, &PATIENT)
        .await?
        .into_iter()
        .map(|(key, item)| Ok((key, from_item(item)?)))
        .collect()
}
