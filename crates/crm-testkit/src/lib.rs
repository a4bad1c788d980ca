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
pub use redis::{redis_connection, TestRedis};

/// Polls `check` every 10 ms until it returns `Some`, for at most `within`; panics naming
/// `what` if it never does. For effects that arrive asynchronously (a Redis invalidation
/// reaching another process), never as a timing measurement.
pub async fn eventually<T, F, Fut>(what: &str, within: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The HS256 secret the test apps trust.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";
