//! The segment repository on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::{
    CompanyId, CustomerFilter, DomainError, Segment, SegmentId, SegmentRepository, UserId, Window,
};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use crate::activities::older_than;
use crate::database::{same_company, Database};
use crate::schema::segments;

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = segments, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct SegmentRow {
    id: Uuid,
    company_id: Uuid,
    name: String,
    description: Option<String>,
    filter: Value,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Segment> for SegmentRow {
    fn from(s: &Segment) -> Self {
        Self {
            id: s.id.as_uuid(),
            company_id: s.company_id.as_uuid(),
            name: s.name.clone(),
            description: s.description.clone(),
            filter: serde_json::to_value(&s.filter)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            created_by: s.created_by.as_uuid(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl TryFrom<SegmentRow> for Segment {
    type Error = DomainError;

    fn try_from(row: SegmentRow) -> Result<Self, Self::Error> {
        let filter: CustomerFilter = serde_json::from_value(row.filter).map_err(|e| {
            DomainError::Internal(format!("unexpected segment filter in database: {e}"))
        })?;
        Ok(Segment {
            id: SegmentId::from(row.id),
            company_id: CompanyId::from(row.company_id),
            name: row.name,
            description: row.description,
            filter,
            created_by: UserId::from(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// [`SegmentRepository`] over `crm.segments`.
#[derive(Clone)]
pub struct PgSegmentRepository {
    db: Database,
}

impl PgSegmentRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SegmentRepository for PgSegmentRepository {
    async fn insert(&self, company: CompanyId, segment: &Segment) -> Result<(), DomainError> {
        let row = SegmentRow::from(segment);
        same_company(company, row.company_id)?;
        self.db
            .tenant_tx(company, |conn| {
                async move {
                    diesel::insert_into(segments::table)
                        .values(&row)
                        .execute(conn)
                        .await
                        .map(|_| ())
                }
                .scope_boxed()
            })
            .await
    }

    async fn find(
        &self,
        company: CompanyId,
        id: SegmentId,
    ) -> Result<Option<Segment>, DomainError> {
        let row = self
            .db
            .tenant_tx(company, |conn| {
                async move {
                    segments::table
                        .filter(segments::company_id.eq(company.as_uuid()))
                        .filter(segments::id.eq(id.as_uuid()))
                        .select(SegmentRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                }
                .scope_boxed()
            })
            .await?;
        row.map(Segment::try_from).transpose()
    }

    async fn update(
        &self,
        company: CompanyId,
        after: &Segment,
        unmodified_since: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let row = SegmentRow::from(after);
        same_company(company, row.company_id)?;
        self.db
            .tenant_tx(company, |conn| {
                async move {
                    diesel::update(
                        segments::table
                            .filter(segments::company_id.eq(row.company_id))
                            .filter(segments::id.eq(row.id))
                            .filter(segments::updated_at.eq(unmodified_since)),
                    )
                    .set(&row)
                    .execute(conn)
                    .await
                    .map(|n| n == 1)
                }
                .scope_boxed()
            })
            .await
    }

    async fn delete(&self, company: CompanyId, id: SegmentId) -> Result<bool, DomainError> {
        self.db
            .tenant_tx(company, |conn| {
                async move {
                    diesel::delete(
                        segments::table
                            .filter(segments::company_id.eq(company.as_uuid()))
                            .filter(segments::id.eq(id.as_uuid())),
                    )
                    .execute(conn)
                    .await
                    .map(|n| n == 1)
                }
                .scope_boxed()
            })
            .await
    }

    async fn list(&self, company: CompanyId, window: Window) -> Result<Vec<Segment>, DomainError> {
        let q = segments::table
            .filter(segments::company_id.eq(company.as_uuid()))
            .into_boxed();
        let q = older_than!(q, "created_at", window.after)
            .order((segments::created_at.desc(), segments::id.desc()))
            .limit(i64::from(window.limit.get()) + 1)
            .select(SegmentRow::as_select());
        let rows = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        rows.into_iter().map(Segment::try_from).collect()
    }
}
