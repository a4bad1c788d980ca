//! `/api/segments` routes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use crm_domain::{SegmentId, SegmentService};
use uuid::Uuid;

use super::params::ParamErrors;
use crate::auth::Authenticated;
use crate::dto::{
    CreateSegmentRequest, CustomerPage, SegmentMembersParams, SegmentPage, SegmentResponse,
    UpdateSegmentRequest, WindowParams,
};
use crate::error::{problem_sets, ApiError};
use crate::extract::JsonBody;

/// Registers the segment routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/segments")
            .route(web::get().to(list_segments))
            .route(web::post().to(create_segment))
            .default_service(super::not_allowed("GET, POST")),
    )
    .service(
        web::resource("/api/segments/{id}")
            .route(web::get().to(get_segment))
            .route(web::put().to(update_segment))
            .route(web::delete().to(delete_segment))
            .default_service(super::not_allowed("GET, PUT, DELETE")),
    )
    .service(
        web::resource("/api/segments/{id}/customers")
            .route(web::get().to(segment_customers))
            .default_service(super::not_allowed("GET")),
    );
}

/// The company's segments, newest first, each with its live member count.
#[utoipa::path(
    get,
    path = "/api/segments",
    tag = "segments",
    params(WindowParams),
    responses(
        (status = 200, description = "A page of segments", body = SegmentPage),
        problem_sets::ListErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn list_segments(
    service: web::Data<SegmentService>,
    actor: Authenticated,
    params: web::Query<WindowParams>,
) -> Result<web::Json<SegmentPage>, ApiError> {
    let mut errors = ParamErrors::default();
    let window = errors.window(params.limit.as_deref(), params.cursor.as_deref());
    let window = errors.finish(window)?;
    Ok(web::Json(service.list(&actor.0, window).await?.into()))
}

/// Save a segment: a name and a filter in the customer list's terms.
#[utoipa::path(
    post,
    path = "/api/segments",
    tag = "segments",
    request_body = CreateSegmentRequest,
    responses(
        (status = 201, description = "Created", body = SegmentResponse,
            headers(("Location" = String, description = "URL of the new segment"))),
        problem_sets::CreateErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn create_segment(
    service: web::Data<SegmentService>,
    actor: Authenticated,
    body: JsonBody<CreateSegmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let made = service.create(&actor.0, body.0.into()).await?;
    let location = format!("/api/segments/{}", made.segment.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(SegmentResponse::from(made)))
}

/// One segment with its live member count.
#[utoipa::path(
    get,
    path = "/api/segments/{id}",
    tag = "segments",
    params(("id" = Uuid, Path, description = "Segment id")),
    responses(
        (status = 200, description = "The segment", body = SegmentResponse),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), segment = %id))]
pub async fn get_segment(
    service: web::Data<SegmentService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<SegmentResponse>, ApiError> {
    let segment = service.get(&actor.0, SegmentId::from(*id)).await?;
    Ok(web::Json(segment.into()))
}

/// Change the fields sent (its creator, managers and admins).
#[utoipa::path(
    put,
    path = "/api/segments/{id}",
    tag = "segments",
    params(("id" = Uuid, Path, description = "Segment id")),
    request_body = UpdateSegmentRequest,
    responses(
        (status = 200, description = "The segment after the change", body = SegmentResponse),
        problem_sets::ChangeErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), segment = %id))]
pub async fn update_segment(
    service: web::Data<SegmentService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateSegmentRequest>,
) -> Result<web::Json<SegmentResponse>, ApiError> {
    let cmd = body.0.try_into_domain()?;
    let segment = service.update(&actor.0, SegmentId::from(*id), cmd).await?;
    Ok(web::Json(segment.into()))
}

/// Delete a segment (its customers stay).
#[utoipa::path(
    delete,
    path = "/api/segments/{id}",
    tag = "segments",
    params(("id" = Uuid, Path, description = "Segment id")),
    responses(
        (status = 204, description = "Deleted"),
        problem_sets::DeleteErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), segment = %id))]
pub async fn delete_segment(
    service: web::Data<SegmentService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    service.delete(&actor.0, SegmentId::from(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The segment's members now, with the customer list's sorting and pagination.
#[utoipa::path(
    get,
    path = "/api/segments/{id}/customers",
    tag = "segments",
    params(("id" = Uuid, Path, description = "Segment id"), SegmentMembersParams),
    responses(
        (status = 200, description = "A page of members", body = CustomerPage),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), segment = %id))]
pub async fn segment_customers(
    service: web::Data<SegmentService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    params: web::Query<SegmentMembersParams>,
) -> Result<web::Json<CustomerPage>, ApiError> {
    let mut errors = ParamErrors::default();
    let (sort, limit, after, include_total) = errors.page(
        params.sort.as_deref(),
        params.limit.as_deref(),
        params.cursor.as_deref(),
        params.include_total.as_deref(),
    );
    errors.finish(())?;
    let page = service
        .members(
            &actor.0,
            SegmentId::from(*id),
            sort,
            limit,
            after,
            include_total,
        )
        .await?;
    Ok(web::Json(page.into()))
}
