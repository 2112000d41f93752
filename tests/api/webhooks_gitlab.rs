//! `POST /webhooks/gitlab`, on every store, with GitLab's documented payloads
//! (`tests/fixtures/gitlab`, copied from its docs).

use axum::http::Method;
use serde_json::{Value, json};

use crate::each_store;
use crate::support::app::TestResponse;
use crate::support::webhooks::{count_events, without_id};
use crate::support::{Backend, TestApp};

pub const TOKEN: &str = "the token GitLab sends now";
const PREVIOUS: &str = "the token before the rotation";
const SERVICE: &str = "root/test-deployment-webhooks";
const SERVICE_EVENTS: &str = "/events?service=root/test-deployment-webhooks";

pub fn app(backend: Backend) -> TestApp {
    TestApp::fixture_on(backend).with_gitlab_tokens(&[TOKEN, PREVIOUS])
}

/// GitLab's documented example of `name` (`deployment-hook`, `push-hook`), a deployment made
/// an hour old (its own date, 2021, is older than the week a delivery is remembered) and
/// written as GitLab writes a time.
pub fn example(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/gitlab/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut example: Value =
        serde_json::from_slice(&std::fs::read(path).expect("the fixture")).expect("JSON");
    if example["object_kind"] == "deployment" {
        example["status_changed_at"] = json!(changed_at().0);
    }
    example
}

/// An hour before the tests ran, as GitLab writes it (at +0200, as its example), and as the
/// API writes it: taken once, so that every test compares with the instant it sent.
fn changed_at() -> &'static (String, String) {
    static CHANGED_AT: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| {
        let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        let offset = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        let gitlab = an_hour_ago
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S %z");
        let api = an_hour_ago.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        (gitlab.to_string(), api)
    });
    &CHANGED_AT
}

pub async fn deliver(
    app: &TestApp,
    event: &str,
    body: &Value,
    token: Option<&str>,
) -> TestResponse {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-gitlab-event", event),
        (
            "x-gitlab-event-uuid",
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        ),
    ];
    if let Some(token) = token {
        headers.push(("x-gitlab-token", token));
    }
    let body = serde_json::to_vec(body).expect("JSON");
    app.post("/webhooks/gitlab", body, &headers).await
}

async fn the_documented_deployment_is_recorded_once(backend: Backend) {
    let app = app(backend);
    let hook = example("deployment-hook");
    let first = deliver(&app, "Deployment Hook", &hook, Some(TOKEN)).await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let events = first.json()["events"].clone();
    // Read from the documented payload by hand: the full SHA ends `commit_url`, the time is
    // `status_changed_at` (at +0200), the environment `staging` is not a deploy one.
    assert_eq!(
        events
            .as_array()
            .map(|events| events.iter().map(without_id).collect::<Vec<_>>()),
        Some(vec![json!({
            "sha": "279484c09fbe69ededfced8c1bb6e6d24616b468",
            "action": "stage",
            "engineer": "root",
            "timestamp": changed_at().1,
            "service": "root/test-deployment-webhooks",
        })])
    );
    // A redelivery, or another delivery of the same deployment's success, records nothing.
    let again = deliver(&app, "Deployment Hook", &hook, Some(PREVIOUS)).await;
    assert_eq!((again.status, again.json()), (first.status, first.json()));
    assert_eq!(app.get(SERVICE_EVENTS).await.json()["events"], events);
    assert_eq!(count_events(&app, SERVICE).await, 9);
}

async fn the_status_and_environment_decide(backend: Backend) {
    let app = app(backend);
    let mut hook = example("deployment-hook");
    for (id, environment, action) in [
        (100, "production", "deploy"),
        (101, "review/fix-1", "stage"),
    ] {
        hook["deployment_id"] = json!(id);
        hook["environment"] = json!(environment);
        let response = deliver(&app, "Deployment Hook", &hook, Some(TOKEN)).await;
        assert_eq!(response.status, 200, "{environment}");
        assert_eq!(
            response.json()["events"][0]["action"],
            action,
            "{environment}"
        );
    }
    for status in ["running", "failed", "canceled", "created", "blocked"] {
        hook["deployment_id"] = json!(200);
        hook["status"] = json!(status);
        let response = deliver(&app, "Deployment Hook", &hook, Some(TOKEN)).await;
        assert_eq!(response.status, 202, "{status}");
        let reason = response.json()["ignored"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(reason.contains(status), "{reason}");
    }
    // A tag's push is not read: ignored, and nothing recorded.
    let response = deliver(&app, "Tag Push Hook", &example("push-hook"), Some(TOKEN)).await;
    assert_eq!(response.status, 202);
    assert_eq!(count_events(&app, SERVICE).await, 10);
}

async fn a_token_that_is_not_configured_is_401_without_a_hint(backend: Backend) {
    let app = app(backend);
    let hook = example("deployment-hook");
    for token in [
        Some("a token retired long ago"),
        Some(""),
        Some("the token GitLab sends no"),
        None,
    ] {
        let response = deliver(&app, "Deployment Hook", &hook, token).await;
        let message = response.assert_error(401, "invalid_signature");
        assert_eq!(
            message, "The delivery's signature does not verify.",
            "{token:?}"
        );
        assert_eq!(response.header("www-authenticate"), None);
    }
    assert_eq!(count_events(&app, SERVICE).await, 8);
    let unconfigured = TestApp::fixture_on(backend);
    let response = deliver(&unconfigured, "Deployment Hook", &hook, Some(TOKEN)).await;
    response.assert_error(404, "webhook_not_configured");
}

async fn bodies_that_are_not_the_named_event_are_400(backend: Backend) {
    let app = app(backend);
    let mut hook = example("deployment-hook");
    hook["status_changed_at"] = json!("yesterday");
    let message = deliver(&app, "Deployment Hook", &hook, Some(TOKEN))
        .await
        .assert_error(400, "invalid_payload");
    assert!(message.contains("status_changed_at"), "{message}");
    let mut hook = example("deployment-hook");
    hook["commit_url"] = json!("http://example.com/root/x/-/commit/279484c0");
    let message = deliver(&app, "Deployment Hook", &hook, Some(TOKEN))
        .await
        .assert_error(400, "invalid_payload");
    assert!(
        message.contains("sha") || message.contains("SHA"),
        "{message}"
    );
    let push = example("push-hook");
    deliver(&app, "Deployment Hook", &push, Some(TOKEN))
        .await
        .assert_error(400, "invalid_payload");
    deliver(&app, "Push Hook", &json!([1]), Some(TOKEN))
        .await
        .assert_error(400, "invalid_payload");
    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-gitlab-event", "Deployment Hook"),
        ("x-gitlab-token", TOKEN),
    ];
    let body = serde_json::to_vec(&example("deployment-hook")).unwrap();
    app.post("/webhooks/gitlab", body, &form)
        .await
        .assert_error(415, "unsupported_media_type");
    assert_eq!(count_events(&app, SERVICE).await, 8);
    let response = app.request(Method::GET, "/webhooks/gitlab").await;
    response.assert_error(405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("POST"));
}

each_store!(
    the_documented_deployment_is_recorded_once,
    the_status_and_environment_decide,
    a_token_that_is_not_configured_is_401_without_a_hint,
    bodies_that_are_not_the_named_event_are_400,
);
