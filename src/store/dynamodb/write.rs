//! `POST /events` on DynamoDB: the event, its id item, every aggregate it changes and its
//! idempotency record in one `TransactWriteItems`, so that the table never holds an event
//! without its counts, nor counts one twice.
//!
//! Aggregates are read (strongly consistent), then changed with conditions that hold only if
//! what was read still describes the item: created only if absent, counts added with `ADD`
//! (which commutes with other writers), a first or last instant moved only if the new event
//! still extends it. A condition that fails means another writer got there first: the
//! transaction is re-read and retried with jittered backoff, a bounded number of times.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};

use super::aggregates;
use super::backoff::RECORDING;
use super::batch::{self, BatchFailure};
use super::delivery;
use super::items::{
    self, CommitItem, DayItem, DeliveryDayItem, EngineerDayItem, EngineerItem, EventItem, IdItem,
    IdempotencyItem, Item, MetaItem, Undecodable, from_item, to_item,
};
use super::keys::{self, Scope};
use super::shipping::Shipping;
use super::transact::{Change, MAX_TRANSACTION_ITEMS, put, put_new};
use super::{DynamoDbFailure, DynamoDbStore, failure};
use crate::events::{AllowedActions, DayChange, EventRecord, NewEvent, Sha, Timestamp, day_of};
use crate::events::{DeliveryKind, Firsts, PushOrder};
use crate::events::{IdempotencyKey, SERVICE_FREQUENCY_DAYS};
use crate::store::outcome::{Recorded, WriteFailure};

/// Cancellation reasons that another attempt can overcome: a condition on what was read (read
/// again), another writer's transaction, throttling. Any other reason fails every attempt.
const RETRIED_CANCELLATIONS: [&str; 5] = [
    "None",
    "ConditionalCheckFailed",
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

impl DynamoDbStore {
    /// Records `new`, or answers with the event an earlier request with `key` recorded.
    pub async fn record(
        &self,
        new: NewEvent,
        key: Option<IdempotencyKey>,
        received: Timestamp,
        allowed: &AllowedActions,
    ) -> Result<Recorded, WriteFailure> {
        // Boxed: a recording's state is large, and a webhook's holds several.
        Box::pin(self.record_under(new, key, received, allowed, None)).await
    }

    /// `record`, under an id already reserved for it (another if that one is stored).
    pub(super) async fn record_as(
        &self,
        new: NewEvent,
        key: Option<IdempotencyKey>,
        received: Timestamp,
        allowed: &AllowedActions,
        id: u64,
    ) -> Result<Recorded, WriteFailure> {
        Box::pin(self.record_under(new, key, received, allowed, Some(id))).await
    }

    async fn record_under(
        &self,
        new: NewEvent,
        key: Option<IdempotencyKey>,
        received: Timestamp,
        allowed: &AllowedActions,
        reserved: Option<u64>,
    ) -> Result<Recorded, WriteFailure> {
        let fingerprint = new.fingerprint();
        if let Some(key) = &key
            && let Some(earlier) = self.earlier_request(key, received).await?
        {
            return earlier.answer(key, &fingerprint, &self.default_service);
        }
        allowed.check(&new.action)?;
        let mut id = match reserved {
            Some(id) => id,
            None => self.next_ids(1).await?.0,
        };
        for attempt in 0..RECORDING.tries {
            let record = EventRecord {
                id,
                timestamp: new.instant(received),
                sha: Sha::new(&new.sha),
                action: new.action.clone(),
                engineer: new.engineer.clone(),
                service: new.service.clone(),
            };
            let event = EventItem::new(&record.view(), Scope::Whole);
            let scopes = [Scope::Whole, Scope::Service(&new.service)];
            let current = self.aggregates_of(&event, scopes).await?;
            if current[0].needs_upgrade() {
                return Err(WriteFailure::StoreNeedsUpgrade);
            }
            // The event, its copy, its id and its key are at known positions: their
            // cancellation reasons say what happened.
            let (event_at, copy_at, by_id_at) = (0, 1, 2);
            let mut transaction = vec![
                put_new(self, to_item(&event))?,
                put_new(self, to_item(&EventItem::new(&record.view(), scopes[1])))?,
                put_new(self, to_item(&IdItem::of(&event)))?,
            ];
            let mut key_at = None;
            if let Some(key) = &key {
                key_at = Some(transaction.len());
                transaction.push(put_idempotency(self, key, &fingerprint, &event, received)?);
            }
            for (scope, current) in scopes.into_iter().zip(&current) {
                transaction.extend(current.changes(self, scope, &event, 1)?);
            }
            let commit = current[1].commit.as_ref();
            transaction.extend(self.delivery_writes(&event, scopes, commit).await?);
            if transaction.len() > MAX_TRANSACTION_ITEMS {
                tracing::warn!(
                    id,
                    items = transaction.len(),
                    "an event too spread to record"
                );
                return Err(WriteFailure::TooSpread);
            }
            let reasons = match self.send_transaction(transaction, id).await? {
                None => {
                    return Ok(Recorded {
                        event: event.into_record(&self.default_service),
                        replayed: false,
                    });
                }
                Some(reasons) => reasons,
            };
            let failed = |index: usize| {
                reasons.get(index).and_then(Option::as_deref) == Some("ConditionalCheckFailed")
            };
            if key_at.is_some_and(failed) {
                // Another request with this key was recorded meanwhile, or this one was: an
                // attempt whose answer was lost (an endpoint without request tokens).
                let key = key.as_ref().expect("checked");
                if let Some(earlier) = self.earlier_request(key, received).await? {
                    let ours = earlier.id == id;
                    return earlier
                        .answer(key, &fingerprint, &self.default_service)
                        .map(|recorded| Recorded {
                            replayed: !ours,
                            ..recorded
                        });
                }
            }
            if failed(event_at) || failed(copy_at) || failed(by_id_at) {
                // Only this request was given this id: if the table holds this very event under
                // it, an attempt whose answer was lost stored it.
                let ours = event.clone().into_record(&self.default_service);
                if self.event(id).await?.as_ref() == Some(&ours) {
                    return Ok(Recorded {
                        event: ours,
                        replayed: false,
                    });
                }
                // Otherwise the id is taken (an import gave it out before the counter knew).
                tracing::warn!(id, "event id already stored; taking another");
                id = self.next_ids(1).await?.0;
            }
            tracing::info!(attempt, ?reasons, "transaction cancelled; retrying");
            tokio::time::sleep(RECORDING.delay(attempt)).await;
        }
        tracing::warn!("transaction kept being cancelled; giving up");
        Err(WriteFailure::Unavailable)
    }

    /// Sends `transaction` (its events' ids from `first_id`): `None` once it is written, or
    /// the cancellation reasons, item by item, when another attempt may succeed (a condition
    /// on what was read, another writer, throttling). Any other cancellation (an item over
    /// 400 KB, a key over its size) fails every attempt alike: a defect, logged, not retried.
    pub(super) async fn send_transaction(
        &self,
        transaction: Vec<TransactWriteItem>,
        first_id: u64,
    ) -> Result<Option<Vec<Option<String>>>, WriteFailure> {
        // The SDK gives the transaction a random ClientRequestToken and sends the same one
        // when it retries a transaction whose answer was lost, so DynamoDB answers the retry
        // with the first outcome instead of running it again. A token made of the event id
        // and attempt was not ours alone: a transaction may span tables, so tokens are not
        // scoped by table, and dev and prod recording their event N within 10 minutes (the
        // deploy workflow does) got IdempotentParameterMismatch.
        let outcome = self
            .client()
            .await
            .transact_write_items()
            .set_transact_items(Some(transaction))
            .send()
            .await;
        let error = match outcome {
            Ok(_) => return Ok(None),
            Err(error) => error,
        };
        let reasons: Vec<Option<String>> = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().map(str::to_owned))
                .collect(),
            _ => return Err(failure("TransactWriteItems", &keys::id_pk(first_id), error).into()),
        };
        if let Some(code) = reasons
            .iter()
            .flatten()
            .find(|code| !RETRIED_CANCELLATIONS.contains(&code.as_str()))
        {
            tracing::error!(
                first_id,
                code,
                ?reasons,
                "defect: DynamoDB cancelled a transaction that cannot succeed; not retrying"
            );
            return Err(WriteFailure::Internal);
        }
        Ok(Some(reasons))
    }

    /// The event with this id (strongly consistent: a Location just answered must resolve).
    pub async fn event(&self, id: u64) -> Result<Option<EventRecord>, DynamoDbFailure> {
        let Some(item) = self.get_consistent(keys::id_pk(id), keys::ID_SK).await? else {
            return Ok(None);
        };
        let stored: IdItem = from_item(item)?;
        Ok(Some(EventRecord {
            id,
            timestamp: stored.ts,
            sha: Sha::new(&stored.sha),
            action: stored.action,
            engineer: stored.engineer,
            service: stored
                .svc
                .unwrap_or_else(|| self.default_service.to_string()),
        }))
    }

    /// `count` new ids, the first and the last: the counter item, incremented atomically
    /// (never given out twice, even by requests that then fail: ids may have gaps).
    pub(super) async fn next_ids(&self, count: u64) -> Result<(u64, u64), DynamoDbFailure> {
        let output = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::key(keys::COUNTER_PK, keys::EVENT_ID_SK)))
            .update_expression("ADD #last :count")
            .expression_attribute_names("#last", keys::COUNTER_LAST)
            .expression_attribute_values(":count", AttributeValue::N(count.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| failure("UpdateItem", keys::COUNTER_PK, e))?;
        output
            .attributes
            .as_ref()
            .and_then(|attributes| attributes.get(keys::COUNTER_LAST))
            .and_then(|last| last.as_n().ok())
            .and_then(|last| last.parse::<u64>().ok())
            .map(|last| (last + 1 - count, last))
            .ok_or_else(|| {
                tracing::error!("the id counter did not return a number");
                DynamoDbFailure::Internal
            })
    }

    /// What an earlier request with `key` recorded, if it is less than 24 hours old.
    pub(super) async fn earlier_request(
        &self,
        key: &IdempotencyKey,
        now: Timestamp,
    ) -> Result<Option<IdempotencyItem>, DynamoDbFailure> {
        let Some(item) = self
            .get_consistent(keys::idempotency_pk(key), keys::IDEMPOTENCY_SK)
            .await?
        else {
            return Ok(None);
        };
        let earlier: IdempotencyItem = from_item(item)?;
        Ok(earlier
            .expires
            .is_none_or(|expires| expires > now)
            .then_some(earlier))
    }

    /// One item by its key, strongly consistent.
    async fn get_consistent(&self, pk: String, sk: &str) -> Result<Option<Item>, DynamoDbFailure> {
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(pk.clone(), sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("GetItem", &format!("{pk}/{sk}"), e))?;
        Ok(output.item)
    }

    /// The aggregate items an event changes in each scope, as they are now (strongly
    /// consistent); with the commit's firsts when the event is a stage, a deploy or a commit.
    pub(super) async fn aggregates_of(
        &self,
        event: &EventItem,
        scopes: [Scope<'_>; 2],
    ) -> Result<[Aggregates; 2], DynamoDbFailure> {
        let day = day_of(event.ts);
        let actions = self.delivery_actions();
        let moves_commit = matches!(
            actions.kind_of(&event.action),
            Some(
                DeliveryKind::Stage
                    | DeliveryKind::Deploy
                    | DeliveryKind::Hotfix
                    | DeliveryKind::Commit
            )
        );
        let wanted = scopes.map(|scope| {
            let (totals_pk, totals_sk) = scope.totals_key();
            let mut wanted = vec![
                (keys::days_pk(scope, day), keys::day_sk(day)),
                (
                    keys::engineer_days_pk(scope, &event.engineer),
                    keys::day_sk(day),
                ),
                (keys::engineers_pk(scope), event.engineer.clone()),
                (totals_pk.to_owned(), totals_sk.to_owned()),
            ];
            // A commit is its service's: the store's days take its moves from there.
            if moves_commit && scope != Scope::Whole {
                wanted.push((
                    keys::commit_pk(scope, &event.sha),
                    keys::COMMIT_SK.to_owned(),
                ));
            }
            wanted
        });
        let mut found = self
            .batch_get_consistent(
                (wanted.iter().flatten())
                    .map(|(pk, sk)| items::key(pk, sk))
                    .collect(),
            )
            .await?;
        let mut take = |wanted: &[(String, String)], at: usize| {
            (wanted.get(at)).and_then(|(pk, sk)| found.remove(&format!("{pk}/{sk}")))
        };
        let [whole, service] = wanted.map(|wanted| -> Result<_, Undecodable> {
            Ok(Aggregates {
                day: take(&wanted, 0).map(from_item).transpose()?,
                engineer_day: take(&wanted, 1).map(from_item).transpose()?,
                engineer: take(&wanted, 2).map(from_item).transpose()?,
                meta: take(&wanted, 3).map(from_item).transpose()?,
                commit: take(&wanted, 4).map(from_item).transpose()?,
            })
        });
        Ok([whole?, service?])
    }

    /// Items by key, strongly consistent, by `pk/sk`, within a recording's time.
    pub(super) async fn batch_get_consistent(
        &self,
        keys: Vec<Item>,
    ) -> Result<HashMap<String, Item>, DynamoDbFailure> {
        let client = self.client().await;
        batch::get(client, &self.table, keys, &RECORDING)
            .await
            .map_err(|error| match error {
                BatchFailure::Sdk(operation, error) => {
                    failure(operation, "(the event's aggregates)", *error)
                }
                BatchFailure::Throttled { .. } => DynamoDbFailure::Unavailable,
            })
    }

    /// The delivery metrics' writes for `event`: what it moves among commits (`commit_moves`),
    /// and the days whose facts change.
    async fn delivery_writes(
        &self,
        event: &EventItem,
        scopes: [Scope<'_>; 2],
        commit: Option<&CommitItem>,
    ) -> Result<Vec<TransactWriteItem>, DynamoDbFailure> {
        let service = event.svc.as_deref().unwrap_or(&self.default_service);
        let (mut changes, mut writes) = self.commit_moves(event, scopes, commit).await?;
        if let Some((day, change)) = delivery::event_change(event, self.delivery_actions()) {
            DayChange::merge(&mut changes, BTreeMap::from([(day, change)]));
        }
        writes.extend(self.delivery_day_writes(changes, scopes, service).await?);
        Ok(writes)
    }

    /// What `event` moves among commits (`commit`: its own, as read): its own firsts, and the
    /// pushed commits it places or ships; the days' changes, and the writes but the days'.
    pub(super) async fn commit_moves(
        &self,
        event: &EventItem,
        scopes: [Scope<'_>; 2],
        commit: Option<&CommitItem>,
    ) -> Result<(BTreeMap<i64, DayChange>, Vec<TransactWriteItem>), DynamoDbFailure> {
        let actions = self.delivery_actions();
        let service = event.svc.as_deref().unwrap_or(&self.default_service);
        let mut writes = Vec::new();
        let mut changes: BTreeMap<i64, DayChange> = BTreeMap::new();
        let before = delivery::firsts_of(commit);
        if let Some(after) = delivery::firsts_after(before, event, actions)
            && after != before
        {
            let pushing = after.commit() != before.commit();
            let mut shipping = Shipping {
                service,
                pushed: Vec::new(),
                deployed: None,
            };
            match commit.and_then(CommitItem::place) {
                // Not pushed: it counts by its own firsts.
                None if !pushing => DayChange::merge(&mut changes, before.moved_to(after)),
                // Pushed now: its place counts it from here on, and its own first deploy, if
                // any, ships it and what was pushed before it.
                None => {
                    DayChange::merge(&mut changes, before.moved_to(Firsts::default()));
                    let place = PushOrder {
                        at: event.ts,
                        id: event.id,
                    };
                    shipping.pushed.push((place, &event.sha));
                    shipping.deployed = after.deploy().map(|at| (place, at));
                }
                // Pushed before: a stage changes nothing it counts by; an earlier own deploy
                // is a new ship.
                Some(place) => {
                    if after.deploy() != before.deploy() {
                        shipping.deployed = after.deploy().map(|at| (place, at));
                    }
                }
            }
            let shipped = Box::pin(self.shipping(shipping)).await?;
            DayChange::merge(&mut changes, shipped.changes);
            writes.extend(shipped.writes);
            let pushed_id = pushing.then_some(event.id);
            let write =
                delivery::commit_write(self, scopes[1], commit, &event.sha, (after, pushed_id))?;
            writes.push(write);
        }
        Ok((changes, writes))
    }

    /// The writes that bring each day of `changes` (an event of `service`'s) in both `scopes`,
    /// read first, in one request, to create or update each.
    pub(super) async fn delivery_day_writes(
        &self,
        mut changes: BTreeMap<i64, DayChange>,
        scopes: [Scope<'_>; 2],
        service: &str,
    ) -> Result<Vec<TransactWriteItem>, DynamoDbFailure> {
        changes.retain(|_, delta| !delta.is_empty());
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let days: Vec<(Scope<'_>, i64)> = (scopes.iter())
            .flat_map(|&scope| changes.keys().map(move |&day| (scope, day)))
            .collect();
        let mut stored = self
            .batch_get_consistent(
                (days.iter())
                    .map(|&(scope, day)| delivery::day_key(scope, day))
                    .collect(),
            )
            .await?;
        let counted = delivery::counted(self.delivery_actions());
        let mut writes = Vec::with_capacity(days.len());
        for (scope, day) in days {
            let key = format!(
                "{}/{}",
                keys::delivery_days_pk(scope, day),
                keys::day_sk(day)
            );
            let current: Option<DeliveryDayItem> =
                stored.remove(&key).map(from_item).transpose()?;
            let delta = (&changes[&day], service);
            writes.push(delivery::day_write(
                self,
                scope,
                day,
                current.as_ref(),
                delta,
                &counted,
            )?);
        }
        Ok(writes)
    }
}

impl IdempotencyItem {
    /// The event recorded under `key` (one recorded before events had services is
    /// `default_service`'s), if `fingerprint` is the request's that recorded it or need not be.
    fn answer(
        self,
        key: &IdempotencyKey,
        fingerprint: &str,
        default_service: &str,
    ) -> Result<Recorded, WriteFailure> {
        if self.fingerprint != fingerprint && key.is_same_request_required() {
            return Err(WriteFailure::KeyReused);
        }
        Ok(self.recorded(default_service))
    }

    /// The event recorded under this key, answered again.
    pub(super) fn recorded(self, default_service: &str) -> Recorded {
        Recorded {
            event: EventRecord {
                id: self.id,
                timestamp: self.ts,
                sha: Sha::new(&self.sha),
                action: self.action,
                engineer: self.engineer,
                service: self.svc.unwrap_or_else(|| default_service.to_owned()),
            },
            replayed: true,
        }
    }
}

/// The aggregates one event changes, as read.
pub(super) struct Aggregates {
    day: Option<DayItem>,
    engineer_day: Option<EngineerDayItem>,
    engineer: Option<EngineerItem>,
    meta: Option<MetaItem>,
    /// The event's commit's firsts, for a stage, a deploy or a commit event.
    commit: Option<CommitItem>,
}

impl Aggregates {
    /// Whether these, the store's, say its layout is older than this version's.
    pub(super) fn needs_upgrade(&self) -> bool {
        (self.meta.as_ref()).is_some_and(|meta| meta.layout() < keys::LAYOUT)
    }

    /// The four aggregate writes of `scope` for `count` events like `event` (the same action,
    /// engineer and instant; a deploy is one event).
    pub(super) fn changes(
        &self,
        store: &DynamoDbStore,
        scope: Scope<'_>,
        event: &EventItem,
        count: u32,
    ) -> Result<Vec<TransactWriteItem>, DynamoDbFailure> {
        let day = day_of(event.ts);
        let ts = event.ts;
        let is_deploy = store.delivery_actions().is_deploy(&event.action);
        let first_of_day_for_engineer = self.engineer_day.is_none();
        let day_write = match &self.day {
            None => put_new(
                store,
                to_item(&DayItem {
                    pk: keys::days_pk(scope, day),
                    sk: keys::day_sk(day),
                    total: count,
                    engineers: 1,
                    actions: BTreeMap::from([(event.action.clone(), count)]),
                }),
            )?,
            Some(existing) => {
                let mut change = Change::new(&existing.pk, &existing.sk);
                change.add("total", count.into());
                if first_of_day_for_engineer {
                    change.add("engineers", 1);
                }
                change.add_in_map("actions", &event.action, count.into());
                change.build(store)?
            }
        };
        let engineer_day = spanned(
            store,
            self.engineer_day
                .as_ref()
                .map(|d| (d.pk.as_str(), d.sk.as_str(), d.first, d.last)),
            ts,
            count,
            || {
                to_item(&EngineerDayItem {
                    pk: keys::engineer_days_pk(scope, &event.engineer),
                    sk: keys::day_sk(day),
                    events: count.into(),
                    first: ts,
                    last: ts,
                })
            },
            |_| {},
        )?;
        let engineer = spanned(
            store,
            self.engineer
                .as_ref()
                .map(|e| (e.pk.as_str(), e.sk.as_str(), e.first, e.last)),
            ts,
            count,
            || {
                to_item(&EngineerItem {
                    pk: keys::engineers_pk(scope),
                    sk: event.engineer.clone(),
                    events: count.into(),
                    first: ts,
                    last: ts,
                })
            },
            |_| {},
        )?;
        let meta = spanned(
            store,
            self.meta
                .as_ref()
                .map(|m| (m.pk.as_str(), m.sk.as_str(), m.first, m.last)),
            ts,
            count,
            || {
                let (pk, sk) = scope.totals_key();
                let totals = MetaItem {
                    pk: pk.to_owned(),
                    sk: sk.to_owned(),
                    actions: BTreeSet::from([event.action.clone()]),
                    first: ts,
                    last: ts,
                    events: count.into(),
                    // The table's (or service's) first event: its facts are counted from here.
                    delivery_counted: Some(delivery::counted(store.delivery_actions())),
                    layout: (scope == Scope::Whole).then_some(keys::LAYOUT),
                    last_deploy: None,
                    deploys: None,
                };
                match scope {
                    Scope::Whole => to_item(&totals),
                    Scope::Service(_) => {
                        let deploy = is_deploy.then_some(ts);
                        let by_day = deploy.map(|ts| (day_of(ts), 1));
                        to_item(&aggregates::with_deploys(totals, deploy, by_day))
                    }
                }
            },
            |change| {
                change.add_value("actions", AttributeValue::Ss(vec![event.action.clone()]));
                if let (Scope::Service(_), Some(stored)) = (scope, &self.meta) {
                    service_deploys(change, stored, ts, is_deploy);
                }
            },
        )?;
        Ok(vec![day_write, engineer_day, engineer, meta])
    }
}

/// What an event changes in its service's deploy figures: its last deploy, its deploys on the
/// days its deployment frequency counts (if the event is a deploy on one of them), and the days
/// that fall out of them when the event moves its last instant, removed.
fn service_deploys(change: &mut Change, stored: &MetaItem, ts: Timestamp, is_deploy: bool) {
    let from = day_of(stored.last.max(ts)) - (SERVICE_FREQUENCY_DAYS - 1);
    if is_deploy {
        if day_of(ts) >= from {
            change.add_in_map("deploys", &keys::day_sk(day_of(ts)), 1);
        }
        match stored.last_deploy {
            None => {
                change.still("last_deploy", None::<Timestamp>);
                change.set_number("last_deploy", ts);
            }
            Some(last) if ts > last => change.move_to("last_deploy", ts, "<"),
            Some(_) => {}
        }
    }
    let stale = (stored.deploys.iter().flatten())
        .map(|(day, _)| day)
        .filter(|day| keys::day_of_sk(day).is_some_and(|day| day < from));
    for day in stale {
        change.remove_in_map("deploys", day);
    }
}

/// An aggregate with an event count and a first and last instant: created if absent, else its
/// count incremented and its span widened if `ts` falls outside it.
fn spanned(
    store: &DynamoDbStore,
    existing: Option<(&str, &str, Timestamp, Timestamp)>,
    ts: Timestamp,
    count: u32,
    create: impl FnOnce() -> Item,
    more: impl FnOnce(&mut Change),
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let Some((pk, sk, first, last)) = existing else {
        return put_new(store, create());
    };
    let mut change = Change::new(pk, sk);
    change.add("events", count.into());
    if ts < first {
        change.move_to("first", ts, ">");
    }
    if ts > last {
        change.move_to("last", ts, "<");
    }
    more(&mut change);
    change.build(store)
}

/// The idempotency record: new, or replacing one whose window is over.
pub(super) fn put_idempotency(
    store: &DynamoDbStore,
    key: &IdempotencyKey,
    fingerprint: &str,
    event: &EventItem,
    received: Timestamp,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let item = to_item(&IdempotencyItem {
        pk: keys::idempotency_pk(key),
        sk: keys::IDEMPOTENCY_SK.to_owned(),
        fingerprint: fingerprint.to_owned(),
        id: event.id,
        ts: event.ts,
        sha: event.sha.clone(),
        action: event.action.clone(),
        engineer: event.engineer.clone(),
        svc: event.svc.clone(),
        expires: key.window().map(|window| received + window),
    });
    put(
        store,
        item,
        "attribute_not_exists(#pk) OR #expires <= :now",
        HashMap::from([(":now".to_owned(), AttributeValue::N(received.to_string()))]),
    )
}
