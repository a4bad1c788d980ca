//! # crm-redis
//!
//! The Redis adapter of Nexus CRM, and the in-process implementations of the same ports that
//! the service uses when `REDIS_URL` is unset.
//!
//! - [`RedisClient`]: a pooled client. Every call is bounded by a timeout and goes through a
//!   [`CircuitBreaker`], so a down Redis adds almost nothing to a request.
//! - [`OutboxRelay`]: delivers the transactional outbox (an [`OutboxStore`]) to an
//!   [`EventSink`]: [`RedisEventSink`] (pub/sub on `crm.events` and `crm.events.{companyId}`)
//!   or [`InProcessEventSink`]. See `docs/events.md`.
//! - [`RedisRateLimiter`]: fixed-window request counts shared by every replica, falling back
//!   to [`InProcessRateLimiter`] while Redis is unavailable.
//! - [`RedisCache`]: read-through cache of a customer by id ([`CachedCustomerRepository`]) and
//!   of the company figures ([`CachedStatsRepository`]), invalidated after each commit by
//!   [`CacheInvalidator`]; with a [`NearCache`] in front, kept in process and invalidated by
//!   Redis's client tracking.
//! - [`RedisRevocationList`]: revoked tokens and users written by User Management (fail open);
//!   [`NoRevocations`] without Redis.
//!
//! Redis is optional at run time: a failure here is logged and never fails a request.
//!
//! [`OutboxStore`]: crm_domain::OutboxStore
//! [`EventSink`]: crm_domain::EventSink

mod breaker;
mod cache;
mod events;
mod in_process;
mod near;
mod rate_limit;
mod relay;
mod revocation;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use breaker::CircuitBreaker;
pub use cache::{
    CacheInvalidator, CacheSettings, CacheStats, CachedCustomerRepository, CachedStatsRepository,
    FanOut, RedisCache,
};
pub use events::{RedisEventSink, ALL_EVENTS_CHANNEL};
pub use in_process::InProcessEventSink;
pub use near::{NearCache, NearSettings, NearStats, Stamp, Tracker, TRACKED_PREFIXES};
pub use rate_limit::{InProcessRateLimiter, RateLimitStats, RedisRateLimiter};
pub use relay::{OutboxRelay, RelayHandle, RelaySettings, RelayStats, RelayWaker};
pub use revocation::{jti_key, user_key, NoRevocations, RedisRevocationList, RevocationStats};

/// Failures in a row after which the circuit opens.
const BREAKER_THRESHOLD: u32 = 3;
/// How long an open circuit refuses calls before one probe is let through.
const BREAKER_COOLDOWN: Duration = Duration::from_secs(1);

/// A pooled Redis client.
#[derive(Clone)]
pub struct RedisClient {
    pool: deadpool_redis::Pool,
    timeout: Duration,
    breaker: Arc<CircuitBreaker>,
}

/// Why Redis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL or pool settings are invalid.
    #[error("invalid Redis configuration: {0}")]
    Config(String),
    /// Redis did not answer in time or refused.
    #[error("Redis unavailable: {0}")]
    Unavailable(String),
    /// The circuit is open: Redis failed recently and is not being called.
    #[error("Redis unavailable: circuit open")]
    CircuitOpen,
}

impl From<RedisError> for crm_domain::DomainError {
    fn from(e: RedisError) -> Self {
        crm_domain::DomainError::Unavailable(e.to_string())
    }
}

impl RedisClient {
    /// Builds a pool for `url` (`redis://host:port/db`). Connections open lazily. Every call
    /// (waiting for a connection included) is bounded by `timeout`.
    ///
    /// # Errors
    /// [`RedisError::Config`] when the URL is invalid.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, RedisError> {
        let mut cfg = deadpool_redis::Config::from_url(url);
        cfg.pool = Some(deadpool_redis::PoolConfig {
            max_size: 16,
            timeouts: deadpool_redis::Timeouts {
                wait: Some(timeout),
                create: Some(timeout),
                recycle: Some(timeout),
            },
            ..Default::default()
        });
        let pool = cfg
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .map_err(|e| RedisError::Config(e.to_string()))?;
        Ok(Self {
            pool,
            timeout,
            breaker: Arc::new(CircuitBreaker::new(BREAKER_THRESHOLD, BREAKER_COOLDOWN)),
        })
    }

    /// Runs `work` on a pooled connection, through the circuit breaker and bounded by the
    /// client's timeout.
    ///
    /// # Errors
    /// [`RedisError::CircuitOpen`] without calling Redis while the circuit is open;
    /// [`RedisError::Unavailable`] when Redis fails or does not answer in time.
    pub async fn run<T, F, Fut>(&self, work: F) -> Result<T, RedisError>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: Future<Output = Result<T, deadpool_redis::redis::RedisError>>,
    {
        if !self.breaker.allow() {
            return Err(RedisError::CircuitOpen);
        }
        let call = async {
            let conn = self
                .pool
                .get()
                .await
                .map_err(|e| RedisError::Unavailable(e.to_string()))?;
            work(conn)
                .await
                .map_err(|e| RedisError::Unavailable(e.to_string()))
        };
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(RedisError::Unavailable("timed out".into())),
        };
        match &result {
            Ok(_) => self.breaker.success(),
            Err(_) => self.breaker.failure(),
        }
        result
    }

    /// Sends `PING`.
    ///
    /// # Errors
    /// As [`RedisClient::run`], or when the answer is not `PONG`.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let pong: String = self
            .run(|mut conn| async move {
                deadpool_redis::redis::cmd("PING")
                    .query_async(&mut *conn)
                    .await
            })
            .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RedisError::Unavailable(format!("unexpected reply {pong}")))
        }
    }

    /// Whether the circuit breaker is refusing calls right now.
    pub fn circuit_open(&self) -> bool {
        self.breaker.is_open()
    }
}

#[async_trait::async_trait]
impl crm_domain::HealthProbe for RedisClient {
    async fn check(&self) -> Result<(), crm_domain::DomainError> {
        self.ping().await.map_err(Into::into)
    }
}
