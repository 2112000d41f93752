//! How every DynamoDB retry waits: full jitter (a random time up to a ceiling that doubles with
//! each attempt, as AWS recommends), so that many writers do not retry in step.

use std::hash::BuildHasher;
use std::time::Duration;

/// The wait before attempt `attempt + 1`: random, up to `first` doubled `attempt` times, and
/// never past `ceiling`.
pub(super) fn delay(attempt: u32, first: Duration, ceiling: Duration) -> Duration {
    let cap = first.saturating_mul(1 << attempt.min(16)).min(ceiling);
    full_jitter(cap)
}

/// A random wait from zero to `cap`.
fn full_jitter(cap: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
    cap.mul_f64((random % 1000) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_and_stops() {
        let first = Duration::from_millis(50);
        let ceiling = Duration::from_secs(5);
        for (attempt, cap) in [
            (0, 50),
            (1, 100),
            (3, 400),
            (6, 3200),
            (7, 5000),
            (40, 5000),
        ] {
            for _ in 0..20 {
                assert!(delay(attempt, first, ceiling) <= Duration::from_millis(cap));
            }
        }
    }
}
