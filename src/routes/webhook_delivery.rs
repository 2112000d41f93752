//! What both webhook routes answer once a delivery is verified and read: the events it asks for,
//! each recorded once under its identity, or why it records nothing.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::record_event::BODY_READ_TIMEOUT;
use crate::error::ApiError;
use crate::events::{EventView, Timestamp};
use crate::state::AppState;
use crate::webhooks::{Delivery, MAX_WEBHOOK_BODY_BYTES};

/// What a delivery recorded: the events, each recorded once however often it is delivered, so
/// a redelivery answers the same.
#[derive(Serialize, ToSchema)]
pub struct WebhookRecorded<'a> {
    pub events: Vec<EventView<'a>>,
}

/// A delivery that records nothing, and why.
#[derive(Serialize, ToSchema)]
pub struct WebhookIgnored {
    #[schema(example = "a deployment status 'failure' is not a finished deployment")]
    pub ignored: String,
}

/// How many webhook bodies are read at once: a GitHub delivery must be read whole before its
/// signature can be checked, so a stranger can make the server hold a body of up to 5 MB; at
/// most this many, 80 MB in all, however many connections send them. The others wait.
pub static BODIES_READ_AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);

/// Who sent what, for the log line of each delivery.
pub struct Sent<'a> {
    pub host: &'static str,
    pub event: &'a str,
    pub delivery: Option<&'a str>,
}

/// `200 {"events"}` with what `delivery` recorded, or `202 {"ignored"}`.
pub async fn answer(
    state: &AppState,
    delivery: Delivery,
    received: Timestamp,
    sent: Sent<'_>,
) -> Result<Response, ApiError> {
    let Sent {
        host,
        event,
        delivery: id,
    } = sent;
    let events = match delivery {
        Delivery::Ping => Vec::new(),
        Delivery::Ignored(reason) => {
            tracing::info!(
                host,
                delivery = id,
                event,
                reason,
                "webhook delivery ignored"
            );
            let ignored = WebhookIgnored { ignored: reason };
            return Ok((StatusCode::ACCEPTED, Json(ignored)).into_response());
        }
        Delivery::Events(events) => events,
    };
    // The configured deploy, stage and commit are always among the allowed actions.
    let allowed = state.allowed_actions.clone();
    let recorded = state.store.record_all(events, received, allowed).await?;
    let replayed = recorded.iter().filter(|answer| answer.replayed).count();
    tracing::info!(
        host,
        delivery = id,
        event,
        recorded = recorded.len() - replayed,
        replayed,
        first_id = recorded.first().map(|answer| answer.event.id),
        "webhook delivery"
    );
    let events = recorded.iter().map(|r| r.event.view()).collect();
    Ok(Json(WebhookRecorded { events }).into_response())
}

/// A header's value, if it is 1 to 100 printable ASCII characters (what the code hosts send;
/// the description's pattern): no tab, which HTTP would let through.
pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    (printable && (1..=100).contains(&value.len())).then_some(value)
}

/// Every refusal of `host`'s route, each as the service writes it; `invalid_payload` is shown
/// by `example`.
pub fn errors(host: &'static str, example: &str) -> Vec<ApiError> {
    vec![
        ApiError::WebhookNotConfigured(host),
        ApiError::WebhookUnavailable,
        ApiError::InvalidSignature,
        ApiError::InvalidPayload(example.into()),
        ApiError::PayloadTooLarge(MAX_WEBHOOK_BODY_BYTES),
        ApiError::BodyTimeout(BODY_READ_TIMEOUT.as_secs()),
        ApiError::UnsupportedMediaType,
        ApiError::EventTooSpread,
        ApiError::StoreUnavailable,
        ApiError::StoreNeedsUpgrade,
    ]
}
