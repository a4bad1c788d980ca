//! Time as the domain sees it: microsecond precision, the resolution PostgreSQL stores, so an
//! entity compares equal before and after a round trip through the database.

use chrono::{DateTime, Duration, DurationRound, Utc};

/// The current time, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::microseconds(1)).unwrap_or(now)
}

/// A time strictly after `previous` (and not before now): a change's `updated_at` always moves
/// forward, even two changes within one microsecond.
pub fn after(previous: DateTime<Utc>) -> DateTime<Utc> {
    now().max(previous + Duration::microseconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_has_microsecond_precision() {
        assert_eq!(now().timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn after_is_strictly_later() {
        let future = now() + Duration::hours(1);
        assert!(after(future) > future);
        let past = now() - Duration::hours(1);
        assert!(after(past) > past);
    }
}
