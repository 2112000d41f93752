//! `?service=` on every read route: with a service, the answer a store holding only that
//! service's events gives; a service without events, an empty answer (404 on an engineer's
//! events); a name breaking the rule, 400 before the store is asked. On both stores.

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline_events_api::events::RawEvent;
use serde_json::Value;

use crate::each_store;
use crate::support::{Backend, TestApp, fixture_records};

const WEB: &str = "octo-org/web";
const API: &str = "octo-org/api";
const OCT_30: i64 = 1_509_321_600;
const DAY: i64 = 86_400;

/// The fixture as `octo-org/web`'s, and `octo-org/api`'s events on the same days, by some of
/// the same engineers, one of the same sha: nothing of one may show in the other's answers.
fn two_services() -> Vec<RawEvent> {
    let web = fixture_records().into_iter().map(|record| RawEvent {
        service: Some(WEB.into()),
        ..record
    });
    let api = |id, date, action: &str, engineer: &str, sha: &str| RawEvent {
        id,
        sha: sha.into(),
        date,
        action: action.into(),
        engineer: engineer.into(),
        service: Some(API.into()),
    };
    web.chain([
        api(11, OCT_30 + 8 * 3600, "stage", "alice", "aaaa001"),
        api(12, OCT_30 + DAY + 3600, "deploy", "alice", "aaaa001"),
        api(13, OCT_30 + 2 * DAY + 3600, "deploy", "dave", "dddd001"),
        api(14, OCT_30 + 2 * DAY + 7200, "rollback", "dave", "dddd001"),
        api(15, OCT_30 + 3 * DAY + 5 * 3600, "deploy", "dave", "dddd002"),
        api(16, OCT_30 + 3 * DAY + 6 * 3600, "stage", "alice", "aaaa003"),
    ])
    .collect()
}

fn of_service(service: &str) -> Vec<RawEvent> {
    two_services()
        .into_iter()
        .filter(|record| record.service.as_deref() == Some(service))
        .collect()
}

/// `uri` with `service` added to its query.
fn with_service(uri: &str, service: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}service={service}")
}

/// Every event of a paged list, following `next_cursor`, and the first page without it.
async fn all_pages(app: &TestApp, uri: &str) -> (Value, Vec<Value>) {
    let mut first = None;
    let mut events = Vec::new();
    let mut next = uri.to_owned();
    loop {
        let mut page = app.get(&next).await.json();
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        let cursor = page["next_cursor"].take();
        first.get_or_insert(page);
        match cursor.as_str() {
            Some(cursor) => next = format!("{uri}&cursor={cursor}"),
            None => break,
        }
    }
    (first.expect("a page"), events)
}

async fn a_service_is_answered_as_a_store_of_its_events_alone(backend: Backend) {
    let both = TestApp::with_records_on(two_services(), backend);
    for service in [WEB, API] {
        let alone = TestApp::with_records_on(of_service(service), backend);
        for uri in [
            "/events?limit=2",
            "/events?limit=2&engineer=alice",
            "/events?limit=2&action=deploy",
            "/events?limit=2&from=2017-10-31&to=2017-11-02",
            "/engineers/alice/events?limit=1",
            "/engineers/dave/events?limit=1",
        ] {
            let (first, events) = all_pages(&both, &with_service(uri, service)).await;
            let (first_alone, events_alone) = all_pages(&alone, uri).await;
            assert_eq!(first, first_alone, "{service} {uri}");
            assert_eq!(events, events_alone, "{service} {uri}");
        }
        for uri in [
            "/engineers",
            "/summaries/daily",
            "/summaries/daily?from=2017-10-29&to=2017-11-04",
            "/metrics/delivery",
            "/metrics/delivery?bucket=week",
            "/metrics/delivery?from=2017-10-30&to=2017-11-03",
        ] {
            let answer = both.get(&with_service(uri, service)).await;
            let alone = alone.get(uri).await;
            assert_eq!(answer.status, 200, "{service} {uri}");
            assert_eq!(answer.json(), alone.json(), "{service} {uri}");
        }
    }
}

async fn a_service_without_events_is_an_empty_answer(backend: Backend) {
    let app = TestApp::with_records_on(two_services(), backend);
    let empty = TestApp::with_records_on(Vec::new(), backend);
    for uri in [
        "/events",
        "/events?engineer=alice",
        "/engineers",
        "/summaries/daily",
        "/summaries/daily?from=2017-10-30&to=2017-11-01",
        "/metrics/delivery",
        "/metrics/delivery?from=2017-10-30&to=2017-11-01",
    ] {
        let answer = app.get(&with_service(uri, "octo-org/none")).await;
        assert_eq!(answer.json(), empty.get(uri).await.json(), "{uri}");
    }
    let unknown = app
        .get("/engineers/alice/events?service=octo-org/none")
        .await;
    let message = unknown.assert_error(404, "service_not_found");
    assert!(message.contains("octo-org/none"), "{message}");
    // A service that has events, but none of this engineer's.
    let absent = app
        .get(&format!("/engineers/bob/events?service={API}"))
        .await;
    absent.assert_error(404, "engineer_not_found");
}

async fn a_name_breaking_the_rule_is_refused_on_every_route(backend: Backend) {
    let app = TestApp::with_records_on(two_services(), backend);
    let too_long = "a".repeat(256);
    for uri in [
        "/events",
        "/engineers",
        "/engineers/alice/events",
        "/summaries/daily",
        "/metrics/delivery",
    ] {
        for name in ["", "a//b", "a/", "../x", "my%20service", too_long.as_str()] {
            let response = app.get(&with_service(uri, name)).await;
            let message = response.assert_error(400, "invalid_service");
            assert!(message.contains("owner/repo"), "{uri} {name}: {message}");
        }
    }
    // An event is found by its id alone: it takes no service.
    let response = app.get(&format!("/events/1?service={WEB}")).await;
    response.assert_error(400, "unknown_parameter");
}

async fn a_cursor_is_bound_to_its_service(backend: Backend) {
    let app = TestApp::with_records_on(two_services(), backend);
    let page = app
        .get(&format!("/events?limit=1&service={WEB}"))
        .await
        .json();
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let same = app
        .get(&format!("/events?limit=1&service={WEB}&cursor={cursor}"))
        .await;
    assert_eq!(same.status, 200);
    for other in [
        format!("/events?limit=1&service={API}&cursor={cursor}"),
        format!("/events?limit=1&cursor={cursor}"),
    ] {
        app.get(&other).await.assert_error(400, "invalid_cursor");
    }
    // The whole store's cursors are bound to no service.
    let whole = app.get("/events?limit=1").await.json();
    let cursor = whole["next_cursor"].as_str().expect("a next page");
    let elsewhere = app
        .get(&format!("/events?limit=1&service={WEB}&cursor={cursor}"))
        .await;
    elsewhere.assert_error(400, "invalid_cursor");
}

/// On DynamoDB a service's question makes the requests the same question makes of a table
/// holding that service alone (the README's counts), whatever else the table holds.
#[tokio::test]
async fn a_service_costs_the_requests_of_a_store_of_it_alone() {
    let both = TestApp::with_records_on(two_services(), Backend::DynamoDb);
    let alone = TestApp::with_records_on(of_service(WEB), Backend::DynamoDb);
    // An instance's first read also checks the table's layout, once.
    for app in [&both, &alone] {
        assert_eq!(app.requests_for("/engineers").await.1, 2);
    }
    for uri in [
        "/events",
        "/events?limit=2",
        "/events?from=2017-10-30&to=2017-10-30",
        "/events?action=deploy",
        "/events?engineer=bob",
        "/engineers",
        "/engineers/bob/events",
        "/engineers/nobody/events",
        "/summaries/daily",
        "/summaries/daily?from=2017-01-01&to=2017-12-31",
        "/metrics/delivery",
        "/metrics/delivery?from=2017-12-01&to=2018-01-31",
    ] {
        let (answer, made) = both.requests_for(&with_service(uri, WEB)).await;
        let (alone_answer, alone_made) = alone.requests_for(uri).await;
        assert_eq!(answer.status, alone_answer.status, "{uri}");
        // But an engineer's 404 asks whether the service exists, to say which is missing.
        let says_which = u64::from(answer.status == 404);
        assert_eq!(made, alone_made + says_which, "{uri}");
    }
    let (_, made) = both
        .requests_for("/engineers/nobody/events?service=octo-org/none")
        .await;
    assert_eq!(made, 3);
}

async fn every_service_is_listed_with_its_figures(backend: Backend) {
    let app = TestApp::with_records_on(two_services(), backend);
    let listed = app.get("/services").await.json();
    // Three deploys each in the 30 days ending on its last event's day: 0.1 a day, at least
    // monthly but not weekly.
    let frequency = serde_json::json!({"deploys": 3, "per_day": 0.1, "level": "medium"});
    assert_eq!(
        listed,
        serde_json::json!({"services": [
            {"name": API, "events": 6, "first_event": "2017-10-30T08:00:00Z",
             "last_event": "2017-11-02T06:00:00Z", "last_deploy": "2017-11-02T05:00:00Z",
             "deployment_frequency": frequency},
            {"name": WEB, "events": 8, "first_event": "2017-10-30T09:00:00Z",
             "last_event": "2017-11-01T13:00:00Z", "last_deploy": "2017-11-01T12:00:00Z",
             "deployment_frequency": frequency},
        ], "next_cursor": null})
    );
    // A page at a time, each service once.
    let first = app.get("/services?limit=1").await.json();
    assert_eq!(first["services"][0]["name"], API);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = app
        .get(&format!("/services?limit=1&cursor={cursor}"))
        .await
        .json();
    assert_eq!(second["services"][0]["name"], WEB);
    assert_eq!(second["next_cursor"], Value::Null);
    // A cursor is this route's, unedited.
    let mut edited = cursor.to_owned();
    edited.push_str("41");
    // The checksum computed here is the route's: after API comes WEB.
    let after_api = app
        .get(&format!("/services?cursor={}", forged_cursor(API)))
        .await
        .json();
    assert_eq!(after_api["services"][0]["name"], WEB);
    // Not hex (and "é" two bytes long), or a checksum right for a name a service cannot have.
    let forged = forged_cursor("a//b");
    for bad in [
        edited.as_str(),
        "zz",
        "0000000000000000",
        &cursor[..cursor.len() - 2],
        "0%C3%A9",
        "00000000000000000%C3%A9",
        forged.as_str(),
    ] {
        let response = app.get(&format!("/services?cursor={bad}")).await;
        response.assert_error(400, "invalid_cursor");
    }
    let events_cursor = app.get("/events?limit=1").await.json()["next_cursor"].clone();
    let foreign = format!("/services?cursor={}", events_cursor.as_str().unwrap());
    app.get(&foreign).await.assert_error(400, "invalid_cursor");
    app.get("/services?limit=0")
        .await
        .assert_error(400, "invalid_parameter");
    app.get("/services?service=x")
        .await
        .assert_error(400, "unknown_parameter");
    let empty = TestApp::with_records_on(Vec::new(), backend);
    assert_eq!(
        empty.get("/services").await.json(),
        serde_json::json!({"services": [], "next_cursor": null})
    );
}

/// A service's deployment frequency counts the deploys of the 30 days ending on its last
/// event's day, however its events arrive: on DynamoDB, kept in its totals by each POST (days
/// that fall out pruned), by import and by verify alike.
async fn a_services_frequency_follows_its_last_event(backend: Backend) {
    const SERVICE: &str = "octo-org/old";
    let deploy = |id, day: i64| RawEvent {
        id,
        sha: format!("{id:07}"),
        date: OCT_30 + day * DAY,
        action: "deploy".into(),
        engineer: "ada".into(),
        service: Some(SERVICE.into()),
    };
    let app = TestApp::with_records_on(vec![deploy(1, 0), deploy(2, 40)], backend);
    let figures = |listed: Value| {
        let service = &listed["services"][0];
        (
            service["deployment_frequency"]["deploys"].clone(),
            service["last_deploy"].clone(),
            service["last_event"].clone(),
        )
    };
    let listed = app.get("/services").await.json();
    assert_eq!(
        figures(listed),
        (
            1.into(),
            "2017-12-09T00:00:00Z".into(),
            "2017-12-09T00:00:00Z".into()
        )
    );
    for (day, action, expected) in [
        // A later event moves the window past the deploy of day 40.
        (
            80,
            "stage",
            (0, "2017-12-09T00:00:00Z", "2018-01-18T00:00:00Z"),
        ),
        (
            75,
            "deploy",
            (1, "2018-01-13T00:00:00Z", "2018-01-18T00:00:00Z"),
        ),
        // A deploy before the window counts nowhere, and is not the last.
        (
            10,
            "deploy",
            (1, "2018-01-13T00:00:00Z", "2018-01-18T00:00:00Z"),
        ),
        (
            51,
            "deploy",
            (2, "2018-01-13T00:00:00Z", "2018-01-18T00:00:00Z"),
        ),
        (
            50,
            "deploy",
            (2, "2018-01-13T00:00:00Z", "2018-01-18T00:00:00Z"),
        ),
    ] {
        let timestamp = chrono::DateTime::from_timestamp(OCT_30 + day * DAY, 0).unwrap();
        let body = serde_json::json!({"sha": "abcdef0", "action": action, "engineer": "ada",
            "service": SERVICE, "timestamp": timestamp.to_rfc3339()});
        let response = app.post_event(&body.to_string(), &[]).await;
        assert_eq!(
            response.status,
            201,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        let listed = app.get("/services").await.json();
        let (deploys, last_deploy, last_event) = expected;
        assert_eq!(
            figures(listed),
            (deploys.into(), last_deploy.into(), last_event.into()),
            "after a {action} on day {day}"
        );
    }
    if let Some(store) = app.dynamodb() {
        // Days that fell out of the window are pruned from the service's totals as it moves.
        let totals = (store.client().await.get_item())
            .table_name(store.table())
            .key("pk", AttributeValue::S("SERVICES".into()))
            .key("sk", AttributeValue::S(SERVICE.into()))
            .send()
            .await
            .unwrap()
            .item
            .expect("the service's totals");
        let mut days: Vec<&String> = totals["deploys"].as_m().unwrap().keys().collect();
        days.sort();
        assert_eq!(days, ["2017-12-20", "2018-01-13"], "{totals:?}");
        let report = pipeline_events_api::store::dynamodb::maintenance::verify(store, false)
            .await
            .unwrap();
        assert!(report.is_exact(), "{report:?}");
    }
}

each_store!(
    a_service_is_answered_as_a_store_of_its_events_alone,
    a_service_without_events_is_an_empty_answer,
    a_name_breaking_the_rule_is_refused_on_every_route,
    a_cursor_is_bound_to_its_service,
    every_service_is_listed_with_its_figures,
    a_services_frequency_follows_its_last_event,
);

/// The store's delivery facts pool the services' (a commit is a service and a sha; a rollback is
/// restored by its own service's next deploy) the same way on both stores, whether imported or
/// recorded, and `verify` finds DynamoDB's exact after recording.
#[tokio::test]
async fn both_stores_pool_the_services_alike_imported_or_recorded() {
    let memory = TestApp::with_records_on(two_services(), Backend::Memory);
    let dynamodb = TestApp::with_records_on(two_services(), Backend::DynamoDb);
    for (service, action, sha, day) in [
        // The same sha in both services: two commits.
        (WEB, "stage", "eeee001", 4),
        (API, "stage", "eeee001", 4),
        (WEB, "deploy", "eeee001", 5),
        (API, "rollback", "dddd002", 5),
        (WEB, "deploy", "eeee002", 6),
        (API, "deploy", "eeee001", 7),
    ] {
        let timestamp = chrono::DateTime::from_timestamp(OCT_30 + day * DAY + 3600, 0).unwrap();
        let body = serde_json::json!({"sha": sha, "action": action, "engineer": "erin",
            "service": service, "timestamp": timestamp.to_rfc3339()});
        for app in [&memory, &dynamodb] {
            let response = app.post_event(&body.to_string(), &[]).await;
            assert_eq!(response.status, 201);
        }
    }
    for uri in [
        "/metrics/delivery",
        "/metrics/delivery?bucket=week",
        "/metrics/delivery?from=2017-11-03&to=2017-11-06",
        "/metrics/delivery?service=octo-org/api",
    ] {
        let (a, b) = (memory.get(uri).await, dynamodb.get(uri).await);
        assert_eq!(a.status, 200, "{uri}");
        assert_eq!(a.json(), b.json(), "{uri}");
    }
    // API's rollback on 2017-11-04 waits for API's deploy on the 6th, not WEB's on the 5th;
    // sha eeee001 is a commit in each service, first deployed on the 4th and on the 6th.
    let to_5th = memory.get("/metrics/delivery?from=2017-11-04&to=2017-11-05");
    let to_5th = to_5th.await.json()["total"].clone();
    assert_eq!(to_5th["time_to_restore"]["unrestored"], 1, "{to_5th}");
    let to_6th = memory.get("/metrics/delivery?from=2017-11-04&to=2017-11-06");
    let to_6th = to_6th.await.json()["total"].clone();
    assert_eq!(to_6th["time_to_restore"]["restored"], 1, "{to_6th}");
    assert_eq!(to_6th["lead_time"]["commits"], 2, "{to_6th}");
    let store = dynamodb.dynamodb().unwrap();
    let report = pipeline_events_api::store::dynamodb::maintenance::verify(store, false)
        .await
        .unwrap();
    assert!(report.is_exact(), "{report:?}");
}

/// A `/services` cursor after `name` with the right checksum: what anyone can compute, since
/// the checksum (64-bit FNV-1a over a fixed tag, the route and the name) is no secret.
fn forged_cursor(name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(b"cursor-after-v1");
    for field in ["/services", name] {
        feed(&[1]);
        feed(&(field.len() as u64).to_le_bytes());
        feed(field.as_bytes());
    }
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hash:016x}{hex}")
}
