//! Analytics on PostgreSQL: company figures read trigger-kept counters (`crm.stat_counters`,
//! `crm.daily_counts`); the rest are grouped queries on indexed ranges.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::{
    Breakdown, Bucket, CompanyId, CompanyStats, CustomerActivity, CustomerId, DailyPoint,
    DomainError, InteractionId, ScheduledItem, StatsRepository, UserId, UserPerformance,
};
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::database::Database;

/// [`StatsRepository`] over the counters and tables of the `crm` schema.
#[derive(Clone)]
pub struct PgStatsRepository {
    db: Database,
}

impl PgStatsRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Text)]
    metric: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Windows {
    #[diesel(sql_type = BigInt)]
    last_7: i64,
    #[diesel(sql_type = BigInt)]
    last_30: i64,
}

#[derive(QueryableByName)]
struct Day {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    new_customers: i64,
    #[diesel(sql_type = BigInt)]
    interactions_created: i64,
    #[diesel(sql_type = BigInt)]
    interactions_completed: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Scheduled {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    customer_id: Uuid,
    #[diesel(sql_type = Text)]
    interaction_type: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Timestamptz)]
    scheduled_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Performance {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = BigInt)]
    created: i64,
    #[diesel(sql_type = BigInt)]
    completed: i64,
    #[diesel(sql_type = Nullable<Double>)]
    average_duration: Option<f64>,
    #[diesel(sql_type = BigInt)]
    assigned: i64,
    #[diesel(sql_type = BigInt)]
    won: i64,
}

#[derive(QueryableByName)]
struct Keyed {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct TypeStatus {
    #[diesel(sql_type = Text)]
    interaction_type: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Moments {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_contact_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next_scheduled_at: Option<DateTime<Utc>>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn add(breakdown: &mut Breakdown, key: String, n: i64) {
    *breakdown.entry(key).or_insert(0) += count(n);
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(format!("unexpected {what} in database: {e}"))
}

#[async_trait]
impl StatsRepository for PgStatsRepository {
    async fn company(
        &self,
        company: CompanyId,
        viewer: UserId,
        today: NaiveDate,
    ) -> Result<CompanyStats, DomainError> {
        let (counters, windows) = self
            .db
            .tenant_read_tx(company, |conn| {
                async move {
                    let counters: Vec<Counter> = diesel::sql_query(
                        "SELECT metric, key, count FROM crm.stat_counters
                          WHERE company_id = $1 AND metric <> 'customers.assigned'
                            AND (metric <> 'notes.private' OR key = $2)",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<Text, _>(viewer.to_string())
                    .load(conn)
                    .await?;
                    let windows: Windows = diesel::sql_query(
                        "SELECT coalesce(sum(count) FILTER (WHERE day > $2 - 7), 0)::bigint AS last_7,
                                coalesce(sum(count), 0)::bigint AS last_30
                           FROM crm.daily_counts
                          WHERE company_id = $1 AND metric = 'customers.created'
                            AND day > $2 - 30 AND day <= $2",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<Date, _>(today)
                    .get_result(conn)
                    .await?;
                    Ok((counters, windows))
                }
                .scope_boxed()
            })
            .await?;
        let mut stats = CompanyStats {
            new_customers_last_7_days: count(windows.last_7),
            new_customers_last_30_days: count(windows.last_30),
            ..CompanyStats::default()
        };
        for c in counters {
            match c.metric.as_str() {
                "customers" => stats.customers_total = count(c.count),
                "customers.status" => add(&mut stats.customers_by_status, c.key, c.count),
                "customers.type" => add(&mut stats.customers_by_type, c.key, c.count),
                "customers.source" => add(&mut stats.customers_by_source, c.key, c.count),
                "notes.public" | "notes.private" => stats.notes_total += count(c.count),
                "interactions" => stats.interactions_total = count(c.count),
                "interactions.type" => add(&mut stats.interactions_by_type, c.key, c.count),
                "interactions.status" => add(&mut stats.interactions_by_status, c.key, c.count),
                _ => {}
            }
        }
        Ok(stats)
    }

    async fn daily(
        &self,
        company: CompanyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyPoint>, DomainError> {
        let days: Vec<Day> = self
            .db
            .tenant_read_tx(company, |conn| {
                async move {
                    diesel::sql_query(
                        "SELECT day,
                                coalesce(sum(count) FILTER (WHERE metric = 'customers.created'), 0)::bigint
                                    AS new_customers,
                                coalesce(sum(count) FILTER (WHERE metric = 'interactions.created'), 0)::bigint
                                    AS interactions_created,
                                coalesce(sum(count) FILTER (WHERE metric = 'interactions.completed'), 0)::bigint
                                    AS interactions_completed
                           FROM crm.daily_counts
                          WHERE company_id = $1 AND day BETWEEN $2 AND $3
                          GROUP BY day",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<Date, _>(from)
                    .bind::<Date, _>(to)
                    .load(conn)
                    .await
                }
                .scope_boxed()
            })
            .await?;
        Ok(days
            .into_iter()
            .map(|d| DailyPoint {
                day: d.day,
                new_customers: count(d.new_customers),
                interactions_created: count(d.interactions_created),
                interactions_completed: count(d.interactions_completed),
            })
            .collect())
    }

    async fn scheduled(
        &self,
        company: CompanyId,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        first: u32,
    ) -> Result<Bucket, DomainError> {
        // `-infinity` stands for "no lower bound", so one indexed range query serves both.
        let lower = from.map_or_else(|| "-infinity".to_owned(), |t| t.to_rfc3339());
        let (n, items) = self
            .db
            .tenant_read_tx(company, |conn| {
                async move {
                    let n: Count = diesel::sql_query(
                        "SELECT count(*) AS n FROM crm.customer_interactions
                          WHERE company_id = $1 AND status = 'scheduled'
                            AND scheduled_at >= $2::timestamptz AND scheduled_at < $3",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<Text, _>(lower.clone())
                    .bind::<Timestamptz, _>(to)
                    .get_result(conn)
                    .await?;
                    let items: Vec<Scheduled> = diesel::sql_query(
                        "SELECT id, customer_id, type AS interaction_type, subject, scheduled_at
                           FROM crm.customer_interactions
                          WHERE company_id = $1 AND status = 'scheduled'
                            AND scheduled_at >= $2::timestamptz AND scheduled_at < $3
                          ORDER BY scheduled_at, id LIMIT $4",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<Text, _>(lower)
                    .bind::<Timestamptz, _>(to)
                    .bind::<BigInt, _>(i64::from(first))
                    .load(conn)
                    .await?;
                    Ok((n, items))
                }
                .scope_boxed()
            })
            .await?;
        let items = items
            .into_iter()
            .map(|s| {
                Ok(ScheduledItem {
                    id: InteractionId::from(s.id),
                    customer_id: CustomerId::from(s.customer_id),
                    interaction_type: s
                        .interaction_type
                        .parse()
                        .map_err(|e| corrupt("interaction type", e))?,
                    subject: s.subject,
                    scheduled_at: s.scheduled_at,
                })
            })
            .collect::<Result<_, DomainError>>()?;
        Ok(Bucket {
            count: count(n.n),
            items,
        })
    }

    async fn performance(
        &self,
        company: CompanyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UserPerformance>, DomainError> {
        let rows: Vec<Performance> = self
            .db
            .tenant_read_tx(company, |conn| {
                async move {
                    diesel::sql_query(
                        "WITH created AS (
                             SELECT created_by AS u, count(*) AS n FROM crm.customer_interactions
                              WHERE company_id = $1 AND created_at BETWEEN $2 AND $3 GROUP BY 1),
                         completed AS (
                             SELECT created_by AS u, count(*) AS n, avg(duration_minutes)::float8 AS avg
                               FROM crm.customer_interactions
                              WHERE company_id = $1 AND status = 'completed'
                                AND completed_at BETWEEN $2 AND $3 GROUP BY 1),
                         assigned AS (
                             SELECT key::uuid AS u, count AS n FROM crm.stat_counters
                              WHERE company_id = $1 AND metric = 'customers.assigned' AND key <> ''),
                         won AS (
                             SELECT coalesce((data->>'assignedTo')::uuid, actor) AS u, count(*) AS n
                               FROM crm.activities
                              WHERE company_id = $1 AND occurred_at BETWEEN $2 AND $3
                                AND ((type = 'customer.updated'
                                      AND data->'changes'->'status'->>'after' = 'active')
                                  OR (type = 'customer.created' AND data->>'status' = 'active'))
                              GROUP BY 1),
                         users AS (
                             SELECT u FROM created UNION SELECT u FROM completed
                             UNION SELECT u FROM assigned UNION SELECT u FROM won)
                         SELECT users.u AS user_id,
                                coalesce(created.n, 0)::bigint AS created,
                                coalesce(completed.n, 0)::bigint AS completed,
                                completed.avg AS average_duration,
                                coalesce(assigned.n, 0)::bigint AS assigned,
                                coalesce(won.n, 0)::bigint AS won
                           FROM users
                           LEFT JOIN created USING (u) LEFT JOIN completed USING (u)
                           LEFT JOIN assigned USING (u) LEFT JOIN won USING (u)
                          ORDER BY users.u",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<Timestamptz, _>(from)
                    .bind::<Timestamptz, _>(to)
                    .load(conn)
                    .await
                }
                .scope_boxed()
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| UserPerformance {
                user_id: UserId::from(r.user_id),
                interactions_created: count(r.created),
                interactions_completed: count(r.completed),
                average_duration_minutes: r.average_duration.map(|a| (a * 100.0).round() / 100.0),
                customers_assigned: count(r.assigned),
                customers_won: count(r.won),
            })
            .collect())
    }

    async fn customer_activity(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        now: DateTime<Utc>,
    ) -> Result<CustomerActivity, DomainError> {
        let (notes, interactions, moments) = self
            .db
            .tenant_read_tx(company, |conn| {
                async move {
                    let notes: Vec<Keyed> = diesel::sql_query(
                        "SELECT type AS key, count(*) AS count FROM crm.customer_notes
                          WHERE company_id = $1 AND customer_id = $2
                            AND (NOT is_private OR created_by = $3)
                          GROUP BY type",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<SqlUuid, _>(customer.as_uuid())
                    .bind::<SqlUuid, _>(viewer.as_uuid())
                    .load(conn)
                    .await?;
                    let interactions: Vec<TypeStatus> = diesel::sql_query(
                        "SELECT type AS interaction_type, status, count(*) AS count
                           FROM crm.customer_interactions
                          WHERE company_id = $1 AND customer_id = $2
                          GROUP BY type, status",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<SqlUuid, _>(customer.as_uuid())
                    .load(conn)
                    .await?;
                    let moments: Moments = diesel::sql_query(
                        "SELECT max(completed_at) FILTER (WHERE status = 'completed') AS last_contact_at,
                                min(scheduled_at) FILTER (WHERE status = 'scheduled' AND scheduled_at >= $3)
                                    AS next_scheduled_at
                           FROM crm.customer_interactions
                          WHERE company_id = $1 AND customer_id = $2",
                    )
                    .bind::<SqlUuid, _>(company.as_uuid())
                    .bind::<SqlUuid, _>(customer.as_uuid())
                    .bind::<Timestamptz, _>(now)
                    .get_result(conn)
                    .await?;
                    Ok((notes, interactions, moments))
                }
                .scope_boxed()
            })
            .await?;
        let mut activity = CustomerActivity {
            customer_id: customer,
            notes_total: 0,
            notes_by_type: Breakdown::new(),
            interactions_total: 0,
            interactions_by_type: Breakdown::new(),
            interactions_by_status: Breakdown::new(),
            last_contact_at: moments.last_contact_at,
            days_since_last_contact: None,
            next_scheduled_at: moments.next_scheduled_at,
        };
        for n in notes {
            activity.notes_total += count(n.count);
            add(&mut activity.notes_by_type, n.key, n.count);
        }
        for i in interactions {
            activity.interactions_total += count(i.count);
            add(
                &mut activity.interactions_by_type,
                i.interaction_type,
                i.count,
            );
            add(&mut activity.interactions_by_status, i.status, i.count);
        }
        Ok(activity)
    }
}
