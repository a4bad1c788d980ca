//! Queries over a company's customers: the filter (also what a segment saves), sorting,
//! keyset pages, ranked search and tag counts.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::values::{CustomerStatus, CustomerType, Tag};
use super::Customer;
use crate::error::{DomainError, FieldError};
use crate::ids::UserId;
use crate::pagination::{Cursor, PageLimit, SortKey};

/// Which customers a list, a search or a segment covers. Every condition present must hold.
/// Serialised (camelCase) it is a segment's saved filter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerFilter {
    /// Only this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CustomerStatus>,
    /// Only this type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub customer_type: Option<CustomerType>,
    /// Carrying at least one of these tags.
    #[serde(rename = "tags", default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Tag>, max_items = 50))]
    pub tags_any: Vec<Tag>,
    /// Carrying all of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Tag>, max_items = 50))]
    pub tags_all: Vec<Tag>,
    /// Assigned to this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub assigned_to: Option<UserId>,
    /// Created at or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_to: Option<DateTime<Utc>>,
    /// Changed at or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_from: Option<DateTime<Utc>>,
    /// Changed at or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_to: Option<DateTime<Utc>>,
    /// A JSON object the customer's metadata must contain (JSON containment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
}

/// Most tags one filter may name.
pub const MAX_FILTER_TAGS: usize = 50;

impl CustomerFilter {
    /// Checks that the conditions make sense together.
    ///
    /// # Errors
    /// [`DomainError::Validation`] for an inverted time range, too many tags, or an oversized
    /// metadata object.
    pub fn check(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        for (from_name, from, to) in [
            ("createdFrom", self.created_from, self.created_to),
            ("updatedFrom", self.updated_from, self.updated_to),
        ] {
            if let (Some(from), Some(to)) = (from, to) {
                if from > to {
                    let to_name = from_name.replace("From", "To");
                    errors.push(FieldError::new(
                        from_name,
                        format!("must not be after {to_name}"),
                    ));
                }
            }
        }
        for (name, tags) in [("tags", &self.tags_any), ("tagsAll", &self.tags_all)] {
            if tags.len() > MAX_FILTER_TAGS {
                errors.push(FieldError::new(
                    name,
                    format!("at most {MAX_FILTER_TAGS} tags"),
                ));
            }
        }
        if let Some(metadata) = &self.metadata {
            if Value::Object(metadata.clone()).to_string().len()
                > super::commands::MAX_METADATA_BYTES
            {
                errors.push(FieldError::new(
                    "metadata",
                    "the filter object is too large",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// What a customer list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSortField {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Name.
    Name,
}

/// A sort order: field and direction; ties are always broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerSort {
    /// The sort key.
    pub field: CustomerSortField,
    /// Descending when true.
    pub descending: bool,
}

impl Default for CustomerSort {
    /// Newest first.
    fn default() -> Self {
        Self {
            field: CustomerSortField::CreatedAt,
            descending: true,
        }
    }
}

impl CustomerSort {
    /// The wire form, e.g. `-createdAt`.
    pub fn as_str(&self) -> &'static str {
        match (self.field, self.descending) {
            (CustomerSortField::CreatedAt, false) => "createdAt",
            (CustomerSortField::CreatedAt, true) => "-createdAt",
            (CustomerSortField::UpdatedAt, false) => "updatedAt",
            (CustomerSortField::UpdatedAt, true) => "-updatedAt",
            (CustomerSortField::Name, false) => "name",
            (CustomerSortField::Name, true) => "-name",
        }
    }

    /// The sort key of `customer` under this order.
    pub fn key_of(&self, customer: &Customer) -> SortKey {
        match self.field {
            CustomerSortField::CreatedAt => SortKey::Time(customer.created_at),
            CustomerSortField::UpdatedAt => SortKey::Time(customer.updated_at),
            CustomerSortField::Name => SortKey::Text(customer.name.clone()),
        }
    }

    /// The cursor pointing just after `customer`.
    pub fn cursor_after(&self, customer: &Customer) -> Cursor {
        Cursor {
            sort: self.as_str().to_owned(),
            key: self.key_of(customer),
            id: customer.id.as_uuid(),
        }
    }
}

impl fmt::Display for CustomerSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CustomerSort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let field = match name {
            "createdAt" => CustomerSortField::CreatedAt,
            "updatedAt" => CustomerSortField::UpdatedAt,
            "name" => CustomerSortField::Name,
            _ => {
                return Err(format!(
                    "unknown sort `{s}`, expected one of: createdAt, -createdAt, updatedAt, \
                     -updatedAt, name, -name"
                ))
            }
        };
        Ok(Self { field, descending })
    }
}

/// A filtered, sorted page request over a company's customers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerQuery {
    /// Which customers.
    pub filter: CustomerFilter,
    /// Order of the list.
    pub sort: CustomerSort,
    /// Page size.
    pub limit: PageLimit,
    /// Position after which the page starts (decoded cursor).
    pub after: Option<Cursor>,
}

/// Search text: trimmed, 3–100 characters, lower-cased (matching ignores case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// Shortest searchable fragment.
    pub const MIN_CHARS: usize = 3;
    /// Longest search text.
    pub const MAX_CHARS: usize = 100;

    /// Validates search text.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `q`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let text = raw.trim().to_lowercase();
        let chars = text.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(DomainError::invalid(
                "q",
                format!(
                    "must be {} to {} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "q",
                "must not contain control characters",
            ));
        }
        Ok(Self(text))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ranked search: customers whose name, email, phone or organisation contain the text (or
/// whose name is within a typo of it), best first, narrowed by a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// What to look for.
    pub text: SearchText,
    /// Which customers.
    pub filter: CustomerFilter,
    /// Page size.
    pub limit: PageLimit,
    /// Position after which the page starts: `(rank, id)` of the last result.
    pub after: Option<(i64, Uuid)>,
}

impl SearchQuery {
    /// The sort tag recorded in search cursors.
    pub const SORT: &'static str = "rank";

    /// Decodes a search cursor.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `cursor`.
    pub fn decode_cursor(raw: &str) -> Result<(i64, Uuid), DomainError> {
        match Cursor::decode(raw, Self::SORT)? {
            Cursor {
                key: SortKey::Rank(rank),
                id,
                ..
            } => Ok((rank, id)),
            _ => Err(DomainError::invalid(
                "cursor",
                "is not a valid cursor for this query",
            )),
        }
    }
}

/// A search result: the customer and how well it matched (higher is better).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// The customer.
    pub customer: Customer,
    /// Match quality.
    pub rank: i64,
}

/// A tag and how many of the company's customers carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    /// The tag.
    pub tag: Tag,
    /// Customers carrying it.
    pub count: u64,
}

/// A page request over a company's tags, most used first (then by name).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagQuery {
    /// Page size.
    pub limit: PageLimit,
    /// Position after which the page starts: `(count, tag)` of the last entry.
    pub after: Option<(u64, String)>,
}

impl TagQuery {
    /// The sort tag recorded in tag cursors.
    pub const SORT: &'static str = "tags";

    /// Decodes a tag-list cursor.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `cursor`.
    pub fn decode_cursor(raw: &str) -> Result<(u64, String), DomainError> {
        match Cursor::decode(raw, Self::SORT)? {
            Cursor {
                key: SortKey::Counted(count, tag),
                ..
            } => Ok((count, tag)),
            _ => Err(DomainError::invalid(
                "cursor",
                "is not a valid cursor for this query",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parses_and_round_trips() {
        for s in [
            "createdAt",
            "-createdAt",
            "updatedAt",
            "-updatedAt",
            "name",
            "-name",
        ] {
            assert_eq!(s.parse::<CustomerSort>().unwrap().as_str(), s);
        }
        assert!("email".parse::<CustomerSort>().is_err());
        assert_eq!(CustomerSort::default().as_str(), "-createdAt");
    }

    #[test]
    fn inverted_date_range_fails() {
        let f = CustomerFilter {
            created_from: Some(Utc::now()),
            created_to: Some(Utc::now() - chrono::Duration::days(1)),
            ..Default::default()
        };
        assert!(f.check().is_err());
        let f = CustomerFilter {
            updated_from: Some(Utc::now()),
            updated_to: Some(Utc::now() - chrono::Duration::days(1)),
            ..Default::default()
        };
        let Err(DomainError::Validation(errors)) = f.check() else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].field, "updatedFrom");
    }

    #[test]
    fn a_filter_round_trips_as_json_and_refuses_unknown_keys() {
        let f = CustomerFilter {
            status: Some(CustomerStatus::Active),
            tags_all: vec![Tag::parse("vip").unwrap()],
            metadata: serde_json::json!({"tier": "gold"}).as_object().cloned(),
            ..Default::default()
        };
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "active", "tagsAll": ["vip"], "metadata": {"tier": "gold"}})
        );
        assert_eq!(serde_json::from_value::<CustomerFilter>(json).unwrap(), f);
        assert!(
            serde_json::from_value::<CustomerFilter>(serde_json::json!({"colour": "red"})).is_err()
        );
        assert!(
            serde_json::from_value::<CustomerFilter>(serde_json::json!({"tags": [" "]})).is_err()
        );
    }

    #[test]
    fn search_text_bounds() {
        assert_eq!(SearchText::parse("  ADA ").unwrap().as_str(), "ada");
        assert!(SearchText::parse("ab").is_err());
        assert!(SearchText::parse(&"x".repeat(101)).is_err());
    }
}
