//! # crm-postgres
//!
//! The PostgreSQL adapter of Nexus CRM, on diesel + diesel-async with a deadpool pool.
//!
//! - [`Database`] owns the pool and the one tenant-scoped transaction helper,
//!   [`Database::tenant_tx`], through which every query on tenant data runs.
//! - [`migrate`] creates the database if needed and applies the embedded migrations (the
//!   workspace's top-level `migrations/`) under an advisory lock.
//! - [`PgCustomerRepository`], [`PgNoteRepository`], [`PgInteractionRepository`] and
//!   [`PgHistoryRepository`] implement the domain's ports. Every change is stored together with
//!   its events (the customer's history `crm.activities`, the audit trail and the outbox
//!   `crm.outbox`) in one transaction; [`PgOutboxStore`] lets the relay deliver the outbox.

mod activities;
mod audit;
mod customers;
mod database;
mod errors;
mod interactions;
pub mod migrate;
mod models;
mod notes;
mod outbox;
pub mod schema;
pub mod seed;
mod segments;
mod stats;

pub use activities::PgHistoryRepository;
pub use audit::PgAuditRepository;
pub use customers::PgCustomerRepository;
pub use database::{
    CheckoutObserver, Database, PoolRole, PoolSettings, TxWork, RELAY_ROLE, TENANT_ROLE,
};
pub use errors::map_diesel_error;
pub use interactions::PgInteractionRepository;
pub use notes::PgNoteRepository;
pub use outbox::PgOutboxStore;
pub use segments::PgSegmentRepository;
pub use stats::PgStatsRepository;
