//! Row types and their conversion to and from domain entities. Each row type serves reading,
//! inserting and full-row updating (the domain computes the whole new state).

use chrono::{DateTime, Utc};
use crm_domain::{
    CompanyId, Customer, CustomerId, DomainError, Email, EventEnvelope, Interaction, InteractionId,
    Note, NoteId, Tag, UserId,
};
use diesel::prelude::*;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::schema::{activities, customer_interactions, customer_notes, customers};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(format!("unexpected {what} in database: {detail}"))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct CustomerRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub customer_type: String,
    pub status: String,
    pub source: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub address: Option<Value>,
    pub tags: Vec<String>,
    pub metadata: Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<CustomerRow> for Customer {
    type Error = DomainError;

    fn try_from(row: CustomerRow) -> Result<Self, Self::Error> {
        Ok(Customer {
            id: CustomerId::from(row.id),
            company_id: CompanyId::from(row.company_id),
            name: row.name,
            email: row
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(|e| corrupt("email", e))?,
            phone: row.phone,
            company_name: row.company_name,
            customer_type: row.customer_type.parse().map_err(|e| corrupt("type", e))?,
            status: row.status.parse().map_err(|e| corrupt("status", e))?,
            source: row.source,
            assigned_to: row.assigned_to.map(UserId::from),
            address: row.address.map(object),
            tags: row
                .tags
                .iter()
                .map(|t| Tag::parse(t).map_err(|e| corrupt("tag", e)))
                .collect::<Result<_, _>>()?,
            metadata: object(row.metadata),
            created_by: UserId::from(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&Customer> for CustomerRow {
    fn from(c: &Customer) -> Self {
        Self {
            id: c.id.as_uuid(),
            company_id: c.company_id.as_uuid(),
            name: c.name.clone(),
            email: c.email.as_ref().map(|e| e.as_str().to_owned()),
            phone: c.phone.clone(),
            company_name: c.company_name.clone(),
            customer_type: c.customer_type.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            source: c.source.clone(),
            assigned_to: c.assigned_to.map(Uuid::from),
            address: c.address.clone().map(Value::Object),
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            metadata: Value::Object(c.metadata.clone()),
            created_by: c.created_by.as_uuid(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customer_notes, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct NoteRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub customer_id: Uuid,
    pub content: String,
    pub note_type: String,
    pub is_private: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<NoteRow> for Note {
    type Error = DomainError;

    fn try_from(row: NoteRow) -> Result<Self, Self::Error> {
        Ok(Note {
            id: NoteId::from(row.id),
            company_id: CompanyId::from(row.company_id),
            customer_id: CustomerId::from(row.customer_id),
            content: row.content,
            note_type: row.note_type.parse().map_err(|e| corrupt("note type", e))?,
            is_private: row.is_private,
            created_by: UserId::from(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&Note> for NoteRow {
    fn from(n: &Note) -> Self {
        Self {
            id: n.id.as_uuid(),
            company_id: n.company_id.as_uuid(),
            customer_id: n.customer_id.as_uuid(),
            content: n.content.clone(),
            note_type: n.note_type.as_str().to_owned(),
            is_private: n.is_private,
            created_by: n.created_by.as_uuid(),
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = customer_interactions,
    check_for_backend(diesel::pg::Pg),
    treat_none_as_null = true
)]
pub(crate) struct InteractionRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub customer_id: Uuid,
    pub interaction_type: String,
    pub direction: Option<String>,
    pub subject: String,
    pub description: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub outcome: Option<String>,
    pub status: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = DomainError;

    fn try_from(row: InteractionRow) -> Result<Self, Self::Error> {
        Ok(Interaction {
            id: InteractionId::from(row.id),
            company_id: CompanyId::from(row.company_id),
            customer_id: CustomerId::from(row.customer_id),
            interaction_type: row
                .interaction_type
                .parse()
                .map_err(|e| corrupt("interaction type", e))?,
            direction: row
                .direction
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| corrupt("direction", e))?,
            subject: row.subject,
            description: row.description,
            scheduled_at: row.scheduled_at,
            completed_at: row.completed_at,
            duration_minutes: row
                .duration_minutes
                .map(u32::try_from)
                .transpose()
                .map_err(|e| corrupt("duration", e))?,
            outcome: row.outcome,
            status: row.status.parse().map_err(|e| corrupt("status", e))?,
            created_by: UserId::from(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&Interaction> for InteractionRow {
    fn from(i: &Interaction) -> Self {
        Self {
            id: i.id.as_uuid(),
            company_id: i.company_id.as_uuid(),
            customer_id: i.customer_id.as_uuid(),
            interaction_type: i.interaction_type.as_str().to_owned(),
            direction: i.direction.map(|d| d.as_str().to_owned()),
            subject: i.subject.clone(),
            description: i.description.clone(),
            scheduled_at: i.scheduled_at,
            completed_at: i.completed_at,
            // Bounded by the domain to 10,080.
            duration_minutes: i.duration_minutes.and_then(|d| i32::try_from(d).ok()),
            outcome: i.outcome.clone(),
            status: i.status.as_str().to_owned(),
            created_by: i.created_by.as_uuid(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = activities, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ActivityRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub customer_id: Uuid,
    pub activity_type: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub actor: Uuid,
    pub visible_to: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

impl From<&EventEnvelope> for ActivityRow {
    fn from(e: &EventEnvelope) -> Self {
        let (entity_type, entity_id) = e.event.entity();
        Self {
            id: e.id,
            company_id: e.company_id.as_uuid(),
            customer_id: e.customer_id.as_uuid(),
            activity_type: e.event.type_name().to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id,
            actor: e.actor.as_uuid(),
            visible_to: e.event.visible_only_to().map(Uuid::from),
            occurred_at: e.occurred_at,
            data: e.event.data(),
        }
    }
}

impl From<ActivityRow> for crm_domain::HistoryEntry {
    fn from(row: ActivityRow) -> Self {
        Self {
            id: row.id,
            customer_id: CustomerId::from(row.customer_id),
            entry_type: row.activity_type,
            occurred_at: row.occurred_at,
            actor: UserId::from(row.actor),
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            data: row.data,
        }
    }
}
