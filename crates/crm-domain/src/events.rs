//! Domain events: plain facts about what changed, handed to an [`EventPublisher`] after the
//! change is stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actor::Actor;
use crate::customer::Customer;
use crate::ids::{CompanyId, CustomerId, UserId};

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    /// A customer was created.
    #[serde(rename = "customer.created")]
    CustomerCreated {
        /// The new customer.
        customer: Box<Customer>,
    },
    /// A customer was changed.
    #[serde(rename = "customer.updated")]
    CustomerUpdated {
        /// The customer before the change.
        before: Box<Customer>,
        /// The customer after the change.
        after: Box<Customer>,
    },
    /// A customer (with its notes and interactions) was deleted.
    #[serde(rename = "customer.deleted")]
    CustomerDeleted {
        /// The deleted customer's id.
        id: CustomerId,
    },
}

impl DomainEvent {
    /// The event's type name, e.g. `customer.created`.
    pub const fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::CustomerCreated { .. } => "customer.created",
            DomainEvent::CustomerUpdated { .. } => "customer.updated",
            DomainEvent::CustomerDeleted { .. } => "customer.deleted",
        }
    }
}

/// An event with who did it, for which company, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    /// The tenant the event belongs to.
    pub company_id: CompanyId,
    /// The user who caused it.
    pub actor: UserId,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub event: DomainEvent,
}

impl EventEnvelope {
    /// Wraps `event` as caused by `actor` now.
    pub fn now(actor: &Actor, event: DomainEvent) -> Self {
        Self {
            company_id: actor.company(),
            actor: actor.user(),
            occurred_at: Utc::now(),
            event,
        }
    }
}

/// Where domain events go once the change that caused them is stored.
///
/// # Errors
/// None: publishing is best effort at this port. An implementation that cannot deliver logs
/// the failure and drops or queues the event; it never fails the use case that caused it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync + 'static {
    /// Hands one event over for delivery.
    async fn publish(&self, event: EventEnvelope);
}
