//! History bodies.

use chrono::{DateTime, Utc};
use crm_domain::HistoryEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::page_type;

/// One entry of a customer's timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntryResponse {
    /// Event id.
    pub id: Uuid,
    /// E.g. `customer.created`, `customer.updated`, `note.created`, `interaction.completed`,
    /// `tags.added`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The user who did it.
    pub actor: Uuid,
    /// `customer`, `note` or `interaction`.
    pub entity_type: String,
    /// Id of that entity.
    pub entity_id: Uuid,
    /// What happened: a snapshot, or `{"changes": {field: {"before", "after"}}}` for updates.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<HistoryEntry> for HistoryEntryResponse {
    fn from(e: HistoryEntry) -> Self {
        Self {
            id: e.id,
            entry_type: e.entry_type,
            occurred_at: e.occurred_at,
            actor: e.actor.as_uuid(),
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            data: e.data,
        }
    }
}

page_type!(
    /// A page of history.
    HistoryPage of HistoryEntryResponse
);
