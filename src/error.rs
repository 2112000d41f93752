//! Every non-2xx answer: a status and `{"error":{"code":"<snake_case>","message":"<sentence>"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::events::{NotAllowed, SERVICE_RULE, TooManyDays, shorten};
use crate::store::{ReadFailure, WriteFailure};

/// How long a client should wait before asking for metadata again after a 503: the time the
/// service answers 503 at once before trying SSM again.
pub const METADATA_RETRY_AFTER_SECONDS: u64 = crate::metadata::FAILURE_BACKOFF.as_secs();
/// How long a client should wait after the event store failed to answer: DynamoDB throttling
/// and brief outages pass within seconds.
pub const STORE_RETRY_AFTER_SECONDS: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    NotFound,
    MethodNotAllowed,
    /// Longer than the bytes given.
    UriTooLong(usize),
    UnknownParameter(String),
    InvalidParameter {
        name: &'static str,
        message: String,
    },
    InvalidRange(String),
    InvalidCursor,
    RangeTooLarge {
        days: i64,
        max: i64,
    },
    EngineerNotFound(String),
    /// A `service` parameter that breaks the rule for service names.
    InvalidService,
    /// `/engineers/{engineer}/events?service=` for a service without events.
    ServiceNotFound(String),
    EventNotFound(u64),
    /// `GET /badges/{metric}` for a name that is no metric of `/metrics/delivery`.
    MetricNotFound(String),
    /// `GET /docs` on a build without the page (the Lambda package).
    DocsNotServed,
    /// The table's delivery facts were counted for other action names than the configured ones.
    MetricsNeedRebuild,
    /// The table is of an older layout than this version reads.
    StoreNeedsUpgrade,
    /// A body `NewEvent::parse` refused: its code and message.
    InvalidEvent {
        code: &'static str,
        message: String,
    },
    /// Longer than the bytes given.
    PayloadTooLarge(usize),
    /// The body did not arrive within the seconds the server waits for it.
    BodyTimeout(u64),
    UnsupportedMediaType,
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    /// An event that would move more delivery facts at once than a store writes together.
    EventTooSpread,
    /// An action outside the configured list (`ALLOWED_ACTIONS`): the allowed ones, listed.
    ActionNotAllowed {
        action: String,
        allowed: String,
    },
    StoreReadOnly,
    /// No or a wrong bearer token where the local server requires `INGEST_TOKEN`.
    Unauthorized,
    /// Recording refused whoever asks: no IAM caller behind API Gateway, or a local server on a
    /// non-loopback address without `INGEST_TOKEN`.
    WritesForbidden(&'static str),
    /// A webhook delivery whose signature (or GitLab token) is missing, malformed or wrong: no
    /// hint of which.
    InvalidSignature,
    /// A webhook route of a code host without a secret configured.
    WebhookNotConfigured(&'static str),
    /// A webhook body that is not the event its header names: why.
    InvalidPayload(String),
    MetadataUnavailable(String),
    /// The webhooks' secrets could not be read (SSM), and none are cached.
    WebhookUnavailable,
    StoreUnavailable,
    Internal,
}

impl ApiError {
    pub fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound
            | Self::EngineerNotFound(_)
            | Self::ServiceNotFound(_)
            | Self::EventNotFound(_)
            | Self::MetricNotFound(_)
            | Self::DocsNotServed
            | Self::WebhookNotConfigured(_) => StatusCode::NOT_FOUND,
            Self::InvalidEvent { .. } | Self::InvalidIdempotencyKey | Self::InvalidPayload(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused | Self::EventTooSpread | Self::ActionNotAllowed { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::StoreReadOnly => StatusCode::CONFLICT,
            Self::Unauthorized | Self::InvalidSignature => StatusCode::UNAUTHORIZED,
            Self::WritesForbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            Self::UnknownParameter(_)
            | Self::InvalidParameter { .. }
            | Self::InvalidRange(_)
            | Self::InvalidCursor
            | Self::InvalidService
            | Self::RangeTooLarge { .. } => StatusCode::BAD_REQUEST,
            Self::MetadataUnavailable(_)
            | Self::WebhookUnavailable
            | Self::StoreUnavailable
            | Self::MetricsNeedRebuild
            | Self::StoreNeedsUpgrade => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UriTooLong(_) => "uri_too_long",
            Self::UnknownParameter(_) => "unknown_parameter",
            Self::InvalidParameter { .. } => "invalid_parameter",
            Self::InvalidRange(_) => "invalid_range",
            Self::InvalidCursor => "invalid_cursor",
            Self::RangeTooLarge { .. } => "range_too_large",
            Self::EngineerNotFound(_) => "engineer_not_found",
            Self::InvalidService => "invalid_service",
            Self::ServiceNotFound(_) => "service_not_found",
            Self::EventNotFound(_) => "event_not_found",
            Self::MetricNotFound(_) => "metric_not_found",
            Self::DocsNotServed => "docs_not_served",
            Self::MetricsNeedRebuild => "metrics_need_rebuild",
            Self::StoreNeedsUpgrade => "store_needs_upgrade",
            Self::InvalidEvent { code, .. } => code,
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::BodyTimeout(_) => "request_timeout",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::EventTooSpread => "event_too_spread",
            Self::ActionNotAllowed { .. } => "action_not_allowed",
            Self::StoreReadOnly => "store_read_only",
            Self::Unauthorized => "unauthorized",
            Self::WritesForbidden(_) => "writes_forbidden",
            Self::InvalidSignature => "invalid_signature",
            Self::WebhookNotConfigured(_) => "webhook_not_configured",
            Self::InvalidPayload(_) => "invalid_payload",
            Self::MetadataUnavailable(_) => "metadata_unavailable",
            Self::WebhookUnavailable => "webhook_unavailable",
            Self::StoreUnavailable => "store_unavailable",
            Self::Internal => "internal_error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "No resource at this path.".into(),
            Self::MethodNotAllowed => {
                "This path does not support that method; see the Allow header.".into()
            }
            Self::UriTooLong(max) => {
                format!("The request's path and query are longer than {max} bytes.")
            }
            Self::UnknownParameter(name) => format!(
                "Unknown query parameter '{}'; see the README for the parameters each route takes.",
                shorten(name, 64)
            ),
            Self::InvalidParameter { name, message } => {
                format!("Parameter '{name}' {message}.")
            }
            Self::InvalidRange(message) => format!("{message}."),
            Self::InvalidCursor => {
                "Parameter 'cursor' must be a next_cursor value returned by this query.".into()
            }
            Self::RangeTooLarge { days, max } => {
                format!(
                    "The range covers {days} days; at most {max} are allowed: give a `to` closer to `from` (without `from`, the range is the {max} days up to `to`)."
                )
            }
            Self::EngineerNotFound(name) => {
                format!("No engineer named '{}'.", shorten(name, 64))
            }
            Self::InvalidService => {
                format!("Parameter 'service' must be a service name: {SERVICE_RULE}.")
            }
            Self::ServiceNotFound(name) => {
                format!("No service named '{}' has events.", shorten(name, 64))
            }
            Self::EventNotFound(id) => format!("No event with id {id}."),
            Self::MetricNotFound(name) => format!(
                "No metric named '{}': deployment_frequency, lead_time, change_failure_rate, failed_deployment_recovery_time (or time_to_restore) or deployment_rework_rate.",
                shorten(name, 64)
            ),
            Self::DocsNotServed => "This deployment does not serve the reference page: read docs/index.html in the repository, or GET /docs on a local server (make run). The description is at /openapi.json.".into(),
            Self::MetricsNeedRebuild => "The table's delivery facts were counted for other action names than DEPLOY_ACTION, STAGE_ACTION, ROLLBACK_ACTION, COMMIT_ACTION and HOTFIX_ACTION say, or not yet (events stored by an older version); the operator recounts them with `pipeline-events-api verify --rebuild`.".into(),
            Self::StoreNeedsUpgrade => "The table was written by an older version of this service; the operator upgrades it with `pipeline-events-api verify --rebuild` (make verify REBUILD=1), after which this request succeeds.".into(),
            Self::InvalidEvent { message, .. } => message.clone(),
            Self::PayloadTooLarge(max) => format!("The body is longer than {max} bytes."),
            Self::BodyTimeout(seconds) => format!(
                "The body did not arrive within {seconds} s of the request's head; send it whole, with a Content-Length that matches it."
            ),
            Self::UnsupportedMediaType => "The body must be JSON: send Content-Type: application/json.".into(),
            Self::InvalidIdempotencyKey => {
                "Header 'Idempotency-Key' must be 1 to 255 printable ASCII characters.".into()
            }
            Self::IdempotencyKeyReused => "This Idempotency-Key recorded another event in the last 24 hours; use a new key for a new event.".into(),
            Self::EventTooSpread => "This deploy would move the lead times of commits counted on more days at once than the store writes together (it is dated long before the pushes it ships, or before many later deploys of the commits pushed before it); record it with its real time.".into(),
            Self::ActionNotAllowed { action, allowed } => format!(
                "Action '{}' is not one this service records; the allowed actions are {allowed} (the operator's ALLOWED_ACTIONS).",
                shorten(action, 64)
            ),
            Self::StoreReadOnly => "EVENTS_FILE is a JSON array, which cannot be appended to: convert it to JSON lines (jq -c '.[]') to record events.".into(),
            Self::Unauthorized => "Recording events requires 'Authorization: Bearer <INGEST_TOKEN>'.".into(),
            Self::WritesForbidden(why) => format!("{why}."),
            Self::InvalidSignature => "The delivery's signature does not verify.".into(),
            Self::WebhookNotConfigured(host) => format!(
                "This service takes no {host} webhooks: the operator has not configured their secret."
            ),
            Self::InvalidPayload(why) => format!("{why}."),
            Self::MetadataUnavailable(message) => format!("{message}."),
            Self::WebhookUnavailable => {
                "The webhook's secret could not be read; the code host redelivers later.".into()
            }
            Self::StoreUnavailable => {
                "The event store did not answer in time; retry after the Retry-After delay.".into()
            }
            Self::Internal => "The service failed to answer; the failure has been logged.".into(),
        }
    }
}

impl From<ReadFailure> for ApiError {
    fn from(failure: ReadFailure) -> Self {
        match failure {
            ReadFailure::Unavailable => Self::StoreUnavailable,
            ReadFailure::Internal => Self::Internal,
            ReadFailure::MetricsNeedRebuild => Self::MetricsNeedRebuild,
            ReadFailure::StoreNeedsUpgrade => Self::StoreNeedsUpgrade,
            ReadFailure::TooManyDays(TooManyDays { days, max }) => {
                Self::RangeTooLarge { days, max }
            }
        }
    }
}

impl From<WriteFailure> for ApiError {
    fn from(failure: WriteFailure) -> Self {
        match failure {
            WriteFailure::KeyReused => Self::IdempotencyKeyReused,
            WriteFailure::TooSpread => Self::EventTooSpread,
            WriteFailure::ReadOnly => Self::StoreReadOnly,
            WriteFailure::ActionNotAllowed(NotAllowed { action, allowed }) => {
                Self::ActionNotAllowed { action, allowed }
            }
            WriteFailure::StoreNeedsUpgrade => Self::StoreNeedsUpgrade,
            WriteFailure::Unavailable => Self::StoreUnavailable,
            WriteFailure::Internal => Self::Internal,
        }
    }
}

/// Every error's body. Each operation's description lists the codes it can answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: what a client may act on.
    code: &'static str,
    /// A sentence for people; its wording may change.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.message(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        let (name, value) = match self {
            Self::MetadataUnavailable(_) | Self::WebhookUnavailable => (
                header::RETRY_AFTER,
                HeaderValue::from(METADATA_RETRY_AFTER_SECONDS),
            ),
            Self::StoreUnavailable => (
                header::RETRY_AFTER,
                HeaderValue::from(STORE_RETRY_AFTER_SECONDS),
            ),
            // What is left of the body will not be read: the connection cannot be reused.
            Self::BodyTimeout(_) => (header::CONNECTION, HeaderValue::from_static("close")),
            Self::Unauthorized => (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
            _ => return response,
        };
        response.headers_mut().insert(name, value);
        response
    }
}
