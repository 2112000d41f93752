//! The one Router: every route, the JSON fallbacks, and the layers every request goes through.

use std::any::Any;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
use crate::routes::params::{self, MAX_URI_BYTES};
use crate::routes::{
    badges, dashboard, docs, engineers, event_by_id, events, health, metadata, metrics,
    openapi_json, record_event, root, services, summaries, webhook_github, webhook_gitlab,
};
use crate::state::AppState;
use crate::telemetry::log_request;

/// Each line of the table gives the Router a route (`routes`), the OpenAPI description an
/// operation (`Operations`, from the handler's `#[utoipa::path]`, whose path a test holds to
/// the one here) and that operation's error answers (`error_answers`: the query's refusals and
/// the route's own, `ApiError` values built only when the description is).
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path, errors: $errors:expr;)*) => {
        /// Every path with one of its methods, in the description's order (the Router merges
        /// a path's methods).
        pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
            vec![$(($path, axum::routing::$method($handler))),*]
        }

        /// The operations of the OpenAPI description.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($handler),*))]
        pub struct Operations;

        /// Every operation (path, method) with the errors it can answer.
        pub fn error_answers() -> Vec<(&'static str, &'static str, Vec<ApiError>)> {
            vec![$(($path, stringify!($method), [params::refusals(), $errors].concat())),*]
        }
    };
}

route_table! {
    get "/" => root::root, errors: vec![];
    get "/health" => health::health, errors: vec![];
    get "/metadata" => metadata::metadata, errors: metadata::errors();
    get "/events" => events::list_events, errors: events::errors();
    post "/events" => record_event::record_event, errors: record_event::errors();
    get "/events/{id}" => event_by_id::event_by_id, errors: event_by_id::errors();
    get "/engineers" => engineers::list_engineers, errors: engineers::errors();
    get "/engineers/{engineer}/events" => engineers::engineer_events, errors: engineers::events_errors();
    get "/services" => services::list_services, errors: services::errors();
    get "/summaries/daily" => summaries::daily, errors: summaries::errors();
    get "/metrics/delivery" => metrics::delivery, errors: metrics::errors();
    get "/badges/{metric}" => badges::badge, errors: badges::errors();
    get "/dashboard" => dashboard::dashboard, errors: vec![];
    get "/openapi.json" => openapi_json::openapi_json, errors: vec![];
    get "/docs" => docs::docs, errors: vec![ApiError::DocsNotServed];
    post "/webhooks/github" => webhook_github::github_webhook, errors: webhook_github::errors();
    post "/webhooks/gitlab" => webhook_gitlab::gitlab_webhook, errors: webhook_gitlab::errors();
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

async fn refuse_long_uris(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let length = uri.path().len() + uri.query().map_or(0, |query| query.len() + 1);
    if length > MAX_URI_BYTES {
        return ApiError::UriTooLong(MAX_URI_BYTES).into_response();
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
