//! The note repository on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::{
    CompanyId, CustomerId, DomainError, EventEnvelope, Note, NoteId, NoteRepository, UserId, Window,
};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;

use crate::activities::{self, older_than, write_with_events};
use crate::database::{same_company, Database};
use crate::models::NoteRow;
use crate::schema::customer_notes as notes;

/// [`NoteRepository`] over `crm.customer_notes`.
#[derive(Clone)]
pub struct PgNoteRepository {
    db: Database,
}

impl PgNoteRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl NoteRepository for PgNoteRepository {
    async fn insert(
        &self,
        company: CompanyId,
        note: &Note,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError> {
        let row = NoteRow::from(note);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::insert_into(notes::table)
                    .values(&row)
                    .execute(conn)
                    .await
            }
            .scope_boxed()
        })
        .await
        .map(|_| ())
    }

    async fn find(
        &self,
        company: CompanyId,
        customer: CustomerId,
        id: NoteId,
    ) -> Result<Option<Note>, DomainError> {
        let row = self
            .db
            .tenant_tx(company, |conn| {
                async move {
                    notes::table
                        .filter(notes::company_id.eq(company.as_uuid()))
                        .filter(notes::customer_id.eq(customer.as_uuid()))
                        .filter(notes::id.eq(id.as_uuid()))
                        .select(NoteRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                }
                .scope_boxed()
            })
            .await?;
        row.map(Note::try_from).transpose()
    }

    /// Also makes the note's recorded history follow its privacy.
    async fn update(
        &self,
        company: CompanyId,
        after: &Note,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let row = NoteRow::from(after);
        same_company(company, row.company_id)?;
        let only_to = after.is_private.then_some(row.created_by);
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                let changed = diesel::update(
                    notes::table
                        .filter(notes::company_id.eq(row.company_id))
                        .filter(notes::customer_id.eq(row.customer_id))
                        .filter(notes::id.eq(row.id))
                        .filter(notes::updated_at.eq(unmodified_since)),
                )
                .set(&row)
                .execute(conn)
                .await?;
                if changed == 1 {
                    activities::follow_note_privacy(conn, row.company_id, row.id, only_to).await?;
                }
                Ok(changed)
            }
            .scope_boxed()
        })
        .await
    }

    async fn delete(
        &self,
        company: CompanyId,
        note: &Note,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let (customer, id) = (note.customer_id.as_uuid(), note.id.as_uuid());
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::delete(
                    notes::table
                        .filter(notes::company_id.eq(company.as_uuid()))
                        .filter(notes::customer_id.eq(customer))
                        .filter(notes::id.eq(id)),
                )
                .execute(conn)
                .await
            }
            .scope_boxed()
        })
        .await
    }

    async fn list(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        window: Window,
    ) -> Result<Vec<Note>, DomainError> {
        let q = notes::table
            .filter(notes::company_id.eq(company.as_uuid()))
            .filter(notes::customer_id.eq(customer.as_uuid()))
            .filter(
                notes::is_private
                    .eq(false)
                    .or(notes::created_by.eq(viewer.as_uuid())),
            )
            .into_boxed();
        let q = older_than!(q, "created_at", window.after)
            .order((notes::created_at.desc(), notes::id.desc()))
            .limit(i64::from(window.limit.get()) + 1)
            .select(NoteRow::as_select());
        let rows = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        rows.into_iter().map(Note::try_from).collect()
    }
}
