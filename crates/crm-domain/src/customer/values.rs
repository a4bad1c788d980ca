//! Validating value objects of the customer aggregate.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enums::wire_enum;
use crate::error::DomainError;

wire_enum!(
    /// Whether the customer is a person or an organisation.
    #[derive(Default)]
    CustomerType {
        /// A person (the default).
        #[default]
        Individual => "individual",
        /// An organisation.
        Business => "business",
    }
);

wire_enum!(
    /// Lifecycle stage of a customer.
    #[derive(Default)]
    CustomerStatus {
        /// Known, not yet qualified (the default).
        #[default]
        Lead => "lead",
        /// Qualified, being worked.
        Prospect => "prospect",
        /// Buying.
        Active => "active",
        /// Dormant.
        Inactive => "inactive",
        /// Lost.
        Churned => "churned",
    }
);

/// A syntactically valid email address (trimmed, at most 254 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Longest accepted address (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates and trims an address.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `email` when it is not a valid address.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(DomainError::invalid(
                "email",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        garde::rules::email::parse_email(trimmed)
            .map_err(|e| DomainError::invalid("email", format!("not a valid email: {e}")))?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value).map_err(|e| e.to_string())
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Tag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(Self::PATTERN))
            .description(Some(
                "A tag: 1–50 characters once trimmed, no control characters; stored lower-cased.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Tag {}

/// A segmentation tag: trimmed, lower-cased (tags compare case-insensitively), 1–50
/// characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// Longest tag, in characters.
    pub const MAX_LEN: usize = 50;
    /// Most tags one customer may carry.
    pub const MAX_PER_CUSTOMER: usize = 50;
    /// What [`Tag::parse`] accepts, as a regular expression for the OpenAPI document: optional
    /// white space (Unicode `White_Space`, which `str::trim` removes) around 1–50 characters
    /// that start and end with a non-space and hold no control character (`char::is_control`).
    pub const PATTERN: &'static str = "^[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f]([^\\x00-\\x1f\\x7f-\\x9f]{0,48}[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\\x00-\\x1f\\x7f-\\x9f])?[\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]*$";

    /// Normalises and validates a tag.
    ///
    /// # Errors
    /// A message saying what is wrong, for the caller to attach to its field.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let tag = raw.trim().to_lowercase();
        let len = tag.chars().count();
        if len == 0 {
            return Err("must not be blank".into());
        }
        if len > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if tag.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(tag))
    }

    /// Parses a list of tags, dropping duplicates and keeping first-seen order.
    ///
    /// # Errors
    /// [`DomainError::Validation`] naming `{field}[i]` for each bad tag, or `field` when there
    /// are more than [`Tag::MAX_PER_CUSTOMER`].
    pub fn parse_list(field: &str, raw: &[String]) -> Result<Vec<Tag>, DomainError> {
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
        let mut errors = Vec::new();
        for (i, item) in raw.iter().enumerate() {
            match Tag::parse(item) {
                Ok(tag) if !tags.contains(&tag) => tags.push(tag),
                Ok(_) => {}
                Err(message) => {
                    errors.push(crate::FieldError::new(format!("{field}[{i}]"), message))
                }
            }
        }
        if tags.len() > Self::MAX_PER_CUSTOMER {
            errors.push(crate::FieldError::new(
                field,
                format!("at most {} tags per customer", Self::MAX_PER_CUSTOMER),
            ));
        }
        if errors.is_empty() {
            Ok(tags)
        } else {
            Err(DomainError::Validation(errors))
        }
    }

    /// The normalised tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Tag::parse(&value)
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> Self {
        tag.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_checked() {
        assert_eq!(Email::parse("  a@b.co ").unwrap().as_str(), "a@b.co");
        assert!(Email::parse("not an email").is_err());
        assert!(Email::parse("").is_err());
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn tags_are_normalised() {
        assert_eq!(Tag::parse("  VIP ").unwrap().as_str(), "vip");
        assert!(Tag::parse("   ").is_err());
        assert!(Tag::parse(&"x".repeat(51)).is_err());
        assert!(Tag::parse(&"x".repeat(50)).is_ok());
        assert!(Tag::parse("a\u{0}b").is_err());
    }

    #[test]
    fn tag_lists_dedupe_and_report_positions() {
        let tags = Tag::parse_list("tags", &["VIP".into(), "vip".into(), "b2b".into()]).unwrap();
        assert_eq!(tags.len(), 2);
        let Err(DomainError::Validation(errors)) =
            Tag::parse_list("tags", &["ok".into(), " ".into()])
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].field, "tags[1]");
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert!(Tag::parse_list("tags", &many).is_err());
    }

    #[test]
    fn enums_parse_their_wire_names() {
        assert_eq!(
            "churned".parse::<CustomerStatus>(),
            Ok(CustomerStatus::Churned)
        );
        assert!("Churned".parse::<CustomerStatus>().is_err());
        assert_eq!(CustomerType::default(), CustomerType::Individual);
        assert_eq!(CustomerStatus::ALL.len(), 5);
    }
}
