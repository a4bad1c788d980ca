//! The port through which the customer service reaches storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::query::{CustomerFilter, CustomerQuery, Ranked, SearchQuery, TagCount, TagQuery};
use super::Customer;
use crate::error::DomainError;
use crate::events::EventEnvelope;
use crate::ids::{CompanyId, CustomerId};

/// Storage of customers, always scoped to one company: an implementation must never read or
/// change a row of another company, whatever id it is given.
///
/// # Errors
/// Every method may fail with:
/// - [`DomainError::Unavailable`] when the store cannot be reached or is saturated (retryable);
/// - [`DomainError::Internal`] on any other unexpected store failure.
///
/// Method-specific errors are listed on each method. "Not found" is not an error of the port:
/// methods addressing one customer return `None`/`false` when it does not exist in `company`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync + 'static {
    /// Stores a new customer and its events.
    ///
    /// # Errors
    /// [`DomainError::Conflict`] when another customer of `company` has the same email
    /// (compared case-insensitively).
    async fn insert(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError>;

    /// The customer with `id` in `company`, if any.
    async fn find(
        &self,
        company: CompanyId,
        id: CustomerId,
    ) -> Result<Option<Customer>, DomainError>;

    /// Replaces the customer with `after` if it is still as the caller last saw it (its
    /// `updated_at` equals `unmodified_since`), and stores the events. `false` when it does not
    /// exist in `company` or was changed since; the caller re-reads and decides again.
    ///
    /// # Errors
    /// [`DomainError::Conflict`] when the new email is taken in `company`.
    async fn update(
        &self,
        company: CompanyId,
        after: &Customer,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError>;

    /// Deletes the customer with its notes, interactions and history, and stores the events;
    /// `false` when it did not exist.
    async fn delete(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError>;

    /// Up to `query.limit + 1` customers matching `query`, in its order, starting after its
    /// cursor. (The extra row tells the caller a next page exists.)
    async fn list(
        &self,
        company: CompanyId,
        query: CustomerQuery,
    ) -> Result<Vec<Customer>, DomainError>;

    /// How many customers match `filter`.
    async fn count(&self, company: CompanyId, filter: CustomerFilter) -> Result<u64, DomainError>;

    /// Up to `query.limit + 1` customers matching the search text and filter, best first
    /// (rank descending, then id), after the query's position. Must use an index for a
    /// selective text, not scan the company's customers.
    async fn search(
        &self,
        company: CompanyId,
        query: SearchQuery,
    ) -> Result<Vec<Ranked>, DomainError>;

    /// Up to `query.limit + 1` of the company's tags with their customer counts, most used
    /// first (then by tag), after the query's position.
    async fn tag_counts(
        &self,
        company: CompanyId,
        query: TagQuery,
    ) -> Result<Vec<TagCount>, DomainError>;
}
