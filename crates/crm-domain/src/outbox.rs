//! The transactional outbox: committed events waiting to be published.
//!
//! Repositories write every [`EventEnvelope`](crate::EventEnvelope) to the outbox in the
//! transaction of the change it describes. A relay (in the Redis adapter) then hands the stored
//! messages, oldest first, to an [`EventSink`] through [`OutboxStore::deliver_batch`], which
//! removes only the messages the sink accepted. Delivery is therefore at least once and in
//! commit order per customer; nothing committed is lost while the sink is down.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::DomainError;
use crate::ids::{CompanyId, CustomerId};

/// One stored event, in its wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Position in the outbox: delivery follows it.
    pub seq: i64,
    /// The event id (consumers de-duplicate on it).
    pub id: Uuid,
    /// The tenant.
    pub company_id: CompanyId,
    /// The customer the event concerns.
    pub customer_id: CustomerId,
    /// The event type, e.g. `customer.created`.
    pub event_type: String,
    /// The event as JSON (the serialisation of [`EventEnvelope`](crate::EventEnvelope)).
    pub payload: String,
}

/// Where the relay sends events (Redis pub/sub, or in-process subscribers).
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Sends one message.
    ///
    /// # Errors
    /// `Unavailable` when it could not be sent; the message stays in the outbox.
    async fn send(&self, message: &OutboxMessage) -> Result<(), DomainError>;
}

/// What one [`OutboxStore::deliver_batch`] call did.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Messages sent and removed from the outbox.
    pub delivered: usize,
    /// Messages found (`delivered` plus the ones left after a sink failure).
    pub claimed: usize,
    /// Why the sink stopped accepting messages, when it did.
    pub sink_error: Option<DomainError>,
    /// Another relay is delivering right now; nothing was done.
    pub busy: bool,
}

/// How far behind the outbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxBacklog {
    /// Messages not yet delivered.
    pub pending: u64,
    /// When the oldest of them was written.
    pub oldest: Option<DateTime<Utc>>,
}

/// The stored outbox.
// mockall copies the parenthesised `&(dyn EventSink + 'static)` into code that lints it.
#[cfg_attr(any(test, feature = "mocks"), allow(unused_parens))]
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Hands up to `limit` of the oldest messages, in order, to `sink`, stopping at the first
    /// it refuses, and removes those it accepted. Only one relay delivers at a time (so the
    /// order holds with several replicas); the others get `busy`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn deliver_batch(
        &self,
        limit: u32,
        sink: &(dyn EventSink + 'static),
    ) -> Result<Delivery, DomainError>;

    /// The messages not yet delivered.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn backlog(&self) -> Result<OutboxBacklog, DomainError>;
}
