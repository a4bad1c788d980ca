//! Who is acting: the authenticated user, their company (the tenant) and their role.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{CompanyId, UserId};

/// A role granted by the User Management module. Ordered: `User < Manager < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in the company; changes what is theirs.
    User,
    /// Also changes and deletes any customer, interaction and public note.
    Manager,
    /// Everything, including the audit trail.
    Admin,
}

impl Role {
    /// The role's wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Whether this role has at least the rights of `other`.
    pub fn is_at_least(self, other: Role) -> bool {
        self >= other
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string is not a known role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected admin, manager or user)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "manager" => Ok(Role::Manager),
            "admin" => Ok(Role::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The request id (from `X-Request-Id` or generated).
    pub request_id: Option<String>,
    /// The client's IP address.
    pub client_ip: Option<String>,
}

/// The authenticated caller of a use case. Every service method takes one, and every port
/// method that touches tenant data takes its company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    user: UserId,
    company: CompanyId,
    role: Role,
    origin: Option<std::sync::Arc<Origin>>,
}

impl Actor {
    /// An actor acting for `company` with `role`.
    pub fn new(user: UserId, company: CompanyId, role: Role) -> Self {
        Self {
            user,
            company,
            role,
            origin: None,
        }
    }

    /// The same actor, known to act through the request `origin`.
    #[must_use]
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(std::sync::Arc::new(origin));
        self
    }

    /// Where the actor's request came from, when known.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_deref()
    }

    /// The acting user.
    pub const fn user(&self) -> UserId {
        self.user
    }

    /// The tenant the actor belongs to.
    pub const fn company(&self) -> CompanyId {
        self.company
    }

    /// The actor's role.
    pub const fn role(&self) -> Role {
        self.role
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.is_at_least(Role::Manager));
        assert!(Role::Manager.is_at_least(Role::User));
        assert!(!Role::User.is_at_least(Role::Manager));
    }

    #[test]
    fn parses_known_roles_only() {
        assert_eq!("manager".parse::<Role>(), Ok(Role::Manager));
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
    }
}
