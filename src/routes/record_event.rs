use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use utoipa::IntoParams;

use super::params::Query;
use crate::error::ApiError;
use crate::events::{AllowedActions, DEFAULT_SERVICE, EventView, IdempotencyKey, NewEvent};
use crate::state::AppState;
use crate::write_access::{IamCaller, WriteAccess};

/// The largest body `POST /events` reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest a client may take to send its body, from the end of its request head: a client
/// that announces 500 bytes and sends 7 holds a connection (and a task) until then.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response that repeats an earlier one for the same Idempotency-Key.
pub const REPLAYED: &str = "idempotent-replayed";

/// `Idempotency-Key`, as the OpenAPI description shows it.
#[derive(IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
#[allow(dead_code)]
struct IdempotencyKeyHeader(
    /// 1 to 255 printable ASCII characters; spaces at either end are not part of it (HTTP drops
    /// them). A retry with the same key and body within 24 hours answers the first 201 again and
    /// records nothing; the same key with another body is refused (422).
    #[param(pattern = "^[ -~]{1,255}$", max_length = 255, nullable = false)]
    Option<String>,
);

/// `POST /events`: records one event, answers `201 Created` with it and its `Location`.
#[utoipa::path(
    post,
    path = "/events",
    summary = "Record an event",
    description = "Records one event, exactly once per `Idempotency-Key`. Deployed, the request must be signed (SigV4) by a principal the API allows.",
    tag = "events",
    params(IdempotencyKeyHeader),
    request_body(content = NewEvent, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded (or, with `Idempotent-Replayed: true`, recorded earlier under this key).", body = EventView,
            headers(
                ("Location" = String, description = "`events/{id}`, relative to the request's URI."),
                ("Idempotent-Replayed" = String, description = "`true` when this answers a retry of an earlier request with the same `Idempotency-Key`.")
            ))
    )
)]
pub async fn record_event(
    State(state): State<AppState>,
    caller: Option<Extension<IamCaller>>,
    headers: HeaderMap,
    // Read after the caller is let in: a stranger learns nothing of the parameters.
    query: Result<Query, ApiError>,
    body: Body,
) -> Result<Response, ApiError> {
    state
        .write_access
        .check(&headers, caller.as_ref().map(|Extension(caller)| caller))?;
    query?;
    if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = read_body(body, MAX_BODY_BYTES).await?;
    let key = idempotency_key(&headers)?.map(IdempotencyKey::Request);
    let key_for_log = key.as_ref().map(|key| key.name().to_owned());
    let received = Utc::now().timestamp();
    let new = NewEvent::parse(&body, received, &state.default_service).map_err(|refusal| {
        ApiError::InvalidEvent {
            code: refusal.code,
            message: refusal.message,
        }
    })?;
    let allowed = state.allowed_actions.clone();
    let recorded = state.store.record(new, key, received, allowed).await?;
    let id = recorded.event.id;
    // Who recorded it: the IAM principal API Gateway verified; locally, how the server let
    // the write in (never the token itself).
    let recorded_by = match (&caller, state.write_access.as_ref()) {
        (Some(Extension(IamCaller(arn))), _) => arn.as_str(),
        (None, WriteAccess::Token(_)) => "local:bearer-token",
        (None, _) => "local:loopback",
    };
    tracing::info!(
        id,
        replayed = recorded.replayed,
        recorded_by,
        idempotency_key = key_for_log.as_deref(),
        "event recorded"
    );
    let mut response = (StatusCode::CREATED, Json(recorded.event.view())).into_response();
    // Relative to the request's URI, so that it holds behind an API Gateway stage prefix too.
    let location = HeaderValue::from_str(&format!("events/{id}")).expect("digits are a header");
    response.headers_mut().insert(header::LOCATION, location);
    if recorded.replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The body, read whole within `BODY_READ_TIMEOUT` and `max` bytes. Read by the handler, after
/// the request's own checks, rather than by an extractor before them: a refused request's body
/// is never read.
pub(crate) async fn read_body(body: Body, max: usize) -> Result<Bytes, ApiError> {
    // A body announced longer (Content-Length) is refused before a byte of it is read.
    if axum::body::HttpBody::size_hint(&body).lower() > max as u64 {
        return Err(ApiError::PayloadTooLarge(max));
    }
    let read = axum::body::to_bytes(body, max);
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Err(_) => Err(ApiError::BodyTimeout(BODY_READ_TIMEOUT.as_secs())),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            let too_long = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            Err(match too_long {
                true => ApiError::PayloadTooLarge(max),
                false => ApiError::InvalidEvent {
                    code: "invalid_body",
                    message: "The body could not be read.".into(),
                },
            })
        }
    }
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// `Idempotency-Key`: 1 to 255 printable ASCII characters, if given.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let valid = values.next().is_none()
        && (1..=255).contains(&bytes.len())
        && bytes.iter().all(|b| (0x20..=0x7e).contains(b));
    if !valid {
        return Err(ApiError::InvalidIdempotencyKey);
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Every refusal, each as the service writes it (the examples of `invalid_event` are refused by
/// `NewEvent::parse` itself).
pub fn errors() -> Vec<ApiError> {
    let invalid_events = [
        &b"[]"[..],
        br#"{"sha":"abc1234","action":"deploy","engineer":"alice","colour":"red"}"#,
        br#"{"sha":"abc1234","sha":"abc1234","action":"deploy","engineer":"alice"}"#,
        br#"{"action":"deploy","engineer":"alice"}"#,
        br#"{"sha":"main","action":"deploy","engineer":"alice"}"#,
        br#"{"sha":"abc1234","action":"Deploy!","engineer":"alice"}"#,
        br#"{"sha":"abc1234","action":"deploy","engineer":""}"#,
        br#"{"sha":"abc1234","action":"deploy","engineer":"alice","timestamp":"yesterday"}"#,
        br#"{"sha":"abc1234","action":"deploy","engineer":"alice","service":"my service"}"#,
    ]
    .into_iter()
    .map(|body| {
        let refusal =
            NewEvent::parse(body, 0, DEFAULT_SERVICE).expect_err("the example is refused");
        ApiError::InvalidEvent {
            code: refusal.code,
            message: refusal.message,
        }
    });
    let mut errors: Vec<ApiError> = invalid_events.collect();
    errors.extend([
        ApiError::InvalidIdempotencyKey,
        ApiError::Unauthorized,
        ApiError::WritesForbidden("Recording events requires an IAM-signed request"),
        ApiError::StoreReadOnly,
        ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        ApiError::BodyTimeout(BODY_READ_TIMEOUT.as_secs()),
        ApiError::UnsupportedMediaType,
        ApiError::IdempotencyKeyReused,
        ApiError::EventTooSpread,
        ApiError::ActionNotAllowed {
            action: "deploy-1234".into(),
            allowed: AllowedActions::default().listed(),
        },
        ApiError::StoreUnavailable,
        ApiError::StoreNeedsUpgrade,
    ]);
    errors
}
