//! # crm-domain
//!
//! The pure core of Nexus CRM: entities, validating value objects, commands and queries, the
//! ports (traits) that adapters implement, the services (use cases) and the domain events.
//!
//! It depends on no database, cache, HTTP framework or async runtime, so other ERP modules can
//! embed it. Enable the `mocks` feature to get a [`mockall`](https://docs.rs/mockall) mock of
//! every port (`MockCustomerRepository`, `MockNoteRepository`, `MockInteractionRepository`,
//! `MockHistoryRepository`, `MockEventPublisher`, `MockHealthProbe`) for unit tests.
//!
//! Every change is made by a service, which builds the new state and the
//! [`EventEnvelope`]s describing it, and hands both to a repository that stores them in one
//! transaction (that is how the customer's history is recorded).
//!
//! ```
//! use crm_domain::{Actor, CompanyId, Role, UserId};
//! let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::Manager);
//! assert!(actor.role().is_at_least(Role::User));
//! ```

pub mod actor;
pub mod audit;
pub mod clock;
pub mod customer;
mod enums;
pub mod error;
pub mod events;
pub mod health;
pub mod history;
pub mod ids;
pub mod interaction;
pub mod note;
pub mod outbox;
pub mod pagination;
pub mod rate_limit;
mod retry;
pub mod revocation;
pub mod segment;
pub mod stats;

pub use actor::{Actor, Origin, Role};
pub use audit::{AuditEntry, AuditQuery, AuditRepository, AuditService};
pub use customer::{
    CreateCustomer, Customer, CustomerChanges, CustomerFilter, CustomerQuery, CustomerRepository,
    CustomerService, CustomerSort, CustomerSortField, CustomerStatus, CustomerType, Email,
    NewCustomer, Ranked, SearchQuery, SearchText, Tag, TagCount, TagQuery, UpdateCustomer,
};
pub use error::{DomainError, FieldError};
pub use events::{DomainEvent, EventEnvelope, EventPublisher};
pub use health::HealthProbe;
pub use history::{HistoryEntry, HistoryRepository, HistoryService};
pub use ids::{CompanyId, CustomerId, InteractionId, NoteId, SegmentId, UserId};
pub use interaction::{
    CompleteInteraction, CreateInteraction, Direction, Interaction, InteractionQuery,
    InteractionRepository, InteractionService, InteractionStatus, InteractionType,
    UpdateInteraction,
};
pub use note::{CreateNote, Note, NoteRepository, NoteService, NoteType, UpdateNote};
pub use outbox::{Delivery, EventSink, OutboxBacklog, OutboxMessage, OutboxStore};
pub use pagination::{Cursor, Page, PageLimit, Window};
pub use rate_limit::{RateDecision, RateLimiter};
pub use revocation::{RevocationList, TokenIdentity};
pub use segment::{
    CountedSegment, CreateSegment, Segment, SegmentRepository, SegmentService, UpdateSegment,
};
pub use stats::{
    Breakdown, Bucket, CompanyStats, CustomerActivity, DailyPoint, Dashboard, DashboardDays,
    ScheduledItem, StatsRepository, StatsService, UserPerformance,
};

#[cfg(any(test, feature = "mocks"))]
pub use audit::MockAuditRepository;
#[cfg(any(test, feature = "mocks"))]
pub use customer::MockCustomerRepository;
#[cfg(any(test, feature = "mocks"))]
pub use events::MockEventPublisher;
#[cfg(any(test, feature = "mocks"))]
pub use health::MockHealthProbe;
#[cfg(any(test, feature = "mocks"))]
pub use history::MockHistoryRepository;
#[cfg(any(test, feature = "mocks"))]
pub use interaction::MockInteractionRepository;
#[cfg(any(test, feature = "mocks"))]
pub use note::MockNoteRepository;
#[cfg(any(test, feature = "mocks"))]
pub use outbox::MockOutboxStore;
#[cfg(any(test, feature = "mocks"))]
pub use rate_limit::MockRateLimiter;
#[cfg(any(test, feature = "mocks"))]
pub use segment::MockSegmentRepository;
#[cfg(any(test, feature = "mocks"))]
pub use stats::MockStatsRepository;
