//! `/api/customers` routes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use crm_domain::{CustomerId, CustomerQuery, CustomerService, SearchQuery, SearchText, TagQuery};
use uuid::Uuid;

use super::params::{parse_limit, ParamErrors};
use crate::auth::Authenticated;
use crate::dto::{
    CreateCustomerRequest, CustomerPage, CustomerResponse, ListCustomersParams,
    SearchCustomersParams, TagPage, TagsRequest, UpdateCustomerRequest, WindowParams,
};
use crate::error::{problem_sets, ApiError};
use crate::extract::JsonBody;

/// Registers the customer routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/customers")
            .route(web::get().to(list_customers))
            .route(web::post().to(create_customer))
            .default_service(super::not_allowed("GET, POST")),
    )
    // Before `/api/customers/{id}`, which would take these words for ids.
    .service(
        web::resource("/api/customers/search")
            .route(web::get().to(search_customers))
            .default_service(super::not_allowed("GET")),
    )
    .service(
        web::resource("/api/customers/tags")
            .route(web::get().to(list_tags))
            .default_service(super::not_allowed("GET")),
    )
    .service(
        web::resource("/api/customers/{id}/tags")
            .route(web::post().to(add_tags))
            .route(web::delete().to(remove_tags))
            .default_service(super::not_allowed("POST, DELETE")),
    )
    .service(
        web::resource("/api/customers/{id}")
            .route(web::get().to(get_customer))
            .route(web::put().to(update_customer))
            .route(web::delete().to(delete_customer))
            .default_service(super::not_allowed("GET, PUT, DELETE")),
    );
}

impl ListCustomersParams {
    /// The domain query, or a 400 naming every bad parameter.
    ///
    /// # Errors
    /// 400 naming every malformed parameter (a cursor that is not ours, or was made for
    /// another sort, included).
    pub fn try_into_query(self) -> Result<(CustomerQuery, bool), ApiError> {
        let mut errors = ParamErrors::default();
        let filter = errors.filter(self.filter_fields());
        let (sort, limit, after, include_total) = errors.page(
            self.sort.as_deref(),
            self.limit.as_deref(),
            self.cursor.as_deref(),
            self.include_total.as_deref(),
        );
        errors.finish((
            CustomerQuery {
                filter,
                sort,
                limit,
                after,
            },
            include_total,
        ))
    }
}

impl SearchCustomersParams {
    fn try_into_query(self) -> Result<SearchQuery, ApiError> {
        let mut errors = ParamErrors::default();
        let filter = errors.filter(self.filter_fields());
        let text = match self.q.as_deref() {
            None => {
                errors.missing("q");
                None
            }
            Some(q) => errors.parse("q", Some(q), |q| {
                SearchText::parse(q).map_err(|_| {
                    format!(
                        "must be {} to {} characters",
                        SearchText::MIN_CHARS,
                        SearchText::MAX_CHARS
                    )
                })
            }),
        };
        let limit = errors
            .parse("limit", self.limit.as_deref(), parse_limit)
            .unwrap_or_default();
        let after = errors.parse("cursor", self.cursor.as_deref(), |c| {
            SearchQuery::decode_cursor(c).map_err(|_| "is not a valid cursor for this search")
        });
        errors.finish(())?;
        text.map(|text| SearchQuery {
            text,
            filter,
            limit,
            after,
        })
        .ok_or_else(|| ApiError::bad_request("q is required"))
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
        problem_sets::QueryErrors,
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
        problem_sets::CreateErrors,
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
        problem_sets::ReadErrors,
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
        problem_sets::ChangeErrors,
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
        problem_sets::DeleteErrors,
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

/// Ranked search on name, email, phone and organisation: a fragment of 3+ characters anywhere,
/// or a name with a typo; combined with every list filter; best first.
#[utoipa::path(
    get,
    path = "/api/customers/search",
    tag = "customers",
    params(SearchCustomersParams),
    responses(
        (status = 200, description = "Matches, best first", body = CustomerPage),
        problem_sets::QueryErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn search_customers(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    params: web::Query<SearchCustomersParams>,
) -> Result<web::Json<CustomerPage>, ApiError> {
    let query = params.into_inner().try_into_query()?;
    let page = service.search(&actor.0, query).await?;
    Ok(web::Json(CustomerPage::from(page.map(|r| r.customer))))
}

/// Every tag of the company with its customer count, most used first.
#[utoipa::path(
    get,
    path = "/api/customers/tags",
    tag = "tags",
    params(WindowParams),
    responses(
        (status = 200, description = "Tags with counts", body = TagPage),
        problem_sets::ListErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company()))]
pub async fn list_tags(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    params: web::Query<WindowParams>,
) -> Result<web::Json<TagPage>, ApiError> {
    let mut errors = ParamErrors::default();
    let limit = errors
        .parse("limit", params.limit.as_deref(), parse_limit)
        .unwrap_or_default();
    let after = errors.parse("cursor", params.cursor.as_deref(), |c| {
        TagQuery::decode_cursor(c).map_err(|_| "is not a valid cursor for this list")
    });
    let query = errors.finish(TagQuery { limit, after })?;
    Ok(web::Json(service.tags(&actor.0, query).await?.into()))
}

/// Add tags (idempotent: tags already there are ignored). Recorded as `tags.added`.
#[utoipa::path(
    post,
    path = "/api/customers/{id}/tags",
    tag = "tags",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = TagsRequest,
    responses(
        (status = 200, description = "The customer with its tags", body = CustomerResponse),
        problem_sets::ChangeErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn add_tags(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    body: JsonBody<TagsRequest>,
) -> Result<web::Json<CustomerResponse>, ApiError> {
    let customer = service
        .add_tags(&actor.0, CustomerId::from(*id), &body.0.tags)
        .await?;
    Ok(web::Json(customer.into()))
}

/// Remove tags (idempotent: absent tags are ignored). Recorded as `tags.removed`.
#[utoipa::path(
    delete,
    path = "/api/customers/{id}/tags",
    tag = "tags",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = TagsRequest,
    responses(
        (status = 200, description = "The customer with its tags", body = CustomerResponse),
        problem_sets::ChangeErrors,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(company = %actor.0.company(), customer = %id))]
pub async fn remove_tags(
    service: web::Data<CustomerService>,
    actor: Authenticated,
    id: web::Path<Uuid>,
    body: JsonBody<TagsRequest>,
) -> Result<web::Json<CustomerResponse>, ApiError> {
    let customer = service
        .remove_tags(&actor.0, CustomerId::from(*id), &body.0.tags)
        .await?;
    Ok(web::Json(customer.into()))
}
