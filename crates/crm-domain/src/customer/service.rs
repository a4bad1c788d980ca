//! The customer use cases, with the role rules of the API contract.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::commands::{CreateCustomer, UpdateCustomer};
use super::port::CustomerRepository;
use super::query::{CustomerQuery, Ranked, SearchQuery, TagCount, TagQuery};
use super::{require_customer, Customer, Tag};
use crate::actor::{Actor, Role};
use crate::clock;
use crate::error::DomainError;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::ids::CustomerId;
use crate::pagination::{Cursor, Page, SortKey};
use crate::retry::{optimistic, Attempt};

const CUSTOMER: &str = "customer";

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
        let now = clock::now();
        let customer = cmd
            .validate_for(actor.user())?
            .into_customer(actor.company(), now);
        let event = EventEnvelope::new(
            actor,
            now,
            DomainEvent::CustomerCreated(Box::new(customer.clone())),
        );
        self.repo
            .insert(actor.company(), &customer, std::slice::from_ref(&event))
            .await?;
        self.events.publish(event).await;
        Ok(customer)
    }

    /// The customer `id` of the actor's company.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] when it does not exist in the actor's company.
    pub async fn get(&self, actor: &Actor, id: CustomerId) -> Result<Customer, DomainError> {
        require_customer(self.repo.as_ref(), actor, id).await
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
        self.change(actor, id, |before, now| {
            Ok((changes.apply(before, now), Vec::new()))
        })
        .await
    }

    /// Adds tags the customer does not have yet (idempotent), recording `tags.added`.
    ///
    /// # Errors
    /// [`DomainError::Validation`] for a bad tag or more than [`Tag::MAX_PER_CUSTOMER`] in all;
    /// otherwise as [`CustomerService::update`].
    pub async fn add_tags(
        &self,
        actor: &Actor,
        id: CustomerId,
        tags: &[String],
    ) -> Result<Customer, DomainError> {
        let tags = Tag::parse_list("tags", tags)?;
        self.change(actor, id, |before, now| {
            let added: Vec<Tag> = tags
                .iter()
                .filter(|t| !before.tags.contains(t))
                .cloned()
                .collect();
            if before.tags.len() + added.len() > Tag::MAX_PER_CUSTOMER {
                return Err(DomainError::invalid(
                    "tags",
                    format!("a customer carries at most {} tags", Tag::MAX_PER_CUSTOMER),
                ));
            }
            let mut after = before.clone();
            after.tags.extend(added.iter().cloned());
            Ok(Self::stamped(
                before,
                after,
                now,
                DomainEvent::TagsAdded {
                    customer_id: before.id,
                    tags: added,
                },
            ))
        })
        .await
    }

    /// Removes tags the customer has (idempotent), recording `tags.removed`.
    ///
    /// # Errors
    /// [`DomainError::Validation`] for a bad tag; otherwise as [`CustomerService::update`].
    pub async fn remove_tags(
        &self,
        actor: &Actor,
        id: CustomerId,
        tags: &[String],
    ) -> Result<Customer, DomainError> {
        let tags = Tag::parse_list("tags", tags)?;
        self.change(actor, id, |before, now| {
            let removed: Vec<Tag> = before
                .tags
                .iter()
                .filter(|t| tags.contains(t))
                .cloned()
                .collect();
            let mut after = before.clone();
            after.tags.retain(|t| !tags.contains(t));
            Ok(Self::stamped(
                before,
                after,
                now,
                DomainEvent::TagsRemoved {
                    customer_id: before.id,
                    tags: removed,
                },
            ))
        })
        .await
    }

    /// `after` stamped `now` with `event`, or unchanged with no event when nothing changed.
    fn stamped(
        before: &Customer,
        mut after: Customer,
        now: DateTime<Utc>,
        event: DomainEvent,
    ) -> (Customer, Vec<DomainEvent>) {
        if after == *before {
            return (after, Vec::new());
        }
        after.updated_at = now;
        (after, vec![event])
    }

    /// Read, check the role rule, compute the new state and its events, and store it if the
    /// row is unchanged since the read. When `apply` names no event, the change records
    /// `customer.updated` with the changed fields.
    pub(crate) async fn change<F>(
        &self,
        actor: &Actor,
        id: CustomerId,
        apply: F,
    ) -> Result<Customer, DomainError>
    where
        F: Fn(&Customer, DateTime<Utc>) -> Result<(Customer, Vec<DomainEvent>), DomainError>,
    {
        optimistic(|| async {
            let before = self.get(actor, id).await?;
            if !Self::may_change(actor, &before) {
                return Err(DomainError::Forbidden(
                    "users may only change customers assigned to them or created by them".into(),
                ));
            }
            let (after, mut events) = apply(&before, clock::after(before.updated_at))?;
            if after == before {
                return Ok(Attempt::Done(before));
            }
            if events.is_empty() {
                events.push(DomainEvent::CustomerUpdated {
                    before: Box::new(before.clone()),
                    after: Box::new(after.clone()),
                });
            }
            let at = after.updated_at;
            let events: Vec<EventEnvelope> = events
                .into_iter()
                .map(|e| EventEnvelope::new(actor, at, e))
                .collect();
            if !self
                .repo
                .update(actor.company(), &after, before.updated_at, &events)
                .await?
            {
                return Ok(Attempt::Retry);
            }
            for event in events {
                self.events.publish(event).await;
            }
            Ok(Attempt::Done(after))
        })
        .await
    }

    /// Deletes a customer with its notes, interactions and history.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], or [`DomainError::Forbidden`] for the `user` role.
    pub async fn delete(&self, actor: &Actor, id: CustomerId) -> Result<(), DomainError> {
        // Existence first, so that a user learns nothing about other companies' ids.
        let customer = self.get(actor, id).await?;
        if !Self::may_delete(actor) {
            return Err(DomainError::Forbidden(
                "only managers and admins may delete customers".into(),
            ));
        }
        let event = EventEnvelope::new(
            actor,
            clock::now(),
            DomainEvent::CustomerDeleted(Box::new(customer.clone())),
        );
        if !self
            .repo
            .delete(actor.company(), &customer, std::slice::from_ref(&event))
            .await?
        {
            return Err(DomainError::NotFound { entity: CUSTOMER });
        }
        self.events.publish(event).await;
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
        query.filter.check()?;
        let total = if include_total {
            Some(
                self.repo
                    .count(actor.company(), query.filter.clone())
                    .await?,
            )
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

    /// Customers matching `query`'s text, best first.
    ///
    /// # Errors
    /// [`DomainError::Validation`] for inconsistent filters, and the repository's errors.
    pub async fn search(
        &self,
        actor: &Actor,
        query: SearchQuery,
    ) -> Result<Page<Ranked>, DomainError> {
        query.filter.check()?;
        let limit = query.limit;
        let rows = self.repo.search(actor.company(), query).await?;
        Ok(Page::from_overfetch(rows, limit, |r| Cursor {
            sort: SearchQuery::SORT.to_owned(),
            key: SortKey::Rank(r.rank),
            id: r.customer.id.as_uuid(),
        }))
    }

    /// The company's tags with their customer counts, most used first.
    ///
    /// # Errors
    /// The repository's errors.
    pub async fn tags(
        &self,
        actor: &Actor,
        query: TagQuery,
    ) -> Result<Page<TagCount>, DomainError> {
        let limit = query.limit;
        let rows = self.repo.tag_counts(actor.company(), query).await?;
        Ok(Page::from_overfetch(rows, limit, |t| Cursor {
            sort: TagQuery::SORT.to_owned(),
            key: SortKey::Counted(t.count, t.tag.as_str().to_owned()),
            id: uuid::Uuid::nil(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::customer::port::MockCustomerRepository;
    use crate::events::MockEventPublisher;
    use crate::ids::{CompanyId, UserId};
    use crate::pagination::PageLimit;
    use crate::retry::ATTEMPTS;

    fn actor(role: Role) -> Actor {
        Actor::new(UserId::new_random(), CompanyId::new_random(), role)
    }

    fn customer_of(company: CompanyId, creator: UserId) -> Customer {
        CreateCustomer {
            name: "Acme".into(),
            ..Default::default()
        }
        .validate_for(creator)
        .unwrap()
        .into_customer(company, clock::now())
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

    fn rename(to: &str) -> UpdateCustomer {
        UpdateCustomer {
            name: Some(to.into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn create_stores_the_customer_and_its_event_together() {
        let a = actor(Role::User);
        let mut repo = MockCustomerRepository::new();
        let expected = a.clone();
        repo.expect_insert()
            .withf(move |company, customer, events| {
                *company == expected.company()
                    && customer.company_id == expected.company()
                    && customer.created_by == expected.user()
                    && events.len() == 1
                    && events[0].event.type_name() == "customer.created"
                    && events[0].customer_id == customer.id
                    && events[0].actor == expected.user()
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let svc = CustomerService::new(Arc::new(repo), counting_events(1, "customer.created"));
        let cmd = CreateCustomer {
            name: "Ada".into(),
            ..Default::default()
        };
        let c = svc.create(&a, cmd).await.unwrap();
        assert_eq!(c.company_id, a.company());
        assert_eq!(c.created_at, c.updated_at);
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
            .returning(|_, _, _| Err(DomainError::Conflict("email taken".into())));
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
        let err = svc
            .update(&a, CustomerId::new_random(), rename("New"))
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
        let seen = mine.updated_at;
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(before.clone())));
        repo.expect_update()
            .withf(move |_, after, since, events| {
                after.name == "Renamed"
                    && after.updated_at > seen
                    && *since == seen
                    && events.len() == 1
                    && events[0].event.data()["changes"]["name"]["after"] == "Renamed"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let svc = CustomerService::new(Arc::new(repo), counting_events(1, "customer.updated"));
        let after = svc.update(&a, mine.id, rename("Renamed")).await.unwrap();
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
            .returning(|_, _, _, _| Ok(false));
        // ...the fresh row is no longer the user's, so the rule refuses.
        repo.expect_find()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _| Ok(Some(reassigned.clone())));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let err = svc
            .update(&a, CustomerId::new_random(), rename("Mine now"))
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
            .times(ATTEMPTS)
            .returning(|_, _, _, _| Ok(false));
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let err = svc
            .update(&a, CustomerId::new_random(), rename("x"))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)));
    }

    #[tokio::test]
    async fn an_update_that_changes_nothing_writes_nothing() {
        let a = actor(Role::Manager);
        let c = customer_of(a.company(), UserId::new_random());
        let expected = c.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(c.clone())));
        repo.expect_update().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        for cmd in [UpdateCustomer::default(), rename("Acme")] {
            let got = svc.update(&a, expected.id, cmd).await.unwrap();
            assert_eq!(got, expected);
        }
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
                .returning(|_, _, _| Ok(true));
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
        repo.expect_list()
            .with(eq(company), mockall::predicate::always())
            .returning(move |_, q| {
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

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|t| (*t).to_owned()).collect()
    }

    #[tokio::test]
    async fn adding_tags_records_only_the_new_ones_and_is_idempotent() {
        let a = actor(Role::Manager);
        let mut c = customer_of(a.company(), a.user());
        c.tags = vec![Tag::parse("vip").unwrap()];
        let stored = c.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(stored.clone())));
        repo.expect_update()
            .withf(|_, after, _, events| {
                after.tags.iter().map(Tag::as_str).collect::<Vec<_>>() == ["vip", "eu"]
                    && events.len() == 1
                    && events[0].event.type_name() == "tags.added"
                    && events[0].event.data() == serde_json::json!({"tags": ["eu"]})
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let svc = CustomerService::new(Arc::new(repo), counting_events(1, "tags.added"));
        let after = svc
            .add_tags(&a, c.id, &tags(&["VIP", " eu "]))
            .await
            .unwrap();
        assert_eq!(after.tags.len(), 2);

        // Adding what is there already writes nothing.
        let mut repo = MockCustomerRepository::new();
        let same = c.clone();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(same.clone())));
        repo.expect_update().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        assert_eq!(svc.add_tags(&a, c.id, &tags(&["vip"])).await.unwrap(), c);
    }

    #[tokio::test]
    async fn tags_are_bounded_and_checked() {
        let a = actor(Role::Admin);
        let mut c = customer_of(a.company(), a.user());
        c.tags = (0..Tag::MAX_PER_CUSTOMER)
            .map(|i| Tag::parse(&format!("t{i}")).unwrap())
            .collect();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(c.clone())));
        repo.expect_update().never();
        let svc = CustomerService::new(Arc::new(repo), quiet_events());
        let id = CustomerId::new_random();
        assert!(matches!(
            svc.add_tags(&a, id, &tags(&["one-too-many"])).await,
            Err(DomainError::Validation(_))
        ));
        assert!(matches!(
            svc.add_tags(&a, id, &tags(&[""])).await,
            Err(DomainError::Validation(_))
        ));
    }

    #[tokio::test]
    async fn removing_tags_records_tags_removed_and_obeys_the_role_rule() {
        let owner = actor(Role::User);
        let mut c = customer_of(owner.company(), owner.user());
        c.tags = vec![Tag::parse("vip").unwrap(), Tag::parse("eu").unwrap()];
        let stored = c.clone();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find()
            .returning(move |_, _| Ok(Some(stored.clone())));
        repo.expect_update()
            .withf(|_, after, _, events| {
                after.tags.iter().map(Tag::as_str).collect::<Vec<_>>() == ["eu"]
                    && events[0].event.type_name() == "tags.removed"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let svc = CustomerService::new(Arc::new(repo), counting_events(1, "tags.removed"));
        svc.remove_tags(&owner, c.id, &tags(&["VIP", "absent"]))
            .await
            .unwrap();
        let stranger = Actor::new(UserId::new_random(), owner.company(), Role::User);
        assert!(matches!(
            svc.remove_tags(&stranger, c.id, &tags(&["eu"])).await,
            Err(DomainError::Forbidden(_))
        ));
    }
}
