//! `/api/customers` routes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::{Cursor, CustomerId, CustomerQuery, CustomerService, CustomerSort, Tag, UserId};
use uuid::Uuid;

use super::params::{parse_limit, ParamErrors};
use crate::auth::Authenticated;
use crate::dto::{
    CreateCustomerRequest, CustomerPage, CustomerResponse, ListCustomersParams,
    UpdateCustomerRequest,
};
use crate::error::{responses, ApiError};
use crate::extract::JsonBody;

/// Registers the customer routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/customers")
            .route(web::get().to(list_customers))
            .route(web::post().to(create_customer))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/api/customers/{id}")
            .route(web::get().to(get_customer))
            .route(web::put().to(update_customer))
            .route(web::delete().to(delete_customer))
            .default_service(web::to(super::method_not_allowed)),
    );
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{raw}` is not an RFC 3339 time: {e}"))
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("`{raw}` is not true or false")),
    }
}

fn parse_tags(raw: &str) -> Result<Vec<Tag>, String> {
    let tags = raw
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(Tag::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if tags.len() > Tag::MAX_PER_CUSTOMER {
        return Err(format!("at most {} tags", Tag::MAX_PER_CUSTOMER));
    }
    Ok(tags)
}

impl ListCustomersParams {
    /// The domain query, or a 400 naming every bad parameter.
    ///
    /// # Errors
    /// 400 naming every malformed parameter (a cursor that is not ours, or was made for
    /// another sort, included).
    pub fn try_into_query(self) -> Result<(CustomerQuery, bool), ApiError> {
        let mut errors = ParamErrors::default();
        let status = errors.parse("status", self.status.as_deref(), str::parse);
        let customer_type = errors.parse("type", self.customer_type.as_deref(), str::parse);
        let tags_any = errors.parse("tags", self.tags.as_deref(), parse_tags);
        let assigned_to = errors.parse("assignedTo", self.assigned_to.as_deref(), |s| {
            Uuid::parse_str(s).map(UserId::from)
        });
        let created_from = errors.parse("createdFrom", self.created_from.as_deref(), parse_time);
        let created_to = errors.parse("createdTo", self.created_to.as_deref(), parse_time);
        let sort: Option<CustomerSort> = errors.parse("sort", self.sort.as_deref(), str::parse);
        let limit = errors.parse("limit", self.limit.as_deref(), parse_limit);
        let include_total = errors
            .parse("includeTotal", self.include_total.as_deref(), parse_bool)
            .unwrap_or(false);
        let sort = sort.unwrap_or_default();
        let after = errors.parse("cursor", self.cursor.as_deref(), |c| {
            Cursor::decode(c, sort.as_str()).map_err(|_| "is not a valid cursor for this sort")
        });
        errors.finish((
            CustomerQuery {
                status,
                customer_type,
                tags_any: tags_any.unwrap_or_default(),
                assigned_to,
                created_from,
                created_to,
                sort,
                limit: limit.unwrap_or_default(),
                after,
            },
            include_total,
        ))
    }
}

/// List the company's customers.
#[utoipa::path(
    get,
    path = "/api/customers",
    tag = "customers",
    params(ListCustomersParams),
    responses(
        (status = 200, description = "A page of customers", body = CustomerPage),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 422, response = responses::Unprocessable),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn list_customers(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    params: web::Query<ListCustomersParams>,
) -> Result<web::Json<CustomerPage>, ApiError> {
    let (query, include_total) = params.into_inner().try_into_query()?;
    let page = service.list(&actor.0, query, include_total).await?;
    Ok(web::Json(page.into()))
}

/// Create a customer.
#[utoipa::path(
    post,
    path = "/api/customers",
    tag = "customers",
    request_body = CreateCustomerRequest,
    responses(
        (status = 201, description = "Created", body = CustomerResponse,
            headers(("Location" = String, description = "URL of the new customer"))),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 409, response = responses::Conflict),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Unprocessable),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn create_customer(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    body: JsonBody<CreateCustomerRequest>,
) -> Result<HttpResponse, ApiError> {
    let customer = service.create(&actor.0, body.0.into()).await?;
    let location = format!("/api/customers/{}", customer.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(CustomerResponse::from(customer)))
}

/// Get one customer.
#[utoipa::path(
    get,
    path = "/api/customers/{id}",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer", body = CustomerResponse),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn get_customer(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
) -> Result<web::Json<CustomerResponse>, ApiError> {
    let customer = service.get(&actor.0, CustomerId::from(*id)).await?;
    Ok(web::Json(customer.into()))
}

/// Change the fields sent (partial update).
#[utoipa::path(
    put,
    path = "/api/customers/{id}",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = UpdateCustomerRequest,
    responses(
        (status = 200, description = "The customer after the change", body = CustomerResponse),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Unprocessable),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn update_customer(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateCustomerRequest>,
) -> Result<web::Json<CustomerResponse>, ApiError> {
    let cmd = body.0.try_into_domain()?;
    let customer = service.update(&actor.0, CustomerId::from(*id), cmd).await?;
    Ok(web::Json(customer.into()))
}

/// Delete a customer with its notes and interactions.
#[utoipa::path(
    delete,
    path = "/api/customers/{id}",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn delete_customer(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    service.delete(&actor.0, CustomerId::from(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
