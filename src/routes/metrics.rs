use axum::Json;
use axum::extract::State;
use utoipa::IntoParams;

use super::params::{Accepts, Query, RangeParams, ServiceParam, check_range};
use super::summaries::over_days;
use crate::error::ApiError;
use crate::events::{Bucket, DeliveryReport};
use crate::state::AppState;

/// `bucket`, on `GET /metrics/delivery`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct BucketParam {
    /// How the range is divided: UTC days, or weeks from Monday to Sunday (cut at the range's
    /// ends).
    #[param(inline, default = "day")]
    bucket: Option<Bucket>,
}

impl Accepts for BucketParam {
    const NAMES: &'static [&'static str] = &["bucket"];
}

/// `GET /metrics/delivery?from&to&service&bucket`: deployment frequency, lead time, change failure rate
/// and time to restore over whole UTC days, as `/summaries/daily` chooses them.
#[utoipa::path(
    get,
    path = "/metrics/delivery",
    summary = "Delivery metrics (DORA)",
    description = "Deployment frequency, lead time for changes, change failure rate and time to restore, for the range and for each day or week of it, each with its DORA performance level. The range is whole UTC days, chosen as `/summaries/daily` chooses them. A figure without data is `null`. A commit's lead time starts at its commit event (a push) or, without one, at its first stage, and ends at the first deploy that shipped it: its own, or a deploy of a commit pushed after it. The action names counted are the service's configuration (`DEPLOY_ACTION`, `STAGE_ACTION`, `ROLLBACK_ACTION`, `COMMIT_ACTION`; by default `deploy`, `stage`, `rollback`, `commit`).",
    tag = "metrics",
    params(RangeParams, ServiceParam, BucketParam),
    responses((status = 200, description = "The range from the day of `from` to the day before `to` (or the day of `to` when it is a date), at most 366 days. Without `to`, up to the store's last day; without `from`, the 366 days up to there (or from the store's first day, if later). `total` is `null` and `buckets` empty when the store has no events and no range is given.", body = DeliveryReport))
)]
pub async fn delivery(
    State(state): State<AppState>,
    params: Query<(RangeParams, ServiceParam, BucketParam)>,
) -> Result<Json<DeliveryReport>, ApiError> {
    let from = params.from()?;
    let to = params.to()?;
    check_range(from, to)?;
    let service = params.service()?;
    let bucket = match params.get("bucket") {
        None | Some("day") => Bucket::Day,
        Some("week") => Bucket::Week,
        Some(_) => return Err(bucket_refusal()),
    };
    let report = state
        .store
        .reader()
        .delivery_metrics(service, from, to, bucket)
        .await?;
    Ok(Json(report))
}

fn bucket_refusal() -> ApiError {
    ApiError::invalid("bucket", "must be day or week")
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
