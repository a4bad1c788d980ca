//! # crm-domain
//!
//! The pure core of Nexus CRM: entities, validating value objects, commands and queries, the
//! ports (traits) that adapters implement, the services (use cases) and the domain events.
//!
//! It depends on no database, cache, HTTP framework or async runtime, so other ERP modules can
//! embed it. Enable the `mocks` feature to get a [`mockall`](https://docs.rs/mockall) mock of
//! every port (`MockCustomerRepository`, `MockEventPublisher`) for unit tests.
//!
//! ```
//! use crm_domain::{Actor, CompanyId, Role, UserId};
//! let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::Manager);
//! assert!(actor.role().is_at_least(Role::User));
//! ```

pub mod actor;
pub mod customer;
pub mod error;
pub mod events;
pub mod health;
pub mod ids;
pub mod pagination;

pub use actor::{Actor, Role};
pub use customer::{
    CreateCustomer, Customer, CustomerChanges, CustomerQuery, CustomerRepository, CustomerService,
    CustomerSort, CustomerSortField, CustomerStatus, CustomerType, Email, NewCustomer, Tag,
    UpdateCustomer,
};
pub use error::{DomainError, FieldError};
pub use events::{DomainEvent, EventEnvelope, EventPublisher};
pub use health::HealthProbe;
pub use ids::{CompanyId, CustomerId, InteractionId, NoteId, UserId};
pub use pagination::{Cursor, Page, PageLimit};

#[cfg(any(test, feature = "mocks"))]
pub use customer::MockCustomerRepository;
#[cfg(any(test, feature = "mocks"))]
pub use events::MockEventPublisher;
#[cfg(any(test, feature = "mocks"))]
pub use health::MockHealthProbe;
