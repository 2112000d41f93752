use std::collections::{BTreeMap, HashMap, HashSet};

use foldhash::fast::RandomState;
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;
use utoipa::ToSchema;

use super::daily_json::DailyJson;
use super::load::{RawEvent, RecordRef, check_action, check_engineer, check_id, parse_sha};
use super::model::{Event, EventView, MAX_TIMESTAMP, MIN_TIMESTAMP, Timestamp};
use super::query::{EventQuery, Page, bounds};
use super::sha::Sha;
use super::summary::{self, DaySummary, DayTotals};

/// The events of one service, held in memory and indexed for the queries the API answers:
/// sorted by (timestamp, id) for range queries, per engineer, per action, and per UTC day.
/// Its whole API is here; `query`, `summary` and `daily_json` hold the types and the pieces it
/// is built from.
#[derive(Debug, Default)]
pub struct EventIndex {
    /// The service every event here belongs to.
    service: Box<str>,
    pub(crate) events: Vec<Event>,
    /// Sorted by name; an event's `engineer` is an index into this.
    pub(crate) engineers: Vec<Engineer>,
    /// Sorted by name; an event's `action` is an index into this.
    pub(crate) actions: Vec<Box<str>>,
    /// Positions in `events` of each action's events, in order.
    pub(crate) action_events: Vec<Vec<u32>>,
    /// Days since the epoch that have events, with their totals.
    pub(crate) days: BTreeMap<i64, DayTotals>,
    /// Each day's summary as JSON, rendered on first use.
    daily_json: DailyJson,
    /// The engineer list as JSON (`EngineerList`), rendered on first use: it never changes.
    engineers_json: OnceLock<Box<[u8]>>,
    /// Positions in `events` sorted by id, when (time, id) order is not also id order. Ids
    /// usually grow with time, and then `events` itself is searched by id.
    by_id: Option<Vec<u32>>,
}

#[derive(Debug)]
pub(crate) struct Engineer {
    pub(crate) name: Box<str>,
    /// Positions in `events` of this engineer's events, in order.
    pub(crate) events: Vec<u32>,
}

/// Per-engineer figures for `GET /engineers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Engineer)]
pub struct EngineerSummary<'a> {
    #[schema(value_type = String)]
    pub name: &'a str,
    /// How many events name this engineer.
    pub events: usize,
    #[serde(serialize_with = "super::model::serialize_timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub first_event: Timestamp,
    #[serde(serialize_with = "super::model::serialize_timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub last_event: Timestamp,
}

/// `GET /engineers`' body: every engineer, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EngineerList<'a> {
    pub engineers: Vec<EngineerSummary<'a>>,
}

impl<'a> EngineerList<'a> {
    /// `{"engineers":[…]}` listing `engineers` (sorted by name).
    pub fn json(engineers: impl Iterator<Item = EngineerSummary<'a>>) -> Vec<u8> {
        let list = EngineerList {
            engineers: engineers.collect(),
        };
        serde_json::to_vec(&list).expect("an engineer list serializes")
    }
}

/// A record the store refuses, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord(pub String);

impl fmt::Display for InvalidRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidRecord {}

impl EventIndex {
    /// `service`'s events from records already in memory; their own `service` is not read.
    pub fn from_records(
        service: &str,
        records: impl IntoIterator<Item = RawEvent>,
    ) -> Result<Self, InvalidRecord> {
        let mut builder = Builder::new(service);
        let mut names = LoadNames::default();
        for (index, raw) in records.into_iter().enumerate() {
            builder
                .push(RecordRef::from(&raw), &mut names)
                .map_err(|e| InvalidRecord(format!("record {}: {e}", index + 1)))?;
        }
        builder.finish().map_err(|repeated| {
            InvalidRecord(format!(
                "record {}: {}",
                repeated.record,
                repeated.message()
            ))
        })
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Every event, in (timestamp, id) order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EventView<'_>> {
        self.events.iter().map(|event| self.view(event))
    }

    /// Every action name, sorted.
    pub fn actions(&self) -> impl ExactSizeIterator<Item = &str> {
        self.actions.iter().map(|action| &**action)
    }

    pub fn has_engineer(&self, name: &str) -> bool {
        self.engineer_id(name).is_some()
    }

    /// The event with this id.
    pub fn event(&self, id: u64) -> Option<EventView<'_>> {
        let index = match &self.by_id {
            None => self.events.binary_search_by_key(&id, |e| e.id).ok()?,
            Some(by_id) => {
                let found = by_id
                    .binary_search_by_key(&id, |&position| self.events[position as usize].id)
                    .ok()?;
                by_id[found] as usize
            }
        };
        Some(self.view(&self.events[index]))
    }

    /// The greatest id stored.
    pub fn max_id(&self) -> Option<u64> {
        match &self.by_id {
            None => self.events.last().map(|e| e.id),
            Some(by_id) => by_id.last().map(|&p| self.events[p as usize].id),
        }
    }

    /// Whether `engineer` has an event on `day` (days since the epoch).
    pub fn engineer_active_on(&self, engineer: &str, day: i64) -> bool {
        let Some(id) = self.engineer_id(engineer) else {
            return false;
        };
        let events = &self.engineers[id].events;
        let start = day * crate::model::SECONDS_PER_DAY;
        let first = events.partition_point(|&p| self.events[p as usize].timestamp < start);
        events.get(first).is_some_and(|&p| {
            self.events[p as usize].timestamp < start + crate::model::SECONDS_PER_DAY
        })
    }

    /// One index holding the events of both, of one service (their ids must differ), built
    /// without parsing.
    pub fn merged(a: &EventIndex, b: &EventIndex) -> Result<Self, InvalidRecord> {
        let mut builder = Builder::new(&a.service);
        let mut names = LoadNames::default();
        for event in a.iter().chain(b.iter()) {
            builder.push_view(&event, &mut names)?;
        }
        builder
            .finish()
            .map_err(|repeated| InvalidRecord(repeated.message()))
    }

    /// Every engineer, sorted by name, with their event count and first and last event.
    pub fn engineers(&self) -> impl ExactSizeIterator<Item = EngineerSummary<'_>> {
        self.engineers.iter().map(|engineer| EngineerSummary {
            name: &engineer.name,
            events: engineer.events.len(),
            first_event: self.events[engineer.events[0] as usize].timestamp,
            last_event: self.events[engineer.events[engineer.events.len() - 1] as usize].timestamp,
        })
    }

    /// `{"engineers":[…]}` with every engineer as `engineers` lists them, rendered once.
    pub fn engineers_json(&self) -> &[u8] {
        self.engineers_json
            .get_or_init(|| EngineerList::json(self.engineers()).into())
    }

    /// The first and last instants of the store, if it has events.
    pub fn time_span(&self) -> Option<(Timestamp, Timestamp)> {
        Some((
            self.events.first()?.timestamp,
            self.events.last()?.timestamp,
        ))
    }

    /// The events matching `query`, ordered by (timestamp, id), at most `query.limit` of them.
    ///
    /// The cost is two binary searches over the narrowest index (all events, one engineer's or
    /// one action's) plus the page itself; with both an engineer and an action the smaller of
    /// the two lists is walked and the other condition filtered.
    pub fn query(&self, query: &EventQuery<'_>) -> Page<'_> {
        // One more than the page, to know whether another page follows; views are made
        // straight from the index, in one pass.
        let take = query.limit.saturating_add(1);
        let mut events: Vec<EventView<'_>> = Vec::with_capacity(take.min(1024));
        events.extend(self.matching(query).take(take));
        Page::first(events, query.limit, false)
    }

    /// Every event matching `query` (its limit aside) in (timestamp, id) order, found as
    /// `query` says and made into a view only when the caller takes it: what a merge of
    /// several indexes reads from.
    pub(crate) fn matching(&self, query: &EventQuery<'_>) -> impl Iterator<Item = EventView<'_>> {
        let (Some(engineer), Some(action)) = (
            query
                .engineer
                .map_or(Some(None), |name| self.engineer_id(name).map(Some)),
            query
                .action
                .map_or(Some(None), |name| self.action_id(name).map(Some)),
        ) else {
            return Matching::Neither;
        };
        let lists = [
            engineer.map(|id| &self.engineers[id].events[..]),
            action.map(|id| &self.action_events[id][..]),
        ];
        let keep = move |event: &Event| {
            engineer.is_none_or(|id| event.engineer as usize == id)
                && action.is_none_or(|id| event.action as usize == id)
        };
        // The shorter list (the engineer's on a tie) is walked, the other condition filtered.
        match lists.into_iter().flatten().min_by_key(|list| list.len()) {
            None => {
                let range = bounds(&self.events, Event::position, query);
                Matching::All(self.events[range].iter().map(|e| self.view(e)))
            }
            Some(list) => {
                let event = |position: &u32| &self.events[*position as usize];
                let range = bounds(list, |position| event(position).position(), query);
                Matching::Listed(
                    list[range]
                        .iter()
                        .map(event)
                        .filter(move |e| keep(e))
                        .map(|e| self.view(e)),
                )
            }
        }
    }

    /// Daily statistics for every UTC calendar day from `first` to `last` (days since the epoch,
    /// inclusive), empty days included. The caller bounds the range.
    pub fn daily_summary(&self, first: i64, last: i64) -> Vec<DaySummary<'_>> {
        (first..=last)
            .filter_map(|day| summary::day_summary(&self.days, &self.actions, day))
            .collect()
    }

    /// `{"days":[…]}` for the days `first..=last`, as `daily_summary` would serialize them,
    /// joined from each day's JSON, rendered once.
    pub fn daily_json(&self, first: i64, last: i64) -> Vec<u8> {
        self.daily_json.render(
            first,
            last,
            |day| self.day_json(day),
            || self.days_with_activity(),
        )
    }

    /// One day's summary as JSON; the change is from the previous calendar day, whatever range
    /// the day is listed in. `None` only for a day outside the calendar chrono knows.
    pub fn day_json(&self, day: i64) -> Option<String> {
        summary::day_json(&self.days, &self.actions, day)
    }

    /// Days whose summary is not all zeros: days with events and the days right after them.
    pub fn days_with_activity(&self) -> Vec<i64> {
        summary::days_with_activity(&self.days)
    }

    pub(crate) fn engineer_id(&self, name: &str) -> Option<usize> {
        self.engineers
            .binary_search_by(|engineer| (*engineer.name).cmp(name))
            .ok()
    }

    pub(crate) fn action_id(&self, name: &str) -> Option<usize> {
        self.actions
            .binary_search_by(|action| (**action).cmp(name))
            .ok()
    }

    pub(crate) fn view<'s>(&'s self, event: &'s Event) -> EventView<'s> {
        EventView {
            id: event.id,
            timestamp: event.timestamp,
            sha: &event.sha,
            action: &self.actions[event.action as usize],
            engineer: &self.engineers[event.engineer as usize].name,
            service: &self.service,
        }
    }

    /// The last instant of an event with one of these actions.
    pub fn last_of(&self, actions: &[&str]) -> Option<Timestamp> {
        actions
            .iter()
            .filter_map(|name| {
                let events = &self.action_events[self.action_id(name)?];
                Some(self.events[*events.last()? as usize].timestamp)
            })
            .max()
    }
}

/// The events a query matches: none (a name no event has), a range of all events, or a range
/// of one engineer's or action's list.
enum Matching<A, L> {
    Neither,
    All(A),
    Listed(L),
}

impl<'s, A, L> Iterator for Matching<A, L>
where
    A: Iterator<Item = EventView<'s>>,
    L: Iterator<Item = EventView<'s>>,
{
    type Item = EventView<'s>;

    fn next(&mut self) -> Option<EventView<'s>> {
        match self {
            Self::Neither => None,
            Self::All(events) => events.next(),
            Self::Listed(events) => events.next(),
        }
    }
}

/// Collects one service's records, interning names as they arrive, then sorts and indexes once.
pub(crate) struct Builder {
    service: Box<str>,
    events: Vec<Event>,
    engineers: LocalIds<u32>,
    actions: LocalIds<u16>,
    /// Whether some id was not greater than the one before. Exports usually give ids in
    /// order: then no id repeats, and `finish` need not look for one.
    ids_unordered: bool,
}

/// An id given to two records: the later record's number (1-based) and the id.
pub(crate) struct RepeatedId {
    pub(crate) record: usize,
    pub(crate) id: u64,
}

impl RepeatedId {
    pub(crate) fn message(&self) -> String {
        format!("id {} appears more than once", self.id)
    }
}

impl Builder {
    pub(crate) fn new(service: &str) -> Self {
        Self {
            service: service.into(),
            events: Vec::new(),
            engineers: LocalIds::default(),
            actions: LocalIds::default(),
            ids_unordered: false,
        }
    }

    /// A record of a file, or of a test, held to the file's rules (`load::check_id`...); its
    /// names are checked the first time `names` sees them.
    pub(crate) fn push(
        &mut self,
        raw: RecordRef<'_>,
        names: &mut LoadNames,
    ) -> Result<(), InvalidRecord> {
        check_id(raw.id).map_err(InvalidRecord)?;
        let sha = parse_sha(&raw.sha).map_err(InvalidRecord)?;
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&raw.date) {
            return Err(InvalidRecord(format!(
                "date {} is outside 1970-01-01..9999-12-31 (expected Unix seconds)",
                raw.date
            )));
        }
        self.add(raw.id, raw.date, sha, (&raw.action, &raw.engineer), names)
    }

    /// An event of another store.
    fn push_view(
        &mut self,
        event: &EventView<'_>,
        names: &mut LoadNames,
    ) -> Result<(), InvalidRecord> {
        let sha = event.sha.clone();
        let event_names = (event.action, event.engineer);
        self.add(event.id, event.timestamp, sha, event_names, names)
    }

    fn add(
        &mut self,
        id: u64,
        timestamp: Timestamp,
        sha: Sha,
        (action, engineer): (&str, &str),
        names: &mut LoadNames,
    ) -> Result<(), InvalidRecord> {
        let load_id = names.engineers.id(engineer, check_engineer)?;
        let engineer = (self.engineers.id(load_id, engineer, u32::MAX))
            .ok_or_else(|| InvalidRecord("too many distinct engineers".into()))?;
        let load_id = names.actions.id(action, check_action)?;
        let action = (self.actions.id(load_id, action, u16::MAX))
            .ok_or_else(|| InvalidRecord("too many distinct actions".into()))?;
        if self.events.len() >= u32::MAX as usize {
            return Err(InvalidRecord("too many events".into()));
        }
        if self.events.last().is_some_and(|last| last.id >= id) {
            self.ids_unordered = true;
        }
        self.events.push(Event {
            id,
            timestamp,
            sha,
            action,
            engineer,
        });
        Ok(())
    }

    /// The first record whose id an earlier record has, if any.
    fn repeated_id(&self) -> Option<RepeatedId> {
        if !self.ids_unordered {
            return None;
        }
        let mut seen = HashSet::with_capacity_and_hasher(self.events.len(), RandomState::default());
        let index = self
            .events
            .iter()
            .position(|event| !seen.insert(event.id))?;
        Some(RepeatedId {
            record: index + 1,
            id: self.events[index].id,
        })
    }

    /// The ids pushed so far.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.events.iter().map(|event| event.id)
    }

    pub(crate) fn finish(self) -> Result<EventIndex, RepeatedId> {
        if let Some(repeated) = self.repeated_id() {
            return Err(repeated);
        }
        let (engineer_names, engineer_remap) = sorted_names(self.engineers.names);
        let (actions, action_remap) = sorted_names(self.actions.names);

        let mut events = self.events;
        for event in &mut events {
            event.engineer = engineer_remap[event.engineer as usize];
            event.action = action_remap[event.action as usize] as u16;
        }
        events.sort_unstable_by_key(Event::position);

        let mut engineers: Vec<Engineer> = engineer_names
            .into_iter()
            .map(|name| Engineer {
                name,
                events: Vec::new(),
            })
            .collect();
        let mut action_events = vec![Vec::new(); actions.len()];
        for (position, event) in events.iter().enumerate() {
            engineers[event.engineer as usize]
                .events
                .push(position as u32);
            action_events[event.action as usize].push(position as u32);
        }

        let days = DayTotals::index(&events, actions.len());
        let by_id = (!events.is_sorted_by_key(|e| e.id)).then(|| {
            let mut by_id: Vec<u32> = (0..events.len() as u32).collect();
            by_id.sort_unstable_by_key(|&p| events[p as usize].id);
            by_id
        });
        Ok(EventIndex {
            service: self.service,
            events,
            engineers,
            actions,
            action_events,
            days,
            daily_json: DailyJson::default(),
            engineers_json: OnceLock::new(),
            by_id,
        })
    }
}

/// The engineers' and actions' names of a load (of every service's builder), each checked the
/// first time it comes, and numbered.
#[derive(Default)]
pub(crate) struct LoadNames {
    engineers: NameIds,
    actions: NameIds,
}

#[derive(Default)]
struct NameIds(HashMap<Box<str>, u32, RandomState>);

impl NameIds {
    fn id(
        &mut self,
        name: &str,
        check: fn(&str) -> Result<(), String>,
    ) -> Result<u32, InvalidRecord> {
        if let Some(&id) = self.0.get(name) {
            return Ok(id);
        }
        check(name).map_err(InvalidRecord)?;
        let id = u32::try_from(self.0.len())
            .map_err(|_| InvalidRecord("too many distinct names".into()))?;
        self.0.insert(name.into(), id);
        Ok(id)
    }
}

/// One builder's ids for the names it holds, by the load's ids: a service's builder looks a
/// name up by index, not by hashing it again in a table of its own. With records of 100
/// services interleaved, 100 tables were a quarter of a load, waiting on memory.
struct LocalIds<T> {
    by_load_id: Vec<Option<T>>,
    /// By this builder's id.
    names: Vec<Box<str>>,
}

impl<T> Default for LocalIds<T> {
    fn default() -> Self {
        Self {
            by_load_id: Vec::new(),
            names: Vec::new(),
        }
    }
}

impl<T: Copy + TryFrom<usize> + PartialEq> LocalIds<T> {
    /// The id of `name`, which is `load_id` in the load; `None` once `max` names exist.
    fn id(&mut self, load_id: u32, name: &str, max: T) -> Option<T> {
        let slot = load_id as usize;
        if let Some(Some(id)) = self.by_load_id.get(slot) {
            return Some(*id);
        }
        let id = T::try_from(self.names.len()).ok().filter(|id| *id != max)?;
        if self.by_load_id.len() <= slot {
            self.by_load_id.resize(slot + 1, None);
        }
        self.by_load_id[slot] = Some(id);
        self.names.push(name.into());
        Some(id)
    }
}

/// The names in sorted order, and for each id (a position in `names`) its sorted position.
fn sorted_names(names: Vec<Box<str>>) -> (Vec<Box<str>>, Vec<u32>) {
    let mut by_name: Vec<(Box<str>, u32)> = names.into_iter().zip(0..).collect();
    by_name.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut remap = vec![0u32; by_name.len()];
    let names = by_name
        .into_iter()
        .enumerate()
        .map(|(sorted, (name, id))| {
            remap[id as usize] = sorted as u32;
            name
        })
        .collect();
    (names, remap)
}
