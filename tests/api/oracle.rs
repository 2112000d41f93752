//! The read routes against an independent oracle: a plain linear scan of the records, written
//! here and sharing nothing with the store's indexes, range code or summaries. Random datasets,
//! random queries, every page followed through the Router.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, SecondsFormat};
use pipeline_events_api::events::RawEvent;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, blocking_runtime};

/// 2017-10-30T00:00:00Z: datasets span the ten days from here.
const START: i64 = 1_509_321_600;
const DAY: i64 = 86_400;
const ENGINEERS: [&str; 4] = ["ada", "bob", "cy", "dee"];
const ACTIONS: [&str; 4] = ["stage", "deploy", "rollback", "hotfix"];
/// `None`: a record naming no service, which is the default service's.
const SERVICES: [Option<&str>; 3] = [None, Some("octo-org/web"), Some("octo-org/api")];

/// Events with unique ids, crowded onto few instants so that ties on time are common.
fn dataset() -> impl Strategy<Value = Vec<RawEvent>> {
    let event = (
        0i64..(10 * DAY / 1800),
        0i64..3,
        prop::sample::select(ACTIONS.to_vec()),
        prop::sample::select(ENGINEERS.to_vec()),
        prop::sample::select(SERVICES.to_vec()),
    );
    proptest::collection::vec(event, 1..120).prop_map(|events| {
        events
            .into_iter()
            .enumerate()
            .map(
                |(index, (slot, second, action, engineer, service))| RawEvent {
                    // Ids out of time order, so that order by id and order by time differ.
                    id: (index as u64 * 7919) % 100_003 + 1,
                    sha: format!("{:040x}", index),
                    date: START + slot * 1800 + second,
                    action: action.to_owned(),
                    engineer: engineer.to_owned(),
                    service: service.map(str::to_owned),
                },
            )
            .collect()
    })
}

fn rfc3339(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn date(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

/// A bound, resolved against the dataset: often the instant of one of its events, so that
/// events fall exactly on `from` and `to`.
#[derive(Debug, Clone)]
enum Bound {
    OnEvent(prop::sample::Index),
    Instant(i64),
    Date(i64),
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        2 => any::<prop::sample::Index>().prop_map(Bound::OnEvent),
        1 => ((START - DAY)..(START + 11 * DAY)).prop_map(Bound::Instant),
        1 => (-1i64..11).prop_map(Bound::Date),
    ]
}

impl Bound {
    /// As a client writes it, and the instant the oracle reads from it: a timestamp is that
    /// instant; a date is its midnight for `from` and the next midnight for `to`.
    fn resolve(&self, records: &[RawEvent], is_to: bool) -> (String, i64) {
        match self {
            Bound::OnEvent(index) => {
                let t = records[index.index(records.len())].date;
                (rfc3339(t), t)
            }
            Bound::Instant(t) => (rfc3339(*t), *t),
            Bound::Date(d) => {
                let midnight = START + d * DAY;
                (
                    date(midnight),
                    if is_to { midnight + DAY } else { midnight },
                )
            }
        }
    }
}

fn view(record: &RawEvent) -> Value {
    json!({
        "id": record.id,
        "timestamp": rfc3339(record.date),
        "sha": record.sha,
        "action": record.action,
        "engineer": record.engineer,
        "service": record.service.as_deref().unwrap_or("default"),
    })
}

/// Every page of `path?query`, following `next_cursor`, checking each page's size. A cursor
/// that does not move on fails the test instead of looping.
fn all_pages(app: &TestApp, path: &str, query: &str, limit: usize, most: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut uri = format!("{path}?{query}");
    for _ in 0..=most {
        let response = blocking_runtime().block_on(app.get(&uri));
        assert_eq!(response.status, 200, "{uri}: {:?}", response.json());
        let body = response.json();
        let page = body["events"].as_array().unwrap().clone();
        assert!(page.len() <= limit, "{uri}: {} > {limit}", page.len());
        events.extend(page);
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{path}?{query}&cursor={cursor}"),
            None => return events,
        }
    }
    panic!("{path}?{query}: more pages than events");
}

fn encode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[test]
fn event_pages_equal_a_linear_scan_in_memory() {
    event_pages_equal_a_linear_scan(Backend::Memory, 200);
}

/// Fewer cases: each one creates a table on moto and imports its dataset.
#[test]
fn event_pages_equal_a_linear_scan_in_dynamodb() {
    event_pages_equal_a_linear_scan(Backend::DynamoDb, 25);
}

/// A page request: (from, to, engineer, action, limit, engineer in the path, service).
type PageQuery = (
    Option<Bound>,
    Option<Bound>,
    Option<&'static str>,
    Option<&'static str>,
    usize,
    bool,
    Option<&'static str>,
);

/// The services a request may name: the datasets' three and one without events.
const NAMED: [&str; 4] = ["default", "octo-org/web", "octo-org/api", "octo-org/none"];

/// A record's service, as the store reads it.
fn service_of(record: &RawEvent) -> &str {
    record.service.as_deref().unwrap_or("default")
}

/// The records a request for `service` (`None`: the whole store) answers from.
fn of_service(records: &[RawEvent], service: Option<&str>) -> Vec<RawEvent> {
    (records.iter())
        .filter(|r| service.is_none_or(|s| service_of(r) == s))
        .cloned()
        .collect()
}

/// A random page request.
fn page_query() -> impl Strategy<Value = PageQuery> {
    (
        proptest::option::of(bound()),
        proptest::option::of(bound()),
        proptest::option::of(prop::sample::select(ENGINEERS.to_vec())),
        proptest::option::of(prop::sample::select(ACTIONS.to_vec())),
        1usize..40,
        any::<bool>(),
        proptest::option::of(prop::sample::select(NAMED.to_vec())),
    )
}

/// The path and query string of a page request against `records`; `None` for an invalid range
/// (the error tests cover those).
type Resolved = (Option<(String, i64)>, Option<(String, i64)>, String, String);

fn resolve(
    records: &[RawEvent],
    (from, to, engineer, action, limit, by_path, service): &PageQuery,
) -> Option<Resolved> {
    let from = from.as_ref().map(|b| b.resolve(records, false));
    let to = to.as_ref().map(|b| b.resolve(records, true));
    if let (Some((_, f)), Some((_, t))) = (&from, &to)
        && f >= t
    {
        return None;
    }
    let mut query = vec![format!("limit={limit}")];
    if let Some((text, _)) = &from {
        query.push(format!("from={}", encode(text)));
    }
    if let Some((text, _)) = &to {
        query.push(format!("to={}", encode(text)));
    }
    if let Some(action) = action {
        query.push(format!("action={action}"));
    }
    if let Some(service) = service {
        query.push(format!("service={service}"));
    }
    let path = match engineer {
        // The engineer route answers 404 for a name with no events (in the service).
        Some(name)
            if *by_path && (of_service(records, *service).iter()).any(|r| r.engineer == *name) =>
        {
            format!("/engineers/{name}/events")
        }
        Some(name) => {
            query.push(format!("engineer={name}"));
            "/events".to_owned()
        }
        None => "/events".to_owned(),
    };
    Some((from, to, path, query.join("&")))
}

fn event_pages_equal_a_linear_scan(backend: Backend, cases: u32) {
    let mut runner = crate::support::property_runner(cases);
    runner
        .run(&(dataset(), page_query()), |(records, request)| {
            let Some((from, to, path, query)) = resolve(&records, &request) else {
                return Ok(());
            };
            let (_, _, engineer, action, limit, _, service) = request;
            let app = TestApp::with_records_on(records.clone(), backend);
            let mut expected: Vec<&RawEvent> = records
                .iter()
                .filter(|r| service.is_none_or(|s| service_of(r) == s))
                .filter(|r| from.as_ref().is_none_or(|(_, f)| r.date >= *f))
                .filter(|r| to.as_ref().is_none_or(|(_, t)| r.date < *t))
                .filter(|r| engineer.is_none_or(|e| r.engineer == e))
                .filter(|r| action.is_none_or(|a| r.action == a))
                .collect();
            expected.sort_by_key(|r| (r.date, r.id));
            let expected: Vec<Value> = expected.into_iter().map(view).collect();
            let paged = all_pages(&app, &path, &query, limit, records.len());
            prop_assert_eq!(paged, expected, "{}?{}", path, query);
            Ok(())
        })
        .unwrap();
}

#[test]
fn daily_summaries_equal_a_linear_scan_in_memory() {
    daily_summaries_equal_a_linear_scan(Backend::Memory, 200);
}

#[test]
fn daily_summaries_equal_a_linear_scan_in_dynamodb() {
    daily_summaries_equal_a_linear_scan(Backend::DynamoDb, 20);
}

fn daily_summaries_equal_a_linear_scan(backend: Backend, cases: u32) {
    let mut runner = crate::support::property_runner(cases);
    let range = ((-2i64..12), (0i64..8));
    let service = proptest::option::of(prop::sample::select(NAMED.to_vec()));
    runner
        .run(
            &(dataset(), range, service),
            |(all, (first, span), service)| {
                let app = TestApp::with_records_on(all.clone(), backend);
                // A service's summary is that of a store holding its events alone.
                let records = of_service(&all, service);
                let last = first + span;
                let day_of = |seconds: i64| (seconds - START).div_euclid(DAY);
                let known: BTreeSet<&str> = records.iter().map(|r| r.action.as_str()).collect();
                let counts = |day: i64| {
                    let mut actions: BTreeMap<&str, i64> = known.iter().map(|a| (*a, 0)).collect();
                    let mut engineers = BTreeSet::new();
                    for record in records.iter().filter(|r| day_of(r.date) == day) {
                        *actions.get_mut(record.action.as_str()).unwrap() += 1;
                        engineers.insert(record.engineer.as_str());
                    }
                    (actions, engineers.len() as i64)
                };
                let expected: Vec<Value> = (first..=last)
                .map(|day| {
                    let (today, engineers) = counts(day);
                    let (yesterday, _) = counts(day - 1);
                    let total = |c: &BTreeMap<&str, i64>| c.values().sum::<i64>();
                    let change: BTreeMap<&str, i64> =
                        today.iter().map(|(a, n)| (*a, n - yesterday[a])).collect();
                    json!({
                        "date": NaiveDate::from_ymd_opt(2017, 10, 30).unwrap()
                            .checked_add_signed(chrono::Duration::days(day)).unwrap()
                            .to_string(),
                        "total": total(&today),
                        "actions": today,
                        "engineers": engineers,
                        "change": {"total": total(&today) - total(&yesterday), "actions": change},
                    })
                })
                .collect();
                let mut uri = format!(
                    "/summaries/daily?from={}&to={}",
                    date(START + first * DAY),
                    date(START + last * DAY)
                );
                if let Some(service) = service {
                    uri.push_str(&format!("&service={service}"));
                }
                let response = blocking_runtime().block_on(app.get(&uri));
                prop_assert_eq!(response.status, 200);
                prop_assert_eq!(&response.json()["days"], &json!(expected), "{}", uri);
                Ok(())
            },
        )
        .unwrap();
}

/// The two stores, same dataset, same requests: the same status and the same bytes, page after
/// page (cursors included), and for `/engineers` and `/summaries/daily`.
#[test]
fn both_stores_answer_byte_for_byte() {
    let mut runner = crate::support::property_runner(20);
    let queries = proptest::collection::vec(page_query(), 6);
    let days = proptest::collection::vec(((-2i64..12), (0i64..8)), 3);
    runner
        .run(&(dataset(), queries, days), |(records, queries, days)| {
            let memory = TestApp::with_records_on(records.clone(), Backend::Memory);
            let dynamodb = TestApp::with_records_on(records.clone(), Backend::DynamoDb);
            let mut uris = vec!["/engineers".to_owned(), "/summaries/daily".to_owned()];
            for service in NAMED {
                uris.push(format!("/engineers?service={service}"));
                uris.push(format!("/summaries/daily?service={service}"));
                uris.push(format!("/metrics/delivery?service={service}"));
            }
            uris.push("/metrics/delivery".to_owned());
            uris.push("/services".to_owned());
            for (first, span) in days {
                uris.push(format!(
                    "/summaries/daily?from={}&to={}",
                    date(START + first * DAY),
                    date(START + (first + span) * DAY)
                ));
            }
            for request in &queries {
                let Some((_, _, path, query)) = resolve(&records, request) else {
                    continue;
                };
                // Every page of it, as the memory store pages it.
                let mut uri = format!("{path}?{query}");
                loop {
                    uris.push(uri.clone());
                    let response = blocking_runtime().block_on(memory.get(&uri));
                    match response.json()["next_cursor"].as_str() {
                        Some(cursor) => uri = format!("{path}?{query}&cursor={cursor}"),
                        None => break,
                    }
                }
            }
            for uri in &uris {
                let expected = blocking_runtime().block_on(memory.get(uri));
                let actual = blocking_runtime().block_on(dynamodb.get(uri));
                prop_assert_eq!(actual.status, expected.status, "{}", uri);
                prop_assert_eq!(
                    String::from_utf8_lossy(&actual.body),
                    String::from_utf8_lossy(&expected.body),
                    "{}",
                    uri
                );
            }
            Ok(())
        })
        .unwrap();
}
