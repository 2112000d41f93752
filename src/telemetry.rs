//! Logs through tracing: one JSON object per line under Lambda, human-readable locally.

use std::io::IsTerminal;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::write_access::IamCaller;

/// Installs the global subscriber. `level` was validated with the configuration: levels and
/// `target=level` directives, which tracing-subscriber's `Targets` filter reads without the
/// regex engine `EnvFilter` brings into the binary.
pub fn init(format: LogFormat, level: &str) {
    let filter: Targets = level
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Json => registry
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_filter(filter),
            )
            .init(),
        LogFormat::Pretty => registry
            .with(
                layer
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter),
            )
            .init(),
    }
}

/// One log line per request: method, path, status, latency, the Lambda and API Gateway
/// request ids when the request came through Lambda, and a webhook's delivery id.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone());
    let apigw_request_id = request
        .request_context_ref()
        .and_then(|context| match context {
            RequestContext::ApiGatewayV1(c) => c.request_id.clone(),
            RequestContext::ApiGatewayV2(c) => c.request_id.clone(),
            _ => None,
        });

    // A webhook's delivery id (printable, at most 100 characters): the line API Gateway's
    // request id ties to its access log, and the code host's "Recent deliveries" shows.
    let delivery = [
        crate::webhooks::github::DELIVERY,
        crate::webhooks::gitlab::DELIVERY,
    ]
    .into_iter()
    .find_map(|name| crate::routes::webhook_delivery::header_text(request.headers(), name))
    .map(str::to_owned);

    // The IAM principal of a signed request (POST /events): who wrote, in the access log.
    let caller = request
        .extensions()
        .get::<IamCaller>()
        .map(|IamCaller(arn)| arn.clone());

    let response = next.run(request).await;

    let status = response.status().as_u16();
    let latency_us = started.elapsed().as_micros() as u64;
    // Absent ids are left out of the line rather than logged empty.
    let request_id = request_id.as_deref();
    let apigw_request_id = apigw_request_id.as_deref();
    let caller = caller.as_deref();
    let delivery = delivery.as_deref();
    if status >= 500 {
        tracing::error!(%method, path, status, latency_us, request_id, apigw_request_id, caller, delivery, "request");
    } else {
        tracing::info!(%method, path, status, latency_us, request_id, apigw_request_id, caller, delivery, "request");
    }
    response
}
