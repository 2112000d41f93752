//! Every service's events, each service an `EventSnapshot` of its own. A question about one
//! service is answered by its snapshot alone, so it costs what it would in a store holding only
//! that service, whatever the others hold; a question about the whole store combines them into
//! the answer one store of all the events gives. Recording replaces one service's snapshot;
//! like an `EventSnapshot`, a `Services` never changes.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::Read;
use std::sync::{Arc, LazyLock, OnceLock};

use foldhash::fast::RandomState;
use serde::Serialize;
use utoipa::ToSchema;

use super::daily_json::DailyJson;
use super::delivery::{Benchmark, DeliveryIndex, DeploymentFrequency};
use super::delivery_facts::DeliveryActions;
use super::event_index::{Builder, EngineerList, EventIndex, InvalidRecord, LoadNames, RepeatedId};
use super::load::{
    BLOCK_BYTES, LoadError, RawEvent, RecordRef, check_service, parse_reader, parse_slice,
};
use super::model::{EventView, Timestamp, day_of};
use super::query::{EventQuery, Page};
use super::snapshot::{EventSnapshot, merge_engineers};
use super::summary::{self, DayTotals};

/// The days over which `GET /services` gives each service's deployment frequency: the 30 days
/// ending on the day of its last event.
pub const SERVICE_FREQUENCY_DAYS: i64 = 30;

/// What a service that has no events answers with: nothing, as an empty store does.
static NO_EVENTS: LazyLock<EventSnapshot> = LazyLock::new(EventSnapshot::default);

#[derive(Debug, Default)]
pub struct Services {
    /// Sorted by name. A vector, not a map: a record clones it (an `Arc` each), and a map's
    /// code is several times a binary search's in the Lambda package.
    services: Vec<(Arc<str>, Arc<EventSnapshot>)>,
    delivery_actions: Arc<DeliveryActions>,
    /// The whole store's answers, when it has more than one service, built on first use.
    engineers_json: OnceLock<Box<[u8]>>,
    days: OnceLock<Days>,
    daily_json: DailyJson,
    delivery: OnceLock<DeliveryIndex>,
}

/// Daily totals over every service: action counts summed, engineers counted once a day.
#[derive(Debug)]
struct Days {
    actions: Vec<Box<str>>,
    totals: BTreeMap<i64, DayTotals>,
}

/// One line of `GET /services`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = Service)]
pub struct ServiceSummary<'a> {
    #[schema(value_type = String, example = "octo-org/checkout")]
    pub name: Cow<'a, str>,
    /// How many events it has.
    pub events: usize,
    #[serde(serialize_with = "super::model::serialize_timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub first_event: Timestamp,
    #[serde(serialize_with = "super::model::serialize_timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub last_event: Timestamp,
    /// Its last deploy, or `null` if it has none.
    #[serde(serialize_with = "serialize_optional_timestamp")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_deploy: Option<Timestamp>,
    /// Over the 30 days ending on the day of its last event.
    pub deployment_frequency: DeploymentFrequency,
}

fn serialize_optional_timestamp<S: serde::Serializer>(
    instant: &Option<Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match instant {
        Some(instant) => super::model::serialize_timestamp(instant, s),
        None => s.serialize_none(),
    }
}

impl Services {
    /// Loads a dataset in the pipeline's export format; `source` names it in errors, and a
    /// record without a service belongs to `default_service`.
    pub fn load(reader: impl Read, source: &str, default_service: &str) -> Result<Self, LoadError> {
        let mut loader = Loader::new(default_service);
        parse_reader(reader, source, BLOCK_BYTES, |record| {
            loader.push(record).map_err(|e| e.0)
        })?;
        loader.finish(source)
    }

    /// Loads a dataset that is already in memory, such as the built-in sample.
    pub fn load_slice(
        bytes: &[u8],
        source: &str,
        default_service: &str,
    ) -> Result<Self, LoadError> {
        let mut loader = Loader::new(default_service);
        parse_slice(bytes, source, |record| loader.push(record).map_err(|e| e.0))?;
        loader.finish(source)
    }

    /// Builds a store from records already in memory (the generator, tests, benchmarks).
    pub fn from_records(
        records: impl IntoIterator<Item = RawEvent>,
        default_service: &str,
    ) -> Result<Self, InvalidRecord> {
        let mut loader = Loader::new(default_service);
        for (index, raw) in records.into_iter().enumerate() {
            loader
                .push(RecordRef::from(&raw))
                .map_err(|e| InvalidRecord(format!("record {}: {e}", index + 1)))?;
        }
        loader.finish("records").map_err(|error| {
            InvalidRecord(format!(
                "record {}: {}",
                error.record.unwrap_or(0),
                error.message
            ))
        })
    }

    /// This store, with the delivery metrics reading these action names.
    pub fn with_delivery_actions(self, actions: DeliveryActions) -> Self {
        let actions = Arc::new(actions);
        let services = self
            .services
            .into_iter()
            .map(|(name, snapshot)| {
                let snapshot = Arc::into_inner(snapshot)
                    .expect("a store is configured before it is shared")
                    .with_delivery_actions(actions.clone());
                (name, Arc::new(snapshot))
            })
            .collect();
        Self {
            services,
            delivery_actions: actions,
            ..Self::default()
        }
    }

    /// This store with `events` added, each to its service (`event.service`, which must be
    /// set); their ids must be new to every service.
    pub fn with(&self, events: Vec<RawEvent>) -> Result<Self, InvalidRecord> {
        let mut by_service: BTreeMap<Arc<str>, Vec<RawEvent>> = BTreeMap::new();
        for event in events {
            let name = event
                .service
                .as_deref()
                .ok_or_else(|| InvalidRecord("a recorded event names its service".into()))?;
            by_service.entry(name.into()).or_default().push(event);
        }
        let mut services = self.services.clone();
        for (name, events) in by_service {
            match services.binary_search_by(|(known, _)| (**known).cmp(&name)) {
                Ok(at) => services[at].1 = Arc::new(services[at].1.with(events)?),
                Err(at) => {
                    let index = EventIndex::from_records(&name, events)?;
                    let snapshot = EventSnapshot::new(index)
                        .with_delivery_actions(self.delivery_actions.clone());
                    services.insert(at, (name, Arc::new(snapshot)));
                }
            }
        }
        Ok(Self {
            services,
            delivery_actions: self.delivery_actions.clone(),
            ..Self::default()
        })
    }

    /// One service's events: empty for a service the store has never seen.
    pub fn service(&self, name: &str) -> &EventSnapshot {
        match self.position(name) {
            Ok(at) => &self.services[at].1,
            Err(_) => &NO_EVENTS,
        }
    }

    pub fn knows(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Where `name` is in `services`, or where it would go.
    fn position(&self, name: &str) -> Result<usize, usize> {
        self.services
            .binary_search_by(|(known, _)| (**known).cmp(name))
    }

    /// The whole store as one snapshot, when it has at most one service.
    fn only(&self) -> Option<&EventSnapshot> {
        match &self.services[..] {
            [] => Some(&NO_EVENTS),
            [(_, snapshot)] => Some(snapshot),
            _ => None,
        }
    }

    /// `service`'s events, or, without one, the whole store's when that is one snapshot.
    fn scope(&self, service: Option<&str>) -> Option<&EventSnapshot> {
        match service {
            Some(name) => Some(self.service(name)),
            None => self.only(),
        }
    }

    pub fn len(&self) -> usize {
        self.snapshots().map(|snapshot| snapshot.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.snapshots().all(|snapshot| snapshot.is_empty())
    }

    pub fn max_id(&self) -> Option<u64> {
        self.snapshots().filter_map(|s| s.max_id()).max()
    }

    /// The event with this id, whichever service it belongs to.
    pub fn event(&self, id: u64) -> Option<EventView<'_>> {
        self.snapshots().find_map(|snapshot| snapshot.event(id))
    }

    pub fn has_engineer(&self, service: Option<&str>, name: &str) -> bool {
        match service {
            Some(service) => self.service(service).has_engineer(name),
            None => self.snapshots().any(|s| s.has_engineer(name)),
        }
    }

    pub fn time_span(&self, service: Option<&str>) -> Option<(Timestamp, Timestamp)> {
        match self.scope(service) {
            Some(snapshot) => snapshot.time_span(),
            None => {
                let spans = self.snapshots().filter_map(|s| s.time_span());
                spans.reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
            }
        }
    }

    /// As `EventSnapshot::query`, in `query.service` or the whole store. The whole store's page
    /// is a merge of every service's matching events, taken one at a time from whichever
    /// service's next is earliest: a page of `limit` costs a search per service and `limit`
    /// steps, not a page from each service.
    pub fn query(&self, query: &EventQuery<'_>) -> Page<'_> {
        if let Some(snapshot) = self.scope(query.service) {
            return snapshot.query(query);
        }
        let mut runs: Vec<_> = self
            .snapshots()
            .map(|snapshot| snapshot.matching(query).peekable())
            .collect();
        let mut next: BinaryHeap<Reverse<((Timestamp, u64), usize)>> = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(run, events)| Some(Reverse((events.peek()?.position(), run))))
            .collect();
        let take = query.limit.saturating_add(1);
        let mut events = Vec::with_capacity(take.min(1024));
        while events.len() < take {
            let Some(Reverse((_, run))) = next.pop() else {
                break;
            };
            events.extend(runs[run].next());
            if let Some(event) = runs[run].peek() {
                next.push(Reverse((event.position(), run)));
            }
        }
        Page::first(events, query.limit, false)
    }

    /// `{"engineers":[…]}` of `service` or the whole store, rendered once per snapshot.
    pub fn engineers_json(&self, service: Option<&str>) -> &[u8] {
        if let Some(snapshot) = self.scope(service) {
            return snapshot.engineers_json();
        }
        self.engineers_json.get_or_init(|| {
            let lists = self.snapshots().flat_map(|s| s.engineers());
            EngineerList::json(merge_engineers(lists).into_iter()).into()
        })
    }

    /// `{"days":[…]}` of `service` or the whole store for the days `first..=last`.
    pub fn daily_json(&self, service: Option<&str>, first: i64, last: i64) -> Vec<u8> {
        if let Some(snapshot) = self.scope(service) {
            return snapshot.daily_json(first, last);
        }
        let days = self.days.get_or_init(|| self.whole_days());
        let render_day = |day| summary::day_json(&days.totals, &days.actions, day);
        self.daily_json.render(first, last, render_day, || {
            summary::days_with_activity(&days.totals)
        })
    }

    /// The delivery metrics' index of `service`, or of the whole store: every service's
    /// pooled (`DeliveryIndex::pooled`).
    pub fn delivery(&self, service: Option<&str>) -> &DeliveryIndex {
        if let Some(snapshot) = self.scope(service) {
            return snapshot.delivery();
        }
        self.delivery.get_or_init(|| {
            let each: Vec<&DeliveryIndex> = self.snapshots().map(EventSnapshot::delivery).collect();
            DeliveryIndex::pooled(&each)
        })
    }

    /// At most `limit` services by name after `after` (exclusive), and whether more follow.
    pub fn list(&self, after: Option<&str>, limit: usize) -> (Vec<ServiceSummary<'_>>, bool) {
        let start = after.map_or(0, |after| {
            self.services.partition_point(|(name, _)| **name <= *after)
        });
        let mut names = self.services[start..]
            .iter()
            .filter(|(_, snapshot)| !snapshot.is_empty());
        let page = names
            .by_ref()
            .take(limit)
            .filter_map(|(name, s)| summarize(name, s))
            .collect();
        (page, names.next().is_some())
    }

    /// Every event of every service, service by service.
    pub fn iter(&self) -> impl Iterator<Item = EventView<'_>> {
        self.snapshots().flat_map(|snapshot| snapshot.iter())
    }

    /// Every service's snapshot, by name.
    pub fn snapshots(&self) -> impl Iterator<Item = &EventSnapshot> {
        self.services.iter().map(|(_, snapshot)| &**snapshot)
    }

    /// The daily totals of all services together: each service's events are in time order, so
    /// its engineers are gathered a day at a time and counted once per day over all services.
    fn whole_days(&self) -> Days {
        let mut actions: Vec<Box<str>> = self
            .snapshots()
            .flat_map(|s| s.actions())
            .map(Box::from)
            .collect();
        actions.sort_unstable();
        actions.dedup();
        let mut totals: BTreeMap<i64, DayTotals> = BTreeMap::new();
        // (day, engineer) once per service and day, then once per day.
        let mut active: Vec<(i64, &str)> = Vec::new();
        let mut that_day: Vec<&str> = Vec::new();
        fn flush<'a>(day: i64, names: &mut Vec<&'a str>, active: &mut Vec<(i64, &'a str)>) {
            names.sort_unstable();
            names.dedup();
            active.extend(names.drain(..).map(|name| (day, name)));
        }
        for snapshot in self.snapshots() {
            let mut current = None;
            for event in snapshot.iter() {
                let day = day_of(event.timestamp);
                if current != Some(day) {
                    if let Some(previous) = current {
                        flush(previous, &mut that_day, &mut active);
                    }
                    current = Some(day);
                }
                that_day.push(event.engineer);
                let totals = totals.entry(day).or_insert_with(|| DayTotals {
                    total: 0,
                    engineers: 0,
                    actions: vec![0; actions.len()].into_boxed_slice(),
                });
                totals.total += 1;
                let action = actions
                    .binary_search_by(|known| (**known).cmp(event.action))
                    .expect("every action is in the union");
                totals.actions[action] += 1;
            }
            if let Some(last) = current {
                flush(last, &mut that_day, &mut active);
            }
        }
        active.sort_unstable();
        active.dedup();
        for (day, engineers) in active
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| (run[0].0, run.len()))
        {
            if let Some(totals) = totals.get_mut(&day) {
                totals.engineers = engineers as u32;
            }
        }
        Days { actions, totals }
    }
}

/// A service's line of `GET /services`; `None` for one without events.
fn summarize<'a>(name: &'a str, snapshot: &'a EventSnapshot) -> Option<ServiceSummary<'a>> {
    let (first_event, last_event) = snapshot.time_span()?;
    let last_day = day_of(last_event);
    let figures = snapshot.delivery().figures(
        last_day - (SERVICE_FREQUENCY_DAYS - 1),
        last_day,
        Benchmark::default(),
    );
    Some(ServiceSummary {
        name: Cow::Borrowed(name),
        events: snapshot.len(),
        first_event,
        last_event,
        last_deploy: snapshot.last_deploy(),
        deployment_frequency: figures.deployment_frequency,
    })
}

/// Sorts records into their services' builders as they arrive, and checks that no id is
/// given twice in the whole store.
pub(crate) struct Loader {
    default_service: Box<str>,
    builders: Vec<(Box<str>, Builder)>,
    /// Positions in `builders` by name, and the last one used: records mostly come in runs of
    /// one service, which then cost a comparison instead of a hash.
    positions: HashMap<Box<str>, usize, RandomState>,
    last: usize,
    names: LoadNames,
    /// The last id read, and whether some id was not greater than the one before: only then
    /// can one repeat.
    last_id: Option<u64>,
    ids_unordered: bool,
}

impl Loader {
    pub(crate) fn new(default_service: &str) -> Self {
        Self {
            default_service: default_service.into(),
            builders: Vec::new(),
            positions: HashMap::default(),
            last: 0,
            names: LoadNames::default(),
            last_id: None,
            ids_unordered: false,
        }
    }

    pub(crate) fn push(&mut self, record: RecordRef<'_>) -> Result<(), InvalidRecord> {
        let service = record.service.as_deref().unwrap_or(&self.default_service);
        if self
            .builders
            .get(self.last)
            .is_none_or(|(name, _)| **name != *service)
        {
            self.last = match self.positions.get(service) {
                Some(&position) => position,
                None => {
                    check_service(service).map_err(InvalidRecord)?;
                    self.positions.insert(service.into(), self.builders.len());
                    self.builders.push((service.into(), Builder::new(service)));
                    self.builders.len() - 1
                }
            };
        }
        let id = record.id;
        self.builders[self.last].1.push(record, &mut self.names)?;
        self.ids_unordered |= self.last_id.is_some_and(|last| last >= id);
        self.last_id = Some(id);
        Ok(())
    }

    /// The store; an id given twice is refused, naming its record when the file holds one
    /// service (a builder counts its own records only).
    fn finish(self, source: &str) -> Result<Services, LoadError> {
        let one_service = self.builders.len() == 1;
        let repeated = |repeated: RepeatedId| {
            let record = one_service.then_some(repeated.record);
            LoadError::new(source, record, repeated.message())
        };
        if self.ids_unordered && !one_service {
            let mut ids: Vec<u64> = self.builders.iter().flat_map(|(_, b)| b.ids()).collect();
            ids.sort_unstable();
            if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(repeated(RepeatedId {
                    record: 0,
                    id: pair[0],
                }));
            }
        }
        let mut services = Vec::with_capacity(self.builders.len());
        for (name, builder) in self.builders {
            let index = builder.finish().map_err(repeated)?;
            services.push((Arc::<str>::from(name), Arc::new(EventSnapshot::new(index))));
        }
        services.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(Services {
            services,
            ..Services::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GeneratorSettings, generate};
    use crate::model::SECONDS_PER_DAY;

    fn records(services: usize) -> Vec<RawEvent> {
        generate(&GeneratorSettings {
            seed: 11,
            engineers: 7,
            events: 1_800,
            days: 15,
            services,
            ..GeneratorSettings::default()
        })
    }

    /// An index of `records` alone, as one service: the oracle every answer is held to.
    fn one_index(records: &[RawEvent]) -> EventIndex {
        EventIndex::from_records("oracle", records.iter().cloned()).unwrap()
    }

    fn ids(page: &Page<'_>) -> Vec<u64> {
        page.events.iter().map(|event| event.id).collect()
    }

    /// Every page of `query` over `answer`, followed cursor by cursor, as ids.
    fn all_pages(
        query: &EventQuery<'_>,
        answer: impl Fn(&EventQuery<'_>) -> (Vec<u64>, Option<crate::Position>),
    ) -> Vec<u64> {
        let mut query = query.clone();
        let mut seen = Vec::new();
        loop {
            let (page, next) = answer(&query);
            seen.extend(page);
            match next {
                Some(after) => query.after = Some(after),
                None => return seen,
            }
        }
    }

    #[test]
    fn each_service_answers_as_a_store_of_its_events_alone_and_all_as_one_store() {
        let all = records(5);
        let mut store = Services::from_records(all.clone(), "unused").unwrap();
        // Some events recorded later, one of a service new to the store.
        let mut recorded = all.clone();
        for (n, mut event) in all.iter().rev().take(90).cloned().enumerate() {
            event.id = 10_000 + n as u64;
            if n == 7 {
                event.service = Some("late/comer".into());
            }
            recorded.push(event.clone());
            store = store.with(vec![event]).unwrap();
        }
        let mut names: Vec<String> = recorded.iter().filter_map(|r| r.service.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 6);

        let whole = one_index(&recorded);
        let (first, last) = whole.time_span().unwrap();
        let (first_day, last_day) = (day_of(first) - 1, day_of(last) + 1);
        let scopes = names.iter().map(|n| Some(n.as_str())).chain([None]);
        for scope in scopes {
            let oracle = match scope {
                Some(name) => one_index(
                    &recorded
                        .iter()
                        .filter(|r| r.service.as_deref() == Some(name))
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
                None => one_index(&recorded),
            };
            assert_eq!(store.time_span(scope), oracle.time_span(), "{scope:?}");
            assert_eq!(
                store.engineers_json(scope),
                oracle.engineers_json(),
                "{scope:?}"
            );
            assert_eq!(
                store.daily_json(scope, first_day, last_day),
                oracle.daily_json(first_day, last_day),
                "{scope:?}"
            );
            // A service's metrics are its events' alone. The store's pool the services' by rules
            // of their own (a commit is a service and a sha), which tests/api/metrics.rs holds
            // to a recomputation from their definitions.
            if scope.is_some() {
                let figures = |index: &DeliveryIndex| {
                    format!(
                        "{:?}",
                        index.figures(first_day, last_day, Benchmark::default())
                    )
                };
                assert_eq!(
                    figures(store.delivery(scope)),
                    figures(&DeliveryIndex::build(
                        oracle.iter(),
                        &DeliveryActions::default()
                    )),
                    "{scope:?}"
                );
            }
            let engineer = oracle.engineers().nth(2).map(|e| e.name.to_owned());
            for limit in [1, 13, 500] {
                for engineer in [None, engineer.as_deref(), Some("nobody")] {
                    let query = EventQuery {
                        limit,
                        engineer,
                        service: scope,
                        from: Some(first + SECONDS_PER_DAY / 2),
                        ..EventQuery::default()
                    };
                    let got = all_pages(&query, |q| {
                        let page = store.query(q);
                        (ids(&page), page.next)
                    });
                    let expected = all_pages(&query, |q| {
                        let page = oracle.query(q);
                        (ids(&page), page.next)
                    });
                    assert_eq!(got, expected, "{scope:?} {engineer:?} {limit}");
                }
            }
            for event in oracle.iter().step_by(29) {
                let found = store.event(event.id).unwrap();
                assert_eq!((found.id, found.timestamp), (event.id, event.timestamp));
                assert_eq!(Some(found.service), scope.or(Some(found.service)));
            }
        }
        assert_eq!(store.len(), recorded.len());
        assert_eq!(store.max_id(), recorded.iter().map(|r| r.id).max());
        // A service never seen answers as an empty store.
        assert!(
            store
                .query(&EventQuery {
                    limit: 5,
                    service: Some("never/seen"),
                    ..EventQuery::default()
                })
                .events
                .is_empty()
        );
        assert_eq!(
            store.engineers_json(Some("never/seen")),
            b"{\"engineers\":[]}"
        );
        assert!(!store.knows("never/seen"));
    }

    #[test]
    fn services_are_listed_by_name_a_page_at_a_time() {
        let store = Services::from_records(records(5), "unused").unwrap();
        let (page, more) = store.list(None, 2);
        let names: Vec<&str> = page.iter().map(|s| &*s.name).collect();
        assert_eq!(names, ["team-0/service-000", "team-0/service-001"]);
        assert!(more);
        let (rest, more) = store.list(Some("team-0/service-001"), 10);
        assert_eq!(rest.len(), 3);
        assert!(!more);
        let total: usize = page.iter().chain(&rest).map(|s| s.events).sum();
        assert_eq!(total, store.len());
        for summary in page.iter().chain(&rest) {
            let snapshot = store.service(&summary.name);
            let deploys: Vec<Timestamp> = snapshot
                .iter()
                .filter(|e| e.action == "deploy")
                .map(|e| e.timestamp)
                .collect();
            assert_eq!(summary.last_deploy, deploys.iter().copied().max());
            let last_day = day_of(summary.last_event);
            let counted = deploys
                .iter()
                .filter(|&&t| (last_day - 29..=last_day).contains(&day_of(t)))
                .count();
            assert_eq!(summary.deployment_frequency.deploys, counted as u64);
        }
    }

    #[test]
    fn an_id_is_given_once_in_the_whole_store() {
        let line = |id: u64, service: &str| {
            format!(
                r#"{{"id":{id},"sha":"abcdef1","date":5,"action":"deploy","engineer":"e","service":"{service}"}}"#
            )
        };
        let text = [line(1, "a"), line(3, "b"), line(2, "a"), line(3, "c")].join("\n");
        let error = Services::load(text.as_bytes(), "f", "default").unwrap_err();
        assert_eq!(error.record, None, "{error}");
        assert!(
            error.message.contains("id 3 appears more than once"),
            "{error}"
        );
        // In a file of one service, the record that repeats an id is named.
        let text = [line(1, "a"), line(3, "a"), line(2, "a"), line(3, "a")].join("\n");
        let error = Services::load(text.as_bytes(), "f", "default").unwrap_err();
        assert_eq!(error.record, Some(4), "{error}");
        let text = [line(1, "a"), line(3, "b"), line(2, "a")].join("\n");
        let store = Services::load(text.as_bytes(), "f", "default").unwrap();
        assert_eq!(store.service("a").len(), 2);
        // A record naming no service is the default's.
        let store = Services::load_slice(
            br#"{"id":1,"sha":"abcdef1","date":5,"action":"deploy","engineer":"e"}"#,
            "f",
            "web",
        )
        .unwrap();
        assert_eq!(store.event(1).unwrap().service, "web");
    }
}
