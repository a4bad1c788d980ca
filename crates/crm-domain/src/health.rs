//! The port through which probes check a dependency (database, cache) without knowing it.

use async_trait::async_trait;

use crate::error::DomainError;

/// A dependency that can be checked.
///
/// # Errors
/// `check` fails with [`DomainError::Unavailable`] when the dependency does not answer
/// correctly; callers bound it with their own timeout.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync + 'static {
    /// One round trip to the dependency.
    async fn check(&self) -> Result<(), DomainError>;
}
