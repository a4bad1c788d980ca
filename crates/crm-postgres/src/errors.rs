//! Translation of driver and pool failures into domain errors.

use crm_domain::DomainError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;

/// Name of the unique index that keeps emails unique per company.
pub(crate) const EMAIL_UNIQUE_INDEX: &str = "customers_company_email_key";
/// Name of the unique index that keeps segment names unique per company.
pub(crate) const SEGMENT_NAME_UNIQUE_INDEX: &str = "segments_company_name_key";

/// What a client hears when its change lost a race with another transaction.
const CONCURRENT_CHANGE: &str = "the record is being changed concurrently; retry";

/// Maps a diesel error to the domain's vocabulary: known constraint violations become
/// `Conflict`/`Validation`, lost connections `Unavailable`, anything else `Internal`.
pub fn map_diesel_error(err: DieselError) -> DomainError {
    match &err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(EMAIL_UNIQUE_INDEX) =>
        {
            DomainError::Conflict("a customer with this email already exists".into())
        }
        // Child rows reference their customer: a violation means it was deleted meanwhile.
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            DomainError::NotFound { entity: "customer" }
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(SEGMENT_NAME_UNIQUE_INDEX) =>
        {
            DomainError::Conflict("a segment with this name already exists".into())
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            DomainError::Conflict("the change conflicts with existing data".into())
        }
        // Two transactions waited on each other (a delete cascading to children while a child
        // is added) or a serializable one lost: nothing was written, the client may retry.
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
            DomainError::Conflict(CONCURRENT_CHANGE.into())
        }
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
            if info.message() == "deadlock detected" =>
        {
            DomainError::Conflict(CONCURRENT_CHANGE.into())
        }
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::BrokenTransactionManager => {
            DomainError::Unavailable(format!("database connection lost: {err}"))
        }
        _ => DomainError::Internal(format!("database error: {err}")),
    }
}

/// Maps a pool checkout failure: every kind means the database cannot serve us now.
pub(crate) fn map_pool_error(err: PoolError) -> DomainError {
    DomainError::Unavailable(format!("database pool: {err}"))
}

#[cfg(test)]
mod tests {
    use diesel::result::DatabaseErrorInformation;

    use super::*;

    struct Info(&'static str);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, message: &'static str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(Info(message)))
    }

    #[test]
    fn lost_races_are_conflicts_not_internal_errors() {
        // A customer deleted (cascading to its notes) while a note is added used to be a 500.
        for err in [
            db(DatabaseErrorKind::Unknown, "deadlock detected"),
            db(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access",
            ),
        ] {
            assert!(matches!(map_diesel_error(err), DomainError::Conflict(_)));
        }
        assert!(matches!(
            map_diesel_error(db(DatabaseErrorKind::Unknown, "something else")),
            DomainError::Internal(_)
        ));
    }
}
