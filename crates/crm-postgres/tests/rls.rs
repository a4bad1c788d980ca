//! Row-level security, proved at the database: as the service's role, a missing or wrong
//! company sees and changes nothing, whatever the SQL asks for.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::{
    clock, CompanyId, CreateCustomer, CreateNote, CustomerRepository, NoteRepository, UserId,
};
use crm_postgres::{Database, PgCustomerRepository, PgNoteRepository, PoolSettings, TENANT_ROLE};
use crm_testkit::TestDatabase;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

const TABLES: [&str; 8] = [
    "customers",
    "customer_notes",
    "customer_interactions",
    "activities",
    "segments",
    "tag_counts",
    "stat_counters",
    "daily_counts",
];

async fn seeded() -> (TestDatabase, CompanyId, CompanyId) {
    let tdb = TestDatabase::new().await;
    let db = Database::connect(tdb.url(), PoolSettings::default()).unwrap();
    let customers = PgCustomerRepository::new(db.clone());
    let notes = PgNoteRepository::new(db);
    let (a, b) = (CompanyId::new_random(), CompanyId::new_random());
    for company in [a, b] {
        for i in 0..3 {
            let c = CreateCustomer {
                name: format!("c{i}"),
                tags: vec!["t".into()],
                ..Default::default()
            }
            .validate_for(UserId::new_random())
            .unwrap()
            .into_customer(company, clock::now());
            customers.insert(company, &c, &[]).await.unwrap();
            let n = CreateNote {
                content: "n".into(),
                note_type: None,
                is_private: None,
            }
            .validate_into(company, c.id, UserId::new_random(), clock::now())
            .unwrap();
            notes.insert(company, &n, &[]).await.unwrap();
        }
    }
    (tdb, a, b)
}

/// Counts rows of `table` as the tenant role with `company` (or none) set.
async fn visible(
    conn: &mut AsyncPgConnection,
    table: &str,
    company: Option<&str>,
) -> Result<i64, diesel::result::Error> {
    conn.begin_test_transaction().await?;
    diesel::sql_query(
        "SELECT set_config('role', $1, true), set_config('app.company_id', $2, true)",
    )
    .bind::<Text, _>(TENANT_ROLE)
    .bind::<Text, _>(company.unwrap_or(""))
    .execute(conn)
    .await?;
    let c: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM crm.{table}"))
        .get_result(conn)
        .await?;
    Ok(c.n)
}

#[tokio::test]
async fn a_missing_or_wrong_company_sees_nothing() {
    let (tdb, a, b) = seeded().await;
    let company_a = a.to_string();
    let stranger = CompanyId::new_random().to_string();
    for table in ["customers", "customer_notes", "tag_counts"] {
        for (company, expected_nonzero) in [
            (None, false),
            (Some(stranger.as_str()), false),
            (Some("not-a-uuid-at-all"), false),
            (Some(company_a.as_str()), true),
        ] {
            let mut conn = tdb.connect().await;
            match (visible(&mut conn, table, company).await, expected_nonzero) {
                (Ok(n), true) => assert!(n > 0, "{table} as {company:?}"),
                (Ok(n), false) => assert_eq!(n, 0, "{table} as {company:?}"),
                // A malformed company setting is an error, not a wider view.
                (Err(_), _) => assert_eq!(company, Some("not-a-uuid-at-all")),
            }
        }
    }
    // As company A, B's rows cannot be changed or created either.
    let mut conn = tdb.connect().await;
    conn.begin_test_transaction().await.unwrap();
    diesel::sql_query(
        "SELECT set_config('role', $1, true), set_config('app.company_id', $2, true)",
    )
    .bind::<Text, _>(TENANT_ROLE)
    .bind::<Text, _>(a.to_string())
    .execute(&mut conn)
    .await
    .unwrap();
    let changed =
        diesel::sql_query("UPDATE crm.customers SET name = 'pwned' WHERE company_id = $1::uuid")
            .bind::<Text, _>(b.to_string())
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(changed, 0);
    let deleted = diesel::sql_query("DELETE FROM crm.customers")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(deleted, 3, "only A's own rows");
    let forged = diesel::sql_query(
        "INSERT INTO crm.segments (id, company_id, name, created_by, created_at, updated_at)
         VALUES (gen_random_uuid(), $1::uuid, 'x', gen_random_uuid(), now(), now())",
    )
    .bind::<Text, _>(b.to_string())
    .execute(&mut conn)
    .await;
    assert!(
        forged.is_err(),
        "writing another company's row violates the policy"
    );
}

#[tokio::test]
async fn every_tenant_table_forces_its_policy_and_the_role_cannot_bypass_it() {
    let tdb = TestDatabase::new().await;
    let mut conn = tdb.connect().await;
    for table in TABLES {
        let f: Flag = diesel::sql_query(
            "SELECT relrowsecurity AND relforcerowsecurity AS ok FROM pg_class
              WHERE oid = ('crm.' || $1)::regclass",
        )
        .bind::<Text, _>(table)
        .get_result(&mut conn)
        .await
        .unwrap();
        assert!(f.ok, "{table} forces row-level security");
    }
    let role: Flag = diesel::sql_query(
        "SELECT NOT rolsuper AND NOT rolbypassrls AND NOT EXISTS (
             SELECT 1 FROM pg_class c WHERE c.relnamespace = 'crm'::regnamespace
                AND c.relowner = r.oid) AS ok
           FROM pg_roles r WHERE rolname = $1",
    )
    .bind::<Text, _>(TENANT_ROLE)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(
        role.ok,
        "the tenant role is no superuser, cannot bypass RLS and owns nothing"
    );
}

#[tokio::test]
async fn a_pooled_connection_never_carries_a_company_into_the_next_transaction() {
    let (tdb, a, _) = seeded().await;
    // One connection, so every transaction reuses it.
    let db = Database::connect(
        tdb.url(),
        PoolSettings {
            max_size: 1,
            ..PoolSettings::default()
        },
    )
    .unwrap();
    let repo = PgCustomerRepository::new(db.clone());
    for _ in 0..3 {
        let query = crm_domain::CustomerQuery::default();
        assert_eq!(repo.list(a, query).await.unwrap().len(), 3);
        let after: Count = db
            .unscoped_tx(|conn| {
                use diesel_async::scoped_futures::ScopedFutureExt;
                async move {
                    diesel::sql_query("SELECT count(*) AS n FROM crm.customers")
                        .get_result(conn)
                        .await
                }
                .scope_boxed()
            })
            .await
            .unwrap();
        assert_eq!(
            after.n, 0,
            "the next transaction on the same connection sees nothing"
        );
    }
}

/// Row-level security must not cost search its indexes: PostgreSQL only evaluates a query's
/// conditions beneath the policy (on an index) when their functions are LEAKPROOF.
#[tokio::test]
async fn search_operators_are_leakproof_so_indexes_work_under_row_level_security() {
    let tdb = TestDatabase::new().await;
    let mut conn = tdb.connect().await;
    let f: Flag = diesel::sql_query(
        "SELECT bool_and(proleakproof) AS ok FROM pg_proc
          WHERE oid IN ('pg_catalog.textlike(text, text)'::regprocedure,
                        'similarity_op(text, text)'::regprocedure,
                        'similarity_dist(text, text)'::regprocedure,
                        'word_similarity_op(text, text)'::regprocedure)",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(f.ok);
}

/// Runs `sql` in a rolled-back transaction as `role` with `company` set.
async fn as_role(
    tdb: &TestDatabase,
    role: &str,
    company: &str,
    sql: &str,
) -> Result<usize, diesel::result::Error> {
    let mut conn = tdb.connect().await;
    conn.begin_test_transaction().await?;
    diesel::sql_query(
        "SELECT set_config('role', $1, true), set_config('app.company_id', $2, true)",
    )
    .bind::<Text, _>(role)
    .bind::<Text, _>(company)
    .execute(&mut conn)
    .await?;
    diesel::sql_query(sql).execute(&mut conn).await
}

#[tokio::test]
async fn the_outbox_is_write_only_for_tenants_and_read_delete_only_for_the_relay() {
    let tdb = TestDatabase::new().await;
    let db = Database::connect(tdb.url(), PoolSettings::default()).unwrap();
    let customers = PgCustomerRepository::new(db.clone());
    let actor = crm_domain::Actor::new(
        UserId::new_random(),
        CompanyId::new_random(),
        crm_domain::Role::Admin,
    );
    let c = CreateCustomer {
        name: "Evented".into(),
        ..Default::default()
    }
    .validate_for(actor.user())
    .unwrap()
    .into_customer(actor.company(), clock::now());
    let event = crm_domain::EventEnvelope::new(
        &actor,
        clock::now(),
        crm_domain::DomainEvent::CustomerCreated(Box::new(c.clone())),
    );
    customers
        .insert(actor.company(), &c, &[event])
        .await
        .unwrap();
    let own = actor.company().to_string();
    let other = CompanyId::new_random().to_string();
    let insert = |company: &str| {
        format!(
            "INSERT INTO crm.outbox (id, company_id, customer_id, event_type, payload)
             VALUES (gen_random_uuid(), '{company}', gen_random_uuid(), 'x', '{{}}')"
        )
    };

    // The tenant role: insert for its own company only; never read, change or delete.
    assert_eq!(
        as_role(&tdb, TENANT_ROLE, &own, &insert(&own))
            .await
            .unwrap(),
        1
    );
    assert!(as_role(&tdb, TENANT_ROLE, &own, &insert(&other))
        .await
        .is_err());
    assert!(as_role(&tdb, TENANT_ROLE, &own, "SELECT * FROM crm.outbox")
        .await
        .is_err());
    assert!(as_role(&tdb, TENANT_ROLE, &own, "DELETE FROM crm.outbox")
        .await
        .is_err());
    // The relay role: reads and deletes every company's rows; touches nothing else.
    let relay = crm_postgres::RELAY_ROLE;
    assert_eq!(
        as_role(&tdb, relay, "", "SELECT * FROM crm.outbox")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        as_role(&tdb, relay, "", "DELETE FROM crm.outbox")
            .await
            .unwrap(),
        1
    );
    assert!(as_role(&tdb, relay, "", &insert(&own)).await.is_err());
    assert!(as_role(&tdb, relay, "", "SELECT * FROM crm.customers")
        .await
        .is_err());
}
