//! The audit trail on PostgreSQL (`crm.audit_log`, append-only for the service role).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::{
    AuditEntry, AuditQuery, AuditRepository, CompanyId, DomainError, EventEnvelope, UserId,
};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::activities::older_than;
use crate::database::{same_company, Database};
use crate::schema::audit_log;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
struct AuditRow {
    id: Uuid,
    company_id: Uuid,
    occurred_at: DateTime<Utc>,
    actor: Uuid,
    role: String,
    action: String,
    entity_type: String,
    entity_id: Option<Uuid>,
    changes: Value,
    request_id: Option<String>,
    client_ip: Option<String>,
}

impl From<&EventEnvelope> for AuditRow {
    fn from(e: &EventEnvelope) -> Self {
        let (entity_type, entity_id) = e.event.entity();
        let origin = e.origin.as_ref();
        Self {
            // The event id doubles as the entry id: one entry per event.
            id: e.id,
            company_id: e.company_id.as_uuid(),
            occurred_at: e.occurred_at,
            actor: e.actor.as_uuid(),
            role: e.actor_role.as_str().to_owned(),
            action: e.event.type_name().to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: Some(entity_id),
            changes: e.event.data(),
            request_id: origin.and_then(|o| o.request_id.clone()),
            client_ip: origin.and_then(|o| o.client_ip.clone()),
        }
    }
}

impl AuditRow {
    fn from_entry(company: CompanyId, e: AuditEntry) -> Self {
        Self {
            id: e.id,
            company_id: company.as_uuid(),
            occurred_at: e.occurred_at,
            actor: e.actor.as_uuid(),
            role: e.role.as_str().to_owned(),
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            changes: e.changes,
            request_id: e.request_id,
            client_ip: e.client_ip,
        }
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = DomainError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditEntry {
            id: row.id,
            occurred_at: row.occurred_at,
            actor: UserId::from(row.actor),
            role: row
                .role
                .parse()
                .map_err(|e| DomainError::Internal(format!("unexpected role in database: {e}")))?,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            changes: row.changes,
            request_id: row.request_id,
            client_ip: row.client_ip,
        })
    }
}

/// Appends the audited events among `events`. Runs inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    events: &[EventEnvelope],
) -> Result<(), diesel::result::Error> {
    let rows: Vec<AuditRow> = events
        .iter()
        .filter(|e| e.event.audited())
        .map(AuditRow::from)
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(audit_log::table)
            .values(&rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// [`AuditRepository`] over `crm.audit_log`.
#[derive(Clone)]
pub struct PgAuditRepository {
    db: Database,
}

impl PgAuditRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AuditRepository for PgAuditRepository {
    async fn record_denied(
        &self,
        company: CompanyId,
        entry: AuditEntry,
    ) -> Result<(), DomainError> {
        let row = AuditRow::from_entry(company, entry);
        same_company(company, row.company_id)?;
        self.db
            .tenant_tx(company, |conn| {
                async move {
                    diesel::insert_into(audit_log::table)
                        .values(&row)
                        .execute(conn)
                        .await
                        .map(|_| ())
                }
                .scope_boxed()
            })
            .await
    }

    async fn list(
        &self,
        company: CompanyId,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, DomainError> {
        let mut q = audit_log::table
            .filter(audit_log::company_id.eq(company.as_uuid()))
            .into_boxed();
        if let Some(t) = query.entity_type {
            q = q.filter(audit_log::entity_type.eq(t));
        }
        if let Some(id) = query.entity_id {
            q = q.filter(audit_log::entity_id.eq(id));
        }
        if let Some(actor) = query.actor {
            q = q.filter(audit_log::actor.eq(actor.as_uuid()));
        }
        if let Some(action) = query.action {
            q = q.filter(audit_log::action.eq(action));
        }
        if let Some(from) = query.from {
            q = q.filter(audit_log::occurred_at.ge(from));
        }
        if let Some(to) = query.to {
            q = q.filter(audit_log::occurred_at.le(to));
        }
        let q = older_than!(q, "occurred_at", query.window.after)
            .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
            .limit(i64::from(query.window.limit.get()) + 1)
            .select(AuditRow::as_select());
        let rows = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}
