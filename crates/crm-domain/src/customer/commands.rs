//! Commands (create, update) of the customer aggregate.
//!
//! Commands carry raw client input; `validate` turns them into typed, checked values or a
//! [`DomainError::Validation`] listing every failing field at once.

use garde::Validate;
use serde::Serialize;
use serde_json::{Map, Value};

use super::values::{CustomerStatus, CustomerType, Email, Tag};
use crate::error::{DomainError, FieldError};
use crate::ids::UserId;

/// Largest serialised size of `metadata`, in bytes.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Largest serialised size of `address`, in bytes.
pub const MAX_ADDRESS_BYTES: usize = 4 * 1024;

/// Input for creating a customer.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct CreateCustomer {
    /// Required, 1–200 characters, not blank.
    #[garde(length(chars, min = 1, max = 200))]
    pub name: String,
    /// Optional email, unique per company.
    #[garde(skip)]
    pub email: Option<String>,
    /// Optional phone, at most 50 characters.
    #[garde(length(chars, max = 50))]
    pub phone: Option<String>,
    /// The customer's organisation, at most 200 characters.
    #[garde(length(chars, max = 200))]
    pub company_name: Option<String>,
    /// Defaults to `individual`.
    #[garde(skip)]
    pub customer_type: Option<CustomerType>,
    /// Defaults to `lead`.
    #[garde(skip)]
    pub status: Option<CustomerStatus>,
    /// At most 100 characters.
    #[garde(length(chars, max = 100))]
    pub source: Option<String>,
    /// The responsible user.
    #[garde(skip)]
    pub assigned_to: Option<UserId>,
    /// A JSON object of at most 4 KiB.
    #[garde(skip)]
    pub address: Option<Map<String, Value>>,
    /// Tags; see [`Tag`].
    #[garde(skip)]
    pub tags: Vec<String>,
    /// A JSON object of at most 16 KiB.
    #[garde(skip)]
    pub metadata: Option<Map<String, Value>>,
}

/// A validated [`CreateCustomer`], ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCustomer {
    /// See [`Customer::name`].
    pub name: String,
    /// See [`Customer::email`].
    pub email: Option<Email>,
    /// See [`Customer::phone`].
    pub phone: Option<String>,
    /// See [`Customer::company_name`].
    pub company_name: Option<String>,
    /// See [`Customer::customer_type`].
    pub customer_type: CustomerType,
    /// See [`Customer::status`].
    pub status: CustomerStatus,
    /// See [`Customer::source`].
    pub source: Option<String>,
    /// See [`Customer::assigned_to`].
    pub assigned_to: Option<UserId>,
    /// See [`Customer::address`].
    pub address: Option<Map<String, Value>>,
    /// See [`Customer::tags`].
    pub tags: Vec<Tag>,
    /// See [`Customer::metadata`].
    pub metadata: Map<String, Value>,
    /// The creating user.
    pub created_by: UserId,
}

/// Collects field errors from garde and from the typed conversions, so a client learns about
/// every bad field in one answer.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn garde(&mut self, result: Result<(), garde::Report>) {
        if let Err(report) = result {
            if let DomainError::Validation(errors) = DomainError::from(report) {
                self.0.extend(errors);
            }
        }
    }

    fn take<T>(&mut self, result: Result<T, DomainError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(DomainError::Validation(errors)) => {
                self.0.extend(errors);
                None
            }
            Err(other) => {
                self.0.push(FieldError::new("", other.to_string()));
                None
            }
        }
    }

    fn not_blank(&mut self, field: &str, value: Option<&str>) {
        if value.is_some_and(|v| !v.is_empty() && v.trim().is_empty()) {
            self.0.push(FieldError::new(field, "must not be blank"));
        }
    }

    fn json_size(&mut self, field: &str, value: Option<&Map<String, Value>>, max: usize) {
        let size = value.map_or(0, |v| Value::Object(v.clone()).to_string().len());
        if size > max {
            self.0.push(FieldError::new(
                field,
                format!("must be at most {max} bytes of JSON"),
            ));
        }
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, DomainError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(DomainError::Validation(self.0)),
        }
    }
}

/// Trims optional free text; blank becomes `None`.
fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn parse_email(field: Option<String>) -> Result<Option<Email>, DomainError> {
    match field.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => Email::parse(raw).map(Some),
    }
}

impl CreateCustomer {
    /// Validates every field and produces the record to store.
    ///
    /// # Errors
    /// [`DomainError::Validation`] with one entry per failing field.
    pub fn validate_for(self, creator: UserId) -> Result<NewCustomer, DomainError> {
        let mut errors = Errors::default();
        errors.garde(self.validate());
        errors.not_blank("name", Some(&self.name));
        errors.json_size("address", self.address.as_ref(), MAX_ADDRESS_BYTES);
        errors.json_size("metadata", self.metadata.as_ref(), MAX_METADATA_BYTES);
        let email = errors.take(parse_email(self.email));
        let tags = errors.take(Tag::parse_list("tags", &self.tags));
        let record = email.zip(tags).map(|(email, tags)| NewCustomer {
            name: self.name.trim().to_owned(),
            email,
            phone: clean(self.phone),
            company_name: clean(self.company_name),
            customer_type: self.customer_type.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            source: clean(self.source),
            assigned_to: self.assigned_to,
            address: self.address,
            tags,
            metadata: self.metadata.unwrap_or_default(),
            created_by: creator,
        });
        errors.finish(record)
    }
}

/// Input for a partial update: a field left `None` is unchanged; for clearable fields
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct UpdateCustomer {
    /// New name, 1–200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    pub name: Option<String>,
    /// New or cleared email.
    #[garde(skip)]
    pub email: Option<Option<String>>,
    /// New or cleared phone.
    #[garde(length(chars, max = 50))]
    pub phone: Option<Option<String>>,
    /// New or cleared organisation.
    #[garde(length(chars, max = 200))]
    pub company_name: Option<Option<String>>,
    /// New type.
    #[garde(skip)]
    pub customer_type: Option<CustomerType>,
    /// New status.
    #[garde(skip)]
    pub status: Option<CustomerStatus>,
    /// New or cleared source.
    #[garde(length(chars, max = 100))]
    pub source: Option<Option<String>>,
    /// New or cleared assignee.
    #[garde(skip)]
    pub assigned_to: Option<Option<UserId>>,
    /// New or cleared address.
    #[garde(skip)]
    pub address: Option<Option<Map<String, Value>>>,
    /// Replacement tag list.
    #[garde(skip)]
    pub tags: Option<Vec<String>>,
    /// Replacement metadata object.
    #[garde(skip)]
    pub metadata: Option<Map<String, Value>>,
}

/// A validated [`UpdateCustomer`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerChanges {
    /// See [`UpdateCustomer::name`].
    pub name: Option<String>,
    /// See [`UpdateCustomer::email`].
    pub email: Option<Option<Email>>,
    /// See [`UpdateCustomer::phone`].
    pub phone: Option<Option<String>>,
    /// See [`UpdateCustomer::company_name`].
    pub company_name: Option<Option<String>>,
    /// See [`UpdateCustomer::customer_type`].
    pub customer_type: Option<CustomerType>,
    /// See [`UpdateCustomer::status`].
    pub status: Option<CustomerStatus>,
    /// See [`UpdateCustomer::source`].
    pub source: Option<Option<String>>,
    /// See [`UpdateCustomer::assigned_to`].
    pub assigned_to: Option<Option<UserId>>,
    /// See [`UpdateCustomer::address`].
    pub address: Option<Option<Map<String, Value>>>,
    /// See [`UpdateCustomer::tags`].
    pub tags: Option<Vec<Tag>>,
    /// See [`UpdateCustomer::metadata`].
    pub metadata: Option<Map<String, Value>>,
}

impl CustomerChanges {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == CustomerChanges::default()
    }
}

impl UpdateCustomer {
    /// Validates every field that is present.
    ///
    /// # Errors
    /// [`DomainError::Validation`] with one entry per failing field.
    pub fn validate_changes(self) -> Result<CustomerChanges, DomainError> {
        let mut errors = Errors::default();
        errors.garde(self.validate());
        errors.not_blank("name", self.name.as_deref());
        errors.json_size(
            "address",
            self.address.as_ref().and_then(Option::as_ref),
            MAX_ADDRESS_BYTES,
        );
        errors.json_size("metadata", self.metadata.as_ref(), MAX_METADATA_BYTES);
        let email = errors.take(self.email.map(parse_email).transpose());
        let tags = errors.take(
            self.tags
                .as_deref()
                .map(|t| Tag::parse_list("tags", t))
                .transpose(),
        );
        let changes = email.zip(tags).map(|(email, tags)| CustomerChanges {
            name: self.name.map(|n| n.trim().to_owned()),
            email,
            phone: self.phone.map(clean),
            company_name: self.company_name.map(clean),
            customer_type: self.customer_type,
            status: self.status,
            source: self.source.map(clean),
            assigned_to: self.assigned_to,
            address: self.address,
            tags,
            metadata: self.metadata,
        });
        errors.finish(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(name: &str) -> CreateCustomer {
        CreateCustomer {
            name: name.into(),
            ..Default::default()
        }
    }

    fn fields(err: DomainError) -> Vec<String> {
        match err {
            DomainError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn create_applies_defaults_and_trims() {
        let creator = UserId::new_random();
        let mut cmd = create("  Ada  ");
        cmd.email = Some(" ada@example.com ".into());
        cmd.phone = Some("   ".into());
        let new = cmd.validate_for(creator).unwrap();
        assert_eq!(new.name, "Ada");
        assert_eq!(new.email.unwrap().as_str(), "ada@example.com");
        assert_eq!(new.phone, None);
        assert_eq!(new.status, CustomerStatus::Lead);
        assert_eq!(new.customer_type, CustomerType::Individual);
        assert_eq!(new.created_by, creator);
        assert!(new.metadata.is_empty());
    }

    #[test]
    fn create_reports_every_bad_field() {
        let mut cmd = create("");
        cmd.email = Some("nope".into());
        cmd.tags = vec!["ok".into(), "".into()];
        cmd.phone = Some("1".repeat(51));
        cmd.company_name = Some("c".repeat(201));
        let mut got = fields(cmd.validate_for(UserId::new_random()).unwrap_err());
        got.sort();
        assert_eq!(
            got,
            vec!["companyName", "email", "name", "phone", "tags[1]"]
        );
    }

    #[test]
    fn blank_and_overlong_names_fail() {
        assert_eq!(
            fields(
                create("   ")
                    .validate_for(UserId::new_random())
                    .unwrap_err()
            ),
            vec!["name"]
        );
        let long = "x".repeat(201);
        assert_eq!(
            fields(
                create(&long)
                    .validate_for(UserId::new_random())
                    .unwrap_err()
            ),
            vec!["name"]
        );
        assert!(create(&"é".repeat(200))
            .validate_for(UserId::new_random())
            .is_ok());
    }

    #[test]
    fn oversized_metadata_fails() {
        let mut cmd = create("A");
        let mut big = Map::new();
        big.insert("blob".into(), Value::String("x".repeat(MAX_METADATA_BYTES)));
        cmd.metadata = Some(big);
        assert_eq!(
            fields(cmd.validate_for(UserId::new_random()).unwrap_err()),
            vec!["metadata"]
        );
    }

    #[test]
    fn update_validates_only_present_fields() {
        let ok = UpdateCustomer {
            status: Some(CustomerStatus::Active),
            email: Some(None),
            ..Default::default()
        }
        .validate_changes()
        .unwrap();
        assert_eq!(ok.status, Some(CustomerStatus::Active));
        assert_eq!(ok.email, Some(None));
        assert!(UpdateCustomer::default()
            .validate_changes()
            .unwrap()
            .is_empty());

        let bad = UpdateCustomer {
            name: Some(" ".into()),
            email: Some(Some("bad".into())),
            ..Default::default()
        };
        let mut got = fields(bad.validate_changes().unwrap_err());
        got.sort();
        assert_eq!(got, vec!["email", "name"]);
    }
}
