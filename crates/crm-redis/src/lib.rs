//! # crm-redis
//!
//! The Redis adapter of Nexus CRM, and the in-process implementations of the same ports that
//! the service uses when `REDIS_URL` is unset.
//!
//! Today it provides event publishing ([`RedisEventPublisher`], [`InProcessEventPublisher`])
//! and a connection check for health probes. Redis is optional at run time: a failure here is
//! logged and never fails a request.

mod events;
mod in_process;

use std::time::Duration;

pub use events::RedisEventPublisher;
pub use in_process::InProcessEventPublisher;

/// A pooled Redis client.
#[derive(Clone)]
pub struct RedisClient {
    pool: deadpool_redis::Pool,
    timeout: Duration,
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
}

impl RedisClient {
    /// Builds a pool for `url` (`redis://host:port/db`). Connections open lazily.
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
        Ok(Self { pool, timeout })
    }

    /// Sends `PING`, bounded by the client's timeout.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis does not answer `PONG` in time.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let work = async {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|e| RedisError::Unavailable(e.to_string()))?;
            let pong: String = deadpool_redis::redis::cmd("PING")
                .query_async(&mut *conn)
                .await
                .map_err(|e| RedisError::Unavailable(e.to_string()))?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(RedisError::Unavailable(format!("unexpected reply {pong}")))
            }
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| RedisError::Unavailable("timed out".into()))?
    }

    pub(crate) fn pool(&self) -> &deadpool_redis::Pool {
        &self.pool
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[async_trait::async_trait]
impl crm_domain::HealthProbe for RedisClient {
    async fn check(&self) -> Result<(), crm_domain::DomainError> {
        self.ping()
            .await
            .map_err(|e| crm_domain::DomainError::Unavailable(e.to_string()))
    }
}
