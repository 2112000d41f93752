//! The table's layout, in one place. Every key is a string; timestamps and ids are zero-padded
//! so that string order is (timestamp, id) order.
//!
//! | item                 | `pk`                    | `sk`                     | index keys            |
//! |----------------------|-------------------------|--------------------------|-----------------------|
//! | event                | `EV#<YYYY-MM>`          | `<ts:12>#<id:20>`        | `gsi1pk = ENG#<name>`, `gsi2pk = ACT#<action>#<YYYY-MM>` |
//! | event by id          | `ID#<id>`               | `EVENT`                  |                       |
//! | day totals           | `DAY#<YYYY>`            | `<YYYY-MM-DD>`           |                       |
//! | engineer on a day    | `ENGDAY#<name>`         | `<YYYY-MM-DD>`           |                       |
//! | engineer totals      | `ENGINEERS`             | `<name>`                 |                       |
//! | store totals         | `META`                  | `STORE`                  |                       |
//! | a service's totals   | `SERVICES`              | `<service>`              |                       |
//! | last id given out    | `COUNTER`               | `EVENT_ID`               |                       |
//! | idempotency key      | `IDEM#<key>`            | `REQUEST`                | (expires: TTL)        |
//! | a delivered event    | `DELIVERED#<identity>`  | `REQUEST`                | (expires: TTL)        |
//! | a pushed commit      | `PUSHED#commit:<service>:<sha>` | `REQUEST`        | (kept: no TTL)        |
//! | a commit's firsts    | `SVC#<service>#COMMIT#<sha>` | `FIRSTS`            |                       |
//! | a pushed commit's place | `SVC#<service>#ORDER` | `<ts:12>#<id:20>` (its commit event's) |   |
//! | a deploy that ships earlier pushed commits | `SVC#<service>#SHIPS` | `<ts:12>#<id:20>` (its commit's place) | |
//! | their writers' turn  | `SVC#<service>#SHIPS`   | `TURN`                   |                       |
//! | delivery day         | `DLV#<YYYY>`            | `<YYYY-MM-DD>`           |                       |
//!
//! Every item of the event, day, engineer and delivery kinds exists twice: once for the whole
//! store, keyed as above, and once for its service, every key (index keys too) prefixed
//! `SVC#<service>#` (`SVC#octo/web#EV#2017-10`); a commit's firsts, for its service only. A question about one service then reads what a
//! store of that service alone would read. A service name holds no `#`, and its 255 bytes with
//! a 1000-byte name stay within DynamoDB's 2048 bytes for a partition key.

use chrono::{Datelike, NaiveDate};

use crate::events::{
    IdempotencyKey, MAX_TIMESTAMP, MIN_TIMESTAMP, Position, PushOrder, SECONDS_PER_DAY, Timestamp,
    date_of_day,
};

/// The version of this layout, kept in the store's totals (`layout`; absent: 1, before
/// services; 2 before lead time from the commit; 3 before hotfixes). A table of an older one
/// is upgraded by `verify --rebuild`; until then the routes answer `503 store_needs_upgrade`.
pub const LAYOUT: u32 = 4;

/// Whose items a key is for: the whole store's, or one service's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope<'a> {
    Whole,
    Service(&'a str),
}

impl<'a> Scope<'a> {
    /// `None`: the whole store.
    pub fn of(service: Option<&'a str>) -> Self {
        service.map_or(Self::Whole, Self::Service)
    }

    /// `key` in this scope.
    fn key(self, key: std::fmt::Arguments<'_>) -> String {
        match self {
            Self::Whole => key.to_string(),
            Self::Service(service) => format!("{SERVICE_PREFIX}{service}#{key}"),
        }
    }

    /// The key of the scope's totals: the store's, or the service's.
    pub fn totals_key(self) -> (&'static str, &'a str) {
        match self {
            Self::Whole => (META_PK, META_SK),
            Self::Service(service) => (SERVICES_PK, service),
        }
    }
}

/// The partition-key prefixes, one per kind of item kept under many partitions.
const SERVICE_PREFIX: &str = "SVC#";
const EVENTS_PREFIX: &str = "EV#";
const ID_PREFIX: &str = "ID#";
const IDEMPOTENCY_PREFIX: &str = "IDEM#";
/// A delivered event's identity: apart from clients' keys, which may spell anything.
const DELIVERY_PREFIX: &str = "DELIVERED#";
/// A pushed commit's identity, kept for good.
const PUSHED_PREFIX: &str = "PUSHED#";
const DAYS_PREFIX: &str = "DAY#";
const ENGINEER_DAYS_PREFIX: &str = "ENGDAY#";
const COMMIT_PREFIX: &str = "COMMIT#";
const DELIVERY_DAYS_PREFIX: &str = "DLV#";

/// What kind of item a partition key holds (`verify` sorts a Scan's items by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Event,
    Id,
    Idempotency,
    Day,
    EngineerDay,
    Engineers,
    Meta,
    Services,
    Counter,
    Commit,
    DeliveryDay,
    /// A service's pushed commits in order.
    PushOrder,
    /// A service's deploys that ship earlier pushed commits, and their writers' turn.
    Ships,
}

/// What kind of item a partition key holds, and for whom.
pub fn kind_of_pk(pk: &str) -> Option<(Kind, Scope<'_>)> {
    if let Some(scoped) = pk.strip_prefix(SERVICE_PREFIX) {
        let (service, pk) = scoped.split_once('#')?;
        return match kind_in_scope(pk)? {
            Kind::Meta | Kind::Services | Kind::Counter | Kind::Id | Kind::Idempotency => None,
            kind => Some((kind, Scope::Service(service))),
        };
    }
    Some((kind_in_scope(pk)?, Scope::Whole))
}

fn kind_in_scope(pk: &str) -> Option<Kind> {
    let prefixed = [
        (EVENTS_PREFIX, Kind::Event),
        (ID_PREFIX, Kind::Id),
        (IDEMPOTENCY_PREFIX, Kind::Idempotency),
        (DELIVERY_PREFIX, Kind::Idempotency),
        (PUSHED_PREFIX, Kind::Idempotency),
        (DAYS_PREFIX, Kind::Day),
        (ENGINEER_DAYS_PREFIX, Kind::EngineerDay),
        (COMMIT_PREFIX, Kind::Commit),
        (DELIVERY_DAYS_PREFIX, Kind::DeliveryDay),
    ];
    match pk {
        PUSH_ORDER_PK => Some(Kind::PushOrder),
        SHIPS_PK => Some(Kind::Ships),
        ENGINEERS_PK => Some(Kind::Engineers),
        META_PK => Some(Kind::Meta),
        SERVICES_PK => Some(Kind::Services),
        COUNTER_PK => Some(Kind::Counter),
        _ => prefixed
            .into_iter()
            .find(|(prefix, _)| pk.starts_with(prefix))
            .map(|(_, kind)| kind),
    }
}

/// The engineer whose days an `engineer_days_pk` partition holds.
pub fn engineer_of_days_pk(pk: &str) -> Option<&str> {
    let pk = match pk.strip_prefix(SERVICE_PREFIX) {
        Some(scoped) => scoped.split_once('#')?.1,
        None => pk,
    };
    pk.strip_prefix(ENGINEER_DAYS_PREFIX)
}

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The index of events by engineer, and its partition key attribute (its sort key is `sk`).
pub const BY_ENGINEER: &str = "by-engineer";
pub const BY_ENGINEER_PK: &str = "gsi1pk";
/// The index of events by action and month, and its partition key attribute.
pub const BY_ACTION: &str = "by-action";
pub const BY_ACTION_PK: &str = "gsi2pk";

const ENGINEERS_PK: &str = "ENGINEERS";
pub const SERVICES_PK: &str = "SERVICES";
pub const ID_SK: &str = "EVENT";
pub const META_PK: &str = "META";
pub const META_SK: &str = "STORE";
pub const COUNTER_PK: &str = "COUNTER";
pub const EVENT_ID_SK: &str = "EVENT_ID";
/// The counter's attribute: the last id given out (or imported).
pub const COUNTER_LAST: &str = "last";
pub const IDEMPOTENCY_SK: &str = "REQUEST";
pub const COMMIT_SK: &str = "FIRSTS";
/// Within a service (`SVC#<service>#…` only).
const PUSH_ORDER_PK: &str = "ORDER";
const SHIPS_PK: &str = "SHIPS";
/// The item every writer of a service's pushed commits or ships moves on (after every place:
/// a digit sorts before it).
pub const TURN_SK: &str = "TURN";
/// Above every place's sort key.
pub const PLACES_END: &str = ":";
/// The attribute DynamoDB's time to live deletes idempotency items by (Unix seconds).
pub const EXPIRES: &str = "expires";

/// Keys are at most 2048 bytes (partition) and 1024 (sort): names are held to this.
pub const MAX_NAME_BYTES: usize = 1000;

/// A calendar month as months since 0000-01: consecutive months are consecutive numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(i64);

impl Month {
    pub fn of(timestamp: Timestamp) -> Self {
        let date = date_of_day(timestamp.div_euclid(SECONDS_PER_DAY))
            .expect("timestamps are range-checked");
        Self(i64::from(date.year()) * 12 + i64::from(date.month0()))
    }

    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }

    /// Months from `self` to `last`, both included.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        (self.0..=last.0).map(Month)
    }

    /// The month's first instant.
    pub fn start(self) -> Timestamp {
        let date = NaiveDate::from_ymd_opt(
            self.0.div_euclid(12) as i32,
            self.0.rem_euclid(12) as u32 + 1,
            1,
        )
        .expect("a month of the calendar");
        date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
    }

    fn label(self) -> String {
        format!(
            "{:04}-{:02}",
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }
}

pub fn events_pk(scope: Scope<'_>, month: Month) -> String {
    scope.key(format_args!("{EVENTS_PREFIX}{}", month.label()))
}

pub fn event_sk(timestamp: Timestamp, id: u64) -> String {
    format!("{timestamp:012}#{id:020}")
}

/// The position an event's sort key stands for.
pub fn position_of_sk(sk: &str) -> Option<Position> {
    let (timestamp, id) = sk.split_once('#')?;
    Some(Position {
        timestamp: timestamp.parse().ok()?,
        id: id.parse().ok()?,
    })
}

/// The item that holds an event under its id: what makes an id unique in the table.
pub fn id_pk(id: u64) -> String {
    format!("{ID_PREFIX}{id}")
}

pub fn idempotency_pk(key: &IdempotencyKey) -> String {
    match key {
        IdempotencyKey::Request(key) => format!("{IDEMPOTENCY_PREFIX}{key}"),
        IdempotencyKey::Delivery(key) => format!("{DELIVERY_PREFIX}{key}"),
        IdempotencyKey::Commit(key) => format!("{PUSHED_PREFIX}{key}"),
    }
}

pub fn engineer_index_pk(scope: Scope<'_>, engineer: &str) -> String {
    scope.key(format_args!("ENG#{engineer}"))
}

pub fn action_index_pk(scope: Scope<'_>, action: &str, month: Month) -> String {
    scope.key(format_args!("ACT#{action}#{}", month.label()))
}

pub fn engineers_pk(scope: Scope<'_>) -> String {
    scope.key(format_args!("{ENGINEERS_PK}"))
}

pub fn days_pk(scope: Scope<'_>, day: i64) -> String {
    scope.key(format_args!("{DAYS_PREFIX}{:04}", date(day).year()))
}

pub fn day_sk(day: i64) -> String {
    date(day).format("%Y-%m-%d").to_string()
}

/// The day a `day_sk` names, in days since the epoch.
pub fn day_of_sk(sk: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(sk, "%Y-%m-%d").ok()?;
    Some(
        date.and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp()
            .div_euclid(SECONDS_PER_DAY),
    )
}

/// A service's pushed commits, by place.
pub fn push_order_pk(service: &str) -> String {
    Scope::Service(service).key(format_args!("{PUSH_ORDER_PK}"))
}

/// A service's ships, and its turn.
pub fn ships_pk(service: &str) -> String {
    Scope::Service(service).key(format_args!("{SHIPS_PK}"))
}

/// A pushed commit's place: its commit event's instant and id, as an event's sort key.
pub fn place_sk(order: PushOrder) -> String {
    event_sk(order.at, order.id)
}

pub fn place_of_sk(sk: &str) -> Option<PushOrder> {
    let position = position_of_sk(sk)?;
    Some(PushOrder {
        at: position.timestamp,
        id: position.id,
    })
}

/// A commit's firsts, under its sha as events carry it.
pub fn commit_pk(scope: Scope<'_>, sha: &str) -> String {
    scope.key(format_args!("{COMMIT_PREFIX}{sha}"))
}

pub fn delivery_days_pk(scope: Scope<'_>, day: i64) -> String {
    scope.key(format_args!(
        "{DELIVERY_DAYS_PREFIX}{:04}",
        date(day).year()
    ))
}

pub fn engineer_days_pk(scope: Scope<'_>, engineer: &str) -> String {
    scope.key(format_args!("{ENGINEER_DAYS_PREFIX}{engineer}"))
}

fn date(day: i64) -> NaiveDate {
    date_of_day(day).expect("days of stored events are in the calendar")
}

/// The sort-key interval of the events in `[from, to)` after `after`, or `None` when it is
/// empty. Both ends are inclusive, for `BETWEEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkRange {
    pub low: String,
    pub high: String,
    /// The first and last instants the interval can hold.
    pub first: Timestamp,
    pub last: Timestamp,
}

pub fn sk_range(
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    after: Option<Position>,
) -> Option<SkRange> {
    // (timestamp, id) of the first key allowed.
    let mut low = (from.unwrap_or(MIN_TIMESTAMP).max(MIN_TIMESTAMP), 0u64);
    if let Some(after) = after {
        let next = match after.id.checked_add(1) {
            Some(id) => (after.timestamp, id),
            None => (after.timestamp.checked_add(1)?, 0),
        };
        low = low.max(next);
    }
    let last = to
        .map_or(MAX_TIMESTAMP, |to| to.saturating_sub(1))
        .min(MAX_TIMESTAMP);
    if low.0 > last {
        return None;
    }
    Some(SkRange {
        low: event_sk(low.0, low.1),
        // '~' sorts after every digit: the whole last second.
        high: format!("{last:012}#~"),
        first: low.0,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_key_is_of_its_own_kind() {
        let day = 17_469; // 2017-10-30
        for scope in [Scope::Whole, Scope::Service("octo/web-1.2_x")] {
            for (pk, kind) in [
                (events_pk(scope, Month::of(1_509_321_600)), Kind::Event),
                (days_pk(scope, day), Kind::Day),
                (engineer_days_pk(scope, "ada"), Kind::EngineerDay),
                (commit_pk(scope, "abcdef1"), Kind::Commit),
                (delivery_days_pk(scope, day), Kind::DeliveryDay),
                (engineers_pk(scope), Kind::Engineers),
            ] {
                assert_eq!(kind_of_pk(&pk), Some((kind, scope)), "{pk}");
            }
            assert_eq!(
                engineer_of_days_pk(&engineer_days_pk(scope, "ENGDAY#x")),
                Some("ENGDAY#x")
            );
        }
        for (pk, kind) in [
            (id_pk(7), Kind::Id),
            (
                idempotency_pk(&IdempotencyKey::Request("ID#7".into())),
                Kind::Idempotency,
            ),
            (
                idempotency_pk(&IdempotencyKey::Delivery("x".into())),
                Kind::Idempotency,
            ),
            (
                idempotency_pk(&IdempotencyKey::commit("octo/web", "A1")),
                Kind::Idempotency,
            ),
            (META_PK.to_owned(), Kind::Meta),
            (SERVICES_PK.to_owned(), Kind::Services),
            (COUNTER_PK.to_owned(), Kind::Counter),
        ] {
            assert_eq!(kind_of_pk(&pk), Some((kind, Scope::Whole)), "{pk}");
        }
        assert_eq!(kind_of_pk("ENG#ada"), None);
        assert_eq!(kind_of_pk("SVC#web#META"), None);
        assert_eq!(kind_of_pk("SVC#web"), None);
        assert_eq!(
            events_pk(Scope::Service("octo/web"), Month::of(1_509_321_600)),
            "SVC#octo/web#EV#2017-10"
        );
    }

    #[test]
    fn sort_keys_sort_as_positions() {
        let positions = [(0, 0), (0, 1), (9, u64::MAX), (10, 0), (253_402_300_799, 5)];
        let keys: Vec<String> = positions.iter().map(|&(t, i)| event_sk(t, i)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for (key, &(timestamp, id)) in keys.iter().zip(&positions) {
            assert_eq!(position_of_sk(key), Some(Position { timestamp, id }));
        }
    }

    #[test]
    fn months_and_days() {
        let oct_30_2017 = 1_509_321_600;
        let month = Month::of(oct_30_2017);
        let whole = Scope::Whole;
        assert_eq!(events_pk(whole, month), "EV#2017-10");
        assert_eq!(events_pk(whole, month.next()), "EV#2017-11");
        assert_eq!(events_pk(whole, Month::of(0)), "EV#1970-01");
        assert_eq!(events_pk(whole, Month::of(MAX_TIMESTAMP)), "EV#9999-12");
        assert_eq!(Month::of(oct_30_2017).start(), 1_506_816_000);
        assert_eq!(
            Month::of(Month::of(oct_30_2017).start() - 1),
            Month::of(1_506_816_000 - 86_400)
        );
        let day = oct_30_2017 / 86_400;
        assert_eq!(
            (days_pk(whole, day), day_sk(day)),
            ("DAY#2017".into(), "2017-10-30".into())
        );
        assert_eq!(day_of_sk("2017-10-30"), Some(day));
    }

    #[test]
    fn ranges_bound_from_to_and_after() {
        let range = sk_range(Some(10), Some(20), None).unwrap();
        assert_eq!(range.low, event_sk(10, 0));
        assert!(range.high > event_sk(19, u64::MAX) && range.high < event_sk(20, 0));
        let after = sk_range(
            Some(10),
            Some(20),
            Some(Position {
                timestamp: 15,
                id: 3,
            }),
        )
        .unwrap();
        assert_eq!(after.low, event_sk(15, 4));
        let wrapped = sk_range(
            None,
            None,
            Some(Position {
                timestamp: 15,
                id: u64::MAX,
            }),
        )
        .unwrap();
        assert_eq!(wrapped.low, event_sk(16, 0));
        assert_eq!(sk_range(Some(10), Some(10), None), None);
        assert_eq!(sk_range(None, Some(0), None), None);
        assert_eq!(
            sk_range(Some(-100), None, None).unwrap().low,
            event_sk(0, 0)
        );
    }
}
