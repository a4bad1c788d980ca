//! The interaction repository on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::{
    CompanyId, CustomerId, DomainError, EventEnvelope, Interaction, InteractionId,
    InteractionQuery, InteractionRepository,
};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;

use crate::activities::{older_than, write_with_events};
use crate::database::{same_company, Database};
use crate::models::InteractionRow;
use crate::schema::customer_interactions as interactions;

/// [`InteractionRepository`] over `crm.customer_interactions`.
#[derive(Clone)]
pub struct PgInteractionRepository {
    db: Database,
}

impl PgInteractionRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl InteractionRepository for PgInteractionRepository {
    async fn insert(
        &self,
        company: CompanyId,
        interaction: &Interaction,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError> {
        let row = InteractionRow::from(interaction);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::insert_into(interactions::table)
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
        id: InteractionId,
    ) -> Result<Option<Interaction>, DomainError> {
        let row = self
            .db
            .tenant_tx(company, |conn| {
                async move {
                    interactions::table
                        .filter(interactions::company_id.eq(company.as_uuid()))
                        .filter(interactions::customer_id.eq(customer.as_uuid()))
                        .filter(interactions::id.eq(id.as_uuid()))
                        .select(InteractionRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                }
                .scope_boxed()
            })
            .await?;
        row.map(Interaction::try_from).transpose()
    }

    async fn update(
        &self,
        company: CompanyId,
        after: &Interaction,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let row = InteractionRow::from(after);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::update(
                    interactions::table
                        .filter(interactions::company_id.eq(row.company_id))
                        .filter(interactions::customer_id.eq(row.customer_id))
                        .filter(interactions::id.eq(row.id))
                        .filter(interactions::updated_at.eq(unmodified_since)),
                )
                .set(&row)
                .execute(conn)
                .await
            }
            .scope_boxed()
        })
        .await
    }

    async fn delete(
        &self,
        company: CompanyId,
        interaction: &Interaction,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let (customer, id) = (interaction.customer_id.as_uuid(), interaction.id.as_uuid());
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::delete(
                    interactions::table
                        .filter(interactions::company_id.eq(company.as_uuid()))
                        .filter(interactions::customer_id.eq(customer))
                        .filter(interactions::id.eq(id)),
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
        query: InteractionQuery,
    ) -> Result<Vec<Interaction>, DomainError> {
        let mut q = interactions::table
            .filter(interactions::company_id.eq(company.as_uuid()))
            .filter(interactions::customer_id.eq(customer.as_uuid()))
            .into_boxed();
        if let Some(kind) = query.interaction_type {
            q = q.filter(interactions::interaction_type.eq(kind.as_str()));
        }
        if let Some(status) = query.status {
            q = q.filter(interactions::status.eq(status.as_str()));
        }
        let q = older_than!(q, "created_at", query.window.after)
            .order((interactions::created_at.desc(), interactions::id.desc()))
            .limit(i64::from(query.window.limit.get()) + 1)
            .select(InteractionRow::as_select());
        let rows = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        rows.into_iter().map(Interaction::try_from).collect()
    }
}
