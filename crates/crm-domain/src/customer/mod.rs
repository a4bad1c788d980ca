//! Customers: the entity, its value objects, the commands that create and change it, the
//! repository port and the service that enforces the rules.

mod commands;
mod port;
mod query;
mod service;
mod values;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::error::DomainError;
use crate::ids::{CompanyId, CustomerId, UserId};

pub use commands::{CreateCustomer, CustomerChanges, NewCustomer, UpdateCustomer};
pub use port::CustomerRepository;
#[cfg(any(test, feature = "mocks"))]
pub use port::MockCustomerRepository;
pub use query::{
    CustomerFilter, CustomerQuery, CustomerSort, CustomerSortField, Ranked, SearchQuery,
    SearchText, TagCount, TagQuery,
};
pub use service::CustomerService;
pub use values::{CustomerStatus, CustomerType, Email, Tag};

/// A customer of a company: a person or an organisation the company sells to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Identifier.
    pub id: CustomerId,
    /// The tenant owning this customer.
    pub company_id: CompanyId,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Contact address, unique per company (case-insensitively) when present.
    pub email: Option<Email>,
    /// Phone number, free form.
    pub phone: Option<String>,
    /// The customer's own organisation.
    pub company_name: Option<String>,
    /// Individual or business.
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    /// Where the customer is in the lifecycle.
    pub status: CustomerStatus,
    /// Where the customer came from (campaign, referral, ...).
    pub source: Option<String>,
    /// The user responsible for the customer.
    pub assigned_to: Option<UserId>,
    /// Postal address, a JSON object.
    pub address: Option<Map<String, Value>>,
    /// Segmentation tags, normalised (trimmed, lower case), unique.
    pub tags: Vec<Tag>,
    /// Free-form JSON object.
    pub metadata: Map<String, Value>,
    /// Who created it.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl NewCustomer {
    /// The customer this record becomes in `company`, created `now`.
    pub fn into_customer(self, company: CompanyId, now: DateTime<Utc>) -> Customer {
        Customer {
            id: CustomerId::new_random(),
            company_id: company,
            name: self.name,
            email: self.email,
            phone: self.phone,
            company_name: self.company_name,
            customer_type: self.customer_type,
            status: self.status,
            source: self.source,
            assigned_to: self.assigned_to,
            address: self.address,
            tags: self.tags,
            metadata: self.metadata,
            created_by: self.created_by,
            created_at: now,
            updated_at: now,
        }
    }
}

impl CustomerChanges {
    /// The customer after the change, stamped `now` when anything changed.
    pub fn apply(&self, before: &Customer, now: DateTime<Utc>) -> Customer {
        let mut after = before.clone();
        let c = self.clone();
        if let Some(v) = c.name {
            after.name = v;
        }
        if let Some(v) = c.email {
            after.email = v;
        }
        if let Some(v) = c.phone {
            after.phone = v;
        }
        if let Some(v) = c.company_name {
            after.company_name = v;
        }
        if let Some(v) = c.customer_type {
            after.customer_type = v;
        }
        if let Some(v) = c.status {
            after.status = v;
        }
        if let Some(v) = c.source {
            after.source = v;
        }
        if let Some(v) = c.assigned_to {
            after.assigned_to = v;
        }
        if let Some(v) = c.address {
            after.address = v;
        }
        if let Some(v) = c.tags {
            after.tags = v;
        }
        if let Some(v) = c.metadata {
            after.metadata = v;
        }
        if after != *before {
            after.updated_at = now;
        }
        after
    }
}

/// The customer `id` of the actor's company, for use cases on its notes, interactions and
/// history.
///
/// # Errors
/// [`DomainError::NotFound`] (`customer`).
pub(crate) async fn require_customer(
    customers: &dyn CustomerRepository,
    actor: &Actor,
    id: CustomerId,
) -> Result<Customer, DomainError> {
    customers
        .find(actor.company(), id)
        .await?
        .ok_or(DomainError::NotFound { entity: "customer" })
}
