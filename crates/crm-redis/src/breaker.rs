//! A small circuit breaker: after a few failures in a row Redis is not called at all for a
//! cool-down, so a down Redis costs requests nothing; then one probe call decides whether it is
//! back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe call is in flight (since `since`); others are refused meanwhile.
    HalfOpen {
        since: Instant,
    },
}

/// The breaker around every Redis call of a [`RedisClient`](crate::RedisClient).
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

impl CircuitBreaker {
    /// Opens after `threshold` failures in a row, for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent: it is a Copy.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may go ahead now. After the cool-down, one caller is let through as a
    /// probe (and another one if the probe never reports back within a cool-down).
    pub fn allow(&self) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => true,
            State::Open { until } | State::HalfOpen { since: until } if now < until => false,
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen {
                    since: now + self.cooldown,
                };
                true
            }
        }
    }

    /// Records a successful call: the circuit closes.
    pub fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// Records a failed call.
    pub fn failure(&self) {
        let mut state = self.lock();
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => {
                if !matches!(*state, State::Open { .. }) {
                    tracing::warn!(
                        cooldown_ms = self.cooldown.as_millis() as u64,
                        "Redis circuit opened"
                    );
                }
                State::Open {
                    until: Instant::now() + self.cooldown,
                }
            }
        };
    }

    /// Whether calls are being refused right now.
    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let breaker = CircuitBreaker::new(3, Duration::from_millis(30));
        assert!(breaker.allow());
        breaker.failure();
        breaker.failure();
        assert!(breaker.allow(), "still closed below the threshold");
        breaker.failure();
        assert!(breaker.is_open());
        assert!(!breaker.allow(), "open: refused");
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            breaker.allow(),
            "after the cool-down one probe goes through"
        );
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.success();
        assert!(!breaker.is_open());
        assert!(breaker.allow());
    }

    #[test]
    fn a_failed_probe_opens_again() {
        let breaker = CircuitBreaker::new(1, Duration::from_millis(20));
        breaker.failure();
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow());
        breaker.failure();
        assert!(!breaker.allow());
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(60));
        breaker.failure();
        breaker.success();
        breaker.failure();
        assert!(breaker.allow(), "failures must be in a row");
    }
}
