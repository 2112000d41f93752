//! `POST /webhooks/github`, on every store, with GitHub's own example payloads
//! (`@octokit/webhooks-examples`) signed by Python's `hmac`.

use axum::http::Method;
use serde_json::{Value, json};

use crate::each_store;
use crate::support::app::TestResponse;
use crate::support::webhooks::{count_events, github_examples, github_signature, without_id};
use crate::support::{Backend, TestApp};

pub const SECRET: &str = "the secret GitHub signs with now";
const PREVIOUS: &str = "the secret before the rotation";
const SERVICE: &str = "Codertocat/Hello-World";
const SERVICE_EVENTS: &str = "/events?service=Codertocat/Hello-World";
const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

pub fn app(backend: Backend) -> TestApp {
    TestApp::fixture_on(backend).with_github_secrets(&[SECRET, PREVIOUS])
}

/// A delivery of `event` as GitHub sends it, `body` signed under `secret`.
pub async fn deliver(app: &TestApp, event: &str, body: &[u8], secret: &str) -> TestResponse {
    let signature = github_signature(secret, body);
    deliver_signed(app, event, body.to_vec(), &signature).await
}

pub async fn deliver_signed(
    app: &TestApp,
    event: &str,
    body: Vec<u8>,
    signature: &str,
) -> TestResponse {
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", event),
        ("x-github-delivery", DELIVERY),
        ("x-hub-signature-256", signature),
    ];
    app.post("/webhooks/github", body, &headers).await
}

pub fn success_example() -> Value {
    (deployment_status_examples().into_iter())
        .find(|example| example["deployment_status"]["state"] == "success")
        .expect("GitHub has an example of a successful deployment")
}

/// GitHub's `deployment_status` examples, each status made an hour old: their own dates (2019,
/// 2022) are older than the week a delivery is remembered, and so refused as replays (see
/// `a_delivery_older_than_a_week_is_ignored_as_a_replay`).
fn deployment_status_examples() -> Vec<Value> {
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let created_at = an_hour_ago.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut examples = github_examples("deployment_status");
    for example in &mut examples {
        example["deployment_status"]["created_at"] = json!(created_at);
    }
    examples
}

pub fn body_of(example: &Value) -> Vec<u8> {
    serde_json::to_vec(example).expect("JSON")
}

/// The event a successful deployment status records, read from the payload by hand.
fn expected_event(example: &Value, action: &str) -> Value {
    json!({
        "sha": example["deployment"]["sha"],
        "action": action,
        "engineer": example["deployment"]["creator"]["login"],
        "timestamp": example["deployment_status"]["created_at"],
        "service": example["repository"]["full_name"],
    })
}

async fn every_deployment_status_example_is_recorded_once_or_ignored_by_its_state(
    backend: Backend,
) {
    let app = app(backend);
    let mut recorded: Vec<Value> = Vec::new();
    for example in deployment_status_examples() {
        let response = deliver(&app, "deployment_status", &body_of(&example), SECRET).await;
        let state = example["deployment_status"]["state"]
            .as_str()
            .expect("a state");
        if state != "success" {
            assert_eq!(response.status, 202, "{state}");
            let reason = response.json()["ignored"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(reason.contains(state), "{reason}");
            continue;
        }
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        let events = response.json()["events"].clone();
        let [event] = events.as_array().expect("a list").as_slice() else {
            panic!("one event: {events}");
        };
        assert_eq!(without_id(event), expected_event(&example, "deploy"));
        if !recorded.contains(event) {
            recorded.push(event.clone());
        }
    }
    // GitHub's success examples are one deployment status (one id), delivered with other
    // fields around it: one event, answered each time.
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        app.get(SERVICE_EVENTS).await.json()["events"],
        json!(recorded)
    );
    assert_eq!(recorded[0]["id"], 9, "after the fixture's 8 events");
}

/// Requests sent to DynamoDB while `delivery` ran (0 on the memory store).
pub async fn requests_for(
    app: &TestApp,
    delivery: impl std::future::Future<Output = TestResponse>,
) -> (TestResponse, u64) {
    let before = app.dynamodb().map_or(0, |store| store.requests());
    let response = delivery.await;
    (
        response,
        app.dynamodb().map_or(0, |store| store.requests()) - before,
    )
}

async fn a_redelivery_answers_the_same_and_records_nothing(backend: Backend) {
    let app = app(backend);
    let body = body_of(&success_example());
    let dynamodb = backend == Backend::DynamoDb;
    // A deploy recorded under its identity: the README's "What each route costs".
    let (first, requests) =
        requests_for(&app, deliver(&app, "deployment_status", &body, SECRET)).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        requests,
        if dynamodb { 5 } else { 0 },
        "GetItem, UpdateItem, 2 BatchGetItem, TransactWriteItems"
    );
    for _ in 0..2 {
        let (again, requests) =
            requests_for(&app, deliver(&app, "deployment_status", &body, SECRET)).await;
        assert_eq!((again.status, again.json()), (first.status, first.json()));
        assert_eq!(requests, u64::from(dynamodb), "one GetItem");
    }
    let ping = body_of(&github_examples("ping").remove(0));
    let (_, requests) = requests_for(&app, deliver(&app, "ping", &ping, SECRET)).await;
    assert_eq!(requests, 0);
    assert_eq!(
        app.get(SERVICE_EVENTS).await.json()["events"],
        first.json()["events"]
    );
    assert_eq!(count_events(&app, SERVICE).await, 9);
}

async fn concurrent_deliveries_of_one_status_record_one_event(backend: Backend) {
    let app = std::sync::Arc::new(app(backend));
    let body = body_of(&success_example());
    let signature = github_signature(SECRET, &body);
    // Tasks on the test's runtime: they interleave at every await, where the stores' races are.
    let deliveries: Vec<_> = (0..8)
        .map(|_| {
            let (app, body, signature) = (app.clone(), body.clone(), signature.clone());
            tokio::spawn(async move {
                deliver_signed(&app, "deployment_status", body, &signature).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for delivery in deliveries {
        answers.push(delivery.await.expect("the delivery ran"));
    }
    let first = answers[0].json();
    for answer in &answers {
        assert_eq!(
            (answer.status.as_u16(), answer.json()),
            (200, first.clone())
        );
    }
    let listed = app.get(SERVICE_EVENTS).await.json()["events"].clone();
    assert_eq!(listed, first["events"]);
}

async fn the_environment_decides_deploy_or_stage(backend: Backend) {
    let app = app(backend);
    let mut example = success_example();
    for (id, environment, action) in [
        (1, "staging", "stage"),
        (2, "Production", "deploy"),
        (3, "prod", "deploy"),
        (4, "production-eu", "stage"),
    ] {
        example["deployment_status"]["id"] = json!(id);
        example["deployment"]["environment"] = json!(environment);
        let response = deliver(&app, "deployment_status", &body_of(&example), SECRET).await;
        assert_eq!(response.status, 200, "{environment}");
        let event = without_id(&response.json()["events"][0]);
        assert_eq!(event, expected_event(&example, action), "{environment}");
    }
}

async fn a_ping_is_answered_and_other_events_are_ignored(backend: Backend) {
    let app = app(backend);
    for example in github_examples("ping") {
        let response = deliver(&app, "ping", &body_of(&example), SECRET).await;
        assert_eq!(
            (response.status.as_u16(), response.json()),
            (200, json!({"events": []}))
        );
    }
    for event in ["issues", "deployment", "workflow_run"] {
        let example = github_examples(event).remove(0);
        let response = deliver(&app, event, &body_of(&example), SECRET).await;
        assert_eq!(response.status, 202, "{event}");
        let reason = response.json()["ignored"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(reason.contains(event), "{event}: {reason}");
    }
    assert_eq!(count_events(&app, SERVICE).await, 8);
}

async fn a_signature_that_does_not_verify_is_401_without_a_hint(backend: Backend) {
    let app = app(backend);
    let body = body_of(&success_example());
    let right = github_signature(SECRET, &body);
    let mut altered = body.clone();
    let at = altered.len() / 2;
    altered[at] ^= 1;
    let upper = format!("sha256={}", right["sha256=".len()..].to_ascii_uppercase());
    let cases: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        (
            "a retired secret",
            body.clone(),
            Some(github_signature("a secret retired long ago", &body)),
        ),
        (
            "the body altered after signing",
            altered,
            Some(right.clone()),
        ),
        (
            "truncated",
            body.clone(),
            Some(right[..right.len() - 2].to_owned()),
        ),
        (
            "without its prefix",
            body.clone(),
            Some(right["sha256=".len()..].to_owned()),
        ),
        (
            "SHA-1's header format",
            body.clone(),
            Some(right.replace("sha256=", "sha1=")),
        ),
        (
            "not hex",
            body.clone(),
            Some(format!("sha256={}", "z".repeat(64))),
        ),
        ("empty", body.clone(), Some(String::new())),
        ("missing", body.clone(), None),
    ];
    for (case, body, signature) in cases {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("x-github-event", "deployment_status"),
        ];
        if let Some(signature) = &signature {
            headers.push(("x-hub-signature-256", signature));
        }
        let response = app.post("/webhooks/github", body, &headers).await;
        let message = response.assert_error(401, "invalid_signature");
        assert_eq!(
            message, "The delivery's signature does not verify.",
            "{case}"
        );
        assert_eq!(response.header("www-authenticate"), None, "{case}");
    }
    // The previous secret, during a rotation, and hex of either case are accepted.
    let previous = deliver(&app, "deployment_status", &body, PREVIOUS).await;
    assert_eq!(previous.status, 200);
    let response = deliver_signed(&app, "deployment_status", body.clone(), &upper).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        app.get(SERVICE_EVENTS).await.json()["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn a_delivery_older_than_a_week_is_ignored_as_a_replay(backend: Backend) {
    let app = app(backend);
    // GitHub's example as it is: a status of 2019. A body kept and sent again after its
    // identity is forgotten would otherwise be recorded a second time.
    let example = (github_examples("deployment_status").into_iter())
        .find(|example| example["deployment_status"]["state"] == "success")
        .unwrap();
    let response = deliver(&app, "deployment_status", &body_of(&example), SECRET).await;
    assert_eq!(response.status, 202);
    let reason = response.json()["ignored"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("older than the week"), "{reason}");
    // Just inside the week (less the margin) it is recorded.
    let mut recent = example.clone();
    let six_days = chrono::Utc::now() - chrono::Duration::days(6);
    recent["deployment_status"]["created_at"] = json!(six_days.to_rfc3339());
    let response = deliver(&app, "deployment_status", &body_of(&recent), SECRET).await;
    assert_eq!(response.status, 200);
    assert_eq!(count_events(&app, SERVICE).await, 9);
}

async fn without_a_secret_the_route_is_404(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let body = body_of(&success_example());
    let response = deliver(&app, "deployment_status", &body, SECRET).await;
    response.assert_error(404, "webhook_not_configured");
}

async fn bodies_that_are_not_the_named_event_are_400_and_larger_than_5_mb_413(backend: Backend) {
    let app = app(backend);
    let ping = body_of(&github_examples("ping").remove(0));
    let response = deliver(&app, "deployment_status", &ping, SECRET).await;
    let message = response.assert_error(400, "invalid_payload");
    assert!(message.contains("deployment_status"), "{message}");
    // Every payload GitHub sends is an object, also of an event the route ignores.
    for (event, body) in [
        ("deployment_status", &b"not json"[..]),
        ("issues", b"[1]"),
        ("ping", br#"{"zen": "cut sh"#),
    ] {
        let response = deliver(&app, event, body, SECRET).await;
        response.assert_error(400, "invalid_payload");
    }
    // A deployment whose sha is not a commit's, or whose repository is not a service name.
    let mut example = success_example();
    example["deployment"]["sha"] = json!("main");
    let response = deliver(&app, "deployment_status", &body_of(&example), SECRET).await;
    let message = response.assert_error(400, "invalid_payload");
    assert!(message.contains("sha"), "{message}");

    let mut large = body_of(&success_example());
    large.pop();
    large.extend(format!(r#","padding":"{}"}}"#, "x".repeat(5 * 1024 * 1024)).bytes());
    let response = deliver(&app, "deployment_status", &large, SECRET).await;
    response.assert_error(413, "payload_too_large");

    let body = body_of(&success_example());
    let signature = github_signature(SECRET, &body);
    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-github-event", "deployment_status"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let response = app.post("/webhooks/github", body, &form).await;
    response.assert_error(415, "unsupported_media_type");
    assert_eq!(count_events(&app, SERVICE).await, 8);

    let response = app.request(Method::GET, "/webhooks/github").await;
    response.assert_error(405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("POST"));
}

each_store!(
    every_deployment_status_example_is_recorded_once_or_ignored_by_its_state,
    a_redelivery_answers_the_same_and_records_nothing,
    concurrent_deliveries_of_one_status_record_one_event,
    the_environment_decides_deploy_or_stage,
    a_ping_is_answered_and_other_events_are_ignored,
    a_signature_that_does_not_verify_is_401_without_a_hint,
    a_delivery_older_than_a_week_is_ignored_as_a_replay,
    without_a_secret_the_route_is_404,
    bodies_that_are_not_the_named_event_are_400_and_larger_than_5_mb_413,
);

// The local server with EVENTS_FILE: a delivery's identity outlives a restart, for a week.

use crate::support::binary::{LocalServer, http_get, http_request};
use crate::support::temp::TempDir;

fn deliver_to(server: &LocalServer, body: &[u8]) -> (u16, Value) {
    let body = std::str::from_utf8(body).expect("GitHub's examples are UTF-8");
    let signature = github_signature(SECRET, body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "deployment_status"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, _, answer) =
        http_request(server.address, "POST", "/webhooks/github", &headers, body);
    (status, serde_json::from_str(&answer).expect("a JSON body"))
}

#[test]
fn a_delivery_is_remembered_across_a_restart_for_a_week_apart_from_clients_keys() {
    let dir = TempDir::new("webhook-file");
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, "").unwrap();
    let env = [
        ("EVENTS_FILE", file.to_str().unwrap()),
        ("GITHUB_WEBHOOK_SECRET", SECRET),
    ];
    let body = body_of(&success_example());
    let server = LocalServer::start(&env);
    let (status, first) = deliver_to(&server, &body);
    assert_eq!(status, 200, "{first}");
    // A client's key that spells the delivery's identity is another key: a new event.
    let status_id = success_example()["deployment_status"]["id"].to_string();
    let key = format!("github:deployment_status:{status_id}");
    let event = r#"{"sha":"abcdef0","action":"stage","engineer":"zoe"}"#;
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", key.as_str()),
    ];
    let (status, _, client) = http_request(server.address, "POST", "/events", &headers, event);
    assert_eq!(status, 201, "{client}");
    server.terminate();

    // Three days later (GitHub redelivers the last three): past a client key's 24 hours.
    let keys = dir.path().join("events.jsonl.keys");
    let three_days_ago = chrono::Utc::now().timestamp() - 3 * 86_400;
    let aged: String = std::fs::read_to_string(&keys)
        .unwrap()
        .lines()
        .map(|line| {
            let mut line: Value = serde_json::from_str(line).unwrap();
            line["received"] = json!(three_days_ago);
            format!("{line}\n")
        })
        .collect();
    assert_eq!(aged.lines().count(), 2, "{aged}");
    assert_eq!(aged.matches(r#""delivery":true"#).count(), 1, "{aged}");
    std::fs::write(&keys, aged).unwrap();

    let server = LocalServer::start(&env);
    let (status, again) = deliver_to(&server, &body);
    assert_eq!((status, &again), (200, &first));
    let (status, _, retried) = http_request(server.address, "POST", "/events", &headers, event);
    let retried: Value = serde_json::from_str(&retried).unwrap();
    assert_eq!(status, 201, "{retried}");
    assert_ne!(
        retried["id"],
        serde_json::from_str::<Value>(&client).unwrap()["id"]
    );
    let (_, _, listed) = http_get(server.address, SERVICE_EVENTS);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["events"], first["events"]);
    server.terminate();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);
}
