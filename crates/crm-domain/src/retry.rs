//! Optimistic concurrency: read, decide, write only if the row is still as read, else again.

use std::future::Future;

use crate::error::DomainError;

/// How often a change is attempted when the row keeps changing between read and write.
pub const ATTEMPTS: usize = 3;

/// The outcome of one attempt.
pub(crate) enum Attempt<T> {
    /// Finished with this value.
    Done(T),
    /// The row changed since it was read: read and decide again.
    Retry,
}

/// Runs `attempt` until it is done, at most [`ATTEMPTS`] times.
///
/// # Errors
/// The attempt's own errors, or [`DomainError::Conflict`] when every attempt lost the race.
pub(crate) async fn optimistic<T, F, Fut>(mut attempt: F) -> Result<T, DomainError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, DomainError>>,
{
    for _ in 0..ATTEMPTS {
        if let Attempt::Done(value) = attempt().await? {
            return Ok(value);
        }
    }
    Err(DomainError::Conflict(
        "the record is being changed concurrently; retry".into(),
    ))
}
