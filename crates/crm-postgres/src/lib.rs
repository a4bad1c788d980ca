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
//!   its events (the customer's history, `crm.activities`) in one transaction.

mod activities;
mod audit;
mod customers;
mod database;
mod errors;
mod interactions;
pub mod migrate;
mod models;
mod notes;
pub mod schema;
pub mod seed;
mod segments;
mod stats;

pub use activities::PgHistoryRepository;
pub use audit::PgAuditRepository;
pub use customers::PgCustomerRepository;
pub use database::{Database, PoolSettings, TENANT_ROLE};
pub use errors::map_diesel_error;
pub use interactions::PgInteractionRepository;
pub use notes::PgNoteRepository;
pub use segments::PgSegmentRepository;
pub use stats::PgStatsRepository;
