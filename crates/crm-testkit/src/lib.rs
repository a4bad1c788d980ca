//! # crm-testkit
//!
//! Shared test support, in one place:
//! - [`TestDatabase`]: a fresh database per test, cloned from a migrated template and dropped
//!   when the value is dropped;
//! - [`tokens`]: valid and deliberately broken JWTs;
//! - [`TestApp`]: the real application on `127.0.0.1:0` with its own database, and a client;
//! - [`JwksServer`]: a stand-in for User Management's JWKS endpoint that counts its requests.
//! - [`TestRedis`]: a private `redis-server` a test may stop and restart.
//!
//! Tests talk to the PostgreSQL at `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); the URL names the maintenance database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod app;
mod database;
mod jwks_server;
mod redis;
pub mod tokens;

pub use app::{TestApp, TestAppBuilder};
pub use database::{admin, TestDatabase};
pub use jwks_server::JwksServer;
pub use redis::TestRedis;

/// The HS256 secret the test apps trust.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";
