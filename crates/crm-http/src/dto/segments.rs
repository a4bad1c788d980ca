//! Segment bodies.

use chrono::{DateTime, Utc};
use crm_domain::{CountedSegment, CreateSegment, CustomerFilter, UpdateSegment};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{double_option, double_option_object, not_null, object, page_type};
use crate::error::ApiError;

/// A segment as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentResponse {
    /// Identifier.
    pub id: Uuid,
    /// Unique per company.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The saved filter, in the customer list's terms.
    pub filter: CustomerFilter,
    /// Customers matching the filter now.
    pub member_count: u64,
    /// Creator.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<CountedSegment> for SegmentResponse {
    fn from(c: CountedSegment) -> Self {
        let s = c.segment;
        Self {
            id: s.id.as_uuid(),
            name: s.name,
            description: s.description,
            filter: s.filter,
            member_count: c.member_count,
            created_by: s.created_by.as_uuid(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

page_type!(
    /// A page of segments.
    SegmentPage of SegmentResponse
);

/// Body of `POST /api/segments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSegmentRequest {
    /// 1–100 characters, unique per company.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]"
    )]
    pub name: String,
    /// At most 1,000 characters.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Which customers belong (default: all).
    #[serde(default, deserialize_with = "object")]
    pub filter: CustomerFilter,
}

impl From<CreateSegmentRequest> for CreateSegment {
    fn from(r: CreateSegmentRequest) -> Self {
        CreateSegment {
            name: r.name,
            description: r.description,
            filter: r.filter,
        }
    }
}

/// Body of `PUT /api/segments/{id}`: the fields sent change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSegmentRequest {
    /// New name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]")]
    pub name: Option<Option<String>>,
    /// New description, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
    /// Replacement filter.
    #[serde(default, deserialize_with = "double_option_object")]
    #[schema(value_type = CustomerFilter)]
    pub filter: Option<Option<CustomerFilter>>,
}

impl UpdateSegmentRequest {
    /// The domain command, refusing `null` on `name` and `filter`.
    ///
    /// # Errors
    /// 422 naming each such field.
    pub fn try_into_domain(self) -> Result<UpdateSegment, ApiError> {
        let mut errors = Vec::new();
        let cmd = UpdateSegment {
            name: not_null("name", self.name, &mut errors),
            description: self.description,
            filter: not_null("filter", self.filter, &mut errors),
        };
        if errors.is_empty() {
            Ok(cmd)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}
