//! `/api/customers/{id}/interactions` routes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use crm_domain::{CustomerId, InteractionId, InteractionQuery, InteractionService};
use uuid::Uuid;

use super::params::ParamErrors;
use crate::auth::Authenticated;
use crate::dto::{
    CompleteInteractionRequest, CreateInteractionRequest, InteractionPage, InteractionResponse,
    ListInteractionsParams, UpdateInteractionRequest,
};
use crate::error::{problem_sets, ApiError};
use crate::extract::{JsonBody, OptionalJsonBody};

/// Registers the interaction routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/customers/{id}/interactions")
            .route(web::get().to(list_interactions))
            .route(web::post().to(create_interaction))
            .default_service(super::not_allowed("GET, POST")),
    )
    .service(
        web::resource("/api/customers/{id}/interactions/{interactionId}")
            .route(web::get().to(get_interaction))
            .route(web::put().to(update_interaction))
            .route(web::delete().to(delete_interaction))
            .default_service(super::not_allowed("GET, PUT, DELETE")),
    )
    .service(
        web::resource("/api/customers/{id}/interactions/{interactionId}/complete")
            .route(web::patch().to(complete_interaction))
            .default_service(super::not_allowed("PATCH")),
    );
}

fn ids(path: web::Path<(Uuid, Uuid)>) -> (CustomerId, InteractionId) {
    let (customer, interaction) = path.into_inner();
    (CustomerId::from(customer), InteractionId::from(interaction))
}

impl ListInteractionsParams {
    fn try_into_query(self) -> Result<InteractionQuery, ApiError> {
        let mut errors = ParamErrors::default();
        let interaction_type = errors.parse("type", self.interaction_type.as_deref(), str::parse);
        let status = errors.parse("status", self.status.as_deref(), str::parse);
        let window = errors.window(self.limit.as_deref(), self.cursor.as_deref());
        errors.finish(InteractionQuery {
            interaction_type,
            status,
            window,
        })
    }
}

/// The customer's interactions, newest first.
#[utoipa::path(
    get,
    path = "/api/customers/{id}/interactions",
    tag = "interactions",
    params(("id" = Uuid, Path, description = "Customer id"), ListInteractionsParams),
    responses(
        (status = 200, description = "A page of interactions", body = InteractionPage),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn list_interactions(
    service: web::Data<InteractionService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    params: web::Query<ListInteractionsParams>,
) -> Result<web::Json<InteractionPage>, ApiError> {
    let query = params.into_inner().try_into_query()?;
    let page = service.list(&actor.0, CustomerId::from(*id), query).await?;
    Ok(web::Json(page.into()))
}

/// Record or schedule an interaction.
#[utoipa::path(
    post,
    path = "/api/customers/{id}/interactions",
    tag = "interactions",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = CreateInteractionRequest,
    responses(
        (status = 201, description = "Created", body = InteractionResponse,
            headers(("Location" = String, description = "URL of the new interaction"))),
        problem_sets::ChildCreateErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn create_interaction(
    service: web::Data<InteractionService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    body: JsonBody<CreateInteractionRequest>,
) -> Result<HttpResponse, ApiError> {
    let interaction = service
        .create(&actor.0, CustomerId::from(*id), body.0.into())
        .await?;
    let location = format!(
        "/api/customers/{}/interactions/{}",
        interaction.customer_id, interaction.id
    );
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(InteractionResponse::from(interaction)))
}

/// One interaction.
#[utoipa::path(
    get,
    path = "/api/customers/{id}/interactions/{interactionId}",
    tag = "interactions",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("interactionId" = Uuid, Path, description = "Interaction id"),
    ),
    responses(
        (status = 200, description = "The interaction", body = InteractionResponse),
        problem_sets::ReadErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn get_interaction(
    service: web::Data<InteractionService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<InteractionResponse>, ApiError> {
    let (customer, interaction) = ids(path);
    Ok(web::Json(
        service.get(&actor.0, customer, interaction).await?.into(),
    ))
}

/// Change the fields sent. Users change their own interactions; managers and admins any.
#[utoipa::path(
    put,
    path = "/api/customers/{id}/interactions/{interactionId}",
    tag = "interactions",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("interactionId" = Uuid, Path, description = "Interaction id"),
    ),
    request_body = UpdateInteractionRequest,
    responses(
        (status = 200, description = "The interaction after the change", body = InteractionResponse),
        problem_sets::ChangeErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn update_interaction(
    service: web::Data<InteractionService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<UpdateInteractionRequest>,
) -> Result<web::Json<InteractionResponse>, ApiError> {
    let (customer, interaction) = ids(path);
    let cmd = body.0.try_into_domain()?;
    let updated = service.update(&actor.0, customer, interaction, cmd).await?;
    Ok(web::Json(updated.into()))
}

/// Mark completed (sets `status` and `completedAt`); completing again is harmless. The body
/// is optional.
#[utoipa::path(
    patch,
    path = "/api/customers/{id}/interactions/{interactionId}/complete",
    tag = "interactions",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("interactionId" = Uuid, Path, description = "Interaction id"),
    ),
    request_body(content = Option<CompleteInteractionRequest>, description = "Optional outcome and duration"),
    responses(
        (status = 200, description = "The completed interaction", body = InteractionResponse),
        problem_sets::ChangeErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn complete_interaction(
    service: web::Data<InteractionService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
    body: OptionalJsonBody<CompleteInteractionRequest>,
) -> Result<web::Json<InteractionResponse>, ApiError> {
    let (customer, interaction) = ids(path);
    let done = service
        .complete(&actor.0, customer, interaction, body.0.into())
        .await?;
    Ok(web::Json(done.into()))
}

/// Delete an interaction.
#[utoipa::path(
    delete,
    path = "/api/customers/{id}/interactions/{interactionId}",
    tag = "interactions",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("interactionId" = Uuid, Path, description = "Interaction id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        problem_sets::DeleteErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn delete_interaction(
    service: web::Data<InteractionService>,
    actor: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (customer, interaction) = ids(path);
    service.delete(&actor.0, customer, interaction).await?;
    Ok(HttpResponse::NoContent().finish())
}
