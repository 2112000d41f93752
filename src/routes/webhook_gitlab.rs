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
use crate::webhooks::{MAX_WEBHOOK_BODY_BYTES, gitlab};

/// GitLab's headers, as the OpenAPI description shows them.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct GitLabHeaders {
    /// The webhook's secret token, as set on GitLab's webhook page.
    #[param(rename = "X-Gitlab-Token")]
    token: String,
    /// The event: `Deployment Hook` is read; any other is ignored (202).
    #[param(
        rename = "X-Gitlab-Event",
        pattern = "^[ -~]{1,100}$",
        max_length = 100
    )]
    event: String,
    /// The delivery's id: logged with what it recorded (when it is printable ASCII of at most
    /// 100 characters; any other value is not logged).
    #[param(rename = "X-Gitlab-Event-UUID", nullable = false)]
    delivery: Option<String>,
}

/// `POST /webhooks/gitlab`: a GitLab webhook's delivery, its token checked, then recorded.
#[utoipa::path(
    post,
    path = "/webhooks/gitlab",
    summary = "Record a GitLab webhook delivery",
    description = "Takes GitLab's webhook (triggers \"Deployment events\" and \"Push events\"): a successful deployment is recorded as a deploy in a deploy environment (`DEPLOY_ENVIRONMENTS`) and as a stage elsewhere, once however often it is delivered; a push to the project's default branch records each commit it lists (at most 20; action `COMMIT_ACTION`, at the delivery's arrival), each once for good. The token is checked before anything else is read. No API key: GitLab cannot send one.",
    tag = "webhooks",
    security(()),
    params(GitLabHeaders),
    request_body(content = Object, content_type = "application/json", description = "GitLab's payload for the event `X-Gitlab-Event` names."),
    responses(
        (status = 200, description = "Recorded, in the delivery's order; a redelivery answers the same.", body = WebhookRecorded),
        (status = 202, description = "An event or status this service does not record.", body = WebhookIgnored)
    )
)]
pub async fn gitlab_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    // Read after the token is checked: a stranger learns nothing of the parameters.
    query: Result<Query, ApiError>,
    body: Body,
) -> Result<Response, ApiError> {
    let webhooks = state.webhooks.clone();
    let tokens = state.webhook_secrets.get().await?.gitlab;
    if tokens.is_empty() {
        return Err(ApiError::WebhookNotConfigured("GitLab"));
    }
    let token = headers.get(gitlab::TOKEN).map(|value| value.as_bytes());
    gitlab::verify(&tokens, token)?;
    query?;
    if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = {
        let _reading = BODIES_READ_AT_ONCE.acquire().await.expect("never closed");
        read_body(body, MAX_WEBHOOK_BODY_BYTES).await?
    };
    let event = header_text(&headers, gitlab::EVENT).ok_or_else(|| {
        ApiError::InvalidPayload("Header 'X-Gitlab-Event' must name the event".into())
    })?;
    let delivery = header_text(&headers, gitlab::DELIVERY);
    let received = Utc::now().timestamp();
    let read = gitlab::read(event, &body, &webhooks, received)?;
    let sent = Sent {
        host: "GitLab",
        event,
        delivery,
    };
    answer(&state, read, received, sent).await
}

/// Every refusal, each as the service writes it.
pub fn errors() -> Vec<ApiError> {
    super::webhook_delivery::errors(
        "GitLab",
        "The body is not a GitLab 'Deployment Hook' event: missing field `commit_url`",
    )
}
