//! Which whole UTC days a summary covers (`/summaries/daily`, `/metrics/delivery`): the rule,
//! once, for every store.

use super::model::{Timestamp, day_of};

/// The longest range one summary may cover, in days.
pub const MAX_SUMMARY_DAYS: i64 = 366;

/// A range longer than `MAX_SUMMARY_DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyDays {
    pub days: i64,
    pub max: i64,
}

/// The days from the day of `from` to the day before `to` (the day of `to` when it is a date,
/// which means the end of that day). Without `to`, the store's last day (`span`: its first and
/// last instants, if it has events); without `from`, the most recent `MAX_SUMMARY_DAYS` days up
/// to the last, or fewer from the store's first day: a store that has events from years ago and
/// one from today still answers without parameters. `None` when there are no days: an empty
/// store and no bounds.
pub fn summary_days(
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    span: Option<(Timestamp, Timestamp)>,
) -> Result<Option<(i64, i64)>, TooManyDays> {
    let last = to
        .map(|to| day_of(to - 1))
        .or(span.map(|(_, last)| day_of(last)));
    let first = match (from, last) {
        (Some(from), _) => Some(day_of(from)),
        (None, Some(last)) => {
            let recent = last - (MAX_SUMMARY_DAYS - 1);
            Some(span.map_or(last, |(first, _)| day_of(first).max(recent)))
        }
        (None, None) => None,
    };
    match (first, last.or(first)) {
        (Some(first), Some(last)) if first <= last => {
            let days = last - first + 1;
            if days > MAX_SUMMARY_DAYS {
                return Err(TooManyDays {
                    days,
                    max: MAX_SUMMARY_DAYS,
                });
            }
            Ok(Some((first, last)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Timestamp = 86_400;

    #[test]
    fn defaults_reach_back_at_most_366_days_from_the_end() {
        let span = Some((0, 1_000 * DAY + 5));
        assert_eq!(summary_days(None, None, span), Ok(Some((635, 1_000))));
        assert_eq!(summary_days(None, Some(11 * DAY), span), Ok(Some((0, 10))));
        assert_eq!(
            summary_days(Some(990 * DAY), None, span),
            Ok(Some((990, 1_000)))
        );
        assert_eq!(
            summary_days(Some(0), None, span),
            Err(TooManyDays {
                days: 1_001,
                max: MAX_SUMMARY_DAYS
            })
        );
        assert_eq!(summary_days(None, None, None), Ok(None));
        assert_eq!(summary_days(None, Some(3 * DAY), None), Ok(Some((2, 2))));
    }
}
