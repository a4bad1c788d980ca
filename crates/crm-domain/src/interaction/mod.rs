//! Interactions with a customer: calls, emails, meetings, tasks... scheduled, then completed
//! or cancelled.

mod port;
mod service;

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};

use crate::enums::wire_enum;
use crate::error::{DomainError, FieldError};
use crate::ids::{CompanyId, CustomerId, InteractionId, UserId};
use crate::pagination::Window;

pub use port::InteractionRepository;
#[cfg(any(test, feature = "mocks"))]
pub use port::MockInteractionRepository;
pub use service::InteractionService;

wire_enum!(
    /// The channel of an interaction.
    InteractionType {
        /// A phone call.
        Call => "call",
        /// An email.
        Email => "email",
        /// A meeting.
        Meeting => "meeting",
        /// A task to do for the customer.
        Task => "task",
        /// A text message.
        Sms => "sms",
        /// Anything else.
        Other => "other",
    }
);

wire_enum!(
    /// Who started it.
    Direction {
        /// The customer reached out.
        Inbound => "inbound",
        /// We reached out.
        Outbound => "outbound",
    }
);

wire_enum!(
    /// Where the interaction stands.
    #[derive(Default)]
    InteractionStatus {
        /// Planned (the default).
        #[default]
        Scheduled => "scheduled",
        /// Done; `completedAt` is set.
        Completed => "completed",
        /// Called off.
        Cancelled => "cancelled",
    }
);

/// Longest duration, in minutes (one week).
pub const MAX_DURATION_MINUTES: u32 = 10_080;

/// An interaction with a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    /// Identifier.
    pub id: InteractionId,
    /// The tenant.
    pub company_id: CompanyId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The channel.
    #[serde(rename = "type")]
    pub interaction_type: InteractionType,
    /// Who started it.
    pub direction: Option<Direction>,
    /// One line, 1–500 characters.
    pub subject: String,
    /// Details.
    pub description: Option<String>,
    /// When it is planned.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// How long it took, 0–10,080 minutes.
    pub duration_minutes: Option<u32>,
    /// What came of it.
    pub outcome: Option<String>,
    /// Scheduled, completed or cancelled.
    pub status: InteractionStatus,
    /// Who recorded it.
    pub created_by: UserId,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Interaction {
    /// Moves to `status`, keeping `completed_at` consistent with it.
    fn set_status(&mut self, status: InteractionStatus, now: DateTime<Utc>) {
        self.status = status;
        match status {
            InteractionStatus::Completed => {
                self.completed_at.get_or_insert(now);
            }
            InteractionStatus::Scheduled | InteractionStatus::Cancelled => {
                self.completed_at = None;
            }
        }
    }
}

fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn finish(report: Result<(), garde::Report>, subject: Option<&str>) -> Result<(), DomainError> {
    let mut errors = match report.map_err(DomainError::from) {
        Err(DomainError::Validation(errors)) => errors,
        _ => Vec::new(),
    };
    if subject.is_some_and(|s| !s.is_empty() && s.trim().is_empty()) {
        errors.push(FieldError::new("subject", "must not be blank"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors))
    }
}

/// Input for a new interaction.
#[derive(Debug, Clone, PartialEq, Validate)]
pub struct CreateInteraction {
    /// The channel.
    #[garde(skip)]
    pub interaction_type: InteractionType,
    /// Who started it.
    #[garde(skip)]
    pub direction: Option<Direction>,
    /// 1–500 characters.
    #[garde(length(chars, min = 1, max = 500))]
    pub subject: String,
    /// At most 10,000 characters.
    #[garde(length(chars, max = 10_000))]
    pub description: Option<String>,
    /// When it is planned.
    #[garde(skip)]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// 0–10,080 minutes.
    #[garde(range(max = MAX_DURATION_MINUTES))]
    pub duration_minutes: Option<u32>,
    /// At most 2,000 characters.
    #[garde(length(chars, max = 2_000))]
    pub outcome: Option<String>,
    /// Default `scheduled`; `completed` stamps `completedAt`.
    #[garde(skip)]
    pub status: Option<InteractionStatus>,
}

impl CreateInteraction {
    /// Validates and builds the interaction.
    ///
    /// # Errors
    /// [`DomainError::Validation`] with every failing field.
    pub fn validate_into(
        self,
        company: CompanyId,
        customer: CustomerId,
        author: UserId,
        now: DateTime<Utc>,
    ) -> Result<Interaction, DomainError> {
        finish(self.validate(), Some(&self.subject))?;
        let mut interaction = Interaction {
            id: InteractionId::new_random(),
            company_id: company,
            customer_id: customer,
            interaction_type: self.interaction_type,
            direction: self.direction,
            subject: self.subject.trim().to_owned(),
            description: clean(self.description),
            scheduled_at: self.scheduled_at,
            completed_at: None,
            duration_minutes: self.duration_minutes,
            outcome: clean(self.outcome),
            status: InteractionStatus::Scheduled,
            created_by: author,
            created_at: now,
            updated_at: now,
        };
        interaction.set_status(self.status.unwrap_or_default(), now);
        Ok(interaction)
    }
}

/// A partial change; `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct UpdateInteraction {
    /// New channel.
    #[garde(skip)]
    pub interaction_type: Option<InteractionType>,
    /// New or cleared direction.
    #[garde(skip)]
    pub direction: Option<Option<Direction>>,
    /// New subject.
    #[garde(length(chars, min = 1, max = 500))]
    pub subject: Option<String>,
    /// New or cleared description.
    #[garde(length(chars, max = 10_000))]
    pub description: Option<Option<String>>,
    /// New or cleared schedule.
    #[garde(skip)]
    pub scheduled_at: Option<Option<DateTime<Utc>>>,
    /// New or cleared duration.
    #[garde(range(max = MAX_DURATION_MINUTES))]
    pub duration_minutes: Option<Option<u32>>,
    /// New or cleared outcome.
    #[garde(length(chars, max = 2_000))]
    pub outcome: Option<Option<String>>,
    /// New status; `completed` stamps `completedAt`, others clear it.
    #[garde(skip)]
    pub status: Option<InteractionStatus>,
}

impl UpdateInteraction {
    /// Validates the fields present.
    ///
    /// # Errors
    /// [`DomainError::Validation`] with every failing field.
    pub fn check(&self) -> Result<(), DomainError> {
        finish(self.validate(), self.subject.as_deref())
    }

    /// The interaction after the change, stamped `now` when anything changed.
    pub fn apply(&self, before: &Interaction, now: DateTime<Utc>) -> Interaction {
        let mut after = before.clone();
        if let Some(kind) = self.interaction_type {
            after.interaction_type = kind;
        }
        if let Some(direction) = self.direction {
            after.direction = direction;
        }
        if let Some(subject) = &self.subject {
            subject.trim().clone_into(&mut after.subject);
        }
        if let Some(description) = &self.description {
            after.description = clean(description.clone());
        }
        if let Some(scheduled) = self.scheduled_at {
            after.scheduled_at = scheduled;
        }
        if let Some(duration) = self.duration_minutes {
            after.duration_minutes = duration;
        }
        if let Some(outcome) = &self.outcome {
            after.outcome = clean(outcome.clone());
        }
        if let Some(status) = self.status {
            after.set_status(status, now);
        }
        if after != *before {
            after.updated_at = now;
        }
        after
    }
}

/// Marks an interaction completed, optionally with its outcome and duration.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct CompleteInteraction {
    /// What came of it.
    #[garde(length(chars, max = 2_000))]
    pub outcome: Option<String>,
    /// How long it took.
    #[garde(range(max = MAX_DURATION_MINUTES))]
    pub duration_minutes: Option<u32>,
}

impl CompleteInteraction {
    /// Validates the fields present.
    ///
    /// # Errors
    /// [`DomainError::Validation`].
    pub fn check(&self) -> Result<(), DomainError> {
        finish(self.validate(), None)
    }

    /// The interaction completed (`completedAt` kept from a first completion).
    ///
    /// # Errors
    /// [`DomainError::Conflict`] for a cancelled interaction.
    pub fn apply(
        &self,
        before: &Interaction,
        now: DateTime<Utc>,
    ) -> Result<Interaction, DomainError> {
        if before.status == InteractionStatus::Cancelled {
            return Err(DomainError::Conflict(
                "a cancelled interaction cannot be completed".into(),
            ));
        }
        let mut after = before.clone();
        after.set_status(InteractionStatus::Completed, now);
        if let Some(outcome) = clean(self.outcome.clone()) {
            after.outcome = Some(outcome);
        }
        if let Some(duration) = self.duration_minutes {
            after.duration_minutes = Some(duration);
        }
        if after != *before {
            after.updated_at = now;
        }
        Ok(after)
    }
}

/// A filtered page request over a customer's interactions (newest first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InteractionQuery {
    /// Only this channel.
    pub interaction_type: Option<InteractionType>,
    /// Only this status.
    pub status: Option<InteractionStatus>,
    /// Page size and position.
    pub window: Window,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    fn create(status: Option<InteractionStatus>) -> CreateInteraction {
        CreateInteraction {
            interaction_type: InteractionType::Call,
            direction: Some(Direction::Outbound),
            subject: " Intro call ".into(),
            description: None,
            scheduled_at: None,
            duration_minutes: None,
            outcome: None,
            status,
        }
    }

    fn build(cmd: CreateInteraction) -> Result<Interaction, DomainError> {
        cmd.validate_into(
            CompanyId::new_random(),
            CustomerId::new_random(),
            UserId::new_random(),
            clock::now(),
        )
    }

    #[test]
    fn new_interactions_are_scheduled_unless_said_otherwise() {
        let i = build(create(None)).unwrap();
        assert_eq!(i.status, InteractionStatus::Scheduled);
        assert_eq!(i.completed_at, None);
        assert_eq!(i.subject, "Intro call");
        let done = build(create(Some(InteractionStatus::Completed))).unwrap();
        assert_eq!(done.completed_at, Some(done.created_at));
    }

    #[test]
    fn bounds_are_checked() {
        let mut cmd = create(None);
        cmd.subject = "  ".into();
        cmd.duration_minutes = Some(MAX_DURATION_MINUTES + 1);
        let Err(DomainError::Validation(errors)) = build(cmd) else {
            panic!("expected validation errors");
        };
        let mut fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["durationMinutes", "subject"]);
        let mut ok = create(None);
        ok.duration_minutes = Some(MAX_DURATION_MINUTES);
        assert!(build(ok).is_ok());
    }

    #[test]
    fn completing_twice_keeps_the_first_completion_time() {
        let i = build(create(None)).unwrap();
        let t1 = i.created_at + chrono::Duration::minutes(5);
        let once = CompleteInteraction {
            outcome: Some("Interested".into()),
            duration_minutes: Some(15),
        }
        .apply(&i, t1)
        .unwrap();
        assert_eq!(once.status, InteractionStatus::Completed);
        assert_eq!(once.completed_at, Some(t1));
        let t2 = t1 + chrono::Duration::minutes(5);
        let twice = CompleteInteraction::default().apply(&once, t2).unwrap();
        assert_eq!(twice, once, "a second completion changes nothing");
    }

    #[test]
    fn cancelled_interactions_cannot_be_completed() {
        let i = build(create(Some(InteractionStatus::Cancelled))).unwrap();
        assert!(matches!(
            CompleteInteraction::default().apply(&i, clock::now()),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn status_changes_keep_completed_at_consistent() {
        let i = build(create(Some(InteractionStatus::Completed))).unwrap();
        let reopened = UpdateInteraction {
            status: Some(InteractionStatus::Scheduled),
            ..Default::default()
        }
        .apply(&i, clock::now());
        assert_eq!(reopened.completed_at, None);
        let cleared = UpdateInteraction {
            direction: Some(None),
            ..Default::default()
        }
        .apply(&i, clock::now());
        assert_eq!(cleared.direction, None);
    }
}
