//! Revoked sessions: tokens (by `jti`) and users (every token issued before a moment) that
//! must no longer be accepted although their signature and expiry are fine. User Management
//! writes the list; this service only reads it.

use async_trait::async_trait;

/// The parts of a token the revocation list is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenIdentity<'a> {
    /// The `sub` claim (user id).
    pub user: &'a str,
    /// The `jti` claim, when present.
    pub jti: Option<&'a str>,
    /// The `iat` claim (seconds since the epoch), when present.
    pub issued_at: Option<i64>,
}

impl TokenIdentity<'_> {
    /// Whether a user revocation "every token issued before `revoked_before`" covers this
    /// token. A token without `iat` cannot show it is newer, so it is covered.
    pub fn issued_before(&self, revoked_before: i64) -> bool {
        self.issued_at.is_none_or(|iat| iat < revoked_before)
    }
}

/// The revocation list.
///
/// # Errors
/// None: an implementation that cannot reach its store answers "not revoked" (fail open) and
/// logs it, so a store outage never locks every user out.
#[async_trait]
pub trait RevocationList: Send + Sync + 'static {
    /// Whether `token` has been revoked.
    async fn is_revoked(&self, token: TokenIdentity<'_>) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_revocation_covers_older_and_undated_tokens() {
        let token = |iat| TokenIdentity {
            user: "u",
            jti: None,
            issued_at: iat,
        };
        assert!(token(Some(99)).issued_before(100));
        assert!(!token(Some(100)).issued_before(100));
        assert!(token(None).issued_before(100));
    }
}
