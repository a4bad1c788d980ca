//! The interaction use cases.

use std::sync::Arc;

use super::port::InteractionRepository;
use super::{
    CompleteInteraction, CreateInteraction, Interaction, InteractionQuery, InteractionStatus,
    UpdateInteraction,
};
use crate::actor::{Actor, Role};
use crate::clock;
use crate::customer::{require_customer, CustomerRepository};
use crate::error::DomainError;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::ids::{CustomerId, InteractionId};
use crate::pagination::Page;
use crate::retry::{optimistic, Attempt};

const INTERACTION: &str = "interaction";

/// Records, reads, changes, completes, deletes and lists a customer's interactions.
///
/// Rules: everyone in the company reads them and records new ones; a `user` changes,
/// completes and deletes their own; `manager` and `admin` any.
#[derive(Clone)]
pub struct InteractionService {
    customers: Arc<dyn CustomerRepository>,
    interactions: Arc<dyn InteractionRepository>,
    events: Arc<dyn EventPublisher>,
}

impl InteractionService {
    /// A service over the given ports.
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        interactions: Arc<dyn InteractionRepository>,
        events: Arc<dyn EventPublisher>,
    ) -> Self {
        Self {
            customers,
            interactions,
            events,
        }
    }

    /// Whether `actor` may change, complete or delete `interaction`.
    pub fn may_change(actor: &Actor, interaction: &Interaction) -> bool {
        interaction.created_by == actor.user() || actor.role().is_at_least(Role::Manager)
    }

    /// Records an interaction with a customer of the actor's company.
    ///
    /// # Errors
    /// [`DomainError::Validation`]; [`DomainError::NotFound`] (`customer`).
    pub async fn create(
        &self,
        actor: &Actor,
        customer: CustomerId,
        cmd: CreateInteraction,
    ) -> Result<Interaction, DomainError> {
        let now = clock::now();
        let interaction = cmd.validate_into(actor.company(), customer, actor.user(), now)?;
        require_customer(self.customers.as_ref(), actor, customer).await?;
        let mut events = vec![EventEnvelope::new(
            actor,
            now,
            DomainEvent::InteractionCreated(Box::new(interaction.clone())),
        )];
        if interaction.status == InteractionStatus::Completed {
            events.push(EventEnvelope::new(
                actor,
                now,
                DomainEvent::InteractionCompleted(Box::new(interaction.clone())),
            ));
        }
        self.interactions
            .insert(actor.company(), &interaction, &events)
            .await?;
        for event in events {
            self.events.publish(event).await;
        }
        Ok(interaction)
    }

    /// One interaction.
    ///
    /// # Errors
    /// [`DomainError::NotFound`].
    pub async fn get(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: InteractionId,
    ) -> Result<Interaction, DomainError> {
        self.interactions
            .find(actor.company(), customer, id)
            .await?
            .ok_or(DomainError::NotFound {
                entity: INTERACTION,
            })
    }

    /// The customer's interactions matching `query`, newest first.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] (`customer`).
    pub async fn list(
        &self,
        actor: &Actor,
        customer: CustomerId,
        query: InteractionQuery,
    ) -> Result<Page<Interaction>, DomainError> {
        require_customer(self.customers.as_ref(), actor, customer).await?;
        let window = query.window.clone();
        let rows = self
            .interactions
            .list(actor.company(), customer, query)
            .await?;
        Ok(window.page(rows, |i| (i.created_at, i.id.as_uuid())))
    }

    /// Changes the fields present in `cmd`.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`], [`DomainError::Validation`],
    /// [`DomainError::Conflict`] when it keeps changing under us.
    pub async fn update(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: InteractionId,
        cmd: UpdateInteraction,
    ) -> Result<Interaction, DomainError> {
        cmd.check()?;
        self.change(
            actor,
            customer,
            id,
            |before, now| Ok(cmd.apply(before, now)),
        )
        .await
    }

    /// Marks the interaction completed; completing it again only records a new outcome or
    /// duration, if given.
    ///
    /// # Errors
    /// As [`InteractionService::update`]; [`DomainError::Conflict`] when it was cancelled.
    pub async fn complete(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: InteractionId,
        cmd: CompleteInteraction,
    ) -> Result<Interaction, DomainError> {
        cmd.check()?;
        self.change(actor, customer, id, |before, now| cmd.apply(before, now))
            .await
    }

    /// Read, check the role rule, compute `after`, and store it if the row is unchanged; the
    /// event is `interaction.completed` when this change completed it.
    async fn change(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: InteractionId,
        apply: impl Fn(&Interaction, chrono::DateTime<chrono::Utc>) -> Result<Interaction, DomainError>,
    ) -> Result<Interaction, DomainError> {
        optimistic(|| async {
            let before = self.get(actor, customer, id).await?;
            if !Self::may_change(actor, &before) {
                return Err(DomainError::Forbidden(
                    "users may only change their own interactions".into(),
                ));
            }
            let after = apply(&before, clock::after(before.updated_at))?;
            if after == before {
                return Ok(Attempt::Done(before));
            }
            let completed_now = after.status == InteractionStatus::Completed
                && before.status != InteractionStatus::Completed;
            let event = if completed_now {
                DomainEvent::InteractionCompleted(Box::new(after.clone()))
            } else {
                DomainEvent::InteractionUpdated {
                    before: Box::new(before.clone()),
                    after: Box::new(after.clone()),
                }
            };
            let event = EventEnvelope::new(actor, after.updated_at, event);
            let stored = self
                .interactions
                .update(
                    actor.company(),
                    &after,
                    before.updated_at,
                    std::slice::from_ref(&event),
                )
                .await?;
            if !stored {
                return Ok(Attempt::Retry);
            }
            self.events.publish(event).await;
            Ok(Attempt::Done(after))
        })
        .await
    }

    /// Deletes an interaction.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`].
    pub async fn delete(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: InteractionId,
    ) -> Result<(), DomainError> {
        let interaction = self.get(actor, customer, id).await?;
        if !Self::may_change(actor, &interaction) {
            return Err(DomainError::Forbidden(
                "users may only delete their own interactions".into(),
            ));
        }
        let event = EventEnvelope::new(
            actor,
            clock::now(),
            DomainEvent::InteractionDeleted(Box::new(interaction.clone())),
        );
        if !self
            .interactions
            .delete(actor.company(), &interaction, std::slice::from_ref(&event))
            .await?
        {
            return Err(DomainError::NotFound {
                entity: INTERACTION,
            });
        }
        self.events.publish(event).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{CreateCustomer, MockCustomerRepository};
    use crate::events::MockEventPublisher;
    use crate::ids::{CompanyId, UserId};
    use crate::interaction::{InteractionType, MockInteractionRepository};

    fn customers(company: CompanyId) -> Arc<MockCustomerRepository> {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(move |_, _| {
            Ok(Some(
                CreateCustomer {
                    name: "C".into(),
                    ..Default::default()
                }
                .validate_for(UserId::new_random())?
                .into_customer(company, clock::now()),
            ))
        });
        Arc::new(repo)
    }

    fn events() -> Arc<MockEventPublisher> {
        let mut events = MockEventPublisher::new();
        events.expect_publish().return_const(());
        Arc::new(events)
    }

    fn scheduled(author: &Actor) -> Interaction {
        CreateInteraction {
            interaction_type: InteractionType::Meeting,
            direction: None,
            subject: "Demo".into(),
            description: None,
            scheduled_at: None,
            duration_minutes: None,
            outcome: None,
            status: None,
        }
        .validate_into(
            author.company(),
            CustomerId::new_random(),
            author.user(),
            clock::now(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn users_change_their_own_managers_any() {
        let company = CompanyId::new_random();
        let author = Actor::new(UserId::new_random(), company, Role::User);
        let other = Actor::new(UserId::new_random(), company, Role::User);
        let manager = Actor::new(UserId::new_random(), company, Role::Manager);
        let i = scheduled(&author);
        for (who, allowed) in [(&author, true), (&other, false), (&manager, true)] {
            let stored = i.clone();
            let mut repo = MockInteractionRepository::new();
            repo.expect_find()
                .returning(move |_, _, _| Ok(Some(stored.clone())));
            repo.expect_update()
                .times(usize::from(allowed))
                .returning(|_, _, _, _| Ok(true));
            repo.expect_delete()
                .times(usize::from(allowed))
                .returning(|_, _, _| Ok(true));
            let svc = InteractionService::new(customers(company), Arc::new(repo), events());
            let done = svc
                .complete(who, i.customer_id, i.id, CompleteInteraction::default())
                .await;
            assert_eq!(done.is_ok(), allowed);
            assert_eq!(svc.delete(who, i.customer_id, i.id).await.is_ok(), allowed);
        }
    }

    #[tokio::test]
    async fn completion_records_interaction_completed_once() {
        let company = CompanyId::new_random();
        let author = Actor::new(UserId::new_random(), company, Role::User);
        let i = scheduled(&author);
        let stored = i.clone();
        let mut repo = MockInteractionRepository::new();
        repo.expect_find()
            .times(1)
            .returning(move |_, _, _| Ok(Some(stored.clone())));
        repo.expect_update()
            .withf(|_, after, _, events| {
                after.status == InteractionStatus::Completed
                    && after.completed_at.is_some()
                    && events.len() == 1
                    && events[0].event.type_name() == "interaction.completed"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let svc = InteractionService::new(customers(company), Arc::new(repo), events());
        let cmd = CompleteInteraction {
            outcome: Some("Signed".into()),
            duration_minutes: Some(30),
        };
        let done = svc
            .complete(&author, i.customer_id, i.id, cmd)
            .await
            .unwrap();
        assert_eq!(done.outcome.as_deref(), Some("Signed"));

        // Completing what is already completed, with nothing new, writes nothing.
        let mut repo = MockInteractionRepository::new();
        let again = done.clone();
        repo.expect_find()
            .returning(move |_, _, _| Ok(Some(again.clone())));
        repo.expect_update().never();
        let svc = InteractionService::new(customers(company), Arc::new(repo), events());
        let twice = svc
            .complete(&author, i.customer_id, i.id, CompleteInteraction::default())
            .await
            .unwrap();
        assert_eq!(twice, done);
    }

    #[tokio::test]
    async fn an_interaction_recorded_as_completed_has_both_events() {
        let company = CompanyId::new_random();
        let author = Actor::new(UserId::new_random(), company, Role::User);
        let mut repo = MockInteractionRepository::new();
        repo.expect_insert()
            .withf(|_, _, events| {
                events
                    .iter()
                    .map(|e| e.event.type_name())
                    .collect::<Vec<_>>()
                    == ["interaction.created", "interaction.completed"]
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let svc = InteractionService::new(customers(company), Arc::new(repo), events());
        let cmd = CreateInteraction {
            interaction_type: InteractionType::Call,
            direction: None,
            subject: "Inbound call".into(),
            description: None,
            scheduled_at: None,
            duration_minutes: Some(5),
            outcome: None,
            status: Some(InteractionStatus::Completed),
        };
        svc.create(&author, CustomerId::new_random(), cmd)
            .await
            .unwrap();
    }
}
