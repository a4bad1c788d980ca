//! The port through which the note service reaches storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Note;
use crate::error::DomainError;
use crate::events::EventEnvelope;
use crate::ids::{CompanyId, CustomerId, NoteId, UserId};
use crate::pagination::Window;

/// Storage of notes, scoped to one company. Every change is stored together with its events,
/// in one transaction.
///
/// # Errors
/// Every method may fail with [`DomainError::Unavailable`] (store unreachable, retryable) or
/// [`DomainError::Internal`]. Method-specific errors are listed on each method.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NoteRepository: Send + Sync + 'static {
    /// Stores a new note and its events.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] (`customer`) when the customer no longer exists in `company`.
    async fn insert(
        &self,
        company: CompanyId,
        note: &Note,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError>;

    /// The note `id` of `customer` in `company`, private or not (the caller applies privacy).
    async fn find(
        &self,
        company: CompanyId,
        customer: CustomerId,
        id: NoteId,
    ) -> Result<Option<Note>, DomainError>;

    /// Replaces the note with `after` if it still has `updated_at == unmodified_since`;
    /// `false` when it is gone or was changed since.
    async fn update(
        &self,
        company: CompanyId,
        after: &Note,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError>;

    /// Deletes the note; `false` when it was already gone.
    async fn delete(
        &self,
        company: CompanyId,
        note: &Note,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError>;

    /// Up to `window.limit + 1` notes of `customer` that `viewer` may see (public ones and
    /// their own private ones), newest first, after the window's cursor.
    async fn list(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        window: Window,
    ) -> Result<Vec<Note>, DomainError>;
}
