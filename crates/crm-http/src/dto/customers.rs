//! Customer bodies.

use chrono::{DateTime, Utc};
use crm_domain::{CreateCustomer, Customer, CustomerStatus, CustomerType, UpdateCustomer, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{double_option, not_null, page_type};
use crate::error::ApiError;

/// A customer as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerResponse {
    /// Identifier.
    pub id: Uuid,
    /// Owning company (tenant).
    pub company_id: Uuid,
    /// Display name.
    pub name: String,
    /// Email, unique per company.
    #[schema(format = "email")]
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The customer's organisation.
    pub company_name: Option<String>,
    /// Individual or business.
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    /// Lifecycle status.
    pub status: CustomerStatus,
    /// Acquisition source.
    pub source: Option<String>,
    /// Responsible user.
    pub assigned_to: Option<Uuid>,
    /// Postal address object.
    #[schema(value_type = Option<Object>)]
    pub address: Option<Map<String, Value>>,
    /// Tags (lower case).
    pub tags: Vec<String>,
    /// Free-form JSON object.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// Creator.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerResponse {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.as_uuid(),
            company_id: c.company_id.as_uuid(),
            name: c.name,
            email: c.email.map(String::from),
            phone: c.phone,
            company_name: c.company_name,
            customer_type: c.customer_type,
            status: c.status,
            source: c.source,
            assigned_to: c.assigned_to.map(Uuid::from),
            address: c.address,
            tags: c.tags.into_iter().map(String::from).collect(),
            metadata: c.metadata,
            created_by: c.created_by.as_uuid(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

page_type!(
    /// A page of customers.
    CustomerPage of CustomerResponse
);

/// The `email` a request may send: an address (at most 254 characters), a blank string
/// (stored as no email) or `null`.
fn email_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, SchemaFormat, Type};
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("email".into())))
                .max_length(Some(254)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(
                    "^[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*$",
                )),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("An email address; blank or `null` means none."))
        .build()
        .into()
}

/// Body of `POST /api/customers`. Server-owned fields (`id`, `companyId`, `createdBy`,
/// timestamps) are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCustomerRequest {
    /// 1–200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]"
    )]
    pub name: String,
    /// A valid address, unique per company; blank means none.
    #[schema(schema_with = email_schema)]
    pub email: Option<String>,
    /// At most 50 characters.
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub company_name: Option<String>,
    /// Default `individual`.
    #[serde(rename = "type")]
    pub customer_type: Option<CustomerType>,
    /// Default `lead`.
    pub status: Option<CustomerStatus>,
    /// At most 100 characters.
    #[schema(max_length = 100)]
    pub source: Option<String>,
    /// Responsible user.
    pub assigned_to: Option<Uuid>,
    /// Address object, at most 4 KiB.
    #[schema(value_type = Option<Object>)]
    pub address: Option<Map<String, Value>>,
    /// Up to 50 tags of 1–50 characters.
    #[serde(default)]
    #[schema(value_type = Vec<crm_domain::Tag>, max_items = 50)]
    pub tags: Vec<String>,
    /// JSON object, at most 16 KiB.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl From<CreateCustomerRequest> for CreateCustomer {
    fn from(r: CreateCustomerRequest) -> Self {
        CreateCustomer {
            name: r.name,
            email: r.email,
            phone: r.phone,
            company_name: r.company_name,
            customer_type: r.customer_type,
            status: r.status,
            source: r.source,
            assigned_to: r.assigned_to.map(UserId::from),
            address: r.address,
            tags: r.tags,
            metadata: r.metadata,
        }
    }
}

/// Body of `PUT /api/customers/{id}`: only the fields sent change; `null` clears an optional
/// field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    /// 1–200 characters; not nullable.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]")]
    pub name: Option<Option<String>>,
    /// New email, or `null` (or blank) to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = email_schema)]
    pub email: Option<Option<String>>,
    /// New phone, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub phone: Option<Option<String>>,
    /// New organisation, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub company_name: Option<Option<String>>,
    /// New type; not nullable.
    #[serde(rename = "type", default, deserialize_with = "double_option")]
    #[schema(value_type = CustomerType)]
    pub customer_type: Option<Option<CustomerType>>,
    /// New status; not nullable.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = CustomerStatus)]
    pub status: Option<Option<CustomerStatus>>,
    /// New source, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub source: Option<Option<String>>,
    /// New assignee, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub assigned_to: Option<Option<Uuid>>,
    /// New address, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub address: Option<Option<Map<String, Value>>>,
    /// Replacement tags; not nullable.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Vec<crm_domain::Tag>, max_items = 50)]
    pub tags: Option<Option<Vec<String>>>,
    /// Replacement metadata; not nullable.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Object)]
    pub metadata: Option<Option<Map<String, Value>>>,
}

impl UpdateCustomerRequest {
    /// The domain command, refusing `null` on non-clearable fields.
    ///
    /// # Errors
    /// 422 naming each such field.
    pub fn try_into_domain(self) -> Result<UpdateCustomer, ApiError> {
        let mut errors = Vec::new();
        let cmd = UpdateCustomer {
            name: not_null("name", self.name, &mut errors),
            email: self.email,
            phone: self.phone,
            company_name: self.company_name,
            customer_type: not_null("type", self.customer_type, &mut errors),
            status: not_null("status", self.status, &mut errors),
            source: self.source,
            assigned_to: self.assigned_to.map(|a| a.map(UserId::from)),
            address: self.address,
            tags: not_null("tags", self.tags, &mut errors),
            metadata: not_null("metadata", self.metadata, &mut errors),
        };
        if errors.is_empty() {
            Ok(cmd)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// Declares a query-parameter struct with every customer filter, plus `$extra` fields, so
/// the list, the search and a segment's members take exactly the same filters.
macro_rules! customer_filter_params {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        #[into_params(parameter_in = Query, rename_all = "camelCase")]
        pub struct $name {
            /// Only customers with this status.
            #[param(value_type = Option<CustomerStatus>)]
            pub status: Option<String>,
            /// Only customers of this type.
            #[serde(rename = "type")]
            #[param(rename = "type", value_type = Option<CustomerType>)]
            pub customer_type: Option<String>,
            /// Comma-separated tags (at most 50); customers with any of them.
            #[param(pattern = "^[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*([^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,]([^\\x00-\\x1f\\x7f-\\x9f,]{0,48}[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,])?)?[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*(,[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*([^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,]([^\\x00-\\x1f\\x7f-\\x9f,]{0,48}[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,])?)?[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*)*$")]
            pub tags: Option<String>,
            /// Comma-separated tags (at most 50); customers with all of them.
            #[param(pattern = "^[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*([^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,]([^\\x00-\\x1f\\x7f-\\x9f,]{0,48}[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,])?)?[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*(,[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*([^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,]([^\\x00-\\x1f\\x7f-\\x9f,]{0,48}[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f,])?)?[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*)*$")]
            pub tags_all: Option<String>,
            /// Only customers assigned to this user.
            #[param(value_type = Option<Uuid>)]
            pub assigned_to: Option<String>,
            /// Created at or after this RFC 3339 time.
            #[param(value_type = Option<DateTime<Utc>>)]
            pub created_from: Option<String>,
            /// Created at or before this RFC 3339 time.
            #[param(value_type = Option<DateTime<Utc>>)]
            pub created_to: Option<String>,
            /// Changed at or after this RFC 3339 time.
            #[param(value_type = Option<DateTime<Utc>>)]
            pub updated_from: Option<String>,
            /// Changed at or before this RFC 3339 time.
            #[param(value_type = Option<DateTime<Utc>>)]
            pub updated_to: Option<String>,
            /// A JSON object the customer's metadata must contain, e.g. `{"tier":"gold"}`.
            pub metadata: Option<String>,
            /// Page size, 1–100, default 20.
            #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
            pub limit: Option<String>,
            /// The `nextCursor` of the previous page.
            pub cursor: Option<String>,
            $($extra)*
        }

        impl $name {
            /// The raw filter parameters, for parsing.
            pub fn filter_fields(&self) -> FilterFields<'_> {
                FilterFields {
                    status: self.status.as_deref(),
                    customer_type: self.customer_type.as_deref(),
                    tags: self.tags.as_deref(),
                    tags_all: self.tags_all.as_deref(),
                    assigned_to: self.assigned_to.as_deref(),
                    created_from: self.created_from.as_deref(),
                    created_to: self.created_to.as_deref(),
                    updated_from: self.updated_from.as_deref(),
                    updated_to: self.updated_to.as_deref(),
                    metadata: self.metadata.as_deref(),
                }
            }
        }
    };
}

/// The raw customer-filter query parameters of a request.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilterFields<'a> {
    /// `status`.
    pub status: Option<&'a str>,
    /// `type`.
    pub customer_type: Option<&'a str>,
    /// `tags`.
    pub tags: Option<&'a str>,
    /// `tagsAll`.
    pub tags_all: Option<&'a str>,
    /// `assignedTo`.
    pub assigned_to: Option<&'a str>,
    /// `createdFrom`.
    pub created_from: Option<&'a str>,
    /// `createdTo`.
    pub created_to: Option<&'a str>,
    /// `updatedFrom`.
    pub updated_from: Option<&'a str>,
    /// `updatedTo`.
    pub updated_to: Option<&'a str>,
    /// `metadata`.
    pub metadata: Option<&'a str>,
}

customer_filter_params!(
    /// Query parameters of `GET /api/customers`.
    ListCustomersParams {
        /// `createdAt`, `-createdAt` (default), `updatedAt`, `-updatedAt`, `name`, `-name`.
        #[param(pattern = "^-?(createdAt|updatedAt|name)$")]
        pub sort: Option<String>,
        /// Add `totalCount` to the answer.
        #[param(value_type = Option<bool>)]
        pub include_total: Option<String>,
    }
);

customer_filter_params!(
    /// Query parameters of `GET /api/customers/search`.
    SearchCustomersParams {
        /// Text to find (3–100 characters): a fragment of the name, email, phone or
        /// organisation, or a name with a typo.
        /// Trimmed, 3–100 characters without control characters.
        #[param(required = true, pattern = "^[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]{1,98}[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f][\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*$")]
        pub q: Option<String>,
    }
);

/// Query parameters of `GET /api/segments/{id}/customers` (the segment's filter applies).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct SegmentMembersParams {
    /// `createdAt`, `-createdAt` (default), `updatedAt`, `-updatedAt`, `name`, `-name`.
    #[param(pattern = "^-?(createdAt|updatedAt|name)$")]
    pub sort: Option<String>,
    /// Page size, 1–100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Add `totalCount` to the answer.
    #[param(value_type = Option<bool>)]
    pub include_total: Option<String>,
}

/// Body of `POST` and `DELETE /api/customers/{id}/tags`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    /// Tags to add or remove (trimmed, compared case-insensitively, 1–50 characters each).
    #[schema(value_type = Vec<crm_domain::Tag>, max_items = 50)]
    pub tags: Vec<String>,
}

/// A tag and its customer count.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagCountResponse {
    /// The tag.
    pub tag: String,
    /// Customers carrying it.
    pub count: u64,
}

impl From<crm_domain::TagCount> for TagCountResponse {
    fn from(t: crm_domain::TagCount) -> Self {
        Self {
            tag: t.tag.into(),
            count: t.count,
        }
    }
}

page_type!(
    /// A page of tags, most used first.
    TagPage of TagCountResponse
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_distinguishes_absent_from_null() {
        let req: UpdateCustomerRequest =
            serde_json::from_str(r#"{"email": null, "phone": "1"}"#).unwrap();
        let cmd = req.try_into_domain().unwrap();
        assert_eq!(cmd.email, Some(None));
        assert_eq!(cmd.phone, Some(Some("1".into())));
        assert_eq!(cmd.name, None);
    }

    #[test]
    fn null_on_a_required_field_is_refused() {
        let req: UpdateCustomerRequest =
            serde_json::from_str(r#"{"name": null, "status": null}"#).unwrap();
        let problem = req.try_into_domain().unwrap_err().problem();
        assert_eq!(problem.status, 422);
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "status"]);
    }

    #[test]
    fn server_owned_fields_are_refused() {
        assert!(serde_json::from_str::<CreateCustomerRequest>(r#"{"name":"a","id":"x"}"#).is_err());
        assert!(serde_json::from_str::<UpdateCustomerRequest>(r#"{"companyId":"x"}"#).is_err());
    }
}
