//! Interaction bodies.

use chrono::{DateTime, Utc};
use crm_domain::{
    CompleteInteraction, CreateInteraction, Direction, Interaction, InteractionStatus,
    InteractionType, UpdateInteraction,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{double_option, double_option_whole_u32, not_null, page_type, whole_u32};
use crate::error::ApiError;

/// An interaction as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InteractionResponse {
    /// Identifier.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The channel.
    #[serde(rename = "type")]
    pub interaction_type: InteractionType,
    /// Who started it.
    pub direction: Option<Direction>,
    /// One line.
    pub subject: String,
    /// Details.
    pub description: Option<String>,
    /// When it is planned.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Minutes it took.
    pub duration_minutes: Option<u32>,
    /// What came of it.
    pub outcome: Option<String>,
    /// Scheduled, completed or cancelled.
    pub status: InteractionStatus,
    /// Who recorded it.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Interaction> for InteractionResponse {
    fn from(i: Interaction) -> Self {
        Self {
            id: i.id.as_uuid(),
            customer_id: i.customer_id.as_uuid(),
            interaction_type: i.interaction_type,
            direction: i.direction,
            subject: i.subject,
            description: i.description,
            scheduled_at: i.scheduled_at,
            completed_at: i.completed_at,
            duration_minutes: i.duration_minutes,
            outcome: i.outcome,
            status: i.status,
            created_by: i.created_by.as_uuid(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

page_type!(
    /// A page of interactions.
    InteractionPage of InteractionResponse
);

/// Body of `POST /api/customers/{id}/interactions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInteractionRequest {
    /// The channel.
    #[serde(rename = "type")]
    pub interaction_type: InteractionType,
    /// Who started it.
    pub direction: Option<Direction>,
    /// 1–500 characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]"
    )]
    pub subject: String,
    /// At most 10,000 characters.
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// When it is planned (RFC 3339).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// 0–10,080 minutes.
    #[serde(default, deserialize_with = "whole_u32")]
    #[schema(maximum = 10080)]
    pub duration_minutes: Option<u32>,
    /// At most 2,000 characters.
    #[schema(max_length = 2000)]
    pub outcome: Option<String>,
    /// Default `scheduled`; `completed` sets `completedAt`.
    pub status: Option<InteractionStatus>,
}

impl From<CreateInteractionRequest> for CreateInteraction {
    fn from(r: CreateInteractionRequest) -> Self {
        CreateInteraction {
            interaction_type: r.interaction_type,
            direction: r.direction,
            subject: r.subject,
            description: r.description,
            scheduled_at: r.scheduled_at,
            duration_minutes: r.duration_minutes,
            outcome: r.outcome,
            status: r.status,
        }
    }
}

/// Body of `PUT /api/customers/{id}/interactions/{interactionId}`: the fields sent change;
/// `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateInteractionRequest {
    /// New channel.
    #[serde(rename = "type", default, deserialize_with = "double_option")]
    #[schema(value_type = InteractionType)]
    pub interaction_type: Option<Option<InteractionType>>,
    /// New direction, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Direction>)]
    pub direction: Option<Option<Direction>>,
    /// New subject, 1–500 characters.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 500, pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]")]
    pub subject: Option<Option<String>>,
    /// New description, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    /// New schedule, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub scheduled_at: Option<Option<DateTime<Utc>>>,
    /// New duration, or `null`.
    #[serde(default, deserialize_with = "double_option_whole_u32")]
    #[schema(value_type = Option<u32>, maximum = 10080)]
    pub duration_minutes: Option<Option<u32>>,
    /// New outcome, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub outcome: Option<Option<String>>,
    /// New status.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = InteractionStatus)]
    pub status: Option<Option<InteractionStatus>>,
}

impl UpdateInteractionRequest {
    /// The domain command, refusing `null` on fields that cannot be cleared.
    ///
    /// # Errors
    /// 422 naming each such field.
    pub fn try_into_domain(self) -> Result<UpdateInteraction, ApiError> {
        let mut errors = Vec::new();
        let cmd = UpdateInteraction {
            interaction_type: not_null("type", self.interaction_type, &mut errors),
            direction: self.direction,
            subject: not_null("subject", self.subject, &mut errors),
            description: self.description,
            scheduled_at: self.scheduled_at,
            duration_minutes: self.duration_minutes,
            outcome: self.outcome,
            status: not_null("status", self.status, &mut errors),
        };
        if errors.is_empty() {
            Ok(cmd)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// Optional body of `PATCH .../interactions/{interactionId}/complete`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteInteractionRequest {
    /// What came of it.
    #[schema(max_length = 2000)]
    pub outcome: Option<String>,
    /// Minutes it took, 0–10,080.
    #[serde(default, deserialize_with = "whole_u32")]
    #[schema(maximum = 10080)]
    pub duration_minutes: Option<u32>,
}

impl From<CompleteInteractionRequest> for CompleteInteraction {
    fn from(r: CompleteInteractionRequest) -> Self {
        CompleteInteraction {
            outcome: r.outcome,
            duration_minutes: r.duration_minutes,
        }
    }
}

/// Query parameters of `GET /api/customers/{id}/interactions`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ListInteractionsParams {
    /// Only this channel.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<InteractionType>)]
    pub interaction_type: Option<String>,
    /// Only this status.
    #[param(value_type = Option<InteractionStatus>)]
    pub status: Option<String>,
    /// Page size, 1–100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}
