use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::metrics::{benchmark, benchmark_refusal};
use super::params::{Accepts, Query, RangeParams, ServiceParam, check_range};
use super::summaries::over_days;
use crate::dashboard::badge::BadgeMetric;
use crate::error::ApiError;
use crate::events::{Benchmark, Bucket};
use crate::state::AppState;

/// How long a README's viewer (GitHub's image proxy among them) may keep a badge.
pub const CACHE_CONTROL: &str = "public, max-age=300";

/// A metric of `/metrics/delivery`, by its name there.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum MetricName {
    DeploymentFrequency,
    LeadTime,
    ChangeFailureRate,
    FailedDeploymentRecoveryTime,
    DeploymentReworkRate,
    /// `failed_deployment_recovery_time` under its older name.
    TimeToRestore,
}

/// `benchmark`, on `GET /badges/{metric}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct BadgeParams {
    /// The DORA report whose performance clusters give the level.
    #[param(inline, default = "2023")]
    benchmark: Option<Benchmark>,
}

impl Accepts for BadgeParams {
    const NAMES: &'static [&'static str] = &["benchmark"];
}

/// `GET /badges/{metric}?service&from&to&benchmark`: one delivery metric of the range as an SVG
/// badge, for a README.
#[utoipa::path(
    get,
    path = "/badges/{metric}",
    summary = "A delivery metric as a badge",
    description = "One figure of `/metrics/delivery`'s `total` for the same range, service and benchmark, as a small SVG image for a README: a label, then the figure and its level (\"deploys/week | 12 · elite\"); \"no data\" where the figure is `null`. Deployment frequency is shown per week, lead time and recovery time as their medians, the rates as percentages. Cached for five minutes, with an `ETag` (`If-None-Match` answers 304). A deployed stack serves it without an API key only when `public_badges` is on; otherwise it answers 404.",
    tag = "metrics",
    params(
        ("metric" = inline(MetricName), Path, description = "A metric's name in `/metrics/delivery`; any other is 404 `metric_not_found`.", example = "deployment_frequency"),
        RangeParams, ServiceParam, BadgeParams
    ),
    responses(
        (status = 200, description = "The badge.", content_type = "image/svg+xml", body = String,
            headers(
                ("ETag" = String, description = "The badge's version: the same figures, the same tag."),
                ("Cache-Control" = String, description = "`public, max-age=300`."),
            )),
        (status = 304, description = "The badge named by `If-None-Match` is still the one.")
    )
)]
pub async fn badge(
    State(state): State<AppState>,
    metric: Result<Path<String>, PathRejection>,
    params: Query<(RangeParams, ServiceParam, BadgeParams)>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    if !state.badges {
        return Err(ApiError::NotFound);
    }
    let name = metric.map_or_else(|_| String::new(), |Path(name)| name);
    let metric = BadgeMetric::named(&name).ok_or(ApiError::MetricNotFound(name))?;
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;
    let service = params.service()?;
    let shape = (Bucket::Week, benchmark(params.get("benchmark"))?);
    let report = (state.store.reader())
        .delivery_metrics(service, from, to, shape)
        .await?;
    let svg = match &report.total {
        Some(total) => metric.svg(total),
        None => metric.without_data(),
    };
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(svg.as_bytes())[..12]));
    let headers = [
        (header::ETAG, tag.clone()),
        (header::CACHE_CONTROL, CACHE_CONTROL.to_owned()),
        // Opened on its own, the image runs nothing and loads nothing.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'".to_owned(),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    if matches(&request, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let svg_type = (header::CONTENT_TYPE, "image/svg+xml".to_owned());
    Ok((headers, [svg_type], svg).into_response())
}

/// `If-None-Match` names `tag` (or is `*`).
fn matches(request: &HeaderMap, tag: &str) -> bool {
    (request.get_all(header::IF_NONE_MATCH).iter())
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == tag || candidate == "*")
}

pub fn errors() -> Vec<ApiError> {
    let mut errors = over_days(
        benchmark_refusal(),
        vec![
            ApiError::StoreUnavailable,
            ApiError::StoreNeedsUpgrade,
            ApiError::MetricsNeedRebuild,
        ],
    );
    errors.push(ApiError::MetricNotFound("deploys".into()));
    errors
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn the_described_names_are_the_names_read() {
        let schema = serde_json::to_value(MetricName::schema()).unwrap();
        let names = schema["enum"].as_array().expect("an enum of names");
        assert_eq!(names.len(), 6);
        for name in names {
            assert!(
                BadgeMetric::named(name.as_str().unwrap()).is_some(),
                "{name}"
            );
        }
    }
}
