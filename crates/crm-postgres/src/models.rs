//! Row types and their conversion to and from domain entities.

use chrono::{DateTime, Utc};
use crm_domain::{
    CompanyId, Customer, CustomerChanges, CustomerId, DomainError, Email, NewCustomer, Tag, UserId,
};
use diesel::prelude::*;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::schema::customers;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = customers, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CustomerRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub customer_type: String,
    pub status: String,
    pub source: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub address: Option<Value>,
    pub tags: Vec<String>,
    pub metadata: Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(format!("unexpected {what} in database: {detail}"))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl TryFrom<CustomerRow> for Customer {
    type Error = DomainError;

    fn try_from(row: CustomerRow) -> Result<Self, Self::Error> {
        Ok(Customer {
            id: CustomerId::from(row.id),
            company_id: CompanyId::from(row.company_id),
            name: row.name,
            email: row
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(|e| corrupt("email", e))?,
            phone: row.phone,
            company_name: row.company_name,
            customer_type: row.customer_type.parse().map_err(|e| corrupt("type", e))?,
            status: row.status.parse().map_err(|e| corrupt("status", e))?,
            source: row.source,
            assigned_to: row.assigned_to.map(UserId::from),
            address: row.address.map(object),
            tags: row
                .tags
                .iter()
                .map(|t| Tag::parse(t).map_err(|e| corrupt("tag", e)))
                .collect::<Result<_, _>>()?,
            metadata: object(row.metadata),
            created_by: UserId::from(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = customers)]
pub(crate) struct NewCustomerRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub customer_type: &'static str,
    pub status: &'static str,
    pub source: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub address: Option<Value>,
    pub tags: Vec<String>,
    pub metadata: Value,
    pub created_by: Uuid,
}

fn tag_strings(tags: Vec<Tag>) -> Vec<String> {
    tags.into_iter().map(String::from).collect()
}

impl NewCustomerRow {
    pub fn new(company: CompanyId, new: NewCustomer) -> Self {
        Self {
            id: Uuid::now_v7(),
            company_id: company.as_uuid(),
            name: new.name,
            email: new.email.map(String::from),
            phone: new.phone,
            company_name: new.company_name,
            customer_type: new.customer_type.as_str(),
            status: new.status.as_str(),
            source: new.source,
            assigned_to: new.assigned_to.map(Uuid::from),
            address: new.address.map(Value::Object),
            tags: tag_strings(new.tags),
            metadata: Value::Object(new.metadata),
            created_by: new.created_by.as_uuid(),
        }
    }
}

/// `None` leaves a column alone; `Some(None)` sets a nullable column to NULL.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = customers)]
pub(crate) struct CustomerChangeset {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company_name: Option<Option<String>>,
    pub customer_type: Option<&'static str>,
    pub status: Option<&'static str>,
    pub source: Option<Option<String>>,
    pub assigned_to: Option<Option<Uuid>>,
    pub address: Option<Option<Value>>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Value>,
}

impl From<CustomerChanges> for CustomerChangeset {
    fn from(c: CustomerChanges) -> Self {
        Self {
            name: c.name,
            email: c.email.map(|e| e.map(String::from)),
            phone: c.phone,
            company_name: c.company_name,
            customer_type: c.customer_type.map(|t| t.as_str()),
            status: c.status.map(|s| s.as_str()),
            source: c.source,
            assigned_to: c.assigned_to.map(|a| a.map(Uuid::from)),
            address: c.address.map(|a| a.map(Value::Object)),
            tags: c.tags.map(tag_strings),
            metadata: c.metadata.map(Value::Object),
        }
    }
}
