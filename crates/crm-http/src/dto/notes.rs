//! Note bodies.

use chrono::{DateTime, Utc};
use crm_domain::{CreateNote, Note, NoteType, UpdateNote};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{double_option, not_null, page_type};
use crate::error::ApiError;

/// A note as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoteResponse {
    /// Identifier.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The text.
    pub content: String,
    /// Its kind.
    #[serde(rename = "type")]
    pub note_type: NoteType,
    /// Visible to its author only.
    pub is_private: bool,
    /// The author.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Note> for NoteResponse {
    fn from(n: Note) -> Self {
        Self {
            id: n.id.as_uuid(),
            customer_id: n.customer_id.as_uuid(),
            content: n.content,
            note_type: n.note_type,
            is_private: n.is_private,
            created_by: n.created_by.as_uuid(),
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

page_type!(
    /// A page of notes.
    NotePage of NoteResponse
);

/// Body of `POST /api/customers/{id}/notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateNoteRequest {
    /// 1–10,000 characters.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]"
    )]
    pub content: String,
    /// Default `general`.
    #[serde(rename = "type")]
    pub note_type: Option<NoteType>,
    /// Default `false`: a private note is visible to its author only.
    pub is_private: Option<bool>,
}

impl From<CreateNoteRequest> for CreateNote {
    fn from(r: CreateNoteRequest) -> Self {
        CreateNote {
            content: r.content,
            note_type: r.note_type,
            is_private: r.is_private,
        }
    }
}

/// Body of `PUT /api/customers/{id}/notes/{noteId}`: the fields sent change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateNoteRequest {
    /// New text, 1–10,000 characters.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 10000, pattern = "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]")]
    pub content: Option<Option<String>>,
    /// New kind.
    #[serde(rename = "type", default, deserialize_with = "double_option")]
    #[schema(value_type = NoteType)]
    pub note_type: Option<Option<NoteType>>,
    /// New privacy (the author only).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = bool)]
    pub is_private: Option<Option<bool>>,
}

impl UpdateNoteRequest {
    /// The domain command, refusing `null`.
    ///
    /// # Errors
    /// 422 naming each `null` field.
    pub fn try_into_domain(self) -> Result<UpdateNote, ApiError> {
        let mut errors = Vec::new();
        let cmd = UpdateNote {
            content: not_null("content", self.content, &mut errors),
            note_type: not_null("type", self.note_type, &mut errors),
            is_private: not_null("isPrivate", self.is_private, &mut errors),
        };
        if errors.is_empty() {
            Ok(cmd)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}
