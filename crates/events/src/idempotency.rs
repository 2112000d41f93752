//! What makes an event recorded once: a client's `Idempotency-Key`, or the identity of what a
//! code host's webhook delivered.

use super::model::Timestamp;

/// How long an idempotency key is remembered: a request sent again with its key within this
/// answers with the event the first one recorded.
pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// How long a delivered event is remembered: GitHub redelivers a delivery of the last three
/// days when asked, and GitLab retries a failed one; a week covers both.
pub const DELIVERY_WINDOW_SECONDS: i64 = 7 * 24 * 60 * 60;

/// Under what an event is recorded once. The kinds never meet: a client's key cannot stand for
/// a delivered event, whatever it spells.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdempotencyKey {
    /// `Idempotency-Key`: the same request again within 24 hours answers with the event the
    /// first recorded; another request under the key is refused.
    Request(String),
    /// What a code host delivered, named by its own identity (`github:deployment_status:<id>`):
    /// delivered again within a week, it answers with the event it recorded, whatever the body.
    Delivery(String),
    /// A pushed commit, named by its service and SHA (`commit:<service>:<sha>`): recorded once
    /// for good, whatever push or delivery brings it again.
    Commit(String),
}

impl IdempotencyKey {
    pub fn name(&self) -> &str {
        match self {
            Self::Request(key) | Self::Delivery(key) | Self::Commit(key) => key,
        }
    }

    /// The identity of `service`'s commit `sha` (as stored: lower case).
    pub fn commit(service: &str, sha: &str) -> Self {
        Self::Commit(format!("commit:{service}:{}", sha.to_ascii_lowercase()))
    }

    /// Seconds after its first request that the key is forgotten; `None`: never.
    pub fn window(&self) -> Option<i64> {
        match self {
            Self::Request(_) => Some(IDEMPOTENCY_WINDOW_SECONDS),
            Self::Delivery(_) => Some(DELIVERY_WINDOW_SECONDS),
            Self::Commit(_) => None,
        }
    }

    /// Whether the key, first used at `received`, is still remembered at `now`.
    pub fn is_remembered(&self, received: Timestamp, now: Timestamp) -> bool {
        self.window().is_none_or(|window| received + window > now)
    }

    /// Whether a later request under the key must be the same request (its fingerprint) to be
    /// answered: a client's must; a delivery is its identity, so any body under it is the same.
    pub fn is_same_request_required(&self) -> bool {
        matches!(self, Self::Request(_))
    }
}
