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
    modifiers(&BearerAuth),
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
