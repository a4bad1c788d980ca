//! Domain events: plain facts about what changed.
//!
//! Services build an [`EventEnvelope`] for every change and hand it to the repository together
//! with the change, which stores both in one transaction (the customer's history, the audit
//! trail and the outbox are fed from these; see [`crate::outbox`]). After the commit the service
//! also hands the envelope to an [`EventPublisher`] (which invalidates caches and wakes the
//! outbox relay).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::actor::{Actor, Origin, Role};
use crate::customer::{Customer, Tag};
use crate::ids::{CompanyId, CustomerId, UserId};
use crate::interaction::Interaction;
use crate::note::Note;

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// A customer was created.
    CustomerCreated(Box<Customer>),
    /// A customer was changed.
    CustomerUpdated {
        /// Before the change.
        before: Box<Customer>,
        /// After the change.
        after: Box<Customer>,
    },
    /// A customer was deleted with its notes, interactions and history.
    CustomerDeleted(Box<Customer>),
    /// Tags were added to a customer (only those it did not have).
    TagsAdded {
        /// The customer.
        customer_id: CustomerId,
        /// The tags added.
        tags: Vec<Tag>,
    },
    /// Tags were removed from a customer (only those it had).
    TagsRemoved {
        /// The customer.
        customer_id: CustomerId,
        /// The tags removed.
        tags: Vec<Tag>,
    },
    /// A note was added.
    NoteCreated(Box<Note>),
    /// A note was changed.
    NoteUpdated {
        /// Before the change.
        before: Box<Note>,
        /// After the change.
        after: Box<Note>,
    },
    /// A note was deleted.
    NoteDeleted(Box<Note>),
    /// An interaction was recorded or scheduled.
    InteractionCreated(Box<Interaction>),
    /// An interaction was changed.
    InteractionUpdated {
        /// Before the change.
        before: Box<Interaction>,
        /// After the change.
        after: Box<Interaction>,
    },
    /// An interaction was completed.
    InteractionCompleted(Box<Interaction>),
    /// An interaction was deleted.
    InteractionDeleted(Box<Interaction>),
}

/// The fields that differ between two serialisations, as `{field: {before, after}}`
/// (`updatedAt` left out: it always differs).
pub fn changes<T: Serialize>(before: &T, after: &T) -> Map<String, Value> {
    let as_map = |v: &T| match serde_json::to_value(v) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let (before, after) = (as_map(before), as_map(after));
    let mut out = Map::new();
    for (key, new) in &after {
        if key == "updatedAt" {
            continue;
        }
        let old = before.get(key).unwrap_or(&Value::Null);
        if old != new {
            let mut change = Map::new();
            change.insert("before".into(), old.clone());
            change.insert("after".into(), new.clone());
            out.insert(key.clone(), Value::Object(change));
        }
    }
    out
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn changes_json<T: Serialize>(before: &T, after: &T) -> Value {
    let mut data = Map::new();
    data.insert("changes".into(), Value::Object(changes(before, after)));
    Value::Object(data)
}

/// A customer update also names the assignee after it, to credit wins in reports.
fn customer_changes_json(before: &Customer, after: &Customer) -> Value {
    let mut data = changes_json(before, after);
    if let Value::Object(map) = &mut data {
        map.insert("assignedTo".into(), json(&after.assigned_to));
    }
    data
}

impl DomainEvent {
    /// The event's type name, e.g. `customer.created`.
    pub const fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::CustomerCreated(_) => "customer.created",
            DomainEvent::CustomerUpdated { .. } => "customer.updated",
            DomainEvent::CustomerDeleted(_) => "customer.deleted",
            DomainEvent::TagsAdded { .. } => "tags.added",
            DomainEvent::TagsRemoved { .. } => "tags.removed",
            DomainEvent::NoteCreated(_) => "note.created",
            DomainEvent::NoteUpdated { .. } => "note.updated",
            DomainEvent::NoteDeleted(_) => "note.deleted",
            DomainEvent::InteractionCreated(_) => "interaction.created",
            DomainEvent::InteractionUpdated { .. } => "interaction.updated",
            DomainEvent::InteractionCompleted(_) => "interaction.completed",
            DomainEvent::InteractionDeleted(_) => "interaction.deleted",
        }
    }

    /// The customer the event concerns.
    pub fn customer_id(&self) -> CustomerId {
        match self {
            DomainEvent::CustomerCreated(c) | DomainEvent::CustomerDeleted(c) => c.id,
            DomainEvent::CustomerUpdated { after, .. } => after.id,
            DomainEvent::TagsAdded { customer_id, .. }
            | DomainEvent::TagsRemoved { customer_id, .. } => *customer_id,
            DomainEvent::NoteCreated(n) | DomainEvent::NoteDeleted(n) => n.customer_id,
            DomainEvent::NoteUpdated { after, .. } => after.customer_id,
            DomainEvent::InteractionCreated(i)
            | DomainEvent::InteractionCompleted(i)
            | DomainEvent::InteractionDeleted(i) => i.customer_id,
            DomainEvent::InteractionUpdated { after, .. } => after.customer_id,
        }
    }

    /// The kind and id of the entity that changed.
    pub fn entity(&self) -> (&'static str, Uuid) {
        match self {
            DomainEvent::CustomerCreated(_)
            | DomainEvent::CustomerUpdated { .. }
            | DomainEvent::CustomerDeleted(_)
            | DomainEvent::TagsAdded { .. }
            | DomainEvent::TagsRemoved { .. } => ("customer", self.customer_id().as_uuid()),
            DomainEvent::NoteCreated(n) | DomainEvent::NoteDeleted(n) => ("note", n.id.as_uuid()),
            DomainEvent::NoteUpdated { after, .. } => ("note", after.id.as_uuid()),
            DomainEvent::InteractionCreated(i)
            | DomainEvent::InteractionCompleted(i)
            | DomainEvent::InteractionDeleted(i) => ("interaction", i.id.as_uuid()),
            DomainEvent::InteractionUpdated { after, .. } => ("interaction", after.id.as_uuid()),
        }
    }

    /// The only user who may see this event, when it concerns a private note.
    pub fn visible_only_to(&self) -> Option<UserId> {
        match self {
            DomainEvent::NoteCreated(n) | DomainEvent::NoteDeleted(n) => {
                n.is_private.then_some(n.created_by)
            }
            // A note's whole recorded history follows its current privacy.
            DomainEvent::NoteUpdated { after, .. } => after.is_private.then_some(after.created_by),
            _ => None,
        }
    }

    /// Whether the audit trail records this event (sensitive operations: customer create,
    /// update and delete, tag changes, note and interaction deletes).
    pub fn audited(&self) -> bool {
        matches!(
            self,
            DomainEvent::CustomerCreated(_)
                | DomainEvent::CustomerUpdated { .. }
                | DomainEvent::CustomerDeleted(_)
                | DomainEvent::TagsAdded { .. }
                | DomainEvent::TagsRemoved { .. }
                | DomainEvent::NoteDeleted(_)
                | DomainEvent::InteractionDeleted(_)
        )
    }

    /// Whether the customer's history keeps this event. A deleted customer has no history.
    pub fn kept_in_history(&self) -> bool {
        !matches!(self, DomainEvent::CustomerDeleted(_))
    }

    /// The event's payload: a snapshot of what was created, completed or deleted, the changed
    /// fields (before and after) of an update, or the tags of a tag change.
    pub fn data(&self) -> Value {
        match self {
            DomainEvent::CustomerCreated(c) | DomainEvent::CustomerDeleted(c) => json(c),
            DomainEvent::CustomerUpdated { before, after } => customer_changes_json(before, after),
            DomainEvent::TagsAdded { tags, .. } | DomainEvent::TagsRemoved { tags, .. } => {
                let mut data = Map::new();
                data.insert("tags".into(), json(tags));
                Value::Object(data)
            }
            DomainEvent::NoteCreated(n) | DomainEvent::NoteDeleted(n) => json(n),
            DomainEvent::NoteUpdated { before, after } => changes_json(before, after),
            DomainEvent::InteractionCreated(i)
            | DomainEvent::InteractionCompleted(i)
            | DomainEvent::InteractionDeleted(i) => json(i),
            DomainEvent::InteractionUpdated { before, after } => changes_json(before, after),
        }
    }
}

/// An event with its identity, tenant, customer, author and time.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    /// Unique, time-ordered event id.
    pub id: Uuid,
    /// The tenant.
    pub company_id: CompanyId,
    /// The customer concerned.
    pub customer_id: CustomerId,
    /// Who caused it.
    pub actor: UserId,
    /// Their role then.
    pub actor_role: Role,
    /// Where their request came from, when known.
    pub origin: Option<Origin>,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub event: DomainEvent,
}

impl EventEnvelope {
    /// Wraps `event` as caused by `actor` at `occurred_at`.
    pub fn new(actor: &Actor, occurred_at: DateTime<Utc>, event: DomainEvent) -> Self {
        Self {
            id: Uuid::now_v7(),
            company_id: actor.company(),
            customer_id: event.customer_id(),
            actor: actor.user(),
            actor_role: actor.role(),
            origin: actor.origin().cloned(),
            occurred_at,
            event,
        }
    }
}

/// The wire form: `{id, type, companyId, customerId, entityType, entityId, actor, occurredAt,
/// data}`.
impl Serialize for EventEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (entity_type, entity_id) = self.event.entity();
        let mut s = serializer.serialize_struct("EventEnvelope", 9)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("type", self.event.type_name())?;
        s.serialize_field("companyId", &self.company_id)?;
        s.serialize_field("customerId", &self.customer_id)?;
        s.serialize_field("entityType", entity_type)?;
        s.serialize_field("entityId", &entity_id)?;
        s.serialize_field("actor", &self.actor)?;
        s.serialize_field("occurredAt", &self.occurred_at)?;
        s.serialize_field("data", &self.event.data())?;
        s.end()
    }
}

/// Where domain events go once the change that caused them is committed.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Thing {
        name: &'static str,
        size: u32,
        updated_at: u32,
    }

    #[test]
    fn changes_lists_only_what_differs() {
        let before = Thing {
            name: "a",
            size: 1,
            updated_at: 1,
        };
        let after = Thing {
            name: "b",
            size: 1,
            updated_at: 2,
        };
        assert_eq!(
            Value::Object(changes(&before, &after)),
            json!({"name": {"before": "a", "after": "b"}})
        );
    }
}
