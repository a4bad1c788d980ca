//! `/api/customers/{id}/history`.

use actix_web::web;
use crm_domain::{CustomerId, HistoryService};
use uuid::Uuid;

use super::params::ParamErrors;
use crate::auth::Authenticated;
use crate::dto::{HistoryPage, WindowParams};
use crate::error::{problem_sets, ApiError};

/// Registers the history route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/customers/{id}/history")
            .route(web::get().to(customer_history))
            .default_service(super::not_allowed("GET")),
    );
}

/// The customer's timeline, newest first: creation and changes, notes (another user's private
/// notes left out), interactions created and completed, tag changes.
#[utoipa::path(
    get,
    path = "/api/customers/{id}/history",
    tag = "history",
    params(("id" = Uuid, Path, description = "Customer id"), WindowParams),
    responses(
        (status = 200, description = "A page of the timeline", body = HistoryPage),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn customer_history(
    service: web::Data<HistoryService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<web::Json<HistoryPage>, ApiError> {
    let mut errors = ParamErrors::default();
    let window = errors.window(params.limit.as_deref(), params.cursor.as_deref());
    let window = errors.finish(window)?;
    let page = service
        .list(&actor.0, CustomerId::from(*id), window)
        .await?;
    Ok(web::Json(page.into()))
}
