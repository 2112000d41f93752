use std::cell::Cell;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::sha::Sha;

/// Seconds since the Unix epoch, UTC. Events carry whole seconds, as the pipeline exports them.
pub type Timestamp = i64;

pub const SECONDS_PER_DAY: i64 = 86_400;
/// The oldest and newest instants an event may carry: 1970-01-01 to 9999-12-31.
pub const MIN_TIMESTAMP: Timestamp = 0;
pub const MAX_TIMESTAMP: Timestamp = 253_402_300_799;
/// Days from 0001-01-01 (chrono's "days from CE", day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Days since 1970-01-01 of the UTC day holding `timestamp`.
pub fn day_of(timestamp: Timestamp) -> i64 {
    timestamp.div_euclid(SECONDS_PER_DAY)
}

/// The calendar date of a day since 1970-01-01; `None` outside the calendar chrono knows.
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + UNIX_EPOCH_DAYS_FROM_CE).ok()?)
}

/// One stored event. Engineer and action names are interned in the store, which keeps a million
/// events within a small memory budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: u64,
    pub timestamp: Timestamp,
    pub sha: Sha,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventView<'a> {
    /// Assigned by the store; `GET /events/{id}` answers it.
    pub id: u64,
    /// UTC, whole seconds.
    #[serde(serialize_with = "serialize_timestamp")]
    #[schema(value_type = String, format = DateTime, example = "2017-10-30T12:00:00Z")]
    pub timestamp: Timestamp,
    /// The commit, as the pipeline sent it.
    #[schema(value_type = String, example = "4e3a6c1b2f0d9a8e7c6b5a4d3c2b1a0f9e8d7c6b")]
    pub sha: &'a Sha,
    #[schema(value_type = String, example = "deploy")]
    pub action: &'a str,
    #[schema(value_type = String, example = "alice")]
    pub engineer: &'a str,
    /// The service it belongs to, as its code host names the repository.
    #[schema(value_type = String, example = "octo-org/checkout")]
    pub service: &'a str,
}

impl EventView<'_> {
    /// The order every list uses: by time, then by id.
    pub fn position(&self) -> (Timestamp, u64) {
        (self.timestamp, self.id)
    }
}

/// An event with its names, owned: what a store that is not in memory reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: u64,
    pub timestamp: Timestamp,
    pub sha: Sha,
    pub action: String,
    pub engineer: String,
    pub service: String,
}

impl From<&EventView<'_>> for EventRecord {
    fn from(event: &EventView<'_>) -> Self {
        Self {
            id: event.id,
            timestamp: event.timestamp,
            sha: event.sha.clone(),
            action: event.action.to_owned(),
            engineer: event.engineer.to_owned(),
            service: event.service.to_owned(),
        }
    }
}

impl EventRecord {
    pub fn view(&self) -> EventView<'_> {
        EventView {
            id: self.id,
            timestamp: self.timestamp,
            sha: &self.sha,
            action: &self.action,
            engineer: &self.engineer,
            service: &self.service,
        }
    }
}

/// RFC 3339, UTC, whole seconds, `Z` suffix: `2017-10-30T12:00:00Z`.
pub fn format_timestamp(timestamp: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(timestamp, 0)
        .expect("timestamps are range-checked when events are loaded")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serializes as `format_timestamp` writes, without its allocation; each thread remembers the
/// date of the last day it wrote.
pub(crate) fn serialize_timestamp<S: serde::Serializer>(
    ts: &Timestamp,
    s: S,
) -> Result<S::Ok, S::Error> {
    let text = LAST_DATE.with(|last| {
        let mut dates = last.get();
        let text = dates.rfc3339(*ts);
        last.set(dates);
        text
    });
    s.serialize_str(std::str::from_utf8(&text).expect("digits and separators are ASCII"))
}

/// `00` to `59`: the hours, minutes and seconds of a time of day.
const TWO_DIGITS: [[u8; 2]; 60] = {
    let mut table = [[0; 2]; 60];
    let mut n = 0;
    while n < 60 {
        table[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    table
};

thread_local! {
    static LAST_DATE: Cell<Dates> = const { Cell::new(Dates::new()) };
}

/// Writes timestamps as `format_timestamp` does, without its allocation: chrono writes the date
/// (`2017-10-30T`) once per day met, and the time of day is three two-digit numbers. Events in
/// time order mostly share their day, so most timestamps reuse the last day's date.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dates {
    /// The last day written, and its date with the `T` that follows it.
    day: i64,
    date: [u8; 11],
}

impl Dates {
    pub(crate) const fn new() -> Self {
        Self {
            day: i64::MIN,
            date: [0; 11],
        }
    }

    /// `2017-10-30T12:00:00Z`.
    pub(crate) fn rfc3339(&mut self, timestamp: Timestamp) -> [u8; 20] {
        let (date, time) = self.parts(timestamp);
        let mut text = [0u8; 20];
        text[..11].copy_from_slice(date);
        text[11..].copy_from_slice(&time);
        text
    }

    /// `2017-10-30T` and `12:00:00Z`: what a writer appends, without building the whole first.
    #[inline]
    pub(crate) fn parts(&mut self, timestamp: Timestamp) -> (&[u8; 11], [u8; 9]) {
        let day = day_of(timestamp);
        if day != self.day {
            let written = date_of_day(day)
                .expect("timestamps are range-checked when events are loaded")
                .format("%Y-%m-%dT")
                .to_string();
            self.date.copy_from_slice(written.as_bytes());
            self.day = day;
        }
        let second_of_day = (timestamp - day * SECONDS_PER_DAY) as usize;
        let [h1, h2] = TWO_DIGITS[second_of_day / 3600];
        let [m1, m2] = TWO_DIGITS[second_of_day / 60 % 60];
        let [s1, s2] = TWO_DIGITS[second_of_day % 60];
        (&self.date, [h1, h2, b':', m1, m2, b':', s1, s2, b'Z'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_serialized_as_chrono_writes(instant: Timestamp) {
        let json = serde_json::to_string(&EventView {
            id: 1,
            timestamp: instant,
            sha: &Sha::new("a"),
            action: "b",
            engineer: "c",
            service: "d",
        })
        .unwrap();
        let expected = format!("\"timestamp\":\"{}\"", format_timestamp(instant));
        assert!(json.contains(&expected), "{json} lacks {expected}");
    }

    #[test]
    fn serialized_timestamps_read_as_chronos_rfc_3339() {
        // From the first instant an event may carry to the last, and days between.
        let mut instant = 0;
        while instant <= 253_402_300_799 {
            assert_serialized_as_chrono_writes(instant);
            instant += 86_400 * 37 + 3_661;
        }
        // Days that alternate, and seconds at the edges of a day, as one thread meets them.
        for instant in [
            0,
            86_399,
            86_400,
            0,
            1_509_321_599,
            86_399,
            1_509_321_600,
            59,
            3_600,
        ] {
            assert_serialized_as_chrono_writes(instant);
        }
        assert!(
            serde_json::to_string(&EventView {
                id: 1,
                timestamp: 253_402_300_799,
                sha: &Sha::new("a"),
                action: "b",
                engineer: "c",
                service: "d",
            })
            .unwrap()
            .contains("9999-12-31T23:59:59Z")
        );
    }
}
