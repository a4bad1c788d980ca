//! Customers: the entity, its value objects, the commands that create and change it, the
//! repository port and the service that enforces the rules.

mod commands;
mod port;
mod service;
mod values;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{CompanyId, CustomerId, UserId};

pub use commands::{
    CreateCustomer, CustomerChanges, CustomerQuery, CustomerSort, CustomerSortField, NewCustomer,
    UpdateCustomer,
};
pub use port::CustomerRepository;
#[cfg(any(test, feature = "mocks"))]
pub use port::MockCustomerRepository;
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
