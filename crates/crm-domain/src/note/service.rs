//! The note use cases.

use std::sync::Arc;

use super::port::NoteRepository;
use super::{CreateNote, Note, UpdateNote};
use crate::actor::{Actor, Role};
use crate::clock;
use crate::customer::{require_customer, CustomerRepository};
use crate::error::DomainError;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::ids::{CustomerId, NoteId};
use crate::pagination::{Page, Window};
use crate::retry::{optimistic, Attempt};

const NOTE: &str = "note";

/// Adds, reads, changes, deletes and lists a customer's notes for an [`Actor`].
///
/// Rules: a private note exists for its author only (anyone else gets `NotFound`, whatever the
/// role). A `user` changes and deletes their own notes; `manager` and `admin` also any public
/// note. Only the author changes a note's privacy.
#[derive(Clone)]
pub struct NoteService {
    customers: Arc<dyn CustomerRepository>,
    notes: Arc<dyn NoteRepository>,
    events: Arc<dyn EventPublisher>,
}

impl NoteService {
    /// A service over the given ports.
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        notes: Arc<dyn NoteRepository>,
        events: Arc<dyn EventPublisher>,
    ) -> Self {
        Self {
            customers,
            notes,
            events,
        }
    }

    /// Whether `actor` may change or delete `note` (which they can see).
    pub fn may_change(actor: &Actor, note: &Note) -> bool {
        note.created_by == actor.user()
            || (!note.is_private && actor.role().is_at_least(Role::Manager))
    }

    /// Adds a note to a customer of the actor's company.
    ///
    /// # Errors
    /// [`DomainError::Validation`]; [`DomainError::NotFound`] (`customer`).
    pub async fn create(
        &self,
        actor: &Actor,
        customer: CustomerId,
        cmd: CreateNote,
    ) -> Result<Note, DomainError> {
        let now = clock::now();
        let note = cmd.validate_into(actor.company(), customer, actor.user(), now)?;
        require_customer(self.customers.as_ref(), actor, customer).await?;
        let event =
            EventEnvelope::new(actor, now, DomainEvent::NoteCreated(Box::new(note.clone())));
        self.notes
            .insert(actor.company(), &note, std::slice::from_ref(&event))
            .await?;
        self.events.publish(event).await;
        Ok(note)
    }

    /// One note the actor may see.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] when it does not exist for this customer, or is another
    /// user's private note.
    pub async fn get(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: NoteId,
    ) -> Result<Note, DomainError> {
        self.notes
            .find(actor.company(), customer, id)
            .await?
            .filter(|n| n.visible_to(actor.user()))
            .ok_or(DomainError::NotFound { entity: NOTE })
    }

    /// The customer's notes the actor may see, newest first.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] (`customer`).
    pub async fn list(
        &self,
        actor: &Actor,
        customer: CustomerId,
        window: Window,
    ) -> Result<Page<Note>, DomainError> {
        require_customer(self.customers.as_ref(), actor, customer).await?;
        let rows = self
            .notes
            .list(actor.company(), customer, actor.user(), window.clone())
            .await?;
        Ok(window.page(rows, |n| (n.created_at, n.id.as_uuid())))
    }

    /// Changes the fields present in `cmd`.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`], [`DomainError::Validation`],
    /// [`DomainError::Conflict`] when the note keeps changing under us.
    pub async fn update(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: NoteId,
        cmd: UpdateNote,
    ) -> Result<Note, DomainError> {
        cmd.check()?;
        optimistic(|| async {
            let before = self.get(actor, customer, id).await?;
            if !Self::may_change(actor, &before) {
                return Err(DomainError::Forbidden(
                    "users may only change their own notes".into(),
                ));
            }
            if cmd.is_private.is_some_and(|p| p != before.is_private)
                && before.created_by != actor.user()
            {
                return Err(DomainError::Forbidden(
                    "only the author may change a note's privacy".into(),
                ));
            }
            let after = cmd.apply(&before, clock::after(before.updated_at));
            if after == before {
                return Ok(Attempt::Done(before));
            }
            let event = EventEnvelope::new(
                actor,
                after.updated_at,
                DomainEvent::NoteUpdated {
                    before: Box::new(before.clone()),
                    after: Box::new(after.clone()),
                },
            );
            let stored = self
                .notes
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

    /// Deletes a note.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`].
    pub async fn delete(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: NoteId,
    ) -> Result<(), DomainError> {
        let note = self.get(actor, customer, id).await?;
        if !Self::may_change(actor, &note) {
            return Err(DomainError::Forbidden(
                "users may only delete their own notes".into(),
            ));
        }
        let event = EventEnvelope::new(
            actor,
            clock::now(),
            DomainEvent::NoteDeleted(Box::new(note.clone())),
        );
        if !self
            .notes
            .delete(actor.company(), &note, std::slice::from_ref(&event))
            .await?
        {
            return Err(DomainError::NotFound { entity: NOTE });
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
    use crate::note::{MockNoteRepository, NoteType};

    struct World {
        company: CompanyId,
        author: Actor,
        colleague: Actor,
        manager: Actor,
        admin: Actor,
    }

    fn world() -> World {
        let company = CompanyId::new_random();
        let at = |role| Actor::new(UserId::new_random(), company, role);
        World {
            company,
            author: at(Role::User),
            colleague: at(Role::User),
            manager: at(Role::Manager),
            admin: at(Role::Admin),
        }
    }

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

    fn note(w: &World, private: bool) -> Note {
        CreateNote {
            content: "text".into(),
            note_type: Some(NoteType::Call),
            is_private: Some(private),
        }
        .validate_into(
            w.company,
            CustomerId::new_random(),
            w.author.user(),
            clock::now(),
        )
        .unwrap()
    }

    fn service(w: &World, stored: Note, updates: usize, deletes: usize) -> NoteService {
        let mut notes = MockNoteRepository::new();
        notes
            .expect_find()
            .returning(move |_, _, _| Ok(Some(stored.clone())));
        notes
            .expect_update()
            .times(updates)
            .returning(|_, _, _, _| Ok(true));
        notes
            .expect_delete()
            .times(deletes)
            .returning(|_, _, _| Ok(true));
        NoteService::new(customers(w.company), Arc::new(notes), events())
    }

    fn edit() -> UpdateNote {
        UpdateNote {
            content: Some("edited".into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_private_note_does_not_exist_for_anyone_but_its_author() {
        let w = world();
        let n = note(&w, true);
        let svc = service(&w, n.clone(), 0, 0);
        for other in [&w.colleague, &w.manager, &w.admin] {
            let err = svc.get(other, n.customer_id, n.id).await.unwrap_err();
            assert!(matches!(err, DomainError::NotFound { entity: "note" }));
            let err = svc
                .update(other, n.customer_id, n.id, edit())
                .await
                .unwrap_err();
            assert!(matches!(err, DomainError::NotFound { .. }));
            let err = svc.delete(other, n.customer_id, n.id).await.unwrap_err();
            assert!(matches!(err, DomainError::NotFound { .. }));
        }
        assert_eq!(svc.get(&w.author, n.customer_id, n.id).await.unwrap(), n);
    }

    #[tokio::test]
    async fn the_author_changes_and_deletes_their_private_note() {
        let w = world();
        let n = note(&w, true);
        let svc = service(&w, n.clone(), 1, 1);
        let after = svc
            .update(&w.author, n.customer_id, n.id, edit())
            .await
            .unwrap();
        assert_eq!(after.content, "edited");
        svc.delete(&w.author, n.customer_id, n.id).await.unwrap();
    }

    #[tokio::test]
    async fn a_public_note_is_changed_by_its_author_and_managers_only() {
        let w = world();
        let n = note(&w, false);
        let svc = service(&w, n.clone(), 0, 0);
        assert_eq!(svc.get(&w.colleague, n.customer_id, n.id).await.unwrap(), n);
        let err = svc
            .update(&w.colleague, n.customer_id, n.id, edit())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)));
        let err = svc
            .delete(&w.colleague, n.customer_id, n.id)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)));
        for boss in [&w.manager, &w.admin] {
            let svc = service(&w, n.clone(), 1, 1);
            svc.update(boss, n.customer_id, n.id, edit()).await.unwrap();
            svc.delete(boss, n.customer_id, n.id).await.unwrap();
        }
    }

    #[tokio::test]
    async fn only_the_author_changes_privacy() {
        let w = world();
        let n = note(&w, false);
        let hide = UpdateNote {
            is_private: Some(true),
            ..Default::default()
        };
        let svc = service(&w, n.clone(), 0, 0);
        let err = svc
            .update(&w.admin, n.customer_id, n.id, hide.clone())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)));
        let svc = service(&w, n.clone(), 1, 0);
        assert!(
            svc.update(&w.author, n.customer_id, n.id, hide)
                .await
                .unwrap()
                .is_private
        );
    }

    #[tokio::test]
    async fn a_note_on_a_missing_customer_is_not_created() {
        let w = world();
        let mut customers = MockCustomerRepository::new();
        customers.expect_find().returning(|_, _| Ok(None));
        let mut notes = MockNoteRepository::new();
        notes.expect_insert().never();
        let svc = NoteService::new(Arc::new(customers), Arc::new(notes), events());
        let cmd = CreateNote {
            content: "hello".into(),
            ..Default::default()
        };
        let err = svc
            .create(&w.author, CustomerId::new_random(), cmd)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotFound { entity: "customer" }));
    }

    #[tokio::test]
    async fn creating_records_the_note_and_its_event_together() {
        let w = world();
        let mut notes = MockNoteRepository::new();
        let author = w.author.user();
        notes
            .expect_insert()
            .withf(move |_, note, events| {
                events.len() == 1
                    && events[0].event.type_name() == "note.created"
                    && events[0].event.visible_only_to() == Some(author)
                    && note.is_private
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let svc = NoteService::new(customers(w.company), Arc::new(notes), events());
        let cmd = CreateNote {
            content: "mine".into(),
            note_type: None,
            is_private: Some(true),
        };
        svc.create(&w.author, CustomerId::new_random(), cmd)
            .await
            .unwrap();
    }
}
