//! `GET /api/audit` (admins), and the middleware that records denied attempts.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use crm_domain::{AuditEntry, AuditQuery, AuditService, UserId};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::params::{parse_time, ParamErrors};
use crate::auth::{Authenticated, RequestActor};
use crate::dto::page_type;
use crate::error::{responses, ApiError};

/// Registers the audit route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/audit")
            .route(web::get().to(audit_trail))
            .default_service(super::not_allowed("GET")),
    );
}

page_type!(
    /// A page of the audit trail.
    AuditPage of AuditEntry
);

/// Query parameters of the audit trail.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct AuditParams {
    /// `customer`, `note`, `interaction`, or a route for denied attempts.
    pub entity_type: Option<String>,
    /// Only entries about this entity.
    #[param(value_type = Option<Uuid>)]
    pub entity_id: Option<String>,
    /// Only entries by this user.
    #[param(value_type = Option<Uuid>)]
    pub actor: Option<String>,
    /// E.g. `customer.updated`, `tags.added`, `note.deleted`, `denied`.
    pub action: Option<String>,
    /// At or after (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub from: Option<String>,
    /// At or before (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub to: Option<String>,
    /// Page size, 1–100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// The audit trail, newest first: sensitive changes (customer create/update/delete, tag changes,
/// note and interaction deletes) with before/after, and denied attempts. Admins only.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of the trail", body = AuditPage),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 422, response = responses::Unprocessable),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn audit_trail(
    service: web::Data<AuditService>,
    actor: Authenticated,
    params: web::Query<AuditParams>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let p = params.into_inner();
    let mut errors = ParamErrors::default();
    let query = AuditQuery {
        entity_id: errors.parse("entityId", p.entity_id.as_deref(), Uuid::parse_str),
        actor: errors.parse("actor", p.actor.as_deref(), |s| {
            Uuid::parse_str(s).map(UserId::from)
        }),
        from: errors.parse("from", p.from.as_deref(), parse_time),
        to: errors.parse("to", p.to.as_deref(), parse_time),
        window: errors.window(p.limit.as_deref(), p.cursor.as_deref()),
        entity_type: errors.parse("entityType", p.entity_type.as_deref(), |s| {
            Ok::<_, String>(s.to_owned())
        }),
        action: errors.parse("action", p.action.as_deref(), |s| {
            Ok::<_, String>(s.to_owned())
        }),
    };
    let query = errors.finish(query)?;
    Ok(web::Json(service.list(&actor.0, query).await?.into()))
}

/// The id a denied request addressed: the first UUID among its path parameters.
fn addressed(req: &actix_web::HttpRequest) -> Option<Uuid> {
    req.match_info()
        .iter()
        .find_map(|(_, v)| Uuid::parse_str(v).ok())
}

/// Middleware: after a 403, records who was refused what (best effort: a failure is logged).
///
/// # Errors
/// Passes through errors of the inner service.
pub async fn audit_denied_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let res = next.call(req).await?;
    if res.status() == StatusCode::FORBIDDEN {
        let request = res.request();
        let actor = request
            .extensions()
            .get::<RequestActor>()
            .map(|a| a.0.clone());
        let service = request.app_data::<web::Data<AuditService>>().cloned();
        if let (Some(actor), Some(service)) = (actor, service) {
            let route = request
                .match_pattern()
                .unwrap_or_else(|| request.path().to_owned());
            let what = format!("{} {route}", request.method());
            if let Err(e) = service
                .record_denied(&actor, &what, addressed(request))
                .await
            {
                tracing::warn!(error = %e, "denied attempt not audited");
            }
        }
    }
    Ok(res)
}
