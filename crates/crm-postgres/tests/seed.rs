//! The bulk data generator against a real PostgreSQL: counts, spread, uniqueness, references
//! and counters.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_postgres::seed::{seed, SeedPlan, SeedStage};
use crm_testkit::TestDatabase;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    k: String,
}

/// Every index of the seeded tables, with its definition, in a stable order.
async fn index_defs(conn: &mut AsyncPgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT indexname || ': ' || indexdef AS k FROM pg_indexes
         WHERE schemaname = 'crm'
           AND tablename IN ('customers', 'customer_notes', 'customer_interactions')
         ORDER BY indexname",
    )
    .load::<Key>(conn)
    .await
    .unwrap()
    .into_iter()
    .map(|k| k.k)
    .collect()
}

#[tokio::test]
async fn seeds_consistent_realistic_data() {
    let tdb = TestDatabase::new().await;
    // A load larger than the (empty) tables drops their secondary indexes and rebuilds them:
    // afterwards every index is back, defined as before.
    let indexes_before = index_defs(&mut tdb.connect().await).await;
    assert!(indexes_before.len() > 15, "{indexes_before:?}");
    let mut plan = SeedPlan::new(3, 2_000, 3_000, 5_000);
    plan.batch = 700; // several batches per table
    let mut seen = Vec::new();
    let report = seed(tdb.url(), plan, |stage, done| seen.push((stage, done)))
        .await
        .unwrap();
    assert_eq!(report.companies.len(), 3);
    assert_eq!(seen[0], (SeedStage::Customers, 700));
    assert!(seen.contains(&(SeedStage::Customers, 2_000)));
    assert!(seen.contains(&(SeedStage::Notes, 3_000)));
    assert!(seen.contains(&(SeedStage::Interactions, 5_000)));

    let mut conn = tdb.connect().await;
    assert_eq!(index_defs(&mut conn).await, indexes_before);
    let c = &mut conn;
    assert_eq!(
        count(c, "SELECT count(*) AS n FROM crm.customers").await,
        2_000
    );
    assert_eq!(
        count(c, "SELECT count(*) AS n FROM crm.customer_notes").await,
        3_000
    );
    assert_eq!(
        count(c, "SELECT count(*) AS n FROM crm.customer_interactions").await,
        5_000
    );
    // Customers dealt evenly over the three companies.
    assert_eq!(
        count(
            c,
            "SELECT count(DISTINCT company_id) AS n FROM crm.customers"
        )
        .await,
        3
    );
    assert!(
        count(c, "SELECT max(n) - min(n) AS n FROM (SELECT count(*) AS n FROM crm.customers GROUP BY company_id) x").await
            <= 1
    );
    // Varied, unique where it must be.
    assert!(count(c, "SELECT count(DISTINCT name) AS n FROM crm.customers").await > 500);
    assert_eq!(
        count(c, "SELECT count(*) - count(DISTINCT (company_id, lower(email))) AS n FROM crm.customers WHERE email IS NOT NULL").await,
        0
    );
    assert!(
        count(
            c,
            "SELECT count(*) AS n FROM crm.customers WHERE email IS NULL"
        )
        .await
            > 0
    );
    assert!(count(c, "SELECT count(DISTINCT status) AS n FROM crm.customers").await == 5);
    assert!(
        count(
            c,
            "SELECT count(DISTINCT t) AS n FROM crm.customers, unnest(tags) t"
        )
        .await
            >= 10
    );
    assert!(
        count(
            c,
            "SELECT count(*) AS n FROM crm.customers WHERE metadata ? 'tier'"
        )
        .await
            == 2_000
    );
    // Dates spread over years, none in the future.
    assert!(
        count(c, "SELECT extract(year FROM age(max(created_at), min(created_at)))::bigint AS n FROM crm.customers").await
            >= 4
    );
    assert_eq!(
        count(c, "SELECT count(*) AS n FROM crm.customers WHERE created_at > now() OR updated_at < created_at").await,
        0
    );
    // Every note and interaction belongs to a customer of the same company, after its creation.
    for table in ["crm.customer_notes", "crm.customer_interactions"] {
        let orphans = format!(
            "SELECT count(*) AS n FROM {table} x LEFT JOIN crm.customers c
               ON c.company_id = x.company_id AND c.id = x.customer_id
             WHERE c.id IS NULL OR x.created_at < c.created_at"
        );
        assert_eq!(count(c, &orphans).await, 0, "{table}");
    }
    assert_eq!(
        count(c, "SELECT count(*) AS n FROM crm.customer_interactions WHERE (status = 'completed') <> (completed_at IS NOT NULL) OR (status = 'scheduled' AND scheduled_at < now())").await,
        0
    );
    assert_eq!(
        count(
            c,
            "SELECT count(DISTINCT status) AS n FROM crm.customer_interactions"
        )
        .await,
        3
    );

    // Counters equal what count(*) says: the same queries as the migrations' backfills,
    // compared both ways.
    let recount = "
        SELECT company_id::text || '|customers||' || count(*) AS k FROM crm.customers GROUP BY company_id
        UNION ALL SELECT company_id::text || '|customers.status|' || status || '|' || count(*) FROM crm.customers GROUP BY company_id, status
        UNION ALL SELECT company_id::text || '|customers.type|' || type || '|' || count(*) FROM crm.customers GROUP BY company_id, type
        UNION ALL SELECT company_id::text || '|customers.source|' || coalesce(source, '') || '|' || count(*) FROM crm.customers GROUP BY company_id, source
        UNION ALL SELECT company_id::text || '|customers.assigned|' || coalesce(assigned_to::text, '') || '|' || count(*) FROM crm.customers GROUP BY company_id, assigned_to
        UNION ALL SELECT company_id::text || '|notes.public||' || count(*) FROM crm.customer_notes WHERE NOT is_private GROUP BY company_id
        UNION ALL SELECT company_id::text || '|notes.private|' || created_by || '|' || count(*) FROM crm.customer_notes WHERE is_private GROUP BY company_id, created_by
        UNION ALL SELECT company_id::text || '|interactions||' || count(*) FROM crm.customer_interactions GROUP BY company_id
        UNION ALL SELECT company_id::text || '|interactions.type|' || type || '|' || count(*) FROM crm.customer_interactions GROUP BY company_id, type
        UNION ALL SELECT company_id::text || '|interactions.status|' || status || '|' || count(*) FROM crm.customer_interactions GROUP BY company_id, status
        UNION ALL SELECT company_id::text || '|day:customers.created|' || (created_at AT TIME ZONE 'UTC')::date || '|' || count(*) FROM crm.customers GROUP BY company_id, (created_at AT TIME ZONE 'UTC')::date
        UNION ALL SELECT company_id::text || '|day:interactions.created|' || (created_at AT TIME ZONE 'UTC')::date || '|' || count(*) FROM crm.customer_interactions GROUP BY company_id, (created_at AT TIME ZONE 'UTC')::date
        UNION ALL SELECT company_id::text || '|day:interactions.completed|' || (completed_at AT TIME ZONE 'UTC')::date || '|' || count(*) FROM crm.customer_interactions WHERE completed_at IS NOT NULL GROUP BY company_id, (completed_at AT TIME ZONE 'UTC')::date
        UNION ALL SELECT company_id::text || '|tag|' || t || '|' || count(*) FROM crm.customers, unnest(tags) t GROUP BY company_id, t";
    let stored = "
        SELECT company_id::text || '|' || metric || '|' || key || '|' || count AS k FROM crm.stat_counters
        UNION ALL SELECT company_id::text || '|day:' || metric || '|' || day || '|' || count FROM crm.daily_counts
        UNION ALL SELECT company_id::text || '|tag|' || tag || '|' || count FROM crm.tag_counts";
    let mut expected: Vec<String> = diesel::sql_query(recount)
        .load::<Key>(c)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.k)
        .collect();
    let mut actual: Vec<String> = diesel::sql_query(stored)
        .load::<Key>(c)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.k)
        .collect();
    expected.sort();
    actual.sort();
    assert!(expected.len() > 100);
    assert_eq!(actual, expected);

    // A second run adds new companies and leaves the first set alone.
    let again = seed(tdb.url(), SeedPlan::new(1, 10, 0, 0), |_, _| {})
        .await
        .unwrap();
    assert!(!report.companies.contains(&again.companies[0]));
    assert_eq!(
        count(c, "SELECT count(*) AS n FROM crm.customers").await,
        2_010
    );
}

#[tokio::test]
async fn refuses_a_plan_without_companies_and_writes_nothing() {
    let tdb = TestDatabase::new().await;
    let err = seed(tdb.url(), SeedPlan::new(0, 10, 0, 0), |_, _| {}).await;
    assert!(err.is_err());
    let err = seed(tdb.url(), SeedPlan::new(1, 0, 5, 0), |_, _| {}).await;
    assert!(err.is_err());
    let mut conn = tdb.connect().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM crm.customers").await,
        0
    );
}
