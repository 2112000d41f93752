use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::IntoParams;

use super::params::{Accepts, Query};
use crate::dashboard::page::{CONTENT_SECURITY_POLICY, PAGE};

/// What the page shows first, as its form would choose it: read by the page's script, which
/// passes them to `/metrics/delivery` (the server does not read them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DashboardParams {
    /// A service; every one when absent.
    service: Option<String>,
    /// The range's first day, as `/metrics/delivery` takes it.
    from: Option<String>,
    /// The range's last day, included.
    to: Option<String>,
    /// `2023` or `2024`.
    benchmark: Option<String>,
}

impl Accepts for DashboardParams {
    const NAMES: &'static [&'static str] = &["service", "from", "to", "benchmark"];
}

/// `GET /dashboard`: the delivery metrics as charts, for people.
#[utoipa::path(
    get,
    path = "/dashboard",
    summary = "Delivery dashboard",
    description = "An HTML page that draws `/metrics/delivery` by week (deployments, lead time median and p90, change failure rate, failed deployment recovery time, rework rate, each with its level) and the last events, for one service or every one, over a range it lets you choose. The page carries no data: its script calls this API's JSON routes from the reader's browser, with the API key a deployed stage asks for (kept in the tab's session storage, sent as `x-api-key`). Its style and script are inside it, and its Content-Security-Policy allows nothing else.",
    tag = "metrics",
    params(DashboardParams),
    responses((status = 200, description = "The page.", content_type = "text/html"))
)]
pub async fn dashboard(_: Query<DashboardParams>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                CONTENT_SECURITY_POLICY.as_str(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        PAGE,
    )
        .into_response()
}
