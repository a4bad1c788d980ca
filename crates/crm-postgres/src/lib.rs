//! # crm-postgres
//!
//! The PostgreSQL adapter of Nexus CRM, on diesel + diesel-async with a deadpool pool.
//!
//! - [`Database`] owns the pool and the one tenant-scoped transaction helper,
//!   [`Database::tenant_tx`], through which every query on tenant data runs.
//! - [`migrate`] creates the database if needed and applies the embedded migrations (the
//!   workspace's top-level `migrations/`) under an advisory lock.
//! - [`PgCustomerRepository`] implements the domain's `CustomerRepository` port.

mod customers;
mod database;
mod errors;
pub mod migrate;
mod models;
pub mod schema;

pub use customers::PgCustomerRepository;
pub use database::{Database, PoolSettings};
pub use errors::map_diesel_error;
