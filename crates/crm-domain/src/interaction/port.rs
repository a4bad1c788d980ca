//! The port through which the interaction service reaches storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Interaction, InteractionQuery};
use crate::error::DomainError;
use crate::events::EventEnvelope;
use crate::ids::{CompanyId, CustomerId, InteractionId};

/// Storage of interactions, scoped to one company. Every change is stored together with its
/// events, in one transaction.
///
/// # Errors
/// Every method may fail with [`DomainError::Unavailable`] (store unreachable, retryable) or
/// [`DomainError::Internal`]. Method-specific errors are listed on each method.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InteractionRepository: Send + Sync + 'static {
    /// Stores a new interaction and its events.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] (`customer`) when the customer no longer exists in `company`.
    async fn insert(
        &self,
        company: CompanyId,
        interaction: &Interaction,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError>;

    /// The interaction `id` of `customer` in `company`.
    async fn find(
        &self,
        company: CompanyId,
        customer: CustomerId,
        id: InteractionId,
    ) -> Result<Option<Interaction>, DomainError>;

    /// Replaces the interaction with `after` if it still has `updated_at == unmodified_since`;
    /// `false` when it is gone or was changed since.
    async fn update(
        &self,
        company: CompanyId,
        after: &Interaction,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError>;

    /// Deletes the interaction; `false` when it was already gone.
    async fn delete(
        &self,
        company: CompanyId,
        interaction: &Interaction,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError>;

    /// Up to `query.window.limit + 1` interactions of `customer` matching the query, newest
    /// first, after the window's cursor.
    async fn list(
        &self,
        company: CompanyId,
        customer: CustomerId,
        query: InteractionQuery,
    ) -> Result<Vec<Interaction>, DomainError>;
}
