//! Read-replica routing: two databases on the local server stand in for a primary and its
//! replica. Rows written to only one of them show which pool a query used.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::{
    clock, CompanyId, CreateCustomer, Customer, CustomerFilter, CustomerQuery, CustomerRepository,
    DomainError, UserId,
};
use std::sync::{Arc, Mutex};

use crm_postgres::{Database, PgCustomerRepository, PoolRole, PoolSettings};
use crm_testkit::TestDatabase;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;

fn customer(company: CompanyId, name: &str) -> Customer {
    CreateCustomer {
        name: name.into(),
        ..Default::default()
    }
    .validate_for(UserId::new_random())
    .unwrap()
    .into_customer(company, clock::now())
}

async fn names(repo: &PgCustomerRepository, company: CompanyId) -> Vec<String> {
    let mut v: Vec<String> = repo
        .list(company, CustomerQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name.to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn reads_go_to_the_replica_and_writes_to_the_primary() {
    let primary_db = TestDatabase::new().await;
    let replica_db = TestDatabase::new().await;
    let company = CompanyId::new_random();

    // Direct handles on each database alone.
    let primary_only = PgCustomerRepository::new(
        Database::connect(primary_db.url(), PoolSettings::default()).unwrap(),
    );
    let replica_only = PgCustomerRepository::new(
        Database::connect(replica_db.url(), PoolSettings::default()).unwrap(),
    );
    let on_replica = customer(company, "Only on the replica");
    replica_only
        .insert(company, &on_replica, &[])
        .await
        .unwrap();

    // The routed database: primary plus replica.
    let routed = Database::connect(primary_db.url(), PoolSettings::default())
        .unwrap()
        .with_read_replica(replica_db.url(), PoolSettings::default())
        .unwrap();
    assert!(routed.has_read_replica());
    let repo = PgCustomerRepository::new(routed.clone());

    // Lists, counts and search read the replica.
    assert_eq!(names(&repo, company).await, vec!["Only on the replica"]);
    assert_eq!(
        repo.count(company, CustomerFilter::default())
            .await
            .unwrap(),
        1
    );

    // A write goes to the primary...
    let written = customer(company, "Written through the router");
    repo.insert(company, &written, &[]).await.unwrap();
    assert_eq!(
        names(&primary_only, company).await,
        vec!["Written through the router"]
    );
    assert_eq!(
        names(&replica_only, company).await,
        vec!["Only on the replica"]
    );

    // ...and the read that must see it (by id, as before an update) reads the primary too.
    let found = repo.find(company, written.id).await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(written.id));
    assert!(repo.find(company, on_replica.id).await.unwrap().is_none());

    // The list still reads the replica, which has not "replicated" the write.
    assert_eq!(names(&repo, company).await, vec!["Only on the replica"]);

    // An update's read-before-write and write both use the primary: it succeeds although
    // the replica does not know the row.
    let mut after = written.clone();
    after.updated_at = clock::after(written.updated_at);
    assert!(repo
        .update(company, &after, written.updated_at, &[])
        .await
        .unwrap());

    // Without a replica the same reads use the primary.
    let plain = PgCustomerRepository::new(
        Database::connect(primary_db.url(), PoolSettings::default()).unwrap(),
    );
    assert_eq!(
        names(&plain, company).await,
        vec!["Written through the router"]
    );
}

#[tokio::test]
async fn the_read_transaction_is_read_only_and_tenant_scoped() {
    let primary_db = TestDatabase::new().await;
    let replica_db = TestDatabase::new().await;
    let company = CompanyId::new_random();
    let db = Database::connect(primary_db.url(), PoolSettings::default())
        .unwrap()
        .with_read_replica(replica_db.url(), PoolSettings::default())
        .unwrap();

    let err = db
        .tenant_read_tx(company, |conn| {
            async move {
                diesel::sql_query("CREATE TEMPORARY TABLE scratch (x int)")
                    .execute(conn)
                    .await
            }
            .scope_boxed()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Internal(_)), "{err:?}");

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        company: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        read_only: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        database: String,
    }
    let s: Setting = db
        .tenant_read_tx(company, |conn| {
            async move {
                diesel::sql_query(
                    "SELECT current_user::text AS role, current_setting('app.company_id') AS company, \
                     current_setting('transaction_read_only') AS read_only, \
                     current_database()::text AS database",
                )
                .get_result(conn)
                .await
            }
            .scope_boxed()
        })
        .await
        .unwrap();
    assert_eq!(s.role, crm_postgres::TENANT_ROLE);
    assert_eq!(s.company, company.to_string());
    assert_eq!(s.read_only, "on");
    assert_eq!(s.database, replica_db.name());

    // Both pools answer the readiness ping, and both are reported.
    db.ping().await.unwrap();
    assert!(db.read_pool_status().is_some());
}

#[tokio::test]
async fn a_replica_that_is_down_fails_the_ping() {
    let primary_db = TestDatabase::new().await;
    let db = Database::connect(primary_db.url(), PoolSettings::default())
        .unwrap()
        .with_read_replica(
            "postgres://postgres@127.0.0.1:5432/crm_no_such_replica_db",
            PoolSettings::default(),
        )
        .unwrap();
    let err = db.ping().await.unwrap_err();
    assert!(matches!(err, DomainError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("replica"), "{err}");
}

#[tokio::test]
async fn every_checkout_is_reported_with_its_pool() {
    let primary_db = TestDatabase::new().await;
    let replica_db = TestDatabase::new().await;
    let company = CompanyId::new_random();
    let db = Database::connect(primary_db.url(), PoolSettings::default())
        .unwrap()
        .with_read_replica(replica_db.url(), PoolSettings::default())
        .unwrap();
    let repo = PgCustomerRepository::new(db.clone());
    let seen: Arc<Mutex<Vec<(PoolRole, bool)>>> = Arc::default();
    let sink = seen.clone();
    // Set after the repository was built: clones share the observer.
    assert!(db.observe_checkouts(Arc::new(move |role, _waited, ok| {
        sink.lock().unwrap().push((role, ok));
    })));
    assert!(
        !db.observe_checkouts(Arc::new(|_, _, _| {})),
        "only one observer"
    );

    repo.insert(company, &customer(company, "Someone"), &[])
        .await
        .unwrap();
    repo.list(company, CustomerQuery::default()).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(PoolRole::Primary, true), (PoolRole::Replica, true)]
    );

    // A closed pool refuses, and the refusal is reported too.
    db.close();
    assert!(repo.list(company, CustomerQuery::default()).await.is_err());
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(PoolRole::Replica, false))
    );
}
