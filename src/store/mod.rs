//! The seam every event route reads through: the embedded in-memory store, or DynamoDB.
//! Both answer the same questions with the same JSON; routes see only this.

pub mod dynamodb;
pub mod memory;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use self::dynamodb::{DynamoDbFailure, DynamoDbStore};
use self::memory::MemoryStore;
use crate::events::{
    self, AllowedActions, Bucket, DayTotals, DeliveryIndex, DeliveryReport, EngineerList,
    EngineerSummary, EventQuery, EventRecord, EventSnapshot, EventView, NewEvent, NotAllowed, Page,
    Position, Timestamp, TooManyDays, summary_days,
};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 24 * 60 * 60;

pub enum Store {
    Memory(MemoryStore),
    DynamoDb(Box<DynamoDbStore>),
}

/// What reads see: a snapshot of the memory store, or the table.
pub enum Reader<'a> {
    Memory(Arc<EventSnapshot>),
    DynamoDb(&'a DynamoDbStore),
}

/// An event the store holds after a `record`: new, or the one an idempotency key recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub event: EventRecord,
    pub replayed: bool,
}

/// Why an event was not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFailure {
    /// The idempotency key recorded another event in the last 24 hours.
    KeyReused,
    /// The memory store's `EVENTS_FILE` is a JSON array, which cannot be appended to.
    ReadOnly,
    /// The action is not among the allowed ones.
    ActionNotAllowed(NotAllowed),
    Unavailable,
    Internal,
}

impl From<DynamoDbFailure> for WriteFailure {
    fn from(failure: DynamoDbFailure) -> Self {
        match failure {
            DynamoDbFailure::Unavailable => Self::Unavailable,
            DynamoDbFailure::Internal => Self::Internal,
        }
    }
}

/// Why a read was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// The store did not answer in time, or refused for now.
    Unavailable,
    /// A defect: an item that does not decode, a request the store refused; logged.
    Internal,
    /// The table's delivery facts were counted for other action names than the configured ones.
    MetricsNeedRebuild,
    /// The range to summarise is longer than a summary may be.
    TooManyDays(TooManyDays),
}

impl From<NotAllowed> for WriteFailure {
    fn from(refused: NotAllowed) -> Self {
        Self::ActionNotAllowed(refused)
    }
}

impl From<DynamoDbFailure> for ReadFailure {
    fn from(failure: DynamoDbFailure) -> Self {
        match failure {
            DynamoDbFailure::Unavailable => Self::Unavailable,
            DynamoDbFailure::Internal => Self::Internal,
        }
    }
}

impl From<TooManyDays> for ReadFailure {
    fn from(too_many: TooManyDays) -> Self {
        Self::TooManyDays(too_many)
    }
}

/// A page of events: borrowed from the memory store, or read from DynamoDB.
pub enum EventPage<'a> {
    Borrowed(Page<'a>),
    Owned {
        events: Vec<EventRecord>,
        next: Option<Position>,
    },
}

impl EventPage<'_> {
    pub fn events(&self) -> Cow<'_, [EventView<'_>]> {
        match self {
            Self::Borrowed(page) => Cow::Borrowed(&page.events),
            Self::Owned { events, .. } => {
                Cow::Owned(events.iter().map(EventRecord::view).collect())
            }
        }
    }

    pub fn next(&self) -> Option<Position> {
        match self {
            Self::Borrowed(page) => page.next,
            Self::Owned { next, .. } => *next,
        }
    }
}

impl Store {
    /// What `/health` names: the kind of store and, for DynamoDB, the table.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Self::Memory(_) => Cow::Borrowed("memory"),
            Self::DynamoDb(store) => Cow::Owned(format!("dynamodb:{}", store.table())),
        }
    }

    /// The number of events, where knowing it costs nothing (the memory store).
    pub fn local_count(&self) -> Option<usize> {
        match self {
            Self::Memory(store) => Some(store.snapshot().len()),
            Self::DynamoDb(_) => None,
        }
    }

    /// What a request reads from: taken once, so that all of a request's reads agree.
    pub fn reader(&self) -> Reader<'_> {
        match self {
            Self::Memory(store) => Reader::Memory(store.snapshot()),
            Self::DynamoDb(store) => Reader::DynamoDb(store),
        }
    }

    /// Stores `new` as a new event with a new id, or, for a key seen in the last 24 hours with
    /// the same request, answers with the event that request recorded.
    /// An action outside `allowed` is refused, after the retry of a request recorded under
    /// `key`, which is answered as it was whatever the list says now.
    pub async fn record(
        &self,
        new: NewEvent,
        key: Option<String>,
        received: Timestamp,
        allowed: Arc<AllowedActions>,
    ) -> Result<Recorded, WriteFailure> {
        match self {
            Self::Memory(store) => store.record(new, key, received, allowed).await,
            Self::DynamoDb(store) => {
                let recording = store.record(new, key, received, &allowed);
                Box::pin(store.within_write_budget(recording)).await
            }
        }
    }
}

impl Reader<'_> {
    /// The event with this id.
    pub async fn event(&self, id: u64) -> Result<Option<EventRecord>, ReadFailure> {
        match self {
            Self::Memory(log) => Ok(log.event(id).as_ref().map(EventRecord::from)),
            Self::DynamoDb(store) => Ok(Box::pin(store.within_budget(store.event(id))).await?),
        }
    }

    pub async fn events(&self, query: &EventQuery<'_>) -> Result<EventPage<'_>, ReadFailure> {
        match self {
            Self::Memory(store) => Ok(EventPage::Borrowed(store.query(query))),
            Self::DynamoDb(store) => {
                let (events, next) =
                    Box::pin(store.within_budget(store.events_page(query))).await?;
                Ok(EventPage::Owned { events, next })
            }
        }
    }

    /// One engineer's page of events (`query.engineer` is set), or `None` if no engineer of
    /// that name has events.
    pub async fn engineer_events(
        &self,
        query: &EventQuery<'_>,
    ) -> Result<Option<EventPage<'_>>, ReadFailure> {
        let name = query.engineer.unwrap_or_default();
        match self {
            Self::Memory(store) => Ok(store
                .has_engineer(name)
                .then(|| EventPage::Borrowed(store.query(query)))),
            Self::DynamoDb(store) => {
                let (known, page) = Box::pin(store.within_budget(async {
                    tokio::try_join!(store.has_engineer(name), store.events_page(query))
                }))
                .await?;
                Ok(known.then_some(EventPage::Owned {
                    events: page.0,
                    next: page.1,
                }))
            }
        }
    }

    /// `{"engineers":[…]}`: every engineer, sorted by name.
    pub async fn engineers_json(&self) -> Result<Cow<'_, [u8]>, ReadFailure> {
        match self {
            Self::Memory(store) => Ok(Cow::Borrowed(store.engineers_json())),
            Self::DynamoDb(store) => {
                let engineers = Box::pin(store.within_budget(store.engineers())).await?;
                let list = EngineerList {
                    engineers: engineers
                        .iter()
                        .map(|engineer| EngineerSummary {
                            name: &engineer.sk,
                            events: engineer.events as usize,
                            first_event: engineer.first,
                            last_event: engineer.last,
                        })
                        .collect(),
                };
                Ok(Cow::Owned(
                    serde_json::to_vec(&list).expect("an engineer list serializes"),
                ))
            }
        }
    }

    /// `{"days":[…]}` for the days `from` and `to` choose (`summary_days`) from the store's
    /// time span.
    pub async fn daily_json(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<u8>, ReadFailure> {
        const NO_DAYS: &[u8] = b"{\"days\":[]}";
        match self {
            Self::Memory(store) => Ok(match summary_days(from, to, store.time_span())? {
                Some((first, last)) => store.daily_json(first, last),
                None => NO_DAYS.to_vec(),
            }),
            Self::DynamoDb(store) => {
                let work = async {
                    let meta = store.meta().await?;
                    let span = meta.as_ref().map(|meta| (meta.first, meta.last));
                    let Some((first, last)) = summary_days(from, to, span)? else {
                        return Ok(NO_DAYS.to_vec());
                    };
                    let Some(meta) = meta else {
                        // No events: every day listed, all zeros.
                        return Ok(events::daily_json(&BTreeMap::new(), &[], first, last));
                    };
                    // The day before the first: its change is from there.
                    let items = store.days(first - 1, last).await?;
                    let (actions, totals) =
                        day_totals(&meta.actions, items).ok_or(ReadFailure::Internal)?;
                    Ok(events::daily_json(&totals, &actions, first, last))
                };
                Box::pin(store.within_budget(work)).await
            }
        }
    }

    /// The delivery metrics for the days `from` and `to` choose (`summary_days`) from the
    /// store's time span.
    pub async fn delivery_metrics(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        bucket: Bucket,
    ) -> Result<DeliveryReport, ReadFailure> {
        match self {
            Self::Memory(log) => {
                let days = summary_days(from, to, log.time_span())?;
                let index = log.delivery();
                Ok(DeliveryReport::new(days, bucket, |first, last| {
                    index.figures(first, last)
                }))
            }
            Self::DynamoDb(store) => {
                let work = async {
                    let meta = store.meta().await?;
                    let span = meta.as_ref().map(|meta| (meta.first, meta.last));
                    let days = summary_days(from, to, span)?;
                    let stored = match days {
                        Some((first, last)) => store.delivery_days(first, last).await?,
                        None => Vec::new(),
                    };
                    let facts = dynamodb::delivery_facts(store, meta.as_ref(), &stored)?;
                    let index = DeliveryIndex::from_days(&facts);
                    Ok(DeliveryReport::new(days, bucket, |first, last| {
                        index.figures(first, last)
                    }))
                };
                Box::pin(store.within_budget(work)).await
            }
        }
    }
}

type DaysTotals = BTreeMap<i64, DayTotals>;

/// The domain's per-day totals from day items; `None` (logged) if a day names an action the
/// store's totals do not know, which only a broken table can hold.
fn day_totals(
    action_names: &std::collections::BTreeSet<String>,
    items: Vec<dynamodb::items::DayItem>,
) -> Option<(Vec<Box<str>>, DaysTotals)> {
    let actions: Vec<Box<str>> = action_names
        .iter()
        .map(|name| name.as_str().into())
        .collect();
    let mut days = BTreeMap::new();
    for item in items {
        let Some(day) = dynamodb::keys::day_of_sk(&item.sk) else {
            tracing::error!(
                key = format!("{}/{}", item.pk, item.sk),
                "a day item with a malformed date"
            );
            return None;
        };
        let mut counts = vec![0u32; actions.len()].into_boxed_slice();
        for (name, count) in &item.actions {
            let Ok(index) = actions.binary_search_by(|known| (**known).cmp(name.as_str())) else {
                tracing::error!(
                    key = format!("{}/{}", item.pk, item.sk),
                    action = name,
                    "a day counts an action the store's totals do not list"
                );
                return None;
            };
            counts[index] = *count;
        }
        days.insert(
            day,
            DayTotals {
                total: item.total,
                engineers: item.engineers,
                actions: counts,
            },
        );
    }
    Some((actions, days))
}
