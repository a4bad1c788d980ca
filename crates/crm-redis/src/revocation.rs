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

use crate::{RedisClient, RedisError};

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
}

impl RedisRevocationList {
    /// The list in `client`'s Redis.
    pub fn new(client: RedisClient) -> Self {
        Self {
            client,
            stats: Arc::new(RevocationStats::default()),
        }
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
        let user = user_key(token.user);
        let jti = token.jti.map(jti_key);
        let found = self
            .client
            .run(|mut conn| async move {
                let mut cmd = deadpool_redis::redis::cmd("MGET");
                cmd.arg(&user);
                if let Some(jti) = &jti {
                    cmd.arg(jti);
                }
                cmd.query_async::<Vec<Option<String>>>(&mut *conn).await
            })
            .await;
        let revoked = match found {
            Ok(values) => {
                let user_revoked =
                    values
                        .first()
                        .and_then(Option::as_deref)
                        .is_some_and(|before| {
                            // An unreadable value revokes everything of the user: fail closed on
                            // a bad write, not on an outage.
                            before
                                .trim()
                                .parse::<i64>()
                                .map_or(true, |before| token.issued_before(before))
                        });
                let jti_revoked = values.get(1).is_some_and(Option::is_some);
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
