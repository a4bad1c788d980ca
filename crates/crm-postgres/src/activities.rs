//! Recording domain events in the transaction of the change they describe, and reading them
//! back as a customer's history.

use async_trait::async_trait;
use crm_domain::{
    CompanyId, CustomerId, DomainError, EventEnvelope, HistoryEntry, HistoryRepository, UserId,
    Window,
};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::database::{Database, TxWork};
use crate::models::ActivityRow;
use crate::schema::activities;

/// Stores the events the history keeps. Runs inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    events: &[EventEnvelope],
) -> Result<(), diesel::result::Error> {
    let rows: Vec<ActivityRow> = events
        .iter()
        .filter(|e| e.event.kept_in_history())
        .map(ActivityRow::from)
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(activities::table)
            .values(&rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Runs one single-row write (insert, guarded update, delete) in a tenant transaction and,
/// when it touched the row, records the change's events in the same transaction. `false` when
/// no row was touched (gone, or changed since it was read).
pub(crate) async fn write_with_events<F>(
    db: &Database,
    company: CompanyId,
    events: &[EventEnvelope],
    work: F,
) -> Result<bool, DomainError>
where
    F: TxWork<'static, usize>,
{
    let events = events.to_vec();
    db.tenant_tx(company, move |conn| {
        async move {
            let touched = work(conn).await? == 1;
            if touched {
                record(conn, &events).await?;
                crate::audit::record(conn, &events).await?;
                crate::outbox::record(conn, &events).await?;
            }
            Ok(touched)
        }
        .scope_boxed()
    })
    .await
}

/// Makes the recorded history of one note follow its privacy: visible to its author only
/// while it is private, to everyone once public.
pub(crate) async fn follow_note_privacy(
    conn: &mut AsyncPgConnection,
    company: Uuid,
    note: Uuid,
    only_to: Option<Uuid>,
) -> Result<(), diesel::result::Error> {
    diesel::update(
        activities::table
            .filter(activities::company_id.eq(company))
            .filter(activities::entity_id.eq(note))
            .filter(activities::visible_to.is_distinct_from(only_to)),
    )
    .set(activities::visible_to.eq(only_to))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Adds the newest-first keyset condition `(time column, id) < (cursor time, cursor id)` to a
/// boxed query: a row comparison PostgreSQL answers with one backward index range scan.
macro_rules! older_than {
    ($query:expr, $column:literal, $after:expr) => {
        match $after {
            Some((time, id)) => $query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(concat!("(", $column, ", id) < ("))
                    .bind::<diesel::sql_types::Timestamptz, _>(time)
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(id)
                    .sql(")"),
            ),
            None => $query,
        }
    };
}
pub(crate) use older_than;

/// [`HistoryRepository`] over `crm.activities`.
#[derive(Clone)]
pub struct PgHistoryRepository {
    db: Database,
}

impl PgHistoryRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl HistoryRepository for PgHistoryRepository {
    async fn list(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        window: Window,
    ) -> Result<Vec<HistoryEntry>, DomainError> {
        let q = activities::table
            .filter(activities::company_id.eq(company.as_uuid()))
            .filter(activities::customer_id.eq(customer.as_uuid()))
            .filter(
                activities::visible_to
                    .is_null()
                    .or(activities::visible_to.eq(viewer.as_uuid())),
            )
            .into_boxed();
        let q = older_than!(q, "occurred_at", window.after)
            .order((activities::occurred_at.desc(), activities::id.desc()))
            .limit(i64::from(window.limit.get()) + 1)
            .select(ActivityRow::as_select());
        let rows = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        Ok(rows.into_iter().map(HistoryEntry::from).collect())
    }
}
