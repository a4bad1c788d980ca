//! `/api/customers/{id}/notes` routes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use crm_domain::{CustomerId, NoteId, NoteService};
use uuid::Uuid;

use super::params::ParamErrors;
use crate::auth::Authenticated;
use crate::dto::{CreateNoteRequest, NotePage, NoteResponse, UpdateNoteRequest, WindowParams};
use crate::error::{problem_sets, ApiError};
use crate::extract::JsonBody;

/// Registers the note routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/customers/{id}/notes")
            .route(web::get().to(list_notes))
            .route(web::post().to(create_note))
            .default_service(super::not_allowed("GET, POST")),
    )
    .service(
        web::resource("/api/customers/{id}/notes/{noteId}")
            .route(web::get().to(get_note))
            .route(web::put().to(update_note))
            .route(web::delete().to(delete_note))
            .default_service(super::not_allowed("GET, PUT, DELETE")),
    );
}

fn ids(path: web::Path<(Uuid, Uuid)>) -> (CustomerId, NoteId) {
    let (customer, note) = path.into_inner();
    (CustomerId::from(customer), NoteId::from(note))
}

/// The customer's notes you may see (public ones and your own private ones), newest first.
#[utoipa::path(
    get,
    path = "/api/customers/{id}/notes",
    tag = "notes",
    params(("id" = Uuid, Path, description = "Customer id"), WindowParams),
    responses(
        (status = 200, description = "A page of notes", body = NotePage),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn list_notes(
    service: web::Data<NoteService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<web::Json<NotePage>, ApiError> {
    let mut errors = ParamErrors::default();
    let window = errors.window(params.limit.as_deref(), params.cursor.as_deref());
    let window = errors.finish(window)?;
    let page = service
        .list(&actor.0, CustomerId::from(*id), window)
        .await?;
    Ok(web::Json(page.into()))
}

/// Add a note.
#[utoipa::path(
    post,
    path = "/api/customers/{id}/notes",
    tag = "notes",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = CreateNoteRequest,
    responses(
        (status = 201, description = "Created", body = NoteResponse,
            headers(("Location" = String, description = "URL of the new note"))),
        problem_sets::ChildCreateErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn create_note(
    service: web::Data<NoteService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    body: JsonBody<CreateNoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let note = service
        .create(&actor.0, CustomerId::from(*id), body.0.into())
        .await?;
    let location = format!("/api/customers/{}/notes/{}", note.customer_id, note.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(NoteResponse::from(note)))
}

/// One note (another user's private note does not exist for you).
#[utoipa::path(
    get,
    path = "/api/customers/{id}/notes/{noteId}",
    tag = "notes",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("noteId" = Uuid, Path, description = "Note id"),
    ),
    responses(
        (status = 200, description = "The note", body = NoteResponse),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn get_note(
    service: web::Data<NoteService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<NoteResponse>, ApiError> {
    let (customer, note) = ids(path);
    Ok(web::Json(
        service.get(&actor.0, customer, note).await?.into(),
    ))
}

/// Change the fields sent. Users change their own notes; managers and admins any public one;
/// only the author changes `isPrivate`.
#[utoipa::path(
    put,
    path = "/api/customers/{id}/notes/{noteId}",
    tag = "notes",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("noteId" = Uuid, Path, description = "Note id"),
    ),
    request_body = UpdateNoteRequest,
    responses(
        (status = 200, description = "The note after the change", body = NoteResponse),
        problem_sets::ChangeErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn update_note(
    service: web::Data<NoteService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<UpdateNoteRequest>,
) -> Result<web::Json<NoteResponse>, ApiError> {
    let (customer, note) = ids(path);
    let cmd = body.0.try_into_domain()?;
    Ok(web::Json(
        service.update(&actor.0, customer, note, cmd).await?.into(),
    ))
}

/// Delete a note.
#[utoipa::path(
    delete,
    path = "/api/customers/{id}/notes/{noteId}",
    tag = "notes",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("noteId" = Uuid, Path, description = "Note id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        problem_sets::DeleteErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn delete_note(
    service: web::Data<NoteService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (customer, note) = ids(path);
    service.delete(&actor.0, customer, note).await?;
    Ok(HttpResponse::NoContent().finish())
}
