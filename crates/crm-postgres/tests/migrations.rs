//! Database creation and migrations.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_postgres::migrate;
use crm_testkit::TestDatabase;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn prepare_creates_the_database_and_is_idempotent() {
    let db = TestDatabase::unmigrated();
    let applied = migrate::prepare(db.url()).await.unwrap();
    assert!(applied >= 1);
    assert_eq!(migrate::prepare(db.url()).await.unwrap(), 0);

    let mut conn = db.connect().await;
    let tables: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'crm'
         AND table_name IN ('customers', 'customer_notes', 'customer_interactions', 'customer_stats')",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        tables.n, 4,
        "three tables and the stats view live in the crm schema"
    );
}

#[tokio::test]
async fn concurrent_start_ups_migrate_once() {
    let db = TestDatabase::unmigrated();
    migrate::ensure_database(db.url()).await.unwrap();
    let url = db.url().to_owned();
    let runs = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { migrate::run_migrations(&url).await })
    });
    let mut total = 0;
    for run in runs {
        total += run.await.unwrap().unwrap();
    }
    let expected = MigrationSource::<Pg>::migrations(&migrate::MIGRATIONS)
        .unwrap()
        .len();
    assert_eq!(total, expected, "each migration applied exactly once");
}
