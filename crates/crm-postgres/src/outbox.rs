//! The transactional outbox on PostgreSQL (`crm.outbox`).
//!
//! Events are inserted by the tenant role in the transaction of their change
//! ([`record`]); the relay reads and deletes them as `crm_relay` ([`PgOutboxStore`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::{
    CompanyId, CustomerId, Delivery, DomainError, EventEnvelope, EventSink, OutboxBacklog,
    OutboxMessage, OutboxStore,
};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::database::Database;
use crate::schema::outbox;

/// The advisory lock held by the relay delivering a batch: one relay at a time keeps the
/// order with several replicas. (`0x63726d2e6f7574` is "crm.out".)
const RELAY_LOCK: i64 = 0x0063_726d_2e6f_7574;

#[derive(Insertable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
struct NewOutboxRow {
    id: Uuid,
    company_id: Uuid,
    customer_id: Uuid,
    event_type: String,
    payload: Value,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
struct OutboxRow {
    seq: i64,
    id: Uuid,
    company_id: Uuid,
    customer_id: Uuid,
    event_type: String,
    payload: Value,
}

impl From<OutboxRow> for OutboxMessage {
    fn from(r: OutboxRow) -> Self {
        Self {
            seq: r.seq,
            id: r.id,
            company_id: CompanyId::from_uuid(r.company_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            event_type: r.event_type,
            payload: r.payload.to_string(),
        }
    }
}

/// Stores `events` in the outbox. Runs inside the caller's (tenant) transaction.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    events: &[EventEnvelope],
) -> Result<(), diesel::result::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events
        .iter()
        .map(|e| {
            Ok(NewOutboxRow {
                id: e.id,
                company_id: e.company_id.as_uuid(),
                customer_id: e.customer_id.as_uuid(),
                event_type: e.event.type_name().to_owned(),
                payload: serde_json::to_value(e)
                    .map_err(|err| diesel::result::Error::SerializationError(Box::new(err)))?,
            })
        })
        .collect::<Result<Vec<_>, diesel::result::Error>>()?;
    diesel::insert_into(outbox::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// [`OutboxStore`] over `crm.outbox`.
#[derive(Clone)]
pub struct PgOutboxStore {
    db: Database,
}

impl PgOutboxStore {
    /// A store using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl OutboxStore for PgOutboxStore {
    async fn deliver_batch(
        &self,
        limit: u32,
        sink: &(dyn EventSink + 'static),
    ) -> Result<Delivery, DomainError> {
        self.db
            .relay_tx(move |conn| {
                async move {
                    let locked: bool = diesel::select(diesel::dsl::sql::<Bool>(&format!(
                        "pg_try_advisory_xact_lock({RELAY_LOCK})"
                    )))
                    .get_result(conn)
                    .await?;
                    if !locked {
                        return Ok(Delivery {
                            busy: true,
                            ..Delivery::default()
                        });
                    }
                    let rows: Vec<OutboxRow> = outbox::table
                        .order(outbox::seq.asc())
                        .limit(i64::from(limit))
                        .select(OutboxRow::as_select())
                        .load(conn)
                        .await?;
                    let claimed = rows.len();
                    let mut sent = Vec::with_capacity(claimed);
                    let mut sink_error = None;
                    for row in rows {
                        let message = OutboxMessage::from(row);
                        match sink.send(&message).await {
                            Ok(()) => sent.push(message.seq),
                            Err(e) => {
                                sink_error = Some(e);
                                break;
                            }
                        }
                    }
                    if !sent.is_empty() {
                        diesel::delete(outbox::table.filter(outbox::seq.eq_any(&sent)))
                            .execute(conn)
                            .await?;
                    }
                    Ok(Delivery {
                        delivered: sent.len(),
                        claimed,
                        sink_error,
                        busy: false,
                    })
                }
                .scope_boxed()
            })
            .await
    }

    async fn backlog(&self) -> Result<OutboxBacklog, DomainError> {
        let (pending, oldest): (i64, Option<DateTime<Utc>>) = self
            .db
            .relay_tx(|conn| {
                async move {
                    outbox::table
                        .select((
                            diesel::dsl::count_star(),
                            diesel::dsl::min(outbox::created_at),
                        ))
                        .get_result(conn)
                        .await
                }
                .scope_boxed()
            })
            .await?;
        Ok(OutboxBacklog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest,
        })
    }
}
