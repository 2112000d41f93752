//! The webhooks' secrets as a deployed stack keeps them: SSM SecureString parameters, read by
//! the real aws-sdk-ssm client from moto_server, decrypted and cached.

use pipeline_events_api::webhooks::secrets::WebhookSecrets;

use crate::support::TestApp;
use crate::support::moto::{Moto, client_for};
use crate::support::webhooks::{github_examples, github_signature};

const PREFIX: &str = "/pipeline-events-api/test/webhooks";
const SECRET: &str = "the secret in SSM, 32 characters";
const PREVIOUS: &str = "the secret before it, also long";

fn app_reading(client: aws_sdk_ssm::Client) -> TestApp {
    TestApp::fixture_on(crate::support::Backend::Memory)
        .with_webhook_secrets(WebhookSecrets::ssm(PREFIX, Some(client)))
}

async fn ping(app: &TestApp, secret: &str) -> u16 {
    let body = serde_json::to_vec(&github_examples("ping")[0]).unwrap();
    let signature = github_signature(secret, &body);
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "ping"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    app.post("/webhooks/github", body, &headers)
        .await
        .status
        .as_u16()
}

async fn gitlab_status(app: &TestApp, token: &str) -> u16 {
    let headers = [
        ("content-type", "application/json"),
        ("x-gitlab-event", "Tag Push Hook"),
        ("x-gitlab-token", token),
    ];
    app.post("/webhooks/gitlab", b"{}".to_vec(), &headers)
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn the_secrets_are_read_from_secure_string_parameters() {
    let moto = Moto::start();
    moto.put_secure(&format!("{PREFIX}/github-secret"), SECRET)
        .await;
    moto.put_secure(&format!("{PREFIX}/github-secret-previous"), PREVIOUS)
        .await;
    let app = app_reading(moto.client());
    assert_eq!(ping(&app, SECRET).await, 200);
    assert_eq!(ping(&app, PREVIOUS).await, 200, "during a rotation");
    assert_eq!(ping(&app, "a secret in neither parameter").await, 401);
    // No GitLab token in SSM: that route is not configured.
    let response = app
        .post(
            "/webhooks/gitlab",
            b"{}".to_vec(),
            &[("x-gitlab-token", SECRET)],
        )
        .await;
    response.assert_error(404, "webhook_not_configured");
}

#[tokio::test]
async fn secrets_too_short_or_previous_alone_are_not_used() {
    let moto = Moto::start();
    moto.put_secure(&format!("{PREFIX}/github-secret"), "short")
        .await;
    moto.put_secure(&format!("{PREFIX}/gitlab-token-previous"), PREVIOUS)
        .await;
    let app = app_reading(moto.client());
    let body = b"{}".to_vec();
    let response = app.post("/webhooks/github", body, &[]).await;
    response.assert_error(404, "webhook_not_configured");
    assert_eq!(gitlab_status(&app, PREVIOUS).await, 404);
}

#[tokio::test]
async fn the_secrets_are_cached_and_an_unreadable_ssm_is_503_until_it_answers() {
    let mut moto = Moto::start();
    moto.put_secure(&format!("{PREFIX}/gitlab-token"), SECRET)
        .await;
    let app = app_reading(moto.client());
    assert_eq!(gitlab_status(&app, SECRET).await, 202);
    // Read once for 5 minutes: with SSM gone, the cached token still answers.
    moto.stop();
    assert_eq!(gitlab_status(&app, SECRET).await, 202);

    // Nothing cached and SSM unreachable: 503 with Retry-After, never the route's 404.
    let unreachable = client_for("http://127.0.0.1:9");
    let app = app_reading(unreachable);
    let response = app.post("/webhooks/github", b"{}".to_vec(), &[]).await;
    response.assert_error(503, "webhook_unavailable");
    assert_eq!(response.header("retry-after"), Some("5"));
}
