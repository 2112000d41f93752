//! The Lambda entry point: the same Router, behind lambda_http.
//!
//! API Gateway stages: for REST API (v1) events lambda_http puts `/{stage}` in front of the
//! path unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set, and HTTP API (v2) events on a
//! named stage carry it in `rawPath`. The stage is API Gateway's business, not a route's, so it
//! is taken off here, before routing, and every route answers the same on any stage as locally.

use axum::Router;
use axum::http::Request;
use axum::http::uri::{PathAndQuery, Uri};
use lambda_http::request::RequestContext;
use lambda_http::tower::Layer;
use lambda_http::tower::util::{MapRequest, MapRequestLayer};
use lambda_http::{Body, RequestExt};

use crate::write_access::IamCaller;

/// The variable lambda_http reads: set to anything, it leaves the stage out of REST API paths.
const IGNORE_STAGE_IN_PATH: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";

/// Whether lambda_http puts `/{stage}` in front of REST API paths, given its variable.
fn stage_in_path(ignore_stage_in_path: Option<std::ffi::OsString>) -> bool {
    ignore_stage_in_path.is_none()
}

/// The Router as lambda_http sees it: stage prefix removed and IAM caller named first.
pub fn service(
    router: Router,
) -> MapRequest<Router, impl Fn(Request<Body>) -> Request<Body> + Clone> {
    let stage_in_path = stage_in_path(std::env::var_os(IGNORE_STAGE_IN_PATH));
    MapRequestLayer::new(move |request| name_iam_caller(strip_stage(request, stage_in_path)))
        .layer(router)
}

/// The IAM principal API Gateway verified a SigV4 signature for, if any, as an `IamCaller`
/// extension: what `POST /events` requires (see `write_access`).
fn name_iam_caller(mut request: Request<Body>) -> Request<Body> {
    let caller = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.user_arn.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone()),
        _ => None,
    };
    if let Some(arn) = caller.filter(|arn| !arn.is_empty()) {
        request.extensions_mut().insert(IamCaller(arn));
    }
    request
}

pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(service(router)).await
}

fn strip_stage(mut request: Request<Body>, stage_in_path: bool) -> Request<Body> {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) if stage_in_path => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|stage| stage != "$default" && !stage.is_empty()) else {
        return request;
    };
    let rest = (request.uri().path().get(1..))
        .and_then(|path| path.strip_prefix(stage.as_str()))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let Some(rest) = rest else {
        return request;
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = PathAndQuery::try_from(path_and_query).ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ignore_stage_variable_counts_when_set_to_anything() {
        assert!(stage_in_path(None));
        assert!(!stage_in_path(Some("false".into())));
    }
}
