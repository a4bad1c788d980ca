//! The OpenAPI document, generated from the handlers and DTOs.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[allow(clippy::wildcard_imports)] // This file registers every DTO.
use crate::dto::*;
use crate::error::{responses, Problem, ProblemField};
use crate::routes::{audit, customers, health, history, interactions, notes, segments, stats};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus CRM",
        description = "Customer-relationship module of the Nexus ERP: a multi-tenant REST API. \
            Every `/api` route takes `Authorization: Bearer <JWT>` (HS256 with the shared secret, \
            or RS256/ES256/EdDSA signed by User Management and named by `kid`) with the claims `sub`, \
            `companyId`, `role` and `exp`. Errors are `application/problem+json` (RFC 9457).",
        license(name = "MIT")
    ),
    paths(
        customers::list_customers,
        customers::create_customer,
        customers::get_customer,
        customers::update_customer,
        customers::delete_customer,
        customers::search_customers,
        customers::list_tags,
        customers::add_tags,
        customers::remove_tags,
        segments::list_segments,
        segments::create_segment,
        segments::get_segment,
        segments::update_segment,
        segments::delete_segment,
        segments::segment_customers,
        stats::company_stats,
        stats::dashboard,
        stats::performance,
        stats::customer_activity,
        audit::audit_trail,
        notes::list_notes,
        notes::create_note,
        notes::get_note,
        notes::update_note,
        notes::delete_note,
        interactions::list_interactions,
        interactions::create_interaction,
        interactions::get_interaction,
        interactions::update_interaction,
        interactions::complete_interaction,
        interactions::delete_interaction,
        history::customer_history,
        health::health,
        health::live,
        health::ready,
        health::detailed,
    ),
    components(
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::Unprocessable,
            responses::Unavailable,
        ),
        schemas(
        CustomerResponse,
        PageInfo,
        CustomerPage,
        NotePage,
        InteractionPage,
        HistoryPage,
        TagPage,
        SegmentPage,
        TagCountResponse,
        TagsRequest,
        SegmentResponse,
        CreateSegmentRequest,
        UpdateSegmentRequest,
        crm_domain::CustomerFilter,
        crm_domain::Tag,
        crm_domain::CompanyStats,
        crm_domain::Dashboard,
        crm_domain::DailyPoint,
        crm_domain::Bucket,
        crm_domain::ScheduledItem,
        crm_domain::UserPerformance,
        crm_domain::CustomerActivity,
        crm_domain::stats::TagCountSchema,
        stats::PerformanceReport,
        crm_domain::AuditEntry,
        audit::AuditPage,
        CreateCustomerRequest,
        UpdateCustomerRequest,
        Problem,
        ProblemField,
        crm_domain::CustomerStatus,
        crm_domain::CustomerType,
        NoteResponse,
        CreateNoteRequest,
        UpdateNoteRequest,
        crm_domain::NoteType,
        InteractionResponse,
        CreateInteractionRequest,
        UpdateInteractionRequest,
        CompleteInteractionRequest,
        crm_domain::InteractionType,
        crm_domain::InteractionStatus,
        crm_domain::Direction,
        HistoryEntryResponse,
    )
    ),
    modifiers(&BearerAuth, &JsonQueryParameters, &Links, &RateLimited),
    tags(
        (name = "customers", description = "Customer records"),
        (name = "notes", description = "Notes on a customer; private ones exist for their author only"),
        (name = "interactions", description = "Calls, emails, meetings, tasks with a customer"),
        (name = "history", description = "A customer's timeline"),
        (name = "tags", description = "Tags and their counts"),
        (name = "segments", description = "Saved customer filters with live members"),
        (name = "stats", description = "Analytics and reports"),
        (name = "audit", description = "The audit trail (admins)"),
        (name = "health", description = "Probes; no authentication"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

/// Every `/api` operation may answer 429 when the client IP is over its rate limit
/// (`RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_SECONDS`); the middleware answers it before any
/// handler runs, so it is added here to each operation rather than to 37 annotations.
struct RateLimited;

impl Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};
        const NAME: &str = "TooManyRequests";
        let seconds = |description: &str| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some(description))
                .build()
        };
        let response = ResponseBuilder::new()
            .description(
                "Too many requests from this client IP in the current window; retry after \
                 `Retry-After` seconds",
            )
            .header("Retry-After", seconds("Seconds until the window resets"))
            .header("RateLimit-Limit", seconds("Requests allowed per window"))
            .header(
                "RateLimit-Remaining",
                seconds("Requests left in this window"),
            )
            .header(
                "RateLimit-Reset",
                seconds("Seconds until the window resets"),
            )
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        if let Some(components) = openapi.components.as_mut() {
            components
                .responses
                .insert(NAME.to_owned(), RefOr::T(response));
        }
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/api/") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .insert("429".to_owned(), RefOr::Ref(Ref::from_response_name(NAME)));
            }
        }
    }
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The `metadata` query parameter is a JSON object in the query string: OpenAPI says so with
/// `content: {application/json: ...}` in place of `schema`, which utoipa's `IntoParams` cannot
/// write; the document gets it here (as a flattened field of the parameter).
struct JsonQueryParameters;

impl Modify for JsonQueryParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        let content = serde_json::json!({
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Pairs the customer's metadata must contain"
                }
            }
        });
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "metadata" && parameter.parameter_in == ParameterIn::Query
                    {
                        parameter.schema = None;
                        parameter
                            .extensions
                            .get_or_insert_with(Default::default)
                            .insert("content".to_owned(), content.clone());
                    }
                }
            }
        }
    }
}

/// Where a created resource can be used next, as OpenAPI links on each create's `201`:
/// the id in the answer feeds the routes that address that resource. Clients (and the
/// stateful contract tests) follow them from create to read, change and delete.
struct Links;

const CUSTOMER: &[(&str, &str)] = &[("id", "$response.body#/id")];
const NOTE: &[(&str, &str)] = &[
    ("id", "$response.body#/customerId"),
    ("noteId", "$response.body#/id"),
];
const INTERACTION: &[(&str, &str)] = &[
    ("id", "$response.body#/customerId"),
    ("interactionId", "$response.body#/id"),
];

/// (producer operation, [(consumer operation, parameters)]).
type LinkTable = [(
    &'static str,
    &'static [(&'static str, &'static [(&'static str, &'static str)])],
)];

const LINKS: &LinkTable = &[
    (
        "create_customer",
        &[
            ("get_customer", CUSTOMER),
            ("update_customer", CUSTOMER),
            ("delete_customer", CUSTOMER),
            ("add_tags", CUSTOMER),
            ("remove_tags", CUSTOMER),
            ("customer_history", CUSTOMER),
            ("customer_activity", CUSTOMER),
            ("list_notes", CUSTOMER),
            ("create_note", CUSTOMER),
            ("list_interactions", CUSTOMER),
            ("create_interaction", CUSTOMER),
        ],
    ),
    (
        "create_note",
        &[
            ("get_note", NOTE),
            ("update_note", NOTE),
            ("delete_note", NOTE),
        ],
    ),
    (
        "create_interaction",
        &[
            ("get_interaction", INTERACTION),
            ("update_interaction", INTERACTION),
            ("complete_interaction", INTERACTION),
            ("delete_interaction", INTERACTION),
        ],
    ),
    (
        "create_segment",
        &[
            ("get_segment", CUSTOMER),
            ("update_segment", CUSTOMER),
            ("delete_segment", CUSTOMER),
            ("segment_customers", CUSTOMER),
        ],
    ),
];

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::link::LinkBuilder;
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            let Some(post) = item.post.as_mut() else {
                continue;
            };
            let Some((_, targets)) = LINKS
                .iter()
                .find(|(producer, _)| post.operation_id.as_deref() == Some(*producer))
            else {
                continue;
            };
            let Some(RefOr::T(created)) = post.responses.responses.get_mut("201") else {
                continue;
            };
            for (consumer, parameters) in *targets {
                let mut link = parameters
                    .iter()
                    .fold(LinkBuilder::new(), |b, (name, value)| {
                        b.parameter(*name, *value)
                    })
                    .build();
                // utoipa 5.5 writes `Link::operation_id` as `operation_id`, not the
                // `operationId` of the specification: set the field by its right name.
                link.extensions
                    .get_or_insert_with(Default::default)
                    .insert("operationId".to_owned(), (*consumer).into());
                created.links.insert((*consumer).to_owned(), RefOr::T(link));
            }
        }
    }
}
