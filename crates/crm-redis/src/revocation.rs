//! The session revocation list in Redis, written by User Management.
//!
//! Keys (see `docs/sessions.md`):
//! - `crm:revoked:jti:{jti}`: the token with this `jti` is revoked (any value; the writer sets
//!   the expiry to the token's own `exp`).
//! - `crm:revoked:user:{userId}`: every token of the user issued before this Unix time
//!   (seconds, decimal) is revoked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use crm_domain::{RevocationList, TokenIdentity};

use crate::{NearCache, RedisClient, RedisError};

/// The key revoking one token.
pub fn jti_key(jti: &str) -> String {
    format!("crm:revoked:jti:{jti}")
}

/// The key revoking a user's older tokens.
pub fn user_key(user: &str) -> String {
    format!("crm:revoked:user:{user}")
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct RevocationStats {
    refused: AtomicU64,
    unchecked: AtomicU64,
}

impl RevocationStats {
    /// Requests refused because their token was revoked.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Requests let through unchecked because Redis was unavailable (fail open).
    pub fn unchecked(&self) -> u64 {
        self.unchecked.load(Ordering::Relaxed)
    }
}

/// Reads (and, for User Management and tests, writes) the revocation list in Redis.
#[derive(Clone)]
pub struct RedisRevocationList {
    client: RedisClient,
    stats: Arc<RevocationStats>,
    near: Option<NearCache>,
}

impl RedisRevocationList {
    /// The list in `client`'s Redis.
    pub fn new(client: RedisClient) -> Self {
        Self {
            client,
            stats: Arc::new(RevocationStats::default()),
            near: None,
        }
    }

    /// Also keeps the entries read (present or absent) in `near`, which Redis's client
    /// tracking keeps current: a revocation takes effect as soon as Redis's invalidation
    /// reaches this process.
    #[must_use]
    pub fn with_near(mut self, near: NearCache) -> Self {
        self.near = Some(near);
        self
    }

    /// The user's and the token's entries (in that order), from the near cache when it holds
    /// both, otherwise from Redis.
    async fn entries(
        &self,
        user: String,
        jti: Option<String>,
    ) -> Result<(Option<String>, Option<String>), RedisError> {
        let keys: Vec<String> = std::iter::once(user).chain(jti).collect();
        if let Some(near) = &self.near {
            let held: Option<Vec<Option<String>>> = keys
                .iter()
                .map(|key| near.get::<Option<String>>(key))
                .collect();
            if let Some(mut held) = held {
                let jti = if held.len() > 1 {
                    held.pop().flatten()
                } else {
                    None
                };
                return Ok((held.pop().flatten(), jti));
            }
        }
        let stamps: Vec<_> = match &self.near {
            Some(near) => keys.iter().map(|key| Some(near.stamp(key))).collect(),
            None => vec![None; keys.len()],
        };
        let values = self
            .client
            .run(|mut conn| {
                let mut cmd = deadpool_redis::redis::cmd("MGET");
                cmd.arg(&keys);
                async move { cmd.query_async::<Vec<Option<String>>>(&mut *conn).await }
            })
            .await?;
        if let Some(near) = &self.near {
            for ((key, stamp), value) in keys.iter().zip(stamps).zip(&values) {
                if let Some(stamp) = stamp {
                    near.put(key, value.clone(), stamp);
                }
            }
        }
        let mut values = values.into_iter();
        Ok((values.next().flatten(), values.next().flatten()))
    }

    /// The list's counters.
    pub fn stats(&self) -> Arc<RevocationStats> {
        self.stats.clone()
    }

    /// Revokes the token `jti` for `ttl_secs` (its remaining lifetime).
    ///
    /// # Errors
    /// When Redis is unavailable.
    pub async fn revoke_token(&self, jti: &str, ttl_secs: u64) -> Result<(), RedisError> {
        let key = jti_key(jti);
        self.client
            .run(|mut conn| async move {
                deadpool_redis::redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("EX")
                    .arg(ttl_secs.max(1))
                    .query_async::<()>(&mut *conn)
                    .await
            })
            .await
    }

    /// Revokes every token of `user` issued before `before` (Unix seconds).
    ///
    /// # Errors
    /// When Redis is unavailable.
    pub async fn revoke_user(&self, user: &str, before: i64) -> Result<(), RedisError> {
        let key = user_key(user);
        self.client
            .run(|mut conn| async move {
                deadpool_redis::redis::cmd("SET")
                    .arg(&key)
                    .arg(before)
                    .query_async::<()>(&mut *conn)
                    .await
            })
            .await
    }
}

#[async_trait]
impl RevocationList for RedisRevocationList {
    async fn is_revoked(&self, token: TokenIdentity<'_>) -> bool {
        let found = self
            .entries(user_key(token.user), token.jti.map(jti_key))
            .await;
        let revoked = match found {
            Ok((user, jti)) => {
                let user_revoked = user.as_deref().is_some_and(|before| {
                    // An unreadable value revokes everything of the user: fail closed on
                    // a bad write, not on an outage.
                    before
                        .trim()
                        .parse::<i64>()
                        .map_or(true, |before| token.issued_before(before))
                });
                let jti_revoked = jti.is_some();
                user_revoked || jti_revoked
            }
            Err(e) => {
                self.stats.unchecked.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "revocation list unavailable; token accepted");
                false
            }
        };
        if revoked {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
        }
        revoked
    }
}

/// Without Redis there is no revocation list: nothing is revoked.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRevocations;

#[async_trait]
impl RevocationList for NoRevocations {
    async fn is_revoked(&self, _token: TokenIdentity<'_>) -> bool {
        false
    }
}
