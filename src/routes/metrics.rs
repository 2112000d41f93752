use axum::Json;
use axum::extract::State;
use utoipa::IntoParams;

use super::params::{Accepts, Query, RangeParams, ServiceParam, check_range};
use super::summaries::over_days;
use crate::error::ApiError;
use crate::events::{Benchmark, Bucket, DeliveryReport};
use crate::state::AppState;

/// `bucket` and `benchmark`, on `GET /metrics/delivery`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ReportParams {
    /// How the range is divided: UTC days, or weeks from Monday to Sunday (cut at the range's
    /// ends).
    #[param(inline, default = "day")]
    bucket: Option<Bucket>,
    /// The DORA report whose performance clusters give each metric its `level`.
    #[param(inline, default = "2023")]
    benchmark: Option<Benchmark>,
}

impl Accepts for ReportParams {
    const NAMES: &'static [&'static str] = &["bucket", "benchmark"];
}

impl Query<(RangeParams, ServiceParam, ReportParams)> {
    /// `bucket`, day if absent.
    fn bucket(&self) -> Result<Bucket, ApiError> {
        match self.get("bucket") {
            None | Some("day") => Ok(Bucket::Day),
            Some("week") => Ok(Bucket::Week),
            Some(_) => Err(bucket_refusal()),
        }
    }
}

/// `benchmark`, 2023 if absent (also for the badges).
pub fn benchmark(given: Option<&str>) -> Result<Benchmark, ApiError> {
    match given {
        None => Ok(Benchmark::default()),
        Some(name) => Benchmark::named(name).ok_or_else(benchmark_refusal),
    }
}

/// `GET /metrics/delivery?from&to&service&bucket&benchmark`: DORA's five delivery metrics over
/// whole UTC days, as `/summaries/daily` chooses them.
#[utoipa::path(
    get,
    path = "/metrics/delivery",
    summary = "Delivery metrics (DORA)",
    description = "DORA's five software delivery metrics under their names since 2024: deployment frequency, lead time for changes, change failure rate, failed deployment recovery time and deployment rework rate, for the range and for each day or week of it, each with its performance level in the chosen benchmark (`null` where that benchmark gives the metric none). `time_to_restore` repeats `failed_deployment_recovery_time` under its older name. The range is whole UTC days, chosen as `/summaries/daily` chooses them. A figure without data is `null`. A commit's lead time starts at its commit event (a push) or, without one, at its first stage, and ends at the first deploy that shipped it: its own, or a deploy of a commit pushed after it. A hotfix is a deploy in every metric, and the rework rate is hotfixes over deploys. The action names counted are the service's configuration (`DEPLOY_ACTION`, `STAGE_ACTION`, `ROLLBACK_ACTION`, `COMMIT_ACTION`, `HOTFIX_ACTION`; by default `deploy`, `stage`, `rollback`, `commit`, `hotfix`).",
    tag = "metrics",
    params(RangeParams, ServiceParam, ReportParams),
    responses((status = 200, description = "The range from the day of `from` to the day before `to` (or the day of `to` when it is a date), at most 366 days. Without `to`, up to the store's last day; without `from`, the 366 days up to there (or from the store's first day, if later). `total` is `null` and `buckets` empty when the store has no events and no range is given.", body = DeliveryReport))
)]
pub async fn delivery(
    State(state): State<AppState>,
    params: Query<(RangeParams, ServiceParam, ReportParams)>,
) -> Result<Json<DeliveryReport>, ApiError> {
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;
    let service = params.service()?;
    let shape = (params.bucket()?, benchmark(params.get("benchmark"))?);
    let report = state
        .store
        .reader()
        .delivery_metrics(service, from, to, shape)
        .await?;
    Ok(Json(report))
}

fn bucket_refusal() -> ApiError {
    ApiError::invalid("bucket", "must be day or week")
}

pub fn benchmark_refusal() -> ApiError {
    ApiError::invalid("benchmark", "must be 2023 or 2024")
}

pub fn errors() -> Vec<ApiError> {
    over_days(
        bucket_refusal(),
        vec![
            ApiError::StoreUnavailable,
            ApiError::StoreNeedsUpgrade,
            ApiError::MetricsNeedRebuild,
        ],
    )
}
