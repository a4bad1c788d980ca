//! A customer's history: the events of its life, newest first, as recorded when they happened
//! (so the history survives later edits and deletes of the notes and interactions it
//! mentions). Events about a private note are visible to its author only.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;
use crate::customer::{require_customer, CustomerRepository};
use crate::error::DomainError;
use crate::ids::{CompanyId, CustomerId, UserId};
use crate::pagination::{Page, Window};

/// One entry of a customer's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The event id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: CustomerId,
    /// The event type, e.g. `note.created`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who did it.
    pub actor: UserId,
    /// `customer`, `note` or `interaction`.
    pub entity_type: String,
    /// The id of that entity.
    pub entity_id: Uuid,
    /// The event's payload (see `DomainEvent::data`).
    pub data: Value,
}

/// Reading recorded history. (Writing happens with each change: see the repositories.)
///
/// # Errors
/// [`DomainError::Unavailable`] or [`DomainError::Internal`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HistoryRepository: Send + Sync + 'static {
    /// Up to `window.limit + 1` entries of `customer` that `viewer` may see, newest first
    /// (by occurrence time, then id), after the window's cursor.
    async fn list(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        window: Window,
    ) -> Result<Vec<HistoryEntry>, DomainError>;
}

/// Reads a customer's history for an [`Actor`].
#[derive(Clone)]
pub struct HistoryService {
    customers: Arc<dyn CustomerRepository>,
    history: Arc<dyn HistoryRepository>,
}

impl HistoryService {
    /// A service over the given ports.
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        history: Arc<dyn HistoryRepository>,
    ) -> Self {
        Self { customers, history }
    }

    /// The customer's history, newest first, without other users' private-note events.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] (`customer`).
    pub async fn list(
        &self,
        actor: &Actor,
        customer: CustomerId,
        window: Window,
    ) -> Result<Page<HistoryEntry>, DomainError> {
        require_customer(self.customers.as_ref(), actor, customer).await?;
        let rows = self
            .history
            .list(actor.company(), customer, actor.user(), window.clone())
            .await?;
        Ok(window.page(rows, |e| (e.occurred_at, e.id)))
    }
}
