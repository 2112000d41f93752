//! What only the DynamoDB store has: a bounded number of requests per API call, an answer
//! within the budget when the table is unreachable or silent, and broken items kept from
//! clients. The route tests themselves run on both stores (`each_store!`).

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline_events_api::events::RawEvent;
use pipeline_events_api::metadata::MetadataSource;
use pipeline_events_api::store::dynamodb::DynamoDbStore;
use pipeline_events_api::store::dynamodb::keys::Scope;
use pipeline_events_api::store::dynamodb::read::MAX_QUERIES_PER_PAGE;
use pipeline_events_api::store::{ReadFailure, Store};

use pipeline_events_api::store::dynamodb::import::import;
use pipeline_events_api::store::dynamodb::maintenance::verify;
use serde_json::json;

use crate::support::dynamodb_standin::{StandIn, throttled};
use crate::support::moto::{Moto, dynamodb_config, free_port, patient_dynamodb_config};
use crate::support::{Backend, TestApp, fixture_records};

fn fixture() -> TestApp {
    TestApp::with_records_on(fixture_records(), Backend::DynamoDb)
}

#[tokio::test]
async fn each_route_makes_the_requests_the_readme_states() {
    let app = fixture();
    // The fixture: 2017-10-30 and 2017-11-01, two months, one year.
    for (uri, requests) in [
        ("/", 0),
        ("/health", 0),
        ("/metadata", 0),
        // The store's totals, then one Query per month the page reads.
        ("/events?from=2017-10-30&to=2017-10-30", 2),
        ("/events", 3),
        ("/events?limit=2", 2),
        ("/events?action=deploy", 3),
        // One Query of the engineer's partition of the index.
        ("/events?engineer=bob", 1),
        ("/events?engineer=bob&action=deploy", 1),
        // That, and whether the engineer exists.
        ("/engineers/bob/events", 2),
        ("/engineers/nobody/events", 2),
        ("/engineers", 1),
        // The store's totals, then one Query per calendar year of days.
        ("/summaries/daily", 2),
        ("/summaries/daily?from=2017-10-30&to=2017-11-01", 2),
        ("/summaries/daily?from=2017-01-01&to=2017-12-31", 3),
        // The store's totals, then one Query per calendar year of delivery days.
        ("/metrics/delivery", 2),
        (
            "/metrics/delivery?from=2017-10-30&to=2017-11-01&bucket=week",
            2,
        ),
        ("/metrics/delivery?from=2017-12-01&to=2018-01-31", 3),
        // Refused before the store is asked.
        ("/events?limit=0", 0),
        ("/summaries/daily?from=2017-01-01&to=2018-12-31", 1),
        ("/metrics/delivery?bucket=month", 0),
    ] {
        let (response, made) = app.requests_for(uri).await;
        assert!(response.status.as_u16() < 500, "{uri}: {}", response.status);
        assert_eq!(made, requests, "{uri}");
    }
}

/// `POST /events`: the id, the aggregates (with the commit's firsts for a stage, a deploy or a
/// commit event), for a commit event or a deploy of a pushed commit its service's places and
/// ships, the delivery days the event changes if any, and one transaction.
#[tokio::test]
async fn a_post_makes_the_requests_the_readme_states() {
    let app = fixture();
    for (sha, action, timestamp, requests) in [
        // A new commit's first stage: its staged entry goes on the day.
        ("stage", "2017-11-02T10:00:00Z", 4),
        // Its first deploy: the lead time, and the day's deploys.
        ("deploy", "2017-11-02T11:00:00Z", 4),
        ("rollback", "2017-11-02T12:00:00Z", 4),
        // A redeploy changes the day's deploys, not the commit.
        ("deploy", "2017-11-02T13:00:00Z", 4),
        // A later stage changes nothing the metrics count.
        ("stage", "2017-11-02T14:00:00Z", 3),
        // A hotfix is a deploy: as a redeploy, the day's deploys (and its hotfixes).
        ("hotfix", "2017-11-02T14:30:00Z", 4),
        // Its commit event places it: the service's turn and the ship after its place, then,
        // as it was deployed, the ships before it and the places it ships.
        ("commit", "2017-11-02T15:00:00Z", 8),
        // Another commit event of it changes nothing.
        ("commit", "2017-11-02T15:30:00Z", 3),
    ]
    .into_iter()
    .map(|(action, timestamp, requests)| ("d1d1d1d", action, timestamp, requests))
    .chain([
        // A new commit placed, nothing shipping it yet.
        ("e2e2e2e", "commit", "2017-11-02T16:00:00Z", 6),
        // Its first deploy ships it: the turn, the ships around its place, the places.
        ("e2e2e2e", "deploy", "2017-11-02T17:00:00Z", 8),
    ]) {
        let body =
            json!({"sha": sha, "action": action, "engineer": "dora", "timestamp": timestamp});
        let before = app.dynamodb().unwrap().requests();
        let response = app.post_event(&body.to_string(), &[]).await;
        assert_eq!(response.status, 201, "{action}");
        assert_eq!(
            app.dynamodb().unwrap().requests() - before,
            requests,
            "{action} at {timestamp}"
        );
    }
}

/// One event on the first day of each month from January 2015 to December 2017.
fn monthly_records() -> Vec<RawEvent> {
    (0..36)
        .map(|month| {
            let date = chrono::NaiveDate::from_ymd_opt(2015 + month / 12, month as u32 % 12 + 1, 1)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp();
            RawEvent {
                id: month as u64 + 1,
                sha: "abc1234".into(),
                date,
                action: "deploy".into(),
                engineer: "ada".into(),
                service: None,
            }
        })
        .collect()
}

#[tokio::test]
async fn a_page_reads_at_most_a_bounded_number_of_months_and_cursors_go_on() {
    let app = TestApp::with_records_on(monthly_records(), Backend::DynamoDb);
    // A year: one Query per month, not per day.
    let (response, made) = app
        .requests_for("/events?from=2016-01-01&to=2016-12-31&limit=1000")
        .await;
    assert_eq!(response.ids().len(), 12);
    assert_eq!(made, 1 + 12);

    // Three years in pages: each page within the bound, every event exactly once.
    let mut ids = Vec::new();
    let mut uri = "/events?limit=1000".to_owned();
    loop {
        let (response, made) = app.requests_for(&uri).await;
        assert!(made <= 1 + MAX_QUERIES_PER_PAGE as u64, "{uri}: {made}");
        ids.extend(response.ids());
        match response.json()["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/events?limit=1000&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids, (1..=36).collect::<Vec<u64>>());

    // 366 days, and the day before them (its change is from there), across three calendar
    // years: one Query of day totals per year.
    let (response, made) = app
        .requests_for("/summaries/daily?from=2015-01-01&to=2016-01-01")
        .await;
    assert_eq!(response.json()["days"].as_array().unwrap().len(), 366);
    assert_eq!(made, 1 + 3);
    let (response, made) = app
        .requests_for("/summaries/daily?from=2016-01-02&to=2016-12-31")
        .await;
    assert_eq!(response.json()["days"].as_array().unwrap().len(), 365);
    assert_eq!(made, 1 + 1);
}

/// The route answers 503 `store_unavailable` with a Retry-After within 3 s; the routes that
/// need no store answer as always.
async fn assert_unavailable(app: &TestApp) {
    for uri in [
        "/events",
        "/events?engineer=bob",
        "/engineers",
        "/engineers/bob/events",
        "/summaries/daily",
    ] {
        let started = Instant::now();
        let response = app.get(uri).await;
        let took = started.elapsed();
        response.assert_error(503, "store_unavailable");
        assert_eq!(response.header("retry-after"), Some("2"), "{uri}");
        assert!(took < Duration::from_secs(3), "{uri} took {took:?}");
    }
    for uri in ["/", "/health", "/metadata"] {
        assert_eq!(app.get(uri).await.status, 200, "{uri}");
    }
}

fn app_reading(endpoint: &str) -> TestApp {
    TestApp::on(
        Store::DynamoDb(Box::new(DynamoDbStore::new(
            "events".into(),
            Some(dynamodb_config(endpoint)),
        ))),
        MetadataSource::build_time("test".into()),
    )
}

#[tokio::test]
async fn nothing_listening_is_503_within_the_budget() {
    let app = app_reading(&format!("http://127.0.0.1:{}", free_port()));
    assert_unavailable(&app).await;
}

#[tokio::test]
async fn a_table_that_never_answers_is_503_within_the_budget() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let app = app_reading(&format!("http://{address}"));
    assert_unavailable(&app).await;
}

#[tokio::test]
async fn moto_stopped_mid_run_is_503_then_a_missing_table_is_too() {
    let mut moto = Moto::start();
    let app = app_reading(&moto.endpoint());
    // A moto without the table: DynamoDB's ResourceNotFoundException.
    assert_unavailable(&app).await;
    moto.stop();
    assert_unavailable(&app).await;
}

#[tokio::test]
async fn an_item_that_does_not_decode_is_a_500_without_internals() {
    let app = fixture();
    let store = app.dynamodb().unwrap();
    store
        .client()
        .await
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S("EV#2017-10".into()))
        .item(
            "sk",
            AttributeValue::S("001509321600#00000000000000000000".into()),
        )
        .item("id", AttributeValue::S("written by hand".into()))
        .send()
        .await
        .unwrap();
    let response = app.get("/events").await;
    response.assert_error(500, "internal_error");
    let body = String::from_utf8_lossy(&response.body);
    assert!(!body.contains("EV#") && !body.contains("hand"), "{body}");
    // Routes that do not read that item still answer.
    assert_eq!(app.get("/engineers").await.status, 200);
    assert_eq!(app.get("/events?engineer=bob").await.status, 200);
}

#[tokio::test]
async fn a_throttled_table_is_503_within_the_budget_after_retries() {
    let stand_in = StandIn::start(|_, _| throttled());
    let app = app_reading(&stand_in.endpoint());
    assert_unavailable(&app).await;
    // The SDK retried what DynamoDB throttled (3 attempts each, within the budget): five
    // routes, each failing on its first read.
    let operations = stand_in.operations();
    assert!(operations.len() >= 5 * 3, "{operations:?}");
}

#[tokio::test]
async fn a_post_s_transaction_token_is_kept_across_a_retry_and_not_shared_between_tables() {
    // Two stages' tables in one account, each about to give out event id 1, as dev and prod do
    // when the deploy workflow records a stage and then a deploy. Each table's first
    // transaction loses its answer (a 500); the second succeeds.
    let answered: std::sync::Mutex<std::collections::HashSet<String>> = Default::default();
    let stand_in = StandIn::start(move |operation, body| match operation {
        "UpdateItem" if body["UpdateExpression"] == "ADD #last :count" => {
            (200, json!({ "Attributes": { "last": { "N": "1" } } }))
        }
        "UpdateItem" | "GetItem" => (200, json!({})),
        "BatchGetItem" => {
            let tables = body["RequestItems"].as_object().unwrap();
            let empty: serde_json::Map<String, serde_json::Value> = tables
                .keys()
                .map(|table| (table.clone(), json!([])))
                .collect();
            (200, json!({ "Responses": empty, "UnprocessedKeys": {} }))
        }
        "Query" => (200, json!({ "Items": [], "Count": 0, "ScannedCount": 0 })),
        "TransactWriteItems" => {
            let table = body["TransactItems"][0]["Put"]["TableName"]
                .as_str()
                .unwrap();
            if answered.lock().unwrap().insert(table.to_owned()) {
                let lost = "com.amazonaws.dynamodb.v20120810#InternalServerError";
                (500, json!({ "__type": lost, "message": "answer lost" }))
            } else {
                (200, json!({}))
            }
        }
        _ => (
            400,
            json!({ "__type": "com.amazon.coral.validate#ValidationException", "message": operation }),
        ),
    });
    for table in ["events-dev", "events-prod"] {
        let app = TestApp::on(
            Store::DynamoDb(Box::new(DynamoDbStore::new(
                table.into(),
                Some(dynamodb_config(&stand_in.endpoint())),
            ))),
            MetadataSource::build_time("test".into()),
        );
        let response = app
            .post_event(
                r#"{"sha":"5e1f0c3","action":"deploy","engineer":"ada"}"#,
                &[],
            )
            .await;
        assert_eq!(
            response.status,
            201,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(response.json()["id"], 1);
    }

    let tokens: Vec<(String, String)> = stand_in
        .bodies("TransactWriteItems")
        .iter()
        .map(|body| {
            let table = body["TransactItems"][0]["Put"]["TableName"]
                .as_str()
                .unwrap();
            let token = body["ClientRequestToken"].as_str().expect("a token");
            (table.to_owned(), token.to_owned())
        })
        .collect();
    let of = |table: &str| -> Vec<&str> {
        tokens
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, token)| token.as_str())
            .collect()
    };
    let (dev, prod) = (of("events-dev"), of("events-prod"));
    // The SDK's retry sent the first try's token: DynamoDB would answer it with that outcome.
    assert!(dev.len() == 2 && dev[0] == dev[1], "{tokens:?}");
    assert!(prod.len() == 2 && prod[0] == prod[1], "{tokens:?}");
    // The two tables' transactions do not share one.
    assert_ne!(dev[0], prod[0], "{tokens:?}");
}

#[tokio::test]
async fn an_import_retries_the_items_a_batch_leaves_unprocessed() {
    // The first BatchWriteItem leaves every item unprocessed (as a throttled table does), the
    // next ones take everything; reads find nothing (so aggregates are of no events).
    let refused_once = std::sync::atomic::AtomicBool::new(false);
    let stand_in = StandIn::start(move |operation, body| match operation {
        "BatchWriteItem" if !refused_once.swap(true, std::sync::atomic::Ordering::SeqCst) => {
            (200, json!({ "UnprocessedItems": body["RequestItems"] }))
        }
        "BatchWriteItem" => (200, json!({ "UnprocessedItems": {} })),
        "BatchGetItem" => (
            200,
            json!({ "Responses": { "events": [] }, "UnprocessedKeys": {} }),
        ),
        "Query" => (200, json!({ "Items": [], "Count": 0, "ScannedCount": 0 })),
        // The id counter, raised past the imported ids; the delivery days.
        "UpdateItem" => (200, json!({})),
        // The commits' delivery facts.
        "TransactWriteItems" => (200, json!({})),
        _ => (
            400,
            json!({ "__type": "com.amazon.coral.validate#ValidationException", "message": operation }),
        ),
    });
    let store = DynamoDbStore::new("events".into(), Some(dynamodb_config(&stand_in.endpoint())));
    let events =
        pipeline_events_api::events::Services::from_records(fixture_records(), "default").unwrap();
    let report = import(&store, &events, |_| {}).await.unwrap();
    assert_eq!(report.written, 8);

    let written: Vec<Vec<String>> = stand_in
        .bodies("BatchWriteItem")
        .iter()
        .map(|body| {
            body["RequestItems"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    w["PutRequest"]["Item"]["pk"]["S"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        })
        .collect();
    // The same sixteen items (eight events and their id items), sent again after the refusal.
    assert_eq!(written.len(), 2, "{written:?}");
    assert_eq!(written[0], written[1]);
    let ids: std::collections::BTreeSet<&str> = written[1]
        .iter()
        .filter_map(|pk| pk.strip_prefix("ID#"))
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7", "8"].into());
    assert_eq!(
        written[1].iter().filter(|pk| pk.starts_with("EV#")).count(),
        8
    );
}

#[tokio::test]
async fn a_key_dynamodb_refuses_is_a_defect_answered_500_once_never_retried() {
    let app = fixture();
    let store = app.dynamodb().unwrap();
    // moto_server.py holds reads to DynamoDB's key sizes, as the service does: a partition key
    // over 2048 bytes is a ValidationException, not a missing item.
    let before = store.requests();
    let refused = store.has_engineer(Scope::Whole, &"x".repeat(2_100)).await;
    assert_eq!(refused, Err(ReadFailure::Internal));
    assert_eq!(store.requests() - before, 1, "a refusal is not retried");
    assert!(
        store
            .has_engineer(Scope::Whole, &"x".repeat(128))
            .await
            .is_ok()
    );
    // The routes never send such a key: the name is refused first, with no request at all.
    let long = "x".repeat(2_100);
    for (uri, status, code) in [
        (
            format!("/engineers/{long}/events"),
            404,
            "engineer_not_found",
        ),
        (format!("/events?engineer={long}"), 400, "invalid_parameter"),
        (format!("/events?action={long}"), 400, "invalid_parameter"),
    ] {
        let (response, requests) = app.requests_for(&uri).await;
        response.assert_error(status, code);
        assert_eq!(requests, 0, "{}", &uri[..40]);
    }
}

/// An import and POSTs at once: the import raises the id counter before it reads the file's ids,
/// so a POST never gets an id of the file for the import to put another event over. Whether the
/// import finishes or stops on a conflict (a POST given an id before the raise), every
/// acknowledged event reads back as it was acknowledged.
#[tokio::test]
async fn an_import_racing_posts_never_overwrites_an_acknowledged_event() {
    let app = fixture();
    let store = app.dynamodb().unwrap();
    // The fixture's ids are 1 to 8, and so is the counter: the file's follow them, where the
    // next POSTs' ids would be.
    let records: Vec<RawEvent> = (9..=308)
        .map(|id| RawEvent {
            id,
            sha: format!("{id:07x}"),
            date: 1_509_580_800 + id as i64 * 60,
            action: "deploy".into(),
            engineer: "ian".into(),
            service: None,
        })
        .collect();
    let events = pipeline_events_api::events::Services::from_records(records, "default").unwrap();
    let posts = async {
        let mut acknowledged = Vec::new();
        for n in 0..30 {
            let body = json!({"sha": "fedcba9", "action": "stage", "engineer": format!("poster-{n}"),
                              "timestamp": "2017-11-03T12:00:00Z"});
            let response = app.post_event(&body.to_string(), &[]).await;
            if response.status == 201 {
                acknowledged.push(response.json());
            }
        }
        acknowledged
    };
    let (imported, acknowledged) = tokio::join!(import(store, &events, |_| {}), posts);
    assert!(!acknowledged.is_empty());
    for event in &acknowledged {
        let read = app.get(&format!("/events/{}", event["id"])).await;
        assert_eq!(&read.json(), event, "acknowledged, then overwritten");
    }
    match imported {
        Ok(report) => {
            use pipeline_events_api::store::dynamodb::maintenance::verify;
            assert_eq!(report.written, 300);
            // Every event stored once. The aggregates the import recomputed may miss a POST
            // made meanwhile (the README: import while nothing records, or rebuild after).
            verify(store, true).await.unwrap();
            let verified = verify(store, false).await.unwrap();
            assert!(verified.is_exact(), "{verified:?}");
            assert_eq!(verified.events, 8 + 300 + acknowledged.len());
        }
        Err(error) => assert!(
            error.contains("already stored with other content"),
            "{error}"
        ),
    }
}

/// What the layout before services held: no `SVC#` items, no service totals, no `layout` in
/// the store's totals, and (for events older still) no `svc` on an event.
async fn as_layout_1(store: &DynamoDbStore, without_service: u64) {
    let client = store.client().await;
    let items = crate::support::moto::every_item(store).await;
    let text = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let id = without_service.to_string();
    let mut stripped = 0;
    for item in &items {
        let pk = text(item, "pk");
        let key = |request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder| {
            request
                .table_name(store.table())
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
        };
        if pk.starts_with("SVC#") || pk == "SERVICES" {
            client
                .delete_item()
                .table_name(store.table())
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .send()
                .await
                .unwrap();
        } else if pk == "META" {
            let request = key(client.update_item()).update_expression("REMOVE layout");
            request.send().await.unwrap();
        } else if item.get("id").and_then(|n| n.as_n().ok()) == Some(&id)
            || pk == format!("ID#{id}")
        {
            let request = key(client.update_item()).update_expression("REMOVE svc");
            request.send().await.unwrap();
            stripped += 1;
        }
    }
    assert_eq!(stripped, 2, "the event's item and its id item");
}

#[tokio::test]
async fn a_table_of_the_layout_before_services_is_503_until_verify_rebuild_upgrades_it() {
    let app = fixture();
    let store = app.dynamodb().expect("a DynamoDB app");
    as_layout_1(store, 3).await;
    let legacy = TestApp::on(
        Store::DynamoDb(Box::new(
            DynamoDbStore::new(
                store.table().to_owned(),
                Some(patient_dynamodb_config(&Moto::shared().endpoint())),
            )
            .with_default_service("octo-org/legacy"),
        )),
        MetadataSource::build_time("test".into()),
    );
    for uri in [
        "/events",
        "/events?engineer=bob",
        "/engineers",
        "/engineers/bob/events",
        "/summaries/daily",
        "/metrics/delivery",
    ] {
        let response = legacy.get(uri).await;
        response.assert_error(503, "store_needs_upgrade");
        let message = response.json()["error"]["message"].to_string();
        assert!(message.contains("verify --rebuild"), "{uri}: {message}");
    }
    let body = json!({"sha": "d1d1d1d", "action": "deploy", "engineer": "dora"});
    let refused = legacy.post_event(&body.to_string(), &[]).await;
    refused.assert_error(503, "store_needs_upgrade");
    // An event by id reads its id item, which the upgrade does not change. One stored before
    // events had services is the default service's.
    let event = legacy.get("/events/3").await.json();
    assert_eq!(event["service"], "octo-org/legacy");
    // Nor does an import write into an old layout.
    let events =
        pipeline_events_api::events::Services::from_records(fixture_records(), "default").unwrap();
    let error = import(store, &events, |_| {}).await.unwrap_err();
    assert!(error.contains("verify --rebuild"), "{error}");

    let upgrade = verify(store, true).await.unwrap();
    assert!(upgrade.repaired > 0 && !upgrade.is_exact(), "{upgrade:?}");
    let after = verify(store, false).await.unwrap();
    assert!(after.is_exact(), "{after:?}");

    let listed = legacy.get("/events").await.json();
    for event in listed["events"].as_array().unwrap() {
        let expected = if event["id"] == 3 {
            "octo-org/legacy"
        } else {
            "default"
        };
        assert_eq!(event["service"], expected, "{event}");
    }
    assert_eq!(listed["events"].as_array().unwrap().len(), 8);
    assert_eq!(legacy.post_event(&body.to_string(), &[]).await.status, 201);
    // The same file imported again finds every event stored: one without `svc` is the default
    // service's, as the file's records that name none.
    let report = import(store, &events, |_| {}).await.unwrap();
    assert_eq!(
        (
            report.written,
            report.already_stored,
            report.aggregates_updated
        ),
        (0, 8, 0),
        "{report:?}"
    );
}

/// What layout 2 (before lead time from the commit) held: no places or ships, commits without
/// their commit event, delivery days with `staged` for `started`/`resolved`/`from_commit`, all
/// counted for three action names.
async fn as_layout_2(store: &DynamoDbStore) {
    let client = store.client().await;
    let items = crate::support::moto::every_item(store).await;
    let three = AttributeValue::S("deploy stage rollback".into());
    for item in &items {
        let pk = item["pk"].as_s().unwrap().clone();
        let update = |expression: &str| {
            client
                .update_item()
                .table_name(store.table())
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .update_expression(expression)
        };
        if pk.ends_with("#ORDER") || pk.ends_with("#SHIPS") {
            (client.delete_item().table_name(store.table()))
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .send()
                .await
                .unwrap();
        } else if pk == "META" || pk == "SERVICES" {
            let request = update("SET delivery_counted = :three, layout = :two")
                .expression_attribute_values(":three", three.clone())
                .expression_attribute_values(":two", AttributeValue::N("2".into()));
            let request = match pk.as_str() {
                "META" => request,
                _ => update("SET delivery_counted = :three")
                    .expression_attribute_values(":three", three.clone()),
            };
            request.send().await.unwrap();
        } else if pk.contains("#COMMIT#") {
            update("REMOVE #commit, pushed_id")
                .expression_attribute_names("#commit", "commit")
                .send()
                .await
                .unwrap();
        } else if pk.contains("DLV#") {
            update("SET staged = :none, #counted = :three REMOVE from_commit, started, resolved")
                .expression_attribute_names("#counted", "counted")
                .expression_attribute_values(":none", AttributeValue::M(HashMap::new()))
                .expression_attribute_values(":three", three.clone())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_table_from_before_lead_time_from_the_commit_is_503_until_verify_rebuild_upgrades_it() {
    let mut records = fixture_records();
    let last = records.iter().map(|r| r.id).max().unwrap();
    let deployed = (records.iter())
        .find(|r| r.action == "deploy")
        .expect("the fixture deploys")
        .clone();
    // Two commits pushed an hour before the fixture's first deploy, the later of them deployed.
    for (n, sha) in ["0a0a0a0", deployed.sha.as_str()].into_iter().enumerate() {
        records.push(RawEvent {
            id: last + 1 + n as u64,
            sha: sha.to_owned(),
            date: deployed.date - 3_600,
            action: "commit".into(),
            ..deployed.clone()
        });
    }
    let app = TestApp::with_records_on(records.clone(), Backend::DynamoDb);
    let memory = TestApp::with_records_on(records, Backend::Memory);
    let store = app.dynamodb().expect("a DynamoDB app");
    let wanted = memory.get("/metrics/delivery").await.json();
    assert_eq!(wanted["total"]["lead_time"]["started_at_commit"], 2);
    assert_eq!(app.get("/metrics/delivery").await.json(), wanted);

    as_layout_2(store).await;
    let old = TestApp::on(
        Store::DynamoDb(Box::new(DynamoDbStore::new(
            store.table().to_owned(),
            Some(patient_dynamodb_config(&Moto::shared().endpoint())),
        ))),
        MetadataSource::build_time("test".into()),
    );
    old.get("/metrics/delivery")
        .await
        .assert_error(503, "store_needs_upgrade");
    let body = json!({"sha": "d1d1d1d", "action": "commit", "engineer": "dora"});
    let refused = old.post_event(&body.to_string(), &[]).await;
    refused.assert_error(503, "store_needs_upgrade");

    let upgrade = verify(store, true).await.unwrap();
    assert!(upgrade.repaired > 0 && !upgrade.is_exact(), "{upgrade:?}");
    let after = verify(store, false).await.unwrap();
    assert!(after.is_exact(), "{after:?}");
    assert_eq!(old.get("/metrics/delivery").await.json(), wanted);
}

/// A deploy dated before the pushes of the 50 commits it ships would move their facts on 50
/// days at once, the service's and the store's: more than a transaction holds. Refused with a
/// 4xx that says why, and nothing recorded; a deploy dated after them is recorded.
#[tokio::test]
async fn a_deploy_too_spread_for_one_transaction_is_422() {
    let app = TestApp::with_records_on(Vec::new(), Backend::DynamoDb);
    let day = |n: i64| {
        chrono::DateTime::from_timestamp(1_509_321_600 + n * 86_400, 0)
            .unwrap()
            .to_rfc3339()
    };
    for n in 1..=50 {
        let sha = format!("{n:07x}");
        let body = json!({"sha": sha, "action": "commit", "engineer": "dora", "timestamp": day(n)});
        assert_eq!(app.post_event(&body.to_string(), &[]).await.status, 201);
    }
    let early = json!({"sha": format!("{:07x}", 50), "action": "deploy", "engineer": "dora", "timestamp": day(0)});
    let refused = app.post_event(&early.to_string(), &[]).await;
    refused.assert_error(422, "event_too_spread");
    let listed = app.get("/events?limit=100").await.json();
    assert_eq!(listed["events"].as_array().unwrap().len(), 50);
    let late = json!({"sha": format!("{:07x}", 50), "action": "deploy", "engineer": "dora", "timestamp": day(51)});
    assert_eq!(app.post_event(&late.to_string(), &[]).await.status, 201);
    let metrics = app
        .get("/metrics/delivery?from=2017-10-30&to=2017-12-31")
        .await
        .json();
    assert_eq!(metrics["total"]["lead_time"]["started_at_commit"], 50);
}

/// Pushes, stages and deploys of one service's commits sent all at once: every write that
/// places or ships commits moves the service's turn, so whatever order they land in, the facts
/// are the events' (verify recomputes them from the events and finds each one), and the
/// figures the memory store's from the same events.
#[tokio::test]
async fn concurrent_pushes_and_deploys_of_one_service_leave_exact_facts() {
    let app = std::sync::Arc::new(TestApp::with_records_on(Vec::new(), Backend::DynamoDb));
    let at = |minutes: i64| {
        chrono::DateTime::from_timestamp(1_509_354_000 + minutes * 60, 0)
            .unwrap()
            .to_rfc3339()
    };
    let mut bodies = Vec::new();
    for n in 0..12i64 {
        let sha = format!("{n:07x}");
        bodies
            .push(json!({"sha": sha, "action": "commit", "engineer": "dora", "timestamp": at(n)}));
        if n % 3 == 1 {
            bodies.push(
                json!({"sha": sha, "action": "stage", "engineer": "dora", "timestamp": at(n + 1)}),
            );
        }
        if n % 4 == 3 {
            bodies.push(json!({"sha": sha, "action": "deploy", "engineer": "dora", "timestamp": at(n + 30)}));
        }
    }
    // Tasks on the test's runtime: they interleave at every await, where the races are.
    let posts: Vec<_> = (bodies.iter().cloned())
        .map(|body| {
            let app = app.clone();
            tokio::spawn(async move { app.post_event(&body.to_string(), &[]).await.status })
        })
        .collect();
    for post in posts {
        assert_eq!(post.await.expect("the post ran"), 201);
    }
    let store = app.dynamodb().expect("a DynamoDB app");
    let report = verify(store, false).await.unwrap();
    assert!(report.is_exact(), "{report:?}");
    // The same events, as recorded, in the memory store.
    let listed = app.get("/events?limit=100").await.json();
    let records: Vec<RawEvent> = (listed["events"].as_array().unwrap().iter())
        .map(|event| RawEvent {
            id: event["id"].as_u64().unwrap(),
            sha: event["sha"].as_str().unwrap().to_owned(),
            date: chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().unwrap())
                .unwrap()
                .timestamp(),
            action: event["action"].as_str().unwrap().to_owned(),
            engineer: "dora".into(),
            service: None,
        })
        .collect();
    assert_eq!(records.len(), bodies.len());
    let memory = TestApp::with_records_on(records, Backend::Memory);
    let uri = "/metrics/delivery?from=2017-10-30&to=2017-10-31";
    let figures = app.get(uri).await.json();
    assert_eq!(figures, memory.get(uri).await.json());
    assert_eq!(figures["total"]["lead_time"]["started_at_commit"], 12);
}
