//! The seam every event route reads through: the embedded in-memory store, or DynamoDB.
//! Both answer the same questions with the same JSON; routes see only this.

pub mod dynamodb;
pub mod memory;
mod outcome;

pub use outcome::{ReadFailure, Recorded, WriteFailure};

use std::borrow::Cow;
use std::sync::Arc;

use self::dynamodb::DynamoDbStore;
use self::dynamodb::keys::Scope;
use self::memory::MemoryStore;
use crate::events::{
    AllowedActions, Benchmark, Bucket, DeliveryReport, EventQuery, EventRecord, EventView,
    IdempotencyKey, NO_DAYS_JSON, NewEvent, Page, Position, ServiceSummary, Services, Timestamp,
    summary_days,
};

pub enum Store {
    Memory(MemoryStore),
    DynamoDb(Box<DynamoDbStore>),
}

/// What reads see: a snapshot of the memory store, or the table.
pub enum Reader<'a> {
    Memory(Arc<Services>),
    DynamoDb(&'a DynamoDbStore),
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

    /// Stores `new` as a new event with a new id, or, for a key within its window
    /// (`IdempotencyKey`) with the same request (any, for a delivery), answers with the event
    /// that request recorded.
    /// An action outside `allowed` is refused, after the retry of a request recorded under
    /// `key`, which is answered as it was whatever the list says now.
    pub async fn record(
        &self,
        new: NewEvent,
        key: Option<IdempotencyKey>,
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

impl Store {
    /// Records each of `batch` under its key, or answers with what the key recorded before: a
    /// delivery's events. The memory store appends them at once; DynamoDB records like events
    /// (a push's commits) in shared transactions.
    pub async fn record_all(
        &self,
        batch: Vec<(NewEvent, IdempotencyKey)>,
        received: Timestamp,
        allowed: Arc<AllowedActions>,
    ) -> Result<Vec<Recorded>, WriteFailure> {
        match self {
            Self::Memory(store) => {
                let batch = batch
                    .into_iter()
                    .map(|(new, key)| (new, Some(key)))
                    .collect();
                store.record_all(batch, received, allowed).await
            }
            Self::DynamoDb(store) => Box::pin(store.record_all(batch, received, &allowed)).await,
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
                .has_engineer(query.service, name)
                .then(|| EventPage::Borrowed(store.query(query)))),
            Self::DynamoDb(store) => {
                let scope = Scope::of(query.service);
                let (known, page) = Box::pin(store.within_budget(async {
                    tokio::try_join!(store.has_engineer(scope, name), store.events_page(query))
                }))
                .await?;
                Ok(known.then_some(EventPage::Owned {
                    events: page.0,
                    next: page.1,
                }))
            }
        }
    }

    /// At most `limit` services by name after `after`, and whether more follow.
    pub async fn services(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ServiceSummary<'_>>, bool), ReadFailure> {
        match self {
            Self::Memory(store) => Ok(store.list(after, limit)),
            Self::DynamoDb(store) => {
                let page = Box::pin(store.within_budget(store.services(after, limit))).await?;
                Ok((
                    page.0.into_iter().map(|totals| totals.summary()).collect(),
                    page.1,
                ))
            }
        }
    }

    /// Whether `service` has events.
    pub async fn knows_service(&self, service: &str) -> Result<bool, ReadFailure> {
        match self {
            Self::Memory(store) => Ok(store.knows(service)),
            Self::DynamoDb(store) => {
                let totals = store.meta(Scope::Service(service));
                Ok(Box::pin(store.within_budget(totals)).await?.is_some())
            }
        }
    }

    /// `{"engineers":[…]}`: every engineer of `service` (`None`: of the store), sorted by
    /// name.
    pub async fn engineers_json(
        &self,
        service: Option<&str>,
    ) -> Result<Cow<'_, [u8]>, ReadFailure> {
        match self {
            Self::Memory(store) => Ok(Cow::Borrowed(store.engineers_json(service))),
            Self::DynamoDb(store) => {
                let json = store.engineers_json(Scope::of(service));
                let json = Box::pin(store.within_budget(json)).await?;
                Ok(Cow::Owned(json))
            }
        }
    }

    /// `{"days":[…]}` of `service` (`None`: the store) for the days `from` and `to` choose
    /// (`summary_days`) from its time span.
    pub async fn daily_json(
        &self,
        service: Option<&str>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<u8>, ReadFailure> {
        match self {
            Self::Memory(store) => Ok(match summary_days(from, to, store.time_span(service))? {
                Some((first, last)) => store.daily_json(service, first, last),
                None => NO_DAYS_JSON.to_vec(),
            }),
            Self::DynamoDb(store) => {
                let json = store.daily_json(Scope::of(service), from, to);
                Box::pin(store.within_budget(json)).await
            }
        }
    }

    /// The delivery metrics of `service` (`None`: the store) for the days `from` and `to`
    /// choose (`summary_days`) from its time span.
    pub async fn delivery_metrics(
        &self,
        service: Option<&str>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        (bucket, benchmark): (Bucket, Benchmark),
    ) -> Result<DeliveryReport, ReadFailure> {
        match self {
            Self::Memory(log) => {
                let days = summary_days(from, to, log.time_span(service))?;
                let index = log.delivery(service);
                Ok(DeliveryReport::new(days, bucket, benchmark, index))
            }
            Self::DynamoDb(store) => {
                let shape = (bucket, benchmark);
                let report = store.delivery_metrics(Scope::of(service), from, to, shape);
                Box::pin(store.within_budget(report)).await
            }
        }
    }
}
