//! Many like events at once (a push's commits: one service, engineer, action and instant, each
//! under its own key) in a few transactions instead of one per event. Each transaction holds up
//! to `EVENTS_PER_TRANSACTION` events (`COMMITS_PER_TRANSACTION` commit events), their keys,
//! and the aggregates they change together (a count of n where one event adds 1), so that the
//! table never holds an event without its counts, and a key whose event another writer recorded
//! meanwhile is answered, not repeated. Commit events also place their commits (each a new
//! commit: one the table already knows, staged or deployed before its push arrived, is
//! recorded on its own, as `POST /events` would).

use std::collections::HashMap;

use super::backoff::RECORDING;
use super::delivery;
use super::items::{self, EventItem, IdItem, IdempotencyItem, from_item, to_item};
use super::keys::{self, Scope};
use super::shipping::Shipping;
use super::transact::put_new;
use super::write::put_idempotency;
use super::{DynamoDbFailure, DynamoDbStore};
use crate::events::{AllowedActions, EventRecord, IdempotencyKey, NewEvent, Sha, Timestamp};
use crate::events::{DeliveryKind, Firsts, PushOrder};
use crate::store::outcome::{Recorded, WriteFailure};

/// Items one event puts: itself, its service's copy, its id and its key.
const ITEMS_PER_EVENT: usize = 4;
/// Items the events of a transaction change together: per scope (the store, the service) the
/// day, the engineer's day, the engineer and the totals.
const AGGREGATE_ITEMS: usize = 8;
const MAX_ITEMS: usize = super::transact::MAX_TRANSACTION_ITEMS;
pub const EVENTS_PER_TRANSACTION: usize = (MAX_ITEMS - AGGREGATE_ITEMS) / ITEMS_PER_EVENT;
/// A commit event's items: the event's four, its commit's firsts and its place.
const ITEMS_PER_COMMIT: usize = ITEMS_PER_EVENT + 2;
/// Items the commits of a transaction change together besides the aggregates: their service's
/// turn, and the days their lead times count on (the day they start, and the day of the ship
/// that ships them all, if one does), the service's and the store's.
const COMMIT_BATCH_ITEMS: usize = 1 + 2 * 2;
pub const COMMITS_PER_TRANSACTION: usize =
    (MAX_ITEMS - AGGREGATE_ITEMS - COMMIT_BATCH_ITEMS) / ITEMS_PER_COMMIT;

/// An event with the id reserved for it, under its key.
type Numbered = (u64, NewEvent, IdempotencyKey);

/// A transaction's answers, and the commit events left to record one by one.
type Together = (HashMap<IdempotencyKey, Recorded>, Vec<Numbered>);

impl DynamoDbStore {
    /// Records each of `batch` under its key, or answers with what the key recorded before.
    /// Like events (`is_uniform`) share transactions; others are recorded one at a time. Each
    /// recording or transaction is held to the budget of one recording, and all of them to
    /// `DELIVERY_WRITE_BUDGET`: a batch cut short (`Unavailable`, a 503) has recorded whole
    /// transactions, and its keys answer those when it is sent again.
    pub async fn record_all(
        &self,
        batch: Vec<(NewEvent, IdempotencyKey)>,
        received: Timestamp,
        allowed: &AllowedActions,
    ) -> Result<Vec<Recorded>, WriteFailure> {
        let deadline = Some(self.delivery_deadline());
        if !self.is_uniform(&batch, received) {
            let mut recorded = Vec::with_capacity(batch.len());
            for (new, key) in batch {
                let recording = self.record(new, Some(key), received, allowed);
                let bounded = self.within_write_budget_until(deadline, recording);
                recorded.push(Box::pin(bounded).await?);
            }
            return Ok(recorded);
        }
        let keys: Vec<IdempotencyKey> = batch.iter().map(|(_, key)| key.clone()).collect();
        let earlier = self.earlier_requests(&keys, received);
        let earlier = self.within_write_budget_until(deadline, async { Ok(earlier.await?) });
        let mut answers = Box::pin(earlier).await?;
        let mut fresh: Vec<(NewEvent, IdempotencyKey)> = Vec::new();
        for (new, key) in batch {
            if !answers.contains_key(&key) && !fresh.iter().any(|(_, seen)| *seen == key) {
                fresh.push((new, key));
            }
        }
        if !fresh.is_empty() {
            allowed.check(&fresh[0].0.action)?;
        }
        let commits =
            (fresh.first()).is_some_and(|(new, _)| new.action == self.delivery_actions().commit);
        let per_transaction = match commits {
            true => COMMITS_PER_TRANSACTION,
            false => EVENTS_PER_TRANSACTION,
        };
        // The ids of every new event, in one request, each event's its own from here on (an id
        // left unused when a transaction gives up is never given out again).
        let first_id = match fresh.len() {
            0 => 0,
            count => {
                let reserved = self.next_ids(count as u64);
                let reserved =
                    self.within_write_budget_until(deadline, async { Ok(reserved.await?) });
                Box::pin(reserved).await?.0
            }
        };
        let fresh: Vec<Numbered> = (fresh.into_iter().enumerate())
            .map(|(at, (new, key))| (first_id + at as u64, new, key))
            .collect();
        // A commit the table already knows (staged or deployed before its push arrived) moves
        // its own firsts: it is recorded on its own, in its place in the push, between runs of
        // new commits recorded together.
        let known = match commits {
            true => {
                let known = self.known_commits(&fresh);
                let known = self.within_write_budget_until(deadline, async { Ok(known.await?) });
                Box::pin(known).await?
            }
            false => Vec::new(),
        };
        let runs = fresh.chunk_by(|a, b| known.contains(&a.0) == known.contains(&b.0));
        for run in runs {
            if known.contains(&run[0].0) {
                for (id, new, key) in run.iter().cloned() {
                    let recording = self.record_as(new, Some(key.clone()), received, allowed, id);
                    let bounded = self.within_write_budget_until(deadline, recording);
                    answers.insert(key, Box::pin(bounded).await?);
                }
                continue;
            }
            for part in run.chunks(per_transaction) {
                // Each transaction within the budget of one recording.
                let recording = self.record_together(part.to_vec(), received, commits);
                let bounded = self.within_write_budget_until(deadline, recording);
                let (recorded, known_meanwhile) = Box::pin(bounded).await?;
                answers.extend(recorded);
                for (id, new, key) in known_meanwhile {
                    let recording = self.record_as(new, Some(key.clone()), received, allowed, id);
                    let bounded = self.within_write_budget_until(deadline, recording);
                    answers.insert(key, Box::pin(bounded).await?);
                }
            }
        }
        // A key given twice is answered the second time as a retry.
        let mut seen = Vec::with_capacity(keys.len());
        Ok(keys
            .into_iter()
            .map(|key| {
                let answer = answers[&key].clone();
                let replayed = answer.replayed || seen.contains(&key);
                seen.push(key);
                Recorded { replayed, ..answer }
            })
            .collect())
    }

    /// Whether `batch` may share transactions: more than one event, all of one service,
    /// engineer, action and instant, and not a stage, deploy or rollback (each moves its own
    /// commit's firsts or its day's restores); commit events may.
    fn is_uniform(&self, batch: &[(NewEvent, IdempotencyKey)], received: Timestamp) -> bool {
        let Some(((first, _), others)) = batch.split_first() else {
            return false;
        };
        let alike = |new: &NewEvent| {
            new.service == first.service
                && new.engineer == first.engineer
                && new.action == first.action
                && new.instant(received) == first.instant(received)
        };
        let kind = self.delivery_actions().kind_of(&first.action);
        !others.is_empty()
            && others.iter().all(|(new, _)| alike(new))
            && matches!(kind, None | Some(DeliveryKind::Commit))
    }

    /// What each of `keys` recorded, for those still remembered (strongly consistent).
    async fn earlier_requests(
        &self,
        keys: &[IdempotencyKey],
        now: Timestamp,
    ) -> Result<HashMap<IdempotencyKey, Recorded>, DynamoDbFailure> {
        let mut answers = HashMap::new();
        for part in keys.chunks(100) {
            let wanted = (part.iter())
                .map(|key| items::key(keys::idempotency_pk(key), keys::IDEMPOTENCY_SK))
                .collect();
            let mut found = self.batch_get_consistent(wanted).await?;
            for key in part {
                let at = format!("{}/{}", keys::idempotency_pk(key), keys::IDEMPOTENCY_SK);
                let Some(item) = found.remove(&at) else {
                    continue;
                };
                let earlier: IdempotencyItem = from_item(item)?;
                if earlier.expires.is_none_or(|expires| expires > now) {
                    answers.insert(key.clone(), earlier.recorded(&self.default_service));
                }
            }
        }
        Ok(answers)
    }

    /// The ids of the commits of `events` that the table already knows (one `BatchGetItem` per
    /// 100).
    async fn known_commits(&self, events: &[Numbered]) -> Result<Vec<u64>, DynamoDbFailure> {
        let mut known = Vec::new();
        for part in events.chunks(100) {
            let scope = Scope::Service(&part[0].1.service);
            let wanted = (part.iter())
                .map(|(_, new, _)| delivery::commit_key(scope, &new.sha))
                .collect();
            let stored = self.batch_get_consistent(wanted).await?;
            known.extend(
                (part.iter())
                    .filter(|(_, new, _)| {
                        let key =
                            format!("{}/{}", keys::commit_pk(scope, &new.sha), keys::COMMIT_SK);
                        stored.contains_key(&key)
                    })
                    .map(|(id, _, _)| *id),
            );
        }
        Ok(known)
    }

    /// Records `events` (at most `EVENTS_PER_TRANSACTION`, or `COMMITS_PER_TRANSACTION` if
    /// they are `commits`; none under a key already used; each with its id) in one transaction,
    /// retried while it is cancelled for reasons another attempt overcomes; an event whose key
    /// another writer used meanwhile is answered with what it recorded. Returns the answers,
    /// and the commit events of commits another writer made known meanwhile, left for the
    /// caller to record one by one.
    async fn record_together(
        &self,
        mut events: Vec<Numbered>,
        received: Timestamp,
        commits: bool,
    ) -> Result<Together, WriteFailure> {
        let mut answers = HashMap::new();
        let mut known = Vec::new();
        let per_event = ITEMS_PER_EVENT + usize::from(commits);
        for attempt in 0..RECORDING.tries {
            if events.is_empty() {
                return Ok((answers, known));
            }
            let items: Vec<EventItem> = (events.iter())
                .map(|(id, new, _)| {
                    let record = EventRecord {
                        id: *id,
                        timestamp: new.instant(received),
                        sha: Sha::new(&new.sha),
                        action: new.action.clone(),
                        engineer: new.engineer.clone(),
                        service: new.service.clone(),
                    };
                    EventItem::new(&record.view(), Scope::Whole)
                })
                .collect();
            let like = &items[0];
            let service = events[0].1.service.as_str();
            let scopes = [Scope::Whole, Scope::Service(service)];
            let current = self.aggregates_of(like, scopes).await?;
            if current[0].needs_upgrade() {
                return Err(WriteFailure::StoreNeedsUpgrade);
            }
            let mut transaction = Vec::with_capacity(MAX_ITEMS);
            for (item, (_, new, key)) in items.iter().zip(&events) {
                transaction.push(put_new(self, to_item(item))?);
                transaction.push(put_new(self, to_item(&item.service_copy(service)))?);
                transaction.push(put_new(self, to_item(&IdItem::of(item)))?);
                let fingerprint = new.fingerprint();
                transaction.push(put_idempotency(self, key, &fingerprint, item, received)?);
                if commits {
                    let pushed = Firsts::default().after(DeliveryKind::Commit, item.ts);
                    let firsts = (pushed, Some(item.id));
                    let write = delivery::commit_write(self, scopes[1], None, &item.sha, firsts)?;
                    transaction.push(write);
                }
            }
            let count = items.len() as u32;
            for (scope, current) in scopes.into_iter().zip(&current) {
                transaction.extend(current.changes(self, scope, like, count)?);
            }
            if commits {
                let pushed = (items.iter())
                    .map(|item| {
                        let place = PushOrder {
                            at: item.ts,
                            id: item.id,
                        };
                        (place, item.sha.as_str())
                    })
                    .collect();
                let shipped = Box::pin(self.shipping(Shipping {
                    service,
                    pushed,
                    deployed: None,
                }))
                .await?;
                transaction.extend(shipped.writes);
                let days = self.delivery_day_writes(shipped.changes, scopes, service);
                transaction.extend(days.await?);
            }
            let first_id = events[0].0;
            let Some(reasons) = self.send_transaction(transaction, first_id).await? else {
                answers.extend(self.recorded(items, events));
                return Ok((answers, known));
            };
            let failed = |at: usize| {
                reasons.get(at).and_then(Option::as_deref) == Some("ConditionalCheckFailed")
            };
            let keys_taken: Vec<IdempotencyKey> = (events.iter().enumerate())
                .filter(|(at, _)| failed(at * per_event + 3))
                .map(|(_, (_, _, key))| key.clone())
                .collect();
            if !keys_taken.is_empty() {
                let earlier = self.earlier_requests(&keys_taken, received).await?;
                let ours =
                    |recorded: &Recorded| events.iter().any(|(id, _, _)| *id == recorded.event.id);
                if earlier.values().any(ours) {
                    // An attempt whose answer was lost recorded them all (one transaction).
                    answers.extend(self.recorded(items, events));
                    return Ok((answers, known));
                }
                events.retain(|(_, _, key)| !earlier.contains_key(key));
                answers.extend(earlier);
                continue;
            }
            // A commit another writer made known meanwhile: recorded on its own.
            let made_known: Vec<u64> = (events.iter().enumerate())
                .filter(|&(at, _)| commits && failed(at * per_event + 4))
                .map(|(_, (id, _, _))| *id)
                .collect();
            if !made_known.is_empty() {
                let (now_known, rest) = events
                    .into_iter()
                    .partition(|(id, _, _)| made_known.contains(id));
                known.extend::<Vec<Numbered>>(now_known);
                events = rest;
                continue;
            }
            let ids_taken =
                (0..items.len()).any(|at| (0..3).any(|item| failed(at * per_event + item)));
            if ids_taken {
                // An import gave these ids out before the counter knew.
                tracing::warn!(first_id, "event ids already stored; taking others");
                let fresh = self.next_ids(events.len() as u64).await?.0;
                for (at, event) in events.iter_mut().enumerate() {
                    event.0 = fresh + at as u64;
                }
            }
            tracing::info!(attempt, ?reasons, "transaction cancelled; retrying");
            tokio::time::sleep(RECORDING.delay(attempt)).await;
        }
        tracing::warn!("transaction kept being cancelled; giving up");
        Err(WriteFailure::Unavailable)
    }

    /// What a transaction of `items` recorded: each event, new, under its key.
    fn recorded(
        &self,
        items: Vec<EventItem>,
        events: Vec<Numbered>,
    ) -> impl Iterator<Item = (IdempotencyKey, Recorded)> {
        let default_service = self.default_service.clone();
        items
            .into_iter()
            .zip(events)
            .map(move |(item, (_, _, key))| {
                let event = item.into_record(&default_service);
                (
                    key,
                    Recorded {
                        event,
                        replayed: false,
                    },
                )
            })
    }
}
