//! Notes on a customer. A private note exists for its creator only, whatever the role.

mod port;
mod service;

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};

use crate::enums::wire_enum;
use crate::error::{DomainError, FieldError};
use crate::ids::{CompanyId, CustomerId, NoteId, UserId};

#[cfg(any(test, feature = "mocks"))]
pub use port::MockNoteRepository;
pub use port::NoteRepository;
pub use service::NoteService;

wire_enum!(
    /// What a note records.
    #[derive(Default)]
    NoteType {
        /// Anything (the default).
        #[default]
        General => "general",
        /// Notes of a call.
        Call => "call",
        /// Notes of a meeting.
        Meeting => "meeting",
        /// About an email.
        Email => "email",
        /// Something to follow up.
        FollowUp => "follow_up",
    }
);

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// A note on a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Identifier.
    pub id: NoteId,
    /// The tenant.
    pub company_id: CompanyId,
    /// The customer it is about.
    pub customer_id: CustomerId,
    /// The text, 1–10,000 characters.
    pub content: String,
    /// Its kind.
    #[serde(rename = "type")]
    pub note_type: NoteType,
    /// Visible to its creator only.
    pub is_private: bool,
    /// The author.
    pub created_by: UserId,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Note {
    /// Whether `user` may see the note at all.
    pub fn visible_to(&self, user: UserId) -> bool {
        !self.is_private || self.created_by == user
    }
}

fn check_content(content: &str, errors: &mut Vec<FieldError>) {
    if content.trim().is_empty() {
        errors.push(FieldError::new("content", "must not be blank"));
    }
}

fn finish(
    report: Result<(), garde::Report>,
    mut extra: Vec<FieldError>,
) -> Result<(), DomainError> {
    let mut errors = match report.map_err(DomainError::from) {
        Err(DomainError::Validation(errors)) => errors,
        _ => Vec::new(),
    };
    errors.append(&mut extra);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors))
    }
}

/// Input for a new note.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct CreateNote {
    /// 1–10,000 characters, not blank.
    #[garde(length(chars, min = 1, max = MAX_NOTE_CHARS))]
    pub content: String,
    /// Default `general`.
    #[garde(skip)]
    pub note_type: Option<NoteType>,
    /// Default `false`.
    #[garde(skip)]
    pub is_private: Option<bool>,
}

impl CreateNote {
    /// Validates and builds the note.
    ///
    /// # Errors
    /// [`DomainError::Validation`] naming `content` when it is blank or too long.
    pub fn validate_into(
        self,
        company: CompanyId,
        customer: CustomerId,
        author: UserId,
        now: DateTime<Utc>,
    ) -> Result<Note, DomainError> {
        let mut extra = Vec::new();
        check_content(&self.content, &mut extra);
        finish(self.validate(), extra)?;
        Ok(Note {
            id: NoteId::new_random(),
            company_id: company,
            customer_id: customer,
            content: self.content,
            note_type: self.note_type.unwrap_or_default(),
            is_private: self.is_private.unwrap_or(false),
            created_by: author,
            created_at: now,
            updated_at: now,
        })
    }
}

/// A partial change of a note; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct UpdateNote {
    /// New text.
    #[garde(length(chars, min = 1, max = MAX_NOTE_CHARS))]
    pub content: Option<String>,
    /// New kind.
    #[garde(skip)]
    pub note_type: Option<NoteType>,
    /// New privacy (the author only).
    #[garde(skip)]
    pub is_private: Option<bool>,
}

impl UpdateNote {
    /// Validates the fields present.
    ///
    /// # Errors
    /// [`DomainError::Validation`] naming `content` when it is blank or too long.
    pub fn check(&self) -> Result<(), DomainError> {
        let mut extra = Vec::new();
        if let Some(content) = &self.content {
            check_content(content, &mut extra);
        }
        finish(self.validate(), extra)
    }

    /// The note after the change, stamped `now` when anything changed.
    pub fn apply(&self, note: &Note, now: DateTime<Utc>) -> Note {
        let mut after = note.clone();
        if let Some(content) = &self.content {
            after.content.clone_from(content);
        }
        if let Some(kind) = self.note_type {
            after.note_type = kind;
        }
        if let Some(private) = self.is_private {
            after.is_private = private;
        }
        if after != *note {
            after.updated_at = now;
        }
        after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    fn note(content: &str) -> Result<Note, DomainError> {
        CreateNote {
            content: content.into(),
            ..Default::default()
        }
        .validate_into(
            CompanyId::new_random(),
            CustomerId::new_random(),
            UserId::new_random(),
            clock::now(),
        )
    }

    #[test]
    fn defaults_are_general_and_public() {
        let n = note("Called, left a message").unwrap();
        assert_eq!(n.note_type, NoteType::General);
        assert!(!n.is_private);
        assert_eq!(n.created_at, n.updated_at);
    }

    #[test]
    fn content_bounds() {
        assert!(note("").is_err());
        assert!(note("   \n").is_err());
        assert!(note(&"é".repeat(MAX_NOTE_CHARS)).is_ok());
        assert!(note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    #[test]
    fn private_notes_are_visible_to_their_author_only() {
        let mut n = note("secret").unwrap();
        n.is_private = true;
        assert!(n.visible_to(n.created_by));
        assert!(!n.visible_to(UserId::new_random()));
    }

    #[test]
    fn apply_stamps_only_real_changes() {
        let n = note("a").unwrap();
        let later = n.created_at + chrono::Duration::seconds(5);
        let same = UpdateNote {
            content: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(same.apply(&n, later), n);
        let changed = UpdateNote {
            note_type: Some(NoteType::Call),
            ..Default::default()
        }
        .apply(&n, later);
        assert_eq!(changed.note_type, NoteType::Call);
        assert_eq!(changed.updated_at, later);
        assert!(UpdateNote {
            content: Some(" ".into()),
            ..Default::default()
        }
        .check()
        .is_err());
    }
}
