//! Identifier newtypes. Each wraps a UUID so that a customer id can never be passed where a
//! company id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// A new, time-ordered (v7) identifier.
            pub fn new_random() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A customer of one company.
    CustomerId
);
uuid_id!(
    /// A tenant: every row of CRM data belongs to exactly one company.
    CompanyId
);
uuid_id!(
    /// A user of the ERP (managed by the User Management module).
    UserId
);
uuid_id!(
    /// A note on a customer.
    NoteId
);
uuid_id!(
    /// An interaction (call, meeting, ...) with a customer.
    InteractionId
);
uuid_id!(
    /// A saved customer segment.
    SegmentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_round_trip() {
        let id = CustomerId::new_random();
        let parsed: CustomerId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
    }

    #[test]
    fn rejects_garbage() {
        assert!("not-a-uuid".parse::<CompanyId>().is_err());
    }
}
