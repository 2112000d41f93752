use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use utoipa::{IntoParams, ToSchema};

use super::cursor;
use super::params::{Accepts, Query};
use crate::error::ApiError;
use crate::events::{ServiceSummary, is_service_name};
use crate::state::AppState;

const ROUTE: &str = "/services";

/// `limit` and `cursor`, on `GET /services`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServicePageParams {
    /// Services per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u16>,
    /// The `next_cursor` of the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
}

impl Accepts for ServicePageParams {
    const NAMES: &'static [&'static str] = &["limit", "cursor"];
}

/// A page of services, by name.
#[derive(serde::Serialize, ToSchema)]
pub struct ServiceList<'a> {
    pub services: Vec<ServiceSummary<'a>>,
    /// Where the next page starts, or `null` on the last page: pass it as `cursor`.
    pub next_cursor: Option<String>,
}

/// `GET /services?limit&cursor`
#[utoipa::path(
    get,
    path = "/services",
    summary = "Every service",
    description = "Every service with events, by name: its event count, first and last event, last deploy, and its deployment frequency over the 30 days ending on its last event's day. A page at a time; follow `next_cursor` for the next page.",
    tag = "services",
    params(ServicePageParams),
    responses((status = 200, description = "Services by name.", body = ServiceList))
)]
pub async fn list_services(
    State(state): State<AppState>,
    params: Query<ServicePageParams>,
) -> Result<Response, ApiError> {
    let limit = params.limit()?;
    let after = (params.text("cursor")?)
        .map(|value| cursor::decode_after(value, ROUTE, is_service_name))
        .transpose()?;
    let reader = state.store.reader();
    let (services, more) = reader.services(after.as_deref(), limit).await?;
    let last = services.last().filter(|_| more);
    let next_cursor = last.map(|service| cursor::encode_after(&service.name, ROUTE));
    let list = ServiceList {
        services,
        next_cursor,
    };
    Ok(Json(list).into_response())
}

pub fn errors() -> Vec<ApiError> {
    vec![
        ApiError::invalid("limit", "must be a whole number from 1 to 1000"),
        ApiError::InvalidCursor,
        ApiError::StoreUnavailable,
        ApiError::StoreNeedsUpgrade,
    ]
}
