//! The one Router: every route, the JSON fallbacks, and the layers every request goes through.

use std::any::Any;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
use crate::routes::{
    docs, engineers, event_by_id, events, health, metadata, metrics, openapi_json, record_event,
    root, summaries,
};
use crate::state::AppState;
use crate::telemetry::log_request;

/// Every path and its methods. The OpenAPI description lists exactly these (tests/api/openapi.rs).
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(root::root)),
        ("/health", get(health::health)),
        ("/metadata", get(metadata::metadata)),
        (
            "/events",
            get(events::list_events).post(record_event::record_event),
        ),
        ("/events/{id}", get(event_by_id::event_by_id)),
        ("/engineers", get(engineers::list_engineers)),
        (
            "/engineers/{engineer}/events",
            get(engineers::engineer_events),
        ),
        ("/summaries/daily", get(summaries::daily)),
        ("/metrics/delivery", get(metrics::delivery)),
        ("/openapi.json", get(openapi_json::openapi_json)),
        ("/docs", get(docs::docs)),
    ]
}

pub fn router(state: AppState) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(record_event::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(refuse_long_uris))
        .layer(from_fn(log_request))
}

/// Longer paths and queries than any route needs are refused before routing. The local server's
/// HTTP library refuses request lines over 64 KiB itself, with an empty 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

async fn refuse_long_uris(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let length = uri.path().len() + uri.query().map_or(0, |query| query.len() + 1);
    if length > MAX_URI_BYTES {
        return ApiError::UriTooLong { max: MAX_URI_BYTES }.into_response();
    }
    next.run(request).await
}

/// A bug must not take the process down or show its internals: log it, answer 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = message, "handler panicked");
    ApiError::Internal.into_response()
}
