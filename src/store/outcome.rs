//! What the stores answer besides their data: an event recorded, or why a write or a read
//! failed. The routes turn the failures into `ApiError`s (src/error.rs).

use crate::events::{EventRecord, NotAllowed, TooManyDays};

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
    /// The table is of an older layout than this version's (`verify --rebuild` upgrades it).
    StoreNeedsUpgrade,
    /// The event would move more delivery facts than one transaction holds.
    TooSpread,
    Unavailable,
    Internal,
}

/// Why a read was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// The store did not answer in time, or refused for now.
    Unavailable,
    /// A defect: an item that does not decode, a request the store refused; logged.
    Internal,
    /// The table is of an older layout than this version's (`verify --rebuild` upgrades it).
    StoreNeedsUpgrade,
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

impl From<TooManyDays> for ReadFailure {
    fn from(too_many: TooManyDays) -> Self {
        Self::TooManyDays(too_many)
    }
}
