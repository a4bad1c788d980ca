//! `/api/stats` routes.

use actix_web::web;
use chrono::{Duration, Utc};
use crm_domain::{
    CompanyStats, CustomerActivity, CustomerId, Dashboard, DashboardDays, StatsService,
    UserPerformance,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::params::{parse_time, ParamErrors};
use crate::auth::Authenticated;
use crate::error::{problem_sets, responses, ApiError};

/// Registers the analytics routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/stats")
            .route(web::get().to(company_stats))
            .default_service(super::not_allowed("GET")),
    )
    .service(
        web::resource("/api/stats/dashboard")
            .route(web::get().to(dashboard))
            .default_service(super::not_allowed("GET")),
    )
    .service(
        web::resource("/api/stats/performance")
            .route(web::get().to(performance))
            .default_service(super::not_allowed("GET")),
    )
    .service(
        web::resource("/api/stats/customers/{id}/activity")
            .route(web::get().to(customer_activity))
            .default_service(super::not_allowed("GET")),
    );
}

/// Query parameters of the dashboard.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardParams {
    /// Days in the series, 1–365, default 30 (today included, UTC days).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 365)]
    pub days: Option<String>,
}

/// Query parameters of the performance report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PerformanceParams {
    /// Start of the period (RFC 3339); default 30 days before `to`.
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub from: Option<String>,
    /// End of the period (RFC 3339); default now.
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub to: Option<String>,
}

/// The performance report.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceReport {
    /// Start of the period.
    pub from: chrono::DateTime<Utc>,
    /// End of the period.
    pub to: chrono::DateTime<Utc>,
    /// One entry per user with any figure.
    pub data: Vec<UserPerformance>,
}

/// Company totals: customers by status, type and source; notes (as you may see them);
/// interactions by type and status; new customers in the last 7 and 30 days. Exact at once.
#[utoipa::path(
    get,
    path = "/api/stats",
    tag = "stats",
    responses(
        (status = 200, description = "Totals", body = CompanyStats),
        (status = 401, response = responses::Unauthorized),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn company_stats(
    service: web::Data<StatsService>,
    actor: Authenticated,
) -> Result<web::Json<CompanyStats>, ApiError> {
    Ok(web::Json(service.company(&actor.0, Utc::now()).await?))
}

/// Daily series of new customers and of interactions created and completed (zero for empty
/// days), upcoming (next 7 days) and overdue interactions, top tags.
#[utoipa::path(
    get,
    path = "/api/stats/dashboard",
    tag = "stats",
    params(DashboardParams),
    responses(
        (status = 200, description = "The dashboard", body = Dashboard),
        problem_sets::ListErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn dashboard(
    service: web::Data<StatsService>,
    actor: Authenticated,
    params: web::Query<DashboardParams>,
) -> Result<web::Json<Dashboard>, ApiError> {
    let mut errors = ParamErrors::default();
    let days = errors.parse("days", params.days.as_deref(), |d| {
        d.parse::<u32>()
            .ok()
            .and_then(|n| DashboardDays::new(Some(n)).ok())
            .ok_or_else(|| {
                format!(
                    "`{d}` is not a number of days from 1 to {}",
                    DashboardDays::MAX
                )
            })
    });
    errors.finish(())?;
    let days = days.map_or_else(|| DashboardDays::new(None), Ok)?;
    Ok(web::Json(
        service.dashboard(&actor.0, days, Utc::now()).await?,
    ))
}

/// Per user over a period: interactions created and completed, average duration, customers
/// assigned now, customers won (moved to `active`, credited to the assignee).
#[utoipa::path(
    get,
    path = "/api/stats/performance",
    tag = "stats",
    params(PerformanceParams),
    responses(
        (status = 200, description = "The report", body = PerformanceReport),
        problem_sets::QueryErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn performance(
    service: web::Data<StatsService>,
    actor: Authenticated,
    params: web::Query<PerformanceParams>,
) -> Result<web::Json<PerformanceReport>, ApiError> {
    let mut errors = ParamErrors::default();
    let from = errors.parse("from", params.from.as_deref(), parse_time);
    let to = errors.parse("to", params.to.as_deref(), parse_time);
    errors.finish(())?;
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - Duration::days(30));
    let data = service.performance(&actor.0, from, to).await?;
    Ok(web::Json(PerformanceReport { from, to, data }))
}

/// A customer's activity: notes (as you may see them) and interactions by type and status,
/// last contact, days since, next scheduled interaction.
#[utoipa::path(
    get,
    path = "/api/stats/customers/{id}/activity",
    tag = "stats",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The activity", body = CustomerActivity),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn customer_activity(
    service: web::Data<StatsService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<CustomerActivity>, ApiError> {
    let activity = service
        .customer_activity(&actor.0, CustomerId::from(*id), Utc::now())
        .await?;
    Ok(web::Json(activity))
}
