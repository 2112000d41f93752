//! Items as they are stored, converted with serde_dynamo. Attribute names are short and none is
//! a DynamoDB reserved word that needs no alias in the expressions that use it (every expression
//! aliases them anyway).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::keys::{self, Month, Scope};
use crate::events::{
    Benchmark, DeploymentFrequency, EventRecord, EventView, PushOrder, SERVICE_FREQUENCY_DAYS,
    ServiceSummary, Sha, Timestamp, day_of,
};

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventItem {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi2pk: String,
    pub id: u64,
    pub ts: Timestamp,
    pub sha: String,
    pub action: String,
    pub engineer: String,
    /// The service; absent from events recorded before events had services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svc: Option<String>,
}

impl EventItem {
    /// The event's item for the whole store, or its copy for its service (`Scope::Service`
    /// names `event.service`).
    pub fn new(event: &EventView<'_>, scope: Scope<'_>) -> Self {
        let month = Month::of(event.timestamp);
        Self {
            pk: keys::events_pk(scope, month),
            sk: keys::event_sk(event.timestamp, event.id),
            gsi1pk: keys::engineer_index_pk(scope, event.engineer),
            gsi2pk: keys::action_index_pk(scope, event.action, month),
            id: event.id,
            ts: event.timestamp,
            sha: event.sha.as_str(&mut [0; 40]).to_owned(),
            action: event.action.to_owned(),
            engineer: event.engineer.to_owned(),
            svc: Some(event.service.to_owned()),
        }
    }

    /// The copy of this (whole-store) event for its service.
    pub fn service_copy(&self, default_service: &str) -> Self {
        let record = self.clone().into_record(default_service);
        Self::new(&record.view(), Scope::Service(&record.service))
    }

    /// The event; one stored before events had services belongs to `default_service`.
    pub fn into_record(self, default_service: &str) -> EventRecord {
        EventRecord {
            id: self.id,
            timestamp: self.ts,
            sha: Sha::new(&self.sha),
            action: self.action,
            engineer: self.engineer,
            service: self.svc.unwrap_or_else(|| default_service.to_owned()),
        }
    }
}

/// An event under its id: written with the event, so that an id is stored once, whatever its
/// timestamp (the event's own key holds both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdItem {
    pub pk: String,
    pub sk: String,
    pub ts: Timestamp,
    pub sha: String,
    pub action: String,
    pub engineer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svc: Option<String>,
}

impl IdItem {
    pub fn of(event: &EventItem) -> Self {
        Self {
            pk: keys::id_pk(event.id),
            sk: keys::ID_SK.to_owned(),
            ts: event.ts,
            sha: event.sha.clone(),
            action: event.action.clone(),
            engineer: event.engineer.clone(),
            svc: event.svc.clone(),
        }
    }
}

/// A request recorded under an idempotency key: the request's fingerprint and the event it
/// recorded, until `expires` (DynamoDB's time to live deletes it some time after); a commit's,
/// without `expires`, for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    pub fingerprint: String,
    pub id: u64,
    pub ts: Timestamp,
    pub sha: String,
    pub action: String,
    pub engineer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
}

/// One UTC day's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayItem {
    pub pk: String,
    pub sk: String,
    pub total: u32,
    /// Distinct engineers.
    pub engineers: u32,
    pub actions: BTreeMap<String, u32>,
}

/// One engineer's events on one UTC day: what the engineer's totals are summed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineerDayItem {
    pub pk: String,
    pub sk: String,
    pub events: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// One engineer's totals, as `GET /engineers` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineerItem {
    pub pk: String,
    /// The engineer's name.
    pub sk: String,
    pub events: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// The whole store's totals, or a service's: every action name, the first and last instants,
/// the event count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaItem {
    pub pk: String,
    pub sk: String,
    #[serde(with = "serde_dynamo::string_set")]
    pub actions: BTreeSet<String>,
    pub first: Timestamp,
    pub last: Timestamp,
    pub events: u64,
    /// The action names the table's delivery facts are counted for (`<deploy> <stage>
    /// <rollback>`); absent in a table whose events were stored before the facts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_counted: Option<String>,
    /// The table's layout (`keys::LAYOUT`), in the store's totals; absent: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<u32>,
    /// A service's totals only: its last deploy, and its deploys by day (`YYYY-MM-DD` → count)
    /// over the `SERVICE_FREQUENCY_DAYS` ending on its last event's day, for `GET /services`.
    /// Older days may linger until a write prunes them: readers count only those days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deploy: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploys: Option<BTreeMap<String, i64>>,
}

impl MetaItem {
    /// The layout of the table these totals are the store's.
    pub fn layout(&self) -> u32 {
        self.layout.unwrap_or(1)
    }

    /// The first day of the days a service's deployment frequency is counted over.
    pub fn frequency_from(&self) -> i64 {
        day_of(self.last) - (SERVICE_FREQUENCY_DAYS - 1)
    }

    /// A service's line of `GET /services`.
    pub fn summary(self) -> ServiceSummary<'static> {
        let from = self.frequency_from();
        let deploys: i64 = (self.deploys.iter().flatten())
            .filter(|(day, _)| keys::day_of_sk(day).is_some_and(|day| day >= from))
            .map(|(_, count)| count)
            .sum();
        ServiceSummary {
            name: self.sk.into(),
            events: self.events as usize,
            first_event: self.first,
            last_event: self.last,
            last_deploy: self.last_deploy,
            deployment_frequency: DeploymentFrequency::of(
                deploys.max(0) as u64,
                SERVICE_FREQUENCY_DAYS as u32,
                Benchmark::default(),
            ),
        }
    }
}

/// A commit's first commit event (its place among pushed commits), first stage and own first
/// deploy, by the delivery metrics' action names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitItem {
    pub pk: String,
    pub sk: String,
    /// The instant of its first recorded commit event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Timestamp>,
    /// That event's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Timestamp>,
    /// Its own first deploy (a deploy of a later pushed commit that ships it is a ship's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Timestamp>,
}

impl CommitItem {
    /// Where it stands among its service's pushed commits, if pushed.
    pub fn place(&self) -> Option<PushOrder> {
        Some(PushOrder {
            at: self.commit?,
            id: self.pushed_id?,
        })
    }
}

/// A pushed commit at its place in its service's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceItem {
    pub pk: String,
    pub sk: String,
    pub sha: String,
}

/// A deploy of the pushed commit at this place that ships every commit before it not shipped
/// earlier; kept only while no deploy of a later commit is earlier (each commit is shipped by
/// the first of these at or after its place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipItem {
    pub pk: String,
    pub sk: String,
    pub deploy: Timestamp,
}

/// One UTC day's delivery facts (`/metrics/delivery` reads these, never events). Counts in
/// the maps are kept by adding and subtracting, so an entry may be 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDayItem {
    pub pk: String,
    pub sk: String,
    /// The action names these facts were counted for: `<deploy> <stage> <rollback> <commit>
    /// <hotfix>`.
    pub counted: String,
    /// Deploy events that day, hotfixes included.
    pub deploys: i64,
    /// Of those, hotfix events.
    #[serde(default)]
    pub hotfixes: i64,
    /// Their instants (a set: DynamoDB keeps one of equal ones).
    #[serde(
        with = "serde_dynamo::number_set",
        default,
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub times: BTreeSet<Timestamp>,
    /// Rollback events that day: id → instant.
    pub rollbacks: BTreeMap<String, Timestamp>,
    /// The whole store's days only: each deploy instant with its service, `<instant>
    /// <service>` (what a rollback's restore is read from: its own service's next deploy).
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub service_times: BTreeSet<String>,
    /// The whole store's days only (present, maybe empty): each rollback's service, by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_services: Option<BTreeMap<String, String>>,
    /// Commits first deployed that day after their start: lead time in seconds → commits.
    pub leads: BTreeMap<String, i64>,
    /// Of those, the commits whose lead time started at their commit event.
    #[serde(default)]
    pub from_commit: i64,
    /// Commits first deployed that day without a start (commit event or stage) at or before it.
    pub unstaged: i64,
    /// Commits whose lead time started that day.
    #[serde(default)]
    pub started: i64,
    /// Commits that stopped being pending that day: their start day → commits.
    #[serde(default)]
    pub resolved: BTreeMap<String, i64>,
}

impl DeliveryDayItem {
    /// An empty day, counted for `counted`.
    pub fn empty(scope: Scope<'_>, day: i64, counted: &str) -> Self {
        Self {
            pk: keys::delivery_days_pk(scope, day),
            sk: keys::day_sk(day),
            counted: counted.to_owned(),
            deploys: 0,
            hotfixes: 0,
            times: BTreeSet::new(),
            rollbacks: BTreeMap::new(),
            service_times: BTreeSet::new(),
            rollback_services: (scope == Scope::Whole).then(BTreeMap::new),
            leads: BTreeMap::new(),
            from_commit: 0,
            unstaged: 0,
            started: 0,
            resolved: BTreeMap::new(),
        }
    }

    /// This item without entries counted down to 0: what a recomputation writes.
    pub fn without_zeros(mut self) -> Self {
        self.leads.retain(|_, count| *count != 0);
        self.resolved.retain(|_, count| *count != 0);
        self
    }

    /// No fact at all: what a day becomes when every commit it counted moved to another day
    /// (a recomputation writes no item for it).
    pub fn holds_nothing(&self) -> bool {
        self.deploys == 0
            && self.hotfixes == 0
            && self.unstaged == 0
            && self.from_commit == 0
            && self.started == 0
            && self.times.is_empty()
            && self.service_times.is_empty()
            && self.rollbacks.is_empty()
            && self.leads.values().all(|count| *count == 0)
            && self.resolved.values().all(|count| *count == 0)
    }
}

pub fn to_item<T: Serialize>(value: &T) -> Item {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(value).expect("stored items serialize")
}

/// An item that does not decode: its key and why, for the log (never for a client).
#[derive(Debug)]
pub struct Undecodable {
    pub key: String,
    pub reason: String,
}

/// The store's answer when an item does not decode: a defect in the data (a hand-written
/// item, an older layout) that a client must not be shown, logged with the item's key.
impl From<Undecodable> for super::DynamoDbFailure {
    fn from(error: Undecodable) -> Self {
        tracing::error!(
            key = error.key,
            reason = error.reason,
            "an item in the table does not decode"
        );
        Self::Internal
    }
}

/// The operator's commands' message when an item does not decode.
impl From<Undecodable> for String {
    fn from(error: Undecodable) -> String {
        format!(
            "stored item {} does not decode: {}",
            error.key, error.reason
        )
    }
}

/// The one item decoder.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Undecodable> {
    let key = key_of(&item);
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|error| Undecodable {
        key,
        reason: error.to_string(),
    })
}

/// Every item decoded, or the first that does not decode.
pub fn decode_all<T: DeserializeOwned>(items: Vec<Item>) -> Result<Vec<T>, Undecodable> {
    items.into_iter().map(from_item).collect()
}

/// `pk`/`sk` of an item, for messages.
pub fn key_of(item: &Item) -> String {
    let text = |name: &str| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .map_or("?", String::as_str)
            .to_owned()
    };
    format!("{}/{}", text(keys::PK), text(keys::SK))
}

/// The item with its sets sorted: DynamoDB sets have no order, so two reads of the same item
/// may list a set's members differently.
pub fn normalized(item: &Item) -> Item {
    let sorted = |members: &Vec<String>| {
        let mut members = members.clone();
        members.sort();
        members
    };
    item.iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::Ss(members) => AttributeValue::Ss(sorted(members)),
                AttributeValue::Ns(members) => AttributeValue::Ns(sorted(members)),
                other => other.clone(),
            };
            (name.clone(), value)
        })
        .collect()
}

/// The key attributes of an item that has them, to get or delete it.
pub fn key_attributes(item: &Item) -> Item {
    let text = |name: &str| item[name].as_s().cloned().unwrap_or_default();
    key(text(keys::PK), text(keys::SK))
}

/// The key attributes alone, to get or delete an item.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(pk.into())),
        (keys::SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_items() {
        let sha = Sha::new("0123456789abcdef0123456789abcdef01234567");
        let view = EventView {
            id: 42,
            timestamp: 1_509_321_600,
            sha: &sha,
            action: "deploy",
            engineer: "alice",
            service: "octo-org/web",
        };
        let item = to_item(&EventItem::new(&view, Scope::Whole));
        assert_eq!(item["pk"].as_s().unwrap(), "EV#2017-10");
        let copy = EventItem::new(&view, Scope::Service("octo-org/web"));
        assert_eq!(copy.gsi1pk, "SVC#octo-org/web#ENG#alice");
        assert_eq!(
            from_item::<EventItem>(item.clone())
                .unwrap()
                .service_copy("x"),
            copy
        );
        assert_eq!(item["gsi2pk"].as_s().unwrap(), "ACT#deploy#2017-10");
        assert_eq!(item["id"].as_n().unwrap(), "42");
        assert_eq!(item["svc"].as_s().unwrap(), "octo-org/web");
        let back: EventItem = from_item(item.clone()).unwrap();
        assert_eq!(back.into_record("default").view(), view);
        // An event stored before events had services is the default service's.
        let mut old = item;
        old.remove("svc");
        let back: EventItem = from_item(old).unwrap();
        assert_eq!(back.into_record("web").service, "web");
    }

    #[test]
    fn a_broken_item_names_its_key() {
        let mut item = key("EV#2017-10", "x");
        item.insert("id".into(), AttributeValue::S("not a number".into()));
        let error = from_item::<EventItem>(item).unwrap_err();
        assert_eq!(error.key, "EV#2017-10/x");
    }
}
