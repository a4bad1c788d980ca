//! Rate limiting: how many requests a client may make per window.

use async_trait::async_trait;

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Seconds until the current window ends.
    pub reset_after_secs: u64,
}

impl RateDecision {
    /// The decision for the `count`-th request of a window with `limit`, ending in
    /// `reset_after_secs`.
    pub fn for_count(count: u64, limit: u32, reset_after_secs: u64) -> Self {
        Self {
            allowed: count <= u64::from(limit),
            limit,
            remaining: u32::try_from(u64::from(limit).saturating_sub(count)).unwrap_or(0),
            reset_after_secs,
        }
    }
}

/// Counts requests per client key in fixed windows.
///
/// # Errors
/// None: an implementation that cannot reach its store falls back to a local count.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request of `client` and decides on it.
    async fn hit(&self, client: &str) -> RateDecision;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_past_the_limit_is_refused() {
        assert!(RateDecision::for_count(3, 3, 10).allowed);
        assert_eq!(RateDecision::for_count(3, 3, 10).remaining, 0);
        let past = RateDecision::for_count(4, 3, 10);
        assert!(!past.allowed);
        assert_eq!(past.remaining, 0);
        assert_eq!(RateDecision::for_count(1, 3, 10).remaining, 2);
    }
}
