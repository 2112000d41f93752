use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// Seconds since the Unix epoch, UTC. Events carry whole seconds, as the pipeline exports them.
pub type Timestamp = i64;

/// One stored event. Engineer and action names are interned in the store, which keeps a million
/// events within a small memory budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: u64,
    pub timestamp: Timestamp,
    pub sha: Box<str>,
    pub(crate) action: u16,
    pub(crate) engineer: u32,
}

impl Event {
    /// The order every list uses: by time, then by id.
    pub fn position(&self) -> (Timestamp, u64) {
        (self.timestamp, self.id)
    }
}

/// An event as clients see it, with its names resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView<'a> {
    pub id: u64,
    #[serde(serialize_with = "serialize_timestamp")]
    pub timestamp: Timestamp,
    pub sha: &'a str,
    pub action: &'a str,
    pub engineer: &'a str,
}

/// RFC 3339, UTC, whole seconds, `Z` suffix: `2017-10-30T12:00:00Z`.
pub fn format_timestamp(timestamp: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(timestamp, 0)
        .expect("timestamps are range-checked when events are loaded")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn serialize_timestamp<S: serde::Serializer>(
    ts: &Timestamp,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(*ts))
}
