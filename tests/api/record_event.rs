//! `POST /events` and `GET /events/{id}`, on every store.

use pipeline_events_api::events::AllowedActions;
use serde_json::{Value, json};

use crate::each_store;
use crate::support::{Backend, TestApp};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
/// 2017-11-01T15:00:00Z: a day of the fixture.
const NOV_1_15H: &str = "2017-11-01T15:00:00Z";

fn body(engineer: &str, action: &str, timestamp: &str) -> String {
    json!({"sha": SHA, "action": action, "engineer": engineer, "timestamp": timestamp}).to_string()
}

async fn records_an_event_that_every_read_route_shows(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let response = app
        .post_event(&body("dora", "deploy", "2017-11-01T16:00:00+01:00"), &[])
        .await;
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let event = response.json();
    // Ids are new: greater than every id the store held (the fixture's go to 8).
    assert_eq!(event["id"], 9);
    assert_eq!(
        event,
        json!({"id": 9, "timestamp": NOV_1_15H, "sha": SHA, "action": "deploy", "engineer": "dora", "service": "default"})
    );
    assert_eq!(response.header("location"), Some("events/9"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("idempotent-replayed"), None);

    assert_eq!(app.get("/events/9").await.json(), event);
    let listed = app
        .get("/events?from=2017-11-01T14:00:00Z&to=2017-11-02")
        .await
        .json();
    assert_eq!(listed["events"].as_array().unwrap().last(), Some(&event));
    assert_eq!(
        app.get("/engineers/dora/events").await.json()["events"],
        json!([event])
    );
    let engineers = app.get("/engineers").await.json();
    let dora = engineers["engineers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "dora")
        .cloned();
    assert_eq!(
        dora,
        Some(
            json!({"name": "dora", "events": 1, "first_event": NOV_1_15H, "last_event": NOV_1_15H})
        )
    );
    let day = app
        .get("/summaries/daily?from=2017-11-01&to=2017-11-01")
        .await
        .json();
    // The fixture's Nov 1 had 4 events by 3 engineers, 2 of them deploys.
    assert_eq!(day["days"][0]["total"], 5);
    assert_eq!(day["days"][0]["engineers"], 4);
    assert_eq!(day["days"][0]["actions"]["deploy"], 3);
}

async fn ids_keep_growing_and_the_time_defaults_to_receipt(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let before = chrono::Utc::now().timestamp();
    let first = app
        .post_event(
            &json!({"sha": "ABCDEF0", "action": "stage", "engineer": "eve"}).to_string(),
            &[],
        )
        .await
        .json();
    let after = chrono::Utc::now().timestamp();
    assert_eq!(first["sha"], "abcdef0", "stored in lower case");
    let at = chrono::DateTime::parse_from_rfc3339(first["timestamp"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );
    let second = app
        .post_event(&body("eve", "stage", NOV_1_15H), &[])
        .await
        .json();
    assert_eq!(
        (first["id"].as_u64(), second["id"].as_u64()),
        (Some(9), Some(10))
    );
}

async fn a_retry_with_the_same_key_records_nothing_new(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let key = [("idempotency-key", "run-42-attempt-1")];
    let first = app
        .post_event(&body("fay", "deploy", NOV_1_15H), &key)
        .await;
    assert_eq!(first.status, 201);
    // The same request, spelled differently: other spacing, order and sha case.
    let again = format!(
        r#"{{ "timestamp": "{NOV_1_15H}", "engineer": "fay", "action": "deploy", "sha": "{}" }}"#,
        SHA.to_uppercase()
    );
    let retry = app.post_event(&again, &key).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.json(), first.json());
    assert_eq!(retry.header("location"), Some("events/9"));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(fay_events(&app).await, 1);

    let other = app
        .post_event(&body("fay", "rollback", NOV_1_15H), &key)
        .await;
    other.assert_error(422, "idempotency_key_reused");
    assert_eq!(fay_events(&app).await, 1);

    // Another key, or none, is another event.
    let second = app
        .post_event(
            &body("fay", "deploy", NOV_1_15H),
            &[("idempotency-key", "run-43")],
        )
        .await;
    assert_eq!(second.json()["id"], 10);
    let third = app.post_event(&body("fay", "deploy", NOV_1_15H), &[]).await;
    assert_eq!(third.json()["id"], 11);
    assert_eq!(fay_events(&app).await, 3);
}

async fn an_event_belongs_to_the_service_it_names_or_the_default(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let in_service = |action: &str, service: &str| {
        json!({"sha": SHA, "action": action, "engineer": "gus", "timestamp": NOV_1_15H, "service": service})
            .to_string()
    };
    let response = app
        .post_event(&in_service("deploy", "octo-org/web"), &[])
        .await;
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let event = response.json();
    assert_eq!(event["service"], "octo-org/web");
    assert_eq!(
        app.get(&format!("/events/{}", event["id"])).await.json(),
        event
    );
    let listed = app.get("/engineers/gus/events").await.json();
    assert_eq!(listed["events"], json!([event]));

    // Named or not, the default service is one service, and one request under a key.
    let key = [("idempotency-key", "default-service")];
    let unnamed = app.post_event(&body("gus", "stage", NOV_1_15H), &key).await;
    assert_eq!(unnamed.json()["service"], "default");
    let named = app.post_event(&in_service("stage", "default"), &key).await;
    assert_eq!(named.header("idempotent-replayed"), Some("true"));
    assert_eq!(named.json(), unnamed.json());
    // Another service under the same key is another request.
    app.post_event(&in_service("stage", "octo-org/api"), &key)
        .await
        .assert_error(422, "idempotency_key_reused");

    // A key's replay answers with the service it recorded.
    let key = [("idempotency-key", "named-service")];
    let first = app
        .post_event(&in_service("rollback", "octo-org/web"), &key)
        .await;
    let again = app
        .post_event(&in_service("rollback", "octo-org/web"), &key)
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(app.get("/engineers/gus/events").await.ids().len(), 3);

    for refused in [
        json!(""),
        json!("a b"),
        json!("x".repeat(256)),
        json!(7),
        json!(null),
    ] {
        let body = json!({"sha": SHA, "action": "deploy", "engineer": "gus", "service": refused});
        let response = app.post_event(&body.to_string(), &[]).await;
        response.assert_error(400, "invalid_service");
    }
    assert_eq!(app.get("/engineers/gus/events").await.ids().len(), 3);
}

async fn the_default_service_is_the_operators(backend: Backend) {
    let app = TestApp::fixture_on(backend).with_default_service("octo-org/monolith");
    let recorded = app
        .post_event(&body("hal", "deploy", NOV_1_15H), &[])
        .await
        .json();
    assert_eq!(recorded["service"], "octo-org/monolith");
    assert_eq!(
        app.get(&format!("/events/{}", recorded["id"])).await.json()["service"],
        "octo-org/monolith"
    );
}

async fn fay_events(app: &TestApp) -> usize {
    app.get("/engineers/fay/events").await.ids().len()
}

async fn first_and_last_hold_for_events_that_arrive_out_of_order(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    // alice's events run from 2017-10-30T09:00 to 2017-11-01T12:00.
    for at in [
        "2017-11-05T10:00:00Z",
        "2017-10-29T08:00:00Z",
        "2017-10-31T00:00:00Z",
    ] {
        assert_eq!(
            app.post_event(&body("alice", "stage", at), &[])
                .await
                .status,
            201
        );
    }
    let engineers = app.get("/engineers").await.json();
    assert_eq!(
        engineers["engineers"][0],
        json!({"name": "alice", "events": 6, "first_event": "2017-10-29T08:00:00Z", "last_event": "2017-11-05T10:00:00Z"})
    );
    // A day that had no events now has one, and the store's span grew on both sides.
    let days = app.get("/summaries/daily").await.json();
    let days = days["days"].as_array().unwrap();
    assert_eq!(days.first().unwrap()["date"], "2017-10-29");
    assert_eq!(days.last().unwrap()["date"], "2017-11-05");
    let oct_31 = days.iter().find(|d| d["date"] == "2017-10-31").unwrap();
    assert_eq!(
        (oct_31["total"].as_i64(), oct_31["engineers"].as_i64()),
        (Some(1), Some(1))
    );
    if let Some(store) = app.dynamodb() {
        let report = pipeline_events_api::store::dynamodb::maintenance::verify(store, false)
            .await
            .unwrap();
        assert!(report.is_exact(), "{report:?}");
        assert_eq!(report.events, 11);
    }
}

async fn an_event_is_found_by_its_id(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    assert_eq!(
        app.get("/events/3").await.json(),
        json!({"id": 3, "timestamp": "2017-10-30T10:00:00Z", "sha": "bbbb001", "action": "stage", "engineer": "bob", "service": "default"})
    );
    app.get("/events/99")
        .await
        .assert_error(404, "event_not_found");
    for bad in ["abc", "-1", "+3", "1.0", "99999999999999999999999"] {
        app.get(&format!("/events/{bad}"))
            .await
            .assert_error(400, "invalid_parameter");
    }
    app.get("/events/3?x=1")
        .await
        .assert_error(400, "unknown_parameter");
}

/// Bodies a client might send by mistake, each with the code it must get; none is recorded.
fn malformed_bodies() -> Vec<(String, &'static str)> {
    let valid = json!({"sha": SHA, "action": "deploy", "engineer": "gus"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body.to_string()
    };
    let mut cases: Vec<(String, &'static str)> = vec![
        (String::new(), "invalid_body"),
        ("   ".into(), "invalid_body"),
        ("null".into(), "invalid_body"),
        ("[]".into(), "invalid_body"),
        ("[{}]".into(), "invalid_body"),
        ("\"text\"".into(), "invalid_body"),
        ("42".into(), "invalid_body"),
        ("{".into(), "invalid_body"),
        ("{\"sha\":".into(), "invalid_body"),
        (format!("{valid}{valid}"), "invalid_body"),
        (format!("{valid},"), "invalid_body"),
        ("{'sha':'abcdef1'}".into(), "invalid_body"),
        ("{\"sha\":\"abcdef1\",}".into(), "invalid_body"),
        ("{\"sha\":\"\\ud800\"}".into(), "invalid_body"),
        ("{}".into(), "missing_field"),
        (without("sha"), "missing_field"),
        (without("action"), "missing_field"),
        (without("engineer"), "missing_field"),
        (with("id", json!(5)), "unknown_field"),
        (with("date", json!(5)), "unknown_field"),
        (with("Sha", json!(SHA)), "unknown_field"),
        (with("", json!(1)), "unknown_field"),
        (with("timestamp ", json!(NOV_1_15H)), "unknown_field"),
        (
            format!(r#"{{"sha":"{SHA}","sha":"{SHA}","action":"deploy","engineer":"gus"}}"#),
            "duplicate_field",
        ),
        (
            format!(r#"{{"sha":"{SHA}","action":"a","action":"b","engineer":"gus"}}"#),
            "duplicate_field",
        ),
    ];
    for sha in [
        json!("abcde1"),
        json!("abcdefg"),
        json!("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"),
        json!(" abcdef1"),
        json!("abc def1"),
        json!(""),
        json!(1234567),
        json!(null),
        json!(["abcdef1"]),
        json!({"sha": "abcdef1"}),
    ] {
        cases.push((with("sha", sha), "invalid_sha"));
    }
    for action in [
        json!(""),
        json!("Deploy"),
        json!("1deploy"),
        json!("_deploy"),
        json!("de ploy"),
        json!("deploy!"),
        json!("déploy"),
        json!("a".repeat(33)),
        json!(7),
        json!(null),
        json!(true),
    ] {
        cases.push((with("action", action), "invalid_action"));
    }
    for engineer in [
        json!(""),
        json!("x".repeat(129)),
        json!("é".repeat(129)),
        json!("tab\there"),
        json!("new\nline"),
        json!("nul\u{0}"),
        json!("del\u{7f}"),
        json!("c1\u{85}"),
        json!(3),
        json!(null),
        json!(["gus"]),
    ] {
        cases.push((with("engineer", engineer), "invalid_engineer"));
    }
    for timestamp in [
        json!(""),
        json!("yesterday"),
        json!("2017-11-01"),
        json!("2017-11-01T15:00:00"),
        json!("2017-13-01T15:00:00Z"),
        json!("2017-11-31T15:00:00Z"),
        json!("2017-11-01T25:00:00Z"),
        json!("1969-12-31T23:59:59Z"),
        json!("0001-01-01T00:00:00Z"),
        json!("9999-12-31T23:59:59Z"),
        json!(1_509_548_400),
        json!(null),
        json!({"at": NOV_1_15H}),
    ] {
        cases.push((with("timestamp", timestamp), "invalid_timestamp"));
    }
    cases
}

async fn malformed_bodies_get_a_code_and_record_nothing(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let cases = malformed_bodies();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    for (body, code) in &cases {
        let response = app.post_event(body, &[]).await;
        response.assert_error(400, code);
        assert!(
            !response.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("serde")
        );
    }
    assert_eq!(app.get("/events?limit=1000").await.ids().len(), 8);
    app.get("/engineers/gus/events")
        .await
        .assert_error(404, "engineer_not_found");
    // A valid body still records after all that, with the next id.
    let ok = app
        .post_event(
            &json!({"sha": SHA, "action": "deploy", "engineer": "gus"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(ok.json()["id"], 9);
}

async fn the_request_itself_is_checked_before_the_body(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let valid = body("hal", "deploy", NOV_1_15H);
    let with_type = |content_type: Option<&'static str>| {
        let mut request = axum::http::Request::builder().method("POST").uri("/events");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(axum::body::Body::from(valid.clone())).unwrap()
    };
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        app.send(with_type(content_type))
            .await
            .assert_error(415, "unsupported_media_type");
    }
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        assert_eq!(
            app.send(with_type(Some(content_type))).await.status,
            201,
            "{content_type}"
        );
    }
    let padded = format!(
        "{{\"sha\":\"{SHA}\",\"action\":\"deploy\",\"engineer\":\"hal\",\"x\":\"{}\"}}",
        "x".repeat(16 * 1024)
    );
    app.post_event(&padded, &[])
        .await
        .assert_error(413, "payload_too_large");
    for key in ["", &"k".repeat(256), "tab\there", "ünï"] {
        let mut request = axum::http::Request::builder()
            .method("POST")
            .uri("/events")
            .header("content-type", "application/json");
        if let Ok(value) = axum::http::HeaderValue::from_bytes(key.as_bytes()) {
            request = request.header("idempotency-key", value);
        }
        let response = app
            .send(request.body(axum::body::Body::from(valid.clone())).unwrap())
            .await;
        response.assert_error(400, "invalid_idempotency_key");
    }
    app.post_event(&valid, &[("idempotency-key", &"k".repeat(255))])
        .await
        .header("location")
        .expect("a 255-character key is fine");
    app.request(axum::http::Method::PUT, "/events")
        .await
        .assert_error(405, "method_not_allowed");
    assert_eq!(
        app.request(axum::http::Method::PUT, "/events")
            .await
            .header("allow"),
        Some("GET,HEAD,POST")
    );
    assert_eq!(app.get("/engineers/hal/events").await.ids().len(), 3);
}

/// A pipeline that sends a new action name per run would list every one in every day's
/// summary and in the store's totals: names outside the configured list are refused.
async fn an_action_outside_the_allowed_list_is_422_and_records_nothing(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    for action in ["deploy-1234", "build"] {
        let response = app.post_event(&body("gus", action, NOV_1_15H), &[]).await;
        let message = response.assert_error(422, "action_not_allowed");
        assert!(
            message.contains(action) && message.contains("commit, deploy, hotfix, rollback, stage"),
            "{message}"
        );
    }
    app.get("/engineers/gus/events")
        .await
        .assert_error(404, "engineer_not_found");
    let summary = app.get("/summaries/daily").await.json();
    assert!(!summary.to_string().contains("deploy-1234"), "{summary}");
    // A listed name records; the configured list decides.
    let hotfix = app.post_event(&body("gus", "hotfix", NOV_1_15H), &[]).await;
    assert_eq!(
        hotfix.status,
        201,
        "{}",
        String::from_utf8_lossy(&hotfix.body)
    );
    // A stack whose hotfix action has another name: `hotfix` is no longer always allowed.
    let renamed = pipeline_events_api::events::DeliveryActions {
        hotfix: "patch".into(),
        ..Default::default()
    };
    let state = (app.state.clone())
        .with_allowed_actions(AllowedActions::new(["build".to_owned()], &renamed).unwrap());
    let configured = TestApp {
        router: pipeline_events_api::app::router(state.clone()),
        state,
    };
    let build = configured
        .post_event(&body("gus", "build", NOV_1_15H), &[])
        .await;
    assert_eq!(build.status, 201);
    configured
        .post_event(&body("gus", "hotfix", NOV_1_15H), &[])
        .await
        .assert_error(422, "action_not_allowed");
    // A retry of an event recorded before the list was narrowed is still answered as it was.
    let key = [("idempotency-key", "before-narrowing")];
    let first = app
        .post_event(&body("hal", "hotfix", NOV_1_15H), &key)
        .await;
    assert_eq!(first.status, 201);
    let retried = configured
        .post_event(&body("hal", "hotfix", NOV_1_15H), &key)
        .await;
    assert_eq!(
        (retried.status, retried.header("idempotent-replayed")),
        (axum::http::StatusCode::CREATED, Some("true")),
        "{}",
        String::from_utf8_lossy(&retried.body)
    );
    assert_eq!(retried.json(), first.json());
}

each_store!(
    an_action_outside_the_allowed_list_is_422_and_records_nothing,
    records_an_event_that_every_read_route_shows,
    ids_keep_growing_and_the_time_defaults_to_receipt,
    a_retry_with_the_same_key_records_nothing_new,
    first_and_last_hold_for_events_that_arrive_out_of_order,
    an_event_is_found_by_its_id,
    an_event_belongs_to_the_service_it_names_or_the_default,
    the_default_service_is_the_operators,
    malformed_bodies_get_a_code_and_record_nothing,
    the_request_itself_is_checked_before_the_body,
);

// The local server: EVENTS_FILE, INGEST_TOKEN and the loopback rule, through the binary.

use crate::support::binary::{LocalServer, http_get, http_request, run_to_exit};
use crate::support::temp::TempDir;

const JSON: (&str, &str) = ("content-type", "application/json");

fn post(
    server: &LocalServer,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value, Vec<(String, String)>) {
    let (status, headers, body) = http_request(server.address, "POST", "/events", headers, body);
    (
        status,
        serde_json::from_str(&body).expect("a JSON body"),
        headers,
    )
}

#[test]
fn recorded_events_are_in_events_file_and_survive_a_restart() {
    let dir = TempDir::new("record-file");
    let file = dir.path().join("events.jsonl");
    // A last line without its newline: the first appended line must not join it.
    std::fs::write(
        &file,
        r#"{"id":41,"sha":"abcdef0","date":1509321600,"action":"deploy","engineer":"zoe"}"#,
    )
    .unwrap();
    let env = [("EVENTS_FILE", file.to_str().unwrap())];
    let server = LocalServer::start(&env);
    let key = ("idempotency-key", "restart-1");
    let (status, first, _) = post(&server, &[JSON, key], &body("zoe", "stage", NOV_1_15H));
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["id"], 42);
    let (_, second, _) = post(&server, &[JSON], &body("yan", "deploy", NOV_1_15H));
    assert_eq!(second["id"], 43);
    server.terminate();

    let lines: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON record per line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1],
        json!({"id": 42, "sha": SHA, "date": 1_509_548_400, "action": "stage", "engineer": "zoe", "service": "default"})
    );

    // A key whose event never reached the events file (an append that failed after its key
    // was written) is not taken for a recorded event.
    let keys = dir.path().join("events.jsonl.keys");
    let mut keys_text = std::fs::read_to_string(&keys).expect("the keys file");
    assert_eq!(keys_text.lines().count(), 1, "{keys_text}");
    keys_text.push_str(&format!(
        "{}\n",
        json!({"key": "lost-1", "fingerprint": "{}", "received": chrono::Utc::now().timestamp(),
               "event": {"id": 43, "sha": SHA, "date": 1, "action": "stage", "engineer": "nobody"}})
    ));
    std::fs::write(&keys, keys_text).unwrap();

    let server = LocalServer::start(&env);
    let (status, _, again) = http_get(server.address, "/events/43");
    assert_eq!(
        (status, serde_json::from_str::<Value>(&again).unwrap()),
        (200, second)
    );
    // The key recorded before the restart still answers its retry, and only its retry.
    let (status, replayed, headers) = post(&server, &[JSON, key], &body("zoe", "stage", NOV_1_15H));
    assert_eq!((status, &replayed), (201, &first));
    assert!(
        headers
            .iter()
            .any(|(name, value)| name == "idempotent-replayed" && value == "true"),
        "{headers:?}"
    );
    let (status, reused, _) = post(&server, &[JSON, key], &body("zoe", "deploy", NOV_1_15H));
    assert_eq!(
        (status, &reused["error"]["code"]),
        (422, &json!("idempotency_key_reused"))
    );
    let (_, third, _) = post(&server, &[JSON], &body("zoe", "deploy", NOV_1_15H));
    assert_eq!(third["id"], 44, "ids continue after the file's");
    let lost = ("idempotency-key", "lost-1");
    let (status, fourth, _) = post(&server, &[JSON, lost], &body("zoe", "deploy", NOV_1_15H));
    assert_eq!((status, &fourth["id"]), (201, &json!(45)), "{fourth}");
}

#[test]
fn a_last_line_a_crash_cut_short_is_cut_off_at_start() {
    // A power cut in the middle of an append leaves part of a line that was never
    // acknowledged (a record is answered once its whole line is synced): the next start cuts
    // it off instead of refusing the file.
    let dir = TempDir::new("record-torn");
    let file = dir.path().join("events.jsonl");
    let whole = r#"{"id":1,"sha":"abcdef0","date":1509321600,"action":"deploy","engineer":"zoe"}"#;
    std::fs::write(&file, format!("{whole}\n{{\"id\":2,\"sha\":\"abc")).unwrap();
    let server = LocalServer::start(&[("EVENTS_FILE", file.to_str().unwrap())]);
    assert_eq!(http_get(server.address, "/events/1").0, 200);
    let (status, recorded, _) = post(&server, &[JSON], &body("zoe", "stage", NOV_1_15H));
    assert_eq!((status, &recorded["id"]), (201, &json!(2)), "{recorded}");
    server.terminate();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with(&format!("{whole}\n{{\"id\":2,")), "{text}");
}

#[test]
fn one_process_at_a_time_writes_an_events_file() {
    let dir = TempDir::new("record-lock");
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, "").unwrap();
    let env = [("EVENTS_FILE", file.to_str().unwrap())];
    let server = LocalServer::start(&env);
    // A second server on the same file would give out the same ids: it does not start.
    let (status, log) = run_to_exit(&[
        ("EVENTS_FILE", file.to_str().unwrap()),
        ("BIND_ADDR", "127.0.0.1:0"),
    ]);
    assert!(!status.success());
    assert!(log.contains("in use by another process"), "{log}");
    // Nor does an import into it.
    let incoming = dir.path().join("incoming.jsonl");
    std::fs::write(
        &incoming,
        r#"{"id":7,"sha":"abcdef0","date":1509321600,"action":"deploy","engineer":"zoe"}"#,
    )
    .unwrap();
    let output = crate::support::binary::command(&env)
        .args(["import", incoming.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
    // Once the server has stopped, both work.
    server.terminate();
    let output = crate::support::binary::command(&env)
        .args(["import", incoming.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let server = LocalServer::start(&env);
    assert_eq!(http_get(server.address, "/events/7").0, 200);
}

#[test]
fn a_json_array_events_file_serves_reads_and_refuses_writes() {
    let dir = TempDir::new("record-array");
    let file = dir.path().join("events.json");
    // However much white space comes first, it is the array the loader reads.
    let content = " \n".repeat(300)
        + r#"[{"id":1,"sha":"abcdef0","date":1509321600,"action":"deploy","engineer":"zoe"}]"#;
    std::fs::write(&file, &content).unwrap();
    let server = LocalServer::start(&[("EVENTS_FILE", file.to_str().unwrap())]);
    let (status, error, _) = post(&server, &[JSON], &body("zoe", "deploy", NOV_1_15H));
    assert_eq!(
        (status, &error["error"]["code"]),
        (409, &json!("store_read_only")),
        "{error}"
    );
    assert_eq!(http_get(server.address, "/events/1").0, 200);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), content);
}

#[test]
fn with_ingest_token_a_post_needs_the_bearer_token() {
    const TOKEN: &str = "0123456789abcdef0123456789abcdef";
    let server = LocalServer::start(&[("INGEST_TOKEN", TOKEN)]);
    let event = body("ian", "deploy", NOV_1_15H);
    for authorization in [
        None,
        Some("Bearer wrong-token-wrong-token-wrong"),
        Some(&format!("Basic {TOKEN}")[..]),
    ] {
        let mut headers = vec![JSON];
        headers.extend(authorization.map(|value| ("authorization", value)));
        let (status, error, response_headers) = post(&server, &headers, &event);
        assert_eq!(
            (status, &error["error"]["code"]),
            (401, &json!("unauthorized")),
            "{authorization:?}"
        );
        assert!(response_headers.contains(&("www-authenticate".into(), "Bearer".into())));
        assert!(!error.to_string().contains(TOKEN));
    }
    let bearer = format!("Bearer {TOKEN}");
    let (status, event, _) = post(&server, &[JSON, ("authorization", &bearer)], &event);
    assert_eq!(status, 201, "{event}");
    // Reads need no token.
    assert_eq!(http_get(server.address, "/engineers/ian/events").0, 200);

    let (status, log) = run_to_exit(&[("INGEST_TOKEN", "short")]);
    assert!(!status.success());
    assert!(
        log.contains("INGEST_TOKEN") && !log.contains("short"),
        "{log}"
    );
}

#[test]
fn beyond_loopback_without_a_token_posts_are_refused() {
    // Listening on every interface; the test still connects through 127.0.0.1.
    let server = LocalServer::start(&[("BIND_ADDR", "0.0.0.0:0")]);
    let (status, error, _) = post(&server, &[JSON], &body("jo", "deploy", NOV_1_15H));
    assert_eq!(
        (status, &error["error"]["code"]),
        (403, &json!("writes_forbidden")),
        "{error}"
    );
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("INGEST_TOKEN")
    );
    assert_eq!(http_get(server.address, "/events?limit=1").0, 200);
}

// Exactly once on DynamoDB, under concurrency and failure.

/// 8 clients record 2 400 events into a table on moto, which is stopped in the middle and
/// started again 2 s later (requests in flight get no answer, whether moto had applied them or
/// not; the tables survive, as DynamoDB's do). Every event has an Idempotency-Key and a client
/// retries on any answer but 201 until it gets one. One event in ten is retried with its key
/// after its 201 (a replay), and one in ten is sent again under a new key (a duplicate the
/// pipeline meant: a second event). Afterwards the table holds exactly the acknowledged events,
/// once each, and every aggregate equals a recomputation from them (`verify`).
#[test]
fn concurrent_retried_posts_across_a_store_restart_record_each_event_once() {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use pipeline_events_api::metadata::MetadataSource;
    use pipeline_events_api::store::Store;
    use pipeline_events_api::store::dynamodb::DynamoDbStore;
    use pipeline_events_api::store::dynamodb::maintenance::verify;
    use pipeline_events_api::store::dynamodb::table::create_table;

    use crate::support::moto::{DurableMoto, dynamodb_config, patient_dynamodb_config};
    use crate::support::temp::TempDir;

    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 250;
    const ENGINEERS: [&str; 5] = ["ana", "ben", "cleo", "dev", "eli"];
    const ACTIONS: [&str; 3] = ["stage", "deploy", "rollback"];
    let copies = |n: usize| if n % 10 == 5 { 2 } else { 1 };
    let expected: usize = CLIENTS * (0..PER_CLIENT).map(copies).sum::<usize>();

    let scratch = TempDir::new("durable-moto");
    let mut moto = DurableMoto::start(scratch.path().join("tables.pickle"));
    let endpoint = moto.endpoint();
    let table = "restarted".to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let direct = DynamoDbStore::new(table.clone(), Some(patient_dynamodb_config(&endpoint)))
        .with_budget(Duration::from_secs(120));
    runtime
        .block_on(async { create_table(direct.client().await, &table).await })
        .unwrap();
    // The service's own timeouts, retries and write budget.
    let app = Arc::new(TestApp::on(
        Store::DynamoDb(Box::new(DynamoDbStore::new(
            table,
            Some(dynamodb_config(&endpoint)),
        ))),
        MetadataSource::build_time("test".into()),
    ));

    let done = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (acknowledged, _moto) = runtime.block_on(async {
        let mut clients = Vec::new();
        for client in 0..CLIENTS {
            let app = app.clone();
            let done = done.clone();
            let refused = refused.clone();
            clients.push(tokio::spawn(async move {
                // Sends until a 201 (a 503 while the store is away), with the key each time.
                let until_created = async |event: &str, key: &str| loop {
                    let response = app.post_event(event, &[("idempotency-key", key)]).await;
                    if response.status == 201 {
                        return response.json();
                    }
                    assert_eq!(
                        response.status,
                        503,
                        "{}",
                        String::from_utf8_lossy(&response.body)
                    );
                    refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                };
                let mut acknowledged = Vec::new();
                for n in 0..PER_CLIENT {
                    // Few days and engineers: concurrent writers meet on the same aggregates.
                    // Every client sends the same commits, each at its own minute and with its
                    // own action: they race to move each commit's first stage and first deploy,
                    // half of them in one service and half in another (the same sha, two
                    // commits), all of them on the store's days.
                    let at = format!("2024-03-{:02}T{:02}:{:02}:00Z", 1 + n % 3, n % 24, client);
                    const SERVICES: [&str; 2] = ["octo-org/web", "octo-org/api"];
                    let event = json!({
                        "sha": format!("{n:08x}"),
                        "action": ACTIONS[(n + client) % 3],
                        "engineer": ENGINEERS[(client + n) % ENGINEERS.len()],
                        "timestamp": at,
                        "service": SERVICES[client % 2],
                    })
                    .to_string();
                    let key = format!("client-{client}-event-{n}");
                    let first = until_created(&event, &key).await;
                    if n % 10 == 0 {
                        let replay = until_created(&event, &key).await;
                        assert_eq!(replay, first, "one key, one event");
                    }
                    if copies(n) == 2 {
                        let copy = until_created(&event, &format!("{key}-again")).await;
                        assert_ne!(copy["id"], first["id"], "a new key, a new event");
                        acknowledged.push(copy);
                    }
                    acknowledged.push(first);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                acknowledged
            }));
        }
        // Stop the store when about 40% are done; start it again 2 s later.
        while done.load(Ordering::Relaxed) < CLIENTS * PER_CLIENT * 2 / 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stopped = tokio::task::spawn_blocking(move || {
            moto.stop();
            std::thread::sleep(Duration::from_secs(2));
            moto.restart();
            moto
        });
        let moto = stopped.await.unwrap();
        let mut all: BTreeMap<u64, Value> = BTreeMap::new();
        for client in clients {
            for event in client.await.unwrap() {
                let id = event["id"].as_u64().unwrap();
                if let Some(earlier) = all.insert(id, event.clone()) {
                    panic!("id {id} acknowledged for two events: {earlier} and {event}");
                }
            }
        }
        (all, moto)
    });
    assert_eq!(acknowledged.len(), expected);
    // The stop did refuse requests: the retries were exercised.
    assert!(refused.load(Ordering::Relaxed) > 0);

    // What the table holds, read directly: every aggregate recomputed from the events...
    let report = runtime.block_on(verify(&direct, false)).unwrap();
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.events, expected, "no event stored twice or lost");
    // ...and the events exactly the acknowledged ones.
    let reader = TestApp::on(
        Store::DynamoDb(Box::new(direct)),
        MetadataSource::build_time("test".into()),
    );
    let stored: BTreeMap<u64, Value> = runtime.block_on(async {
        let first = "/events?from=2024-03-01&to=2024-03-03&limit=1000";
        let mut uri = first.to_owned();
        let mut stored = BTreeMap::new();
        loop {
            let page = reader.get(&uri).await.json();
            for event in page["events"].as_array().unwrap() {
                stored.insert(event["id"].as_u64().unwrap(), event.clone());
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => uri = format!("{first}&cursor={cursor}"),
                None => break stored,
            }
        }
    });
    assert!(
        stored == acknowledged,
        "the stored events are not the acknowledged ones"
    );
}
