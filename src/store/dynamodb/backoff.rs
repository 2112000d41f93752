//! How often DynamoDB requests are retried (two policies: recording an event, the operator's
//! commands) and how each retry waits: full jitter (a random time up to a ceiling that doubles
//! with each attempt, as AWS recommends), so that many writers do not retry in step.

use std::hash::BuildHasher;
use std::time::Duration;

/// How often a retried request is tried, and how long it waits before each retry.
pub(super) struct Retries {
    pub tries: u32,
    pub first: Duration,
    pub ceiling: Duration,
}

/// The operator's commands: about a minute of throttling before giving up.
pub(super) const PATIENT: Retries = Retries {
    tries: 12,
    first: Duration::from_millis(50),
    ceiling: Duration::from_secs(5),
};

/// Recording an event: up to 25 ms doubling to 400 ms, ten tries, within its 5 s (about 3.2 s
/// of waits at most). Ten: the writes that place or ship a service's commits take turns, and a
/// burst of them for one service retries more than other writers.
pub(super) const RECORDING: Retries = Retries {
    tries: 10,
    first: Duration::from_millis(25),
    ceiling: Duration::from_millis(400),
};

impl Retries {
    /// The wait before attempt `attempt + 1`: random, up to `first` doubled `attempt` times,
    /// and never past `ceiling`.
    pub(super) fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .first
            .saturating_mul(1 << attempt.min(16))
            .min(self.ceiling);
        let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
        cap.mul_f64((random % 1000) as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_and_stops() {
        for (attempt, cap) in [
            (0, 50),
            (1, 100),
            (3, 400),
            (6, 3200),
            (7, 5000),
            (40, 5000),
        ] {
            for _ in 0..20 {
                assert!(PATIENT.delay(attempt) <= Duration::from_millis(cap));
            }
        }
    }
}
