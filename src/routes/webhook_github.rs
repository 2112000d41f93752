use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use utoipa::IntoParams;

use super::params::Query;
use super::record_event::{is_json, read_body};
use super::webhook_delivery::{
    BODIES_READ_AT_ONCE, Sent, WebhookIgnored, WebhookRecorded, answer, header_text,
};
use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::{MAX_WEBHOOK_BODY_BYTES, github};

/// GitHub's headers, as the OpenAPI description shows them.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct GitHubHeaders {
    /// `sha256=` and the HMAC-SHA256 of the body under the webhook's secret, in hex.
    #[param(rename = "X-Hub-Signature-256")]
    signature: String,
    /// The event: `ping` and `deployment_status` are read; any other is ignored (202).
    #[param(
        rename = "X-GitHub-Event",
        pattern = "^[ -~]{1,100}$",
        max_length = 100
    )]
    event: String,
    /// The delivery's id, kept by a redelivery: logged with what it recorded (when it is
    /// printable ASCII of at most 100 characters; any other value is not logged).
    #[param(rename = "X-GitHub-Delivery", nullable = false)]
    delivery: Option<String>,
}

/// `POST /webhooks/github`: a GitHub webhook's delivery, verified, then recorded.
#[utoipa::path(
    post,
    path = "/webhooks/github",
    summary = "Record a GitHub webhook delivery",
    description = "Takes GitHub's webhook (content type `application/json`, events \"Deployment statuses\" and \"Pushes\"): a successful deployment status is recorded as a deploy in a deploy environment (`DEPLOY_ENVIRONMENTS`) and as a stage elsewhere, once however often it is delivered; a push to the repository's default branch records each commit it lists (action `COMMIT_ACTION`, at the push's instant), each once for good, whatever push or delivery brings it again. The signature is verified before anything else is read. No API key: GitHub cannot send one.",
    tag = "webhooks",
    security(()),
    params(GitHubHeaders),
    request_body(content = Object, content_type = "application/json", description = "GitHub's payload for the event `X-GitHub-Event` names."),
    responses(
        (status = 200, description = "Recorded, in the delivery's order (a `ping`: nothing to record); a redelivery answers the same.", body = WebhookRecorded),
        (status = 202, description = "An event or state this service does not record.", body = WebhookIgnored)
    )
)]
pub async fn github_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    // Read after the signature is verified: a stranger learns nothing of the parameters.
    query: Result<Query, ApiError>,
    body: Body,
) -> Result<Response, ApiError> {
    let webhooks = state.webhooks.clone();
    let secrets = state.webhook_secrets.get().await?.github;
    if secrets.is_empty() {
        return Err(ApiError::WebhookNotConfigured("GitHub"));
    }
    let body = {
        let _reading = BODIES_READ_AT_ONCE.acquire().await.expect("never closed");
        read_body(body, MAX_WEBHOOK_BODY_BYTES).await?
    };
    let signature = headers.get(github::SIGNATURE).map(|value| value.as_bytes());
    github::verify(&secrets, signature, &body)?;
    query?;
    if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let event = header_text(&headers, github::EVENT).ok_or_else(|| {
        ApiError::InvalidPayload("Header 'X-GitHub-Event' must name the event".into())
    })?;
    let delivery = header_text(&headers, github::DELIVERY);
    let received = Utc::now().timestamp();
    let read = github::read(event, &body, &webhooks, received)?;
    let sent = Sent {
        host: "GitHub",
        event,
        delivery,
    };
    answer(&state, read, received, sent).await
}

/// Every refusal, each as the service writes it.
pub fn errors() -> Vec<ApiError> {
    super::webhook_delivery::errors(
        "GitHub",
        "The body is not a GitHub 'deployment_status' event: missing field `deployment`",
    )
}
