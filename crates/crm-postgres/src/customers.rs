//! The customer repository on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::pagination::SortKey;
use crm_domain::{
    CompanyId, Customer, CustomerId, CustomerQuery, CustomerRepository, CustomerSortField,
    DomainError, EventEnvelope,
};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;

use crate::activities::write_with_events;
use crate::database::{same_company, Database};
use crate::models::CustomerRow;
use crate::schema::customers;

/// [`CustomerRepository`] over the `crm.customers` table.
#[derive(Clone)]
pub struct PgCustomerRepository {
    db: Database,
}

impl PgCustomerRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type BoxedCustomers = customers::BoxedQuery<'static, Pg>;

/// The company's customers narrowed by the query's filters (no order, cursor or limit).
fn filtered(company: CompanyId, query: &CustomerQuery) -> BoxedCustomers {
    let mut q = customers::table
        .filter(customers::company_id.eq(company.as_uuid()))
        .into_boxed();
    if let Some(status) = query.status {
        q = q.filter(customers::status.eq(status.as_str()));
    }
    if let Some(kind) = query.customer_type {
        q = q.filter(customers::customer_type.eq(kind.as_str()));
    }
    if !query.tags_any.is_empty() {
        let tags: Vec<String> = query
            .tags_any
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect();
        q = q.filter(customers::tags.overlaps_with(tags));
    }
    if let Some(user) = query.assigned_to {
        q = q.filter(customers::assigned_to.eq(user.as_uuid()));
    }
    if let Some(from) = query.created_from {
        q = q.filter(customers::created_at.ge(from));
    }
    if let Some(to) = query.created_to {
        q = q.filter(customers::created_at.le(to));
    }
    q
}

/// Adds the keyset condition `(key, id) > / < (cursor key, cursor id)` as a row comparison,
/// which PostgreSQL answers with one index range scan.
fn after_cursor(q: BoxedCustomers, query: &CustomerQuery) -> Result<BoxedCustomers, DomainError> {
    let Some(cursor) = &query.after else {
        return Ok(q);
    };
    let op = if query.sort.descending { "<" } else { ">" };
    let row = |column: &str| sql::<Bool>(&format!("({column}, id) {op} ("));
    let id = cursor.id;
    Ok(match (query.sort.field, &cursor.key) {
        (CustomerSortField::CreatedAt, SortKey::Time(t)) => q.filter(
            row("created_at")
                .bind::<Timestamptz, _>(*t)
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        (CustomerSortField::UpdatedAt, SortKey::Time(t)) => q.filter(
            row("updated_at")
                .bind::<Timestamptz, _>(*t)
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        (CustomerSortField::Name, SortKey::Text(name)) => q.filter(
            row("name")
                .bind::<Text, _>(name.clone())
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        _ => {
            return Err(DomainError::invalid(
                "cursor",
                "is not a valid cursor for this query",
            ))
        }
    })
}

fn ordered(q: BoxedCustomers, query: &CustomerQuery) -> BoxedCustomers {
    use customers::{created_at, id, name, updated_at};
    match (query.sort.field, query.sort.descending) {
        (CustomerSortField::CreatedAt, false) => q.order((created_at.asc(), id.asc())),
        (CustomerSortField::CreatedAt, true) => q.order((created_at.desc(), id.desc())),
        (CustomerSortField::UpdatedAt, false) => q.order((updated_at.asc(), id.asc())),
        (CustomerSortField::UpdatedAt, true) => q.order((updated_at.desc(), id.desc())),
        (CustomerSortField::Name, false) => q.order((name.asc(), id.asc())),
        (CustomerSortField::Name, true) => q.order((name.desc(), id.desc())),
    }
}

fn to_domain(rows: Vec<CustomerRow>) -> Result<Vec<Customer>, DomainError> {
    rows.into_iter().map(Customer::try_from).collect()
}

#[async_trait]
impl CustomerRepository for PgCustomerRepository {
    async fn insert(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError> {
        let row = CustomerRow::from(customer);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::insert_into(customers::table)
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
        id: CustomerId,
    ) -> Result<Option<Customer>, DomainError> {
        let row = self
            .db
            .tenant_tx(company, |conn| {
                async move {
                    customers::table
                        .filter(customers::company_id.eq(company.as_uuid()))
                        .filter(customers::id.eq(id.as_uuid()))
                        .select(CustomerRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                }
                .scope_boxed()
            })
            .await?;
        row.map(Customer::try_from).transpose()
    }

    async fn update(
        &self,
        company: CompanyId,
        after: &Customer,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let row = CustomerRow::from(after);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::update(
                    customers::table
                        .filter(customers::company_id.eq(row.company_id))
                        .filter(customers::id.eq(row.id))
                        .filter(customers::updated_at.eq(unmodified_since)),
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
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        // Notes, interactions and history go with it through ON DELETE CASCADE, in this
        // transaction.
        let id = customer.id.as_uuid();
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::delete(
                    customers::table
                        .filter(customers::company_id.eq(company.as_uuid()))
                        .filter(customers::id.eq(id)),
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
        query: CustomerQuery,
    ) -> Result<Vec<Customer>, DomainError> {
        let q = after_cursor(filtered(company, &query), &query)?;
        let q = ordered(q, &query)
            .limit(i64::from(query.limit.get()) + 1)
            .select(CustomerRow::as_select());
        let rows = self
            .db
            .tenant_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        to_domain(rows)
    }

    async fn count(&self, company: CompanyId, query: CustomerQuery) -> Result<u64, DomainError> {
        let q = filtered(company, &query).count();
        let n: i64 = self
            .db
            .tenant_tx(company, |conn| {
                async move { q.get_result(conn).await }.scope_boxed()
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
