//! Rate limiting shared by every replica through Redis, with an in-process fallback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use crm_domain::{RateDecision, RateLimiter};

use crate::RedisClient;

/// Increments the window's counter and sets its expiry on the first hit, atomically.
const INCR_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// Entries kept by the in-process limiter before old windows are swept.
const SWEEP_AT: usize = 10_000;

/// The current fixed window of `window_secs`: its index and the seconds left in it. Windows
/// are aligned on the Unix epoch, so every replica agrees on them.
fn current_window(window_secs: u64) -> (u64, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let window_secs = window_secs.max(1);
    (now / window_secs, window_secs - now % window_secs)
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct RateLimitStats {
    rejected: AtomicU64,
    local_fallbacks: AtomicU64,
}

impl RateLimitStats {
    /// Requests refused since start.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Requests counted in process because Redis was unavailable.
    pub fn local_fallbacks(&self) -> u64 {
        self.local_fallbacks.load(Ordering::Relaxed)
    }
}

/// Fixed-window counts in this process only.
pub struct InProcessRateLimiter {
    limit: u32,
    window_secs: u64,
    counts: Mutex<HashMap<String, (u64, u64)>>,
    stats: Arc<RateLimitStats>,
}

impl InProcessRateLimiter {
    /// `limit` requests per `window` per client.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window_secs: window.as_secs().max(1),
            counts: Mutex::new(HashMap::new()),
            stats: Arc::new(RateLimitStats::default()),
        }
    }

    /// The limiter's counters.
    pub fn stats(&self) -> Arc<RateLimitStats> {
        self.stats.clone()
    }

    fn count(&self, client: &str) -> RateDecision {
        let (window, reset) = current_window(self.window_secs);
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.len() >= SWEEP_AT {
            counts.retain(|_, (w, _)| *w == window);
        }
        let entry = counts.entry(client.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        RateDecision::for_count(entry.1, self.limit, reset)
    }
}

#[async_trait]
impl RateLimiter for InProcessRateLimiter {
    async fn hit(&self, client: &str) -> RateDecision {
        let decision = self.count(client);
        if !decision.allowed {
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        }
        decision
    }
}

/// Fixed-window counts in Redis (`crm:ratelimit:{client}:{window}`), shared by every replica.
/// While Redis is unavailable, each replica counts in process instead.
pub struct RedisRateLimiter {
    client: RedisClient,
    limit: u32,
    window_secs: u64,
    fallback: InProcessRateLimiter,
}

impl RedisRateLimiter {
    /// `limit` requests per `window` per client.
    pub fn new(client: RedisClient, limit: u32, window: Duration) -> Self {
        Self {
            client,
            limit,
            window_secs: window.as_secs().max(1),
            fallback: InProcessRateLimiter::new(limit, window),
        }
    }

    /// The limiter's counters.
    pub fn stats(&self) -> Arc<RateLimitStats> {
        self.fallback.stats()
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, client: &str) -> RateDecision {
        let (window, reset) = current_window(self.window_secs);
        let key = format!("crm:ratelimit:{client}:{window}");
        let ttl = self.window_secs + 1;
        let counted = self
            .client
            .run(|mut conn| async move {
                // EVAL (not EVALSHA): the script is tiny and the `script` feature of redis-rs
                // is not enabled.
                deadpool_redis::redis::cmd("EVAL")
                    .arg(INCR_SCRIPT)
                    .arg(1)
                    .arg(&key)
                    .arg(ttl)
                    .query_async::<u64>(&mut *conn)
                    .await
            })
            .await;
        let stats = self.fallback.stats();
        let decision = match counted {
            Ok(count) => RateDecision::for_count(count, self.limit, reset),
            Err(e) => {
                tracing::debug!(error = %e, "rate limit counted in process");
                stats.local_fallbacks.fetch_add(1, Ordering::Relaxed);
                self.fallback.count(client)
            }
        };
        if !decision.allowed {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_limits_each_client_separately() {
        let limiter = InProcessRateLimiter::new(2, Duration::from_secs(3600));
        assert!(limiter.hit("a").await.allowed);
        assert!(limiter.hit("a").await.allowed);
        let third = limiter.hit("a").await;
        assert!(!third.allowed);
        assert!(third.reset_after_secs <= 3600);
        assert!(limiter.hit("b").await.allowed);
        assert_eq!(limiter.stats().rejected(), 1);
    }
}
