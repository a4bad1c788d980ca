//! The customer use cases, with the role rules of the API contract.

use std::sync::Arc;

use super::commands::{CreateCustomer, CustomerQuery, UpdateCustomer};
use super::port::CustomerRepository;
use super::Customer;
use crate::actor::{Actor, Role};
use crate::error::DomainError;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::ids::CustomerId;
use crate::pagination::Page;

const CUSTOMER: &str = "customer";
/// How often an update is retried when the customer changes between check and write.
const UPDATE_ATTEMPTS: usize = 3;

/// Creates, reads, changes, deletes and lists customers on behalf of an [`Actor`].
///
/// Rules: everyone in the company reads every customer and may create one; a `user` changes
/// only customers assigned to them or created by them; `manager` and `admin` change any and are
/// the only ones who delete. A customer of another company does not exist for the actor.
#[derive(Clone)]
pub struct CustomerService {
    repo: Arc<dyn CustomerRepository>,
    events: Arc<dyn EventPublisher>,
}

impl CustomerService {
    /// A service over `repo`, announcing changes to `events`.
    pub fn new(repo: Arc<dyn CustomerRepository>, events: Arc<dyn EventPublisher>) -> Self {
        Self { repo, events }
    }

    /// Whether `actor` may change `customer` (tags included).
    pub fn may_change(actor: &Actor, customer: &Customer) -> bool {
        actor.role().is_at_least(Role::Manager)
            || customer.assigned_to == Some(actor.user())
            || customer.created_by == actor.user()
    }

    /// Whether `actor` may delete customers.
    pub fn may_delete(actor: &Actor) -> bool {
        actor.role().is_at_least(Role::Manager)
    }

    /// Creates a customer in the actor's company.
    ///
    /// # Errors
    /// [`DomainError::Validation`] for bad input, [`DomainError::Conflict`] for a duplicate
    /// email, and the repository's errors.
    pub async fn create(
        &self,
        actor: &Actor,
        cmd: CreateCustomer,
    ) -> Result<Customer, DomainError> {
        let new = cmd.validate_for(actor.user())?;
        let customer = self.repo.insert(actor.company(), new).await?;
        self.announce(
            actor,
            DomainEvent::CustomerCreated {
                customer: Box::new(customer.clone()),
            },
        )
        .await;
        Ok(customer)
    }

    /// The customer `id` of the actor's company.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] when it does not exist in the actor's company.
    pub async fn get(&self, actor: &Actor, id: CustomerId) -> Result<Customer, DomainError> {
        self.repo
            .find(actor.company(), id)
            .await?
            .ok_or(DomainError::NotFound { entity: CUSTOMER })
    }

    /// Changes the fields present in `cmd`.
    ///
    /// The role rule is checked against the customer as stored, and the write only applies if
    /// the customer has not changed since that check (optimistic concurrency); after a
    /// concurrent change the rule is checked again on the fresh row.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`] when the actor may not change it,
    /// [`DomainError::Validation`], [`DomainError::Conflict`] for a taken email or when the
    /// customer keeps changing under us.
    pub async fn update(
        &self,
        actor: &Actor,
        id: CustomerId,
        cmd: UpdateCustomer,
    ) -> Result<Customer, DomainError> {
        let changes = cmd.validate_changes()?;
        for _ in 0..UPDATE_ATTEMPTS {
            let before = self.get(actor, id).await?;
            if !Self::may_change(actor, &before) {
                return Err(DomainError::Forbidden(
                    "users may only change customers assigned to them or created by them".into(),
                ));
            }
            if changes.is_empty() {
                return Ok(before);
            }
            let stored = self
                .repo
                .update(actor.company(), id, changes.clone(), before.updated_at)
                .await?;
            if let Some(after) = stored {
                self.announce(
                    actor,
                    DomainEvent::CustomerUpdated {
                        before: Box::new(before),
                        after: Box::new(after.clone()),
                    },
                )
                .await;
                return Ok(after);
            }
        }
        Err(DomainError::Conflict(
            "the customer is being changed concurrently; retry".into(),
        ))
    }

    /// Deletes a customer with its notes and interactions.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], or [`DomainError::Forbidden`] for the `user` role.
    pub async fn delete(&self, actor: &Actor, id: CustomerId) -> Result<(), DomainError> {
        // Existence first, so that a user learns nothing about other companies' ids.
        self.get(actor, id).await?;
        if !Self::may_delete(actor) {
            return Err(DomainError::Forbidden(
                "only managers and admins may delete customers".into(),
            ));
        }
        if !self.repo.delete(actor.company(), id).await? {
            return Err(DomainError::NotFound { entity: CUSTOMER });
        }
        self.announce(actor, DomainEvent::CustomerDeleted { id })
            .await;
        Ok(())
    }

    /// One page of the actor's company's customers.
    ///
    /// # Errors
    /// [`DomainError::Validation`] for inconsistent filters, and the repository's errors.
    pub async fn list(
        &self,
        actor: &Actor,
        query: CustomerQuery,
        include_total: bool,
    ) -> Result<Page<Customer>, DomainError> {
        query.check()?;
        let total = if include_total {
            Some(self.repo.count(actor.company(), query.clone()).await?)
        } else {
            None
        };
        let sort = query.sort;
        let limit = query.limit;
        let rows = self.repo.list(actor.company(), query).await?;
        let mut page = Page::from_overfetch(rows, limit, |c| sort.cursor_after(c));
        page.total_count = total;
        Ok(page)
    }

    async fn announce(&self, actor: &Actor, event: DomainEvent) {
        self.events.publish(EventEnvelope::now(actor, event)).await;
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use mockall::predicate::eq;
    use serde_json::Map;

    use super::*;
    use crate::customer::port::MockCustomerRepository;
    use crate::customer::{CustomerStatus, CustomerType, NewCustomer};
    use crate::events::MockEventPublisher;
    use crate::ids::{CompanyId, UserId};
    use crate::pagination::PageLimit;

    fn actor(role: Role) -> Actor {
        Actor::new(UserId::new_random(), CompanyId::new_random(), role)
    }

    fn stored(company: CompanyId, new: NewCustomer) -> Customer {
        let now = Utc::now();
        Customer {
            id: CustomerId::new_random(),
            company_id: company,
            name: new.name,
            email: new.email,
            phone: new.phone,
            company_name: new.company_name,
            customer_type: new.customer_type,
            status: new.status,
            source: new.source,
            assigned_to: new.assigned_to,
            address: new.address,
            tags: new.tags,
            metadata: new.metadata,
            created_by: new.created_by,
            created_at: now,
            updated_at: now,
        }
    }

    fn customer_of(company: CompanyId, creator: UserId) -> Customer {
        stored(
            company,
            NewCustomer {
                name: "Acme".into(),
                email: None,
                phone: None,
                company_name: None,
                customer_type: CustomerType::Business,
                status: CustomerStatus::Lead,
                source: None,
                assigned_to: None,
                address: None,
                tags: vec![],
                metadata: Map::new(),
                created_by: creator,
            },
        )
    }

    fn quiet_events() -> Arc<MockEventPublisher> {
        let mut events = MockEventPublisher::new();
        events.expect_publish().never();
        Arc::new(events)
    }

    fn counting_events(times: usize, kind: &'static str) -> Arc<MockEventPublisher> {
        let mut events = MockEventPublisher::new();
        events
            .expect_publish()
            .withf(move |e| e.event.type_name() == kind)
            .times(times)
            .return_const(());
        Arc::new(events)
    }

    #[tokio::test]
    async fn create_stores_in_the_actors_company_and_announces() {
        let a = actor(Role::User);
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .with(eq(a.company()), mockall::predicate::always())
            .times(1)
            .returning(|company, new| Ok(stored(company, new)));
        let svc = CustomerService::new(Arc::new(repo), counting_events(1, "customer.created"));
        let cmd = CreateCustomer {
            name: "Ada".into(),
            ..Default::default()
        };
        let c = svc.create(&a, cmd).await.unwrap();
        assert_eq!(c.company_id, a.company());
        assert_eq!(c.created_by, a.user());
    }

    #[tokio::test]
    async fn create_with_bad_input_never_reaches_the_store() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let err = svc
            .create(&actor(Role::Admin), CreateCustomer::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Validation(_)));
    }

    #[tokio::test]
    async fn duplicate_email_conflict_passes_through_without_event() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .returning(|_, _| Err(DomainError::Conflict("email taken".into())));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let cmd = CreateCustomer {
            name: "Ada".into(),
            email: Some("ada@example.com".into()),
            ..Default::default()
        };
        let err = svc.create(&actor(Role::User), cmd).await.unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)));
    }

    #[tokio::test]
    async fn missing_customer_is_not_found() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(|_, _| Ok(None));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let err = svc
            .get(&actor(Role::Admin), CustomerId::new_random())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotFound { entity: "customer" }));
    }

    #[tokio::test]
    async fn user_may_not_change_someone_elses_customer() {
        let a = actor(Role::User);
        let theirs = customer_of(a.company(), UserId::new_random());
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(theirs.clone())));
        repo.expect_update().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let cmd = UpdateCustomer {
            name: Some("New".into()),
            ..Default::default()
        };
        let err = svc
            .update(&a, CustomerId::new_random(), cmd)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)));
    }

    #[tokio::test]
    async fn user_may_change_a_customer_assigned_to_them() {
        let a = actor(Role::User);
        let mut mine = customer_of(a.company(), UserId::new_random());
        mine.assigned_to = Some(a.user());
        let before = mine.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(before.clone())));
        repo.expect_update()
            .times(1)
            .returning(move |_, _, changes, _| {
                let mut after = mine.clone();
                after.name = changes.name.unwrap_or_default();
                Ok(Some(after))
            });
        let svc = CustomerService::new(Arc::new(repo), counting_events(1, "customer.updated"));
        let cmd = UpdateCustomer {
            name: Some("Renamed".into()),
            ..Default::default()
        };
        let after = svc.update(&a, CustomerId::new_random(), cmd).await.unwrap();
        assert_eq!(after.name, "Renamed");
    }

    #[tokio::test]
    async fn a_concurrent_reassignment_is_seen_before_writing() {
        let a = actor(Role::User);
        let mut mine = customer_of(a.company(), UserId::new_random());
        mine.assigned_to = Some(a.user());
        let mut reassigned = mine.clone();
        reassigned.assigned_to = Some(UserId::new_random());
        reassigned.updated_at = mine.updated_at + chrono::Duration::seconds(1);
        let mut seq = mockall::Sequence::new();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _| Ok(Some(mine.clone())));
        // The write finds the row changed since the check...
        repo.expect_update()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(None));
        // ...the fresh row is no longer the user's, so the rule refuses.
        repo.expect_find()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _| Ok(Some(reassigned.clone())));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let cmd = UpdateCustomer {
            name: Some("Mine now".into()),
            ..Default::default()
        };
        let err = svc
            .update(&a, CustomerId::new_random(), cmd)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_update_that_keeps_losing_the_race_is_a_conflict() {
        let a = actor(Role::Admin);
        let c = customer_of(a.company(), a.user());
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(c.clone())));
        repo.expect_update()
            .times(UPDATE_ATTEMPTS)
            .returning(|_, _, _, _| Ok(None));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let cmd = UpdateCustomer {
            name: Some("x".into()),
            ..Default::default()
        };
        let err = svc
            .update(&a, CustomerId::new_random(), cmd)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)));
    }

    #[tokio::test]
    async fn empty_update_changes_nothing() {
        let a = actor(Role::Manager);
        let c = customer_of(a.company(), UserId::new_random());
        let expected = c.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(c.clone())));
        repo.expect_update().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let got = svc
            .update(&a, CustomerId::new_random(), UpdateCustomer::default())
            .await
            .unwrap();
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn only_managers_and_admins_delete() {
        for (role, allowed) in [
            (Role::User, false),
            (Role::Manager, true),
            (Role::Admin, true),
        ] {
            let a = actor(role);
            // Even the creator may not delete as a plain user.
            let c = customer_of(a.company(), a.user());
            let mut repo = MockCustomerRepository::new();
            repo.expect_find()
                .returning(move |_, _| Ok(Some(c.clone())));
            repo.expect_delete()
                .times(usize::from(allowed))
                .returning(|_, _| Ok(true));
            let events = if allowed {
                counting_events(1, "customer.deleted")
            } else {
                quiet_events()
            };
            let svc = CustomerService::new(Arc::new(repo), events);
            let result = svc.delete(&a, CustomerId::new_random()).await;
            assert_eq!(result.is_ok(), allowed, "role {role}");
        }
    }

    #[tokio::test]
    async fn delete_of_unknown_customer_is_not_found_before_forbidden() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(|_, _| Ok(None));
        repo.expect_delete().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let err = svc
            .delete(&actor(Role::User), CustomerId::new_random())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotFound { .. }));
    }

    #[tokio::test]
    async fn list_builds_a_cursor_only_when_more_rows_exist() {
        let a = actor(Role::User);
        let company = a.company();
        let mut repo = MockCustomerRepository::new();
        repo.expect_list().returning(move |_, q| {
            let n = q.limit.get() as usize + 1;
            Ok((0..n)
                .map(|_| customer_of(company, UserId::new_random()))
                .collect())
        });
        repo.expect_count().returning(|_, _| Ok(42));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let query = CustomerQuery {
            limit: PageLimit::new(Some(3)).unwrap(),
            ..Default::default()
        };
        let page = svc.list(&a, query, true).await.unwrap();
        assert_eq!(page.items.len(), 3);
        assert_eq!(page.total_count, Some(42));
        let cursor =
            crate::pagination::Cursor::decode(page.next_cursor.as_deref().unwrap(), "-createdAt")
                .unwrap();
        assert_eq!(cursor.id, page.items[2].id.as_uuid());
    }
}
