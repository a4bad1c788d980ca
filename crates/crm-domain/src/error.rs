//! Domain errors. Adapters translate driver failures into these; the HTTP layer maps each
//! variant to one status code.

use serde::Serialize;

/// One failing field of a validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field in the request (camelCase, `tags[2]` for list items).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The entity does not exist in the actor's company (or is private to someone else).
    #[error("{entity} not found")]
    NotFound {
        /// Kind of entity, e.g. `customer`.
        entity: &'static str,
    },
    /// Input failed validation; nothing was changed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The change conflicts with existing data (e.g. a duplicate email).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The actor may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A backing store is unreachable or overloaded; the request may be retried.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An unexpected failure of an adapter; details are for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// Shorthand for a single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(field, message)])
    }
}

/// garde names fields as Rust does (`company_name`); clients know them in camelCase.
fn camel_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

impl From<garde::Report> for DomainError {
    fn from(report: garde::Report) -> Self {
        DomainError::Validation(
            report
                .iter()
                .map(|(path, error)| {
                    FieldError::new(camel_case(&path.to_string()), error.to_string())
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn field_paths_become_camel_case() {
        assert_eq!(camel_case("company_name"), "companyName");
        assert_eq!(camel_case("tags[1]"), "tags[1]");
        assert_eq!(camel_case("name"), "name");
    }
}
