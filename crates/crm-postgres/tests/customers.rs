//! The customer repository against a real PostgreSQL, one fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;

use chrono::{Duration, Utc};
use crm_domain::{
    clock, CompanyId, CreateCustomer, Customer, CustomerChanges, CustomerQuery, CustomerRepository,
    CustomerSort, CustomerStatus, CustomerType, DomainError, Email, NewCustomer, PageLimit, Tag,
    UserId,
};
use crm_postgres::{Database, PgCustomerRepository, PoolSettings};
use crm_testkit::TestDatabase;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::json;

async fn setup() -> (TestDatabase, Database, PgCustomerRepository) {
    let tdb = TestDatabase::new().await;
    let db = Database::connect(tdb.url(), PoolSettings::default()).unwrap();
    let repo = PgCustomerRepository::new(db.clone());
    (tdb, db, repo)
}

/// Stores `new` the way the service does, and returns the stored customer.
async fn store(repo: &PgCustomerRepository, company: CompanyId, new: NewCustomer) -> Customer {
    try_store(repo, company, new).await.unwrap()
}

async fn try_store(
    repo: &PgCustomerRepository,
    company: CompanyId,
    new: NewCustomer,
) -> Result<Customer, DomainError> {
    let customer = new.into_customer(company, clock::now());
    repo.insert(company, &customer, &[]).await?;
    Ok(customer)
}

/// Applies `changes` the way the service does; `None` when the write did not happen.
async fn change(
    repo: &PgCustomerRepository,
    company: CompanyId,
    before: &Customer,
    changes: CustomerChanges,
) -> Result<Option<Customer>, DomainError> {
    let after = changes.apply(before, clock::after(before.updated_at));
    Ok(repo
        .update(company, &after, before.updated_at, &[])
        .await?
        .then_some(after))
}

fn new_customer(name: &str) -> NewCustomer {
    CreateCustomer {
        name: name.into(),
        ..Default::default()
    }
    .validate_for(UserId::new_random())
    .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn insert_then_find_round_trips_every_field() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let assignee = UserId::new_random();
    let new = CreateCustomer {
        name: "Ada Lovelace".into(),
        email: Some("Ada@Example.com".into()),
        phone: Some("+44 20 7946 0000".into()),
        company_name: Some("Analytical Engines".into()),
        customer_type: Some(CustomerType::Business),
        status: Some(CustomerStatus::Prospect),
        source: Some("referral".into()),
        assigned_to: Some(assignee),
        address: json!({"city": "London"}).as_object().cloned(),
        tags: vec!["VIP".into(), "b2b".into()],
        metadata: json!({"score": 7}).as_object().cloned(),
    }
    .validate_for(UserId::new_random())
    .unwrap();
    let stored = store(&repo, company, new.clone()).await;
    assert_eq!(stored.company_id, company);
    assert_eq!(
        stored.email.as_ref().map(Email::as_str),
        Some("Ada@Example.com")
    );
    assert_eq!(
        stored.tags,
        vec![Tag::parse("vip").unwrap(), Tag::parse("b2b").unwrap()]
    );
    assert_eq!(stored.assigned_to, Some(assignee));
    assert_eq!(stored.metadata["score"], 7);
    assert_eq!(stored.address.as_ref().unwrap()["city"], "London");
    assert_eq!(stored.created_at, stored.updated_at);

    let found = repo.find(company, stored.id).await.unwrap().unwrap();
    assert_eq!(found, stored);
}

#[tokio::test]
async fn another_companys_customer_does_not_exist() {
    let (_tdb, _db, repo) = setup().await;
    let (mine, theirs) = (CompanyId::new_random(), CompanyId::new_random());
    let c = store(&repo, mine, new_customer("Mine")).await;

    assert!(repo.find(theirs, c.id).await.unwrap().is_none());
    let changes = CustomerChanges {
        name: Some("Hijacked".into()),
        ..Default::default()
    };
    // A write addressed to another company touches nothing, even with a forged row.
    let mut forged = changes.apply(&c, clock::after(c.updated_at));
    assert!(repo
        .update(theirs, &forged, c.updated_at, &[])
        .await
        .is_err());
    forged.company_id = theirs;
    assert!(!repo
        .update(theirs, &forged, c.updated_at, &[])
        .await
        .unwrap());
    assert!(!repo.delete(theirs, &c, &[]).await.unwrap());
    let q = CustomerQuery::default();
    assert!(repo.list(theirs, q.clone()).await.unwrap().is_empty());
    assert_eq!(repo.count(theirs, q).await.unwrap(), 0);

    assert_eq!(repo.find(mine, c.id).await.unwrap().unwrap().name, "Mine");
}

#[tokio::test]
async fn email_is_unique_per_company_case_insensitively() {
    let (_tdb, _db, repo) = setup().await;
    let (a, b) = (CompanyId::new_random(), CompanyId::new_random());
    let with_email = |email: &str| {
        let mut n = new_customer("X");
        n.email = Some(Email::parse(email).unwrap());
        n
    };
    store(&repo, a, with_email("sam@example.com")).await;
    let err = try_store(&repo, a, with_email("SAM@example.COM"))
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
    // Another company may use the same address.
    store(&repo, b, with_email("sam@example.com")).await;

    // Changing an email to a taken one conflicts too.
    let other = store(&repo, a, with_email("kim@example.com")).await;
    let changes = CustomerChanges {
        email: Some(Some(Email::parse("Sam@Example.com").unwrap())),
        ..Default::default()
    };
    let err = change(&repo, a, &other, changes).await.unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)));
}

#[tokio::test]
async fn update_changes_only_the_given_fields() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let mut n = new_customer("Before");
    n.email = Some(Email::parse("a@b.co").unwrap());
    n.phone = Some("123".into());
    let c = store(&repo, company, n).await;

    let changes = CustomerChanges {
        name: Some("After".into()),
        email: Some(None),
        status: Some(CustomerStatus::Active),
        tags: Some(vec![Tag::parse("gold").unwrap()]),
        ..Default::default()
    };
    let after = change(&repo, company, &c, changes).await.unwrap().unwrap();
    assert_eq!(after.name, "After");
    assert_eq!(after.email, None);
    assert_eq!(after.status, CustomerStatus::Active);
    assert_eq!(after.phone.as_deref(), Some("123"));
    assert_eq!(after.tags, vec![Tag::parse("gold").unwrap()]);
    assert!(after.updated_at > c.updated_at);
    assert_eq!(after.created_at, c.created_at);

    // A write based on a stale read changes nothing.
    let stale = CustomerChanges {
        name: Some("Stale".into()),
        ..Default::default()
    };
    assert!(change(&repo, company, &c, stale).await.unwrap().is_none());
    assert_eq!(
        repo.find(company, c.id).await.unwrap().unwrap().name,
        "After"
    );
}

#[tokio::test]
async fn delete_takes_notes_and_interactions_with_it() {
    let (tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let c = store(&repo, company, new_customer("Doomed")).await;
    let keep = store(&repo, company, new_customer("Kept")).await;
    let mut conn = tdb.connect().await;
    for customer in [c.id, keep.id] {
        diesel::sql_query(
            "INSERT INTO crm.customer_notes (id, company_id, customer_id, content, created_by)
             VALUES (gen_random_uuid(), $1::uuid, $2::uuid, 'note', gen_random_uuid())",
        )
        .bind::<Text, _>(company.to_string())
        .bind::<Text, _>(customer.to_string())
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(
            "INSERT INTO crm.customer_interactions (id, company_id, customer_id, type, subject, created_by)
             VALUES (gen_random_uuid(), $1::uuid, $2::uuid, 'call', 'hello', gen_random_uuid())",
        )
        .bind::<Text, _>(company.to_string())
        .bind::<Text, _>(customer.to_string())
        .execute(&mut conn)
        .await
        .unwrap();
    }

    assert!(repo.delete(company, &c, &[]).await.unwrap());
    assert!(repo.find(company, c.id).await.unwrap().is_none());
    for table in ["crm.customer_notes", "crm.customer_interactions"] {
        let left: Count = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table} WHERE customer_id = $1::uuid"
        ))
        .bind::<Text, _>(c.id.to_string())
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(left.n, 0, "{table} rows of the deleted customer");
        let kept: Count = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table} WHERE customer_id = $1::uuid"
        ))
        .bind::<Text, _>(keep.id.to_string())
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(kept.n, 1, "{table} rows of the other customer");
    }
    assert!(!repo.delete(company, &c, &[]).await.unwrap());
}

/// Walks every sort through small pages and checks the walk equals the full, correctly
/// ordered list: no gaps, no repeats, ties broken by id.
#[tokio::test]
async fn keyset_walk_is_complete_and_ordered_for_every_sort() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    // Duplicate names and identical timestamps (one transaction each, but several share a
    // name) exercise the id tie breaker.
    for i in 0..23 {
        store(&repo, company, new_customer(&format!("name-{}", i % 5))).await;
    }
    // Noise in another company.
    for i in 0..5 {
        store(
            &repo,
            CompanyId::new_random(),
            new_customer(&format!("other-{i}")),
        )
        .await;
    }
    for sort in [
        "createdAt",
        "-createdAt",
        "updatedAt",
        "-updatedAt",
        "name",
        "-name",
    ] {
        let sort: CustomerSort = sort.parse().unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let query = CustomerQuery {
                sort,
                limit: PageLimit::new(Some(4)).unwrap(),
                after: after.clone(),
                ..Default::default()
            };
            let mut rows = repo.list(company, query).await.unwrap();
            let more = rows.len() > 4;
            rows.truncate(4);
            after = rows.last().map(|c| sort.cursor_after(c));
            seen.extend(rows);
            if !more {
                break;
            }
        }
        assert_eq!(seen.len(), 23, "sort {sort}");
        let ids: HashSet<_> = seen.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 23, "no repeats with sort {sort}");
        let mut expected = seen.clone();
        expected.sort_by(|a, b| {
            let ord = match sort.field {
                crm_domain::CustomerSortField::CreatedAt => a.created_at.cmp(&b.created_at),
                crm_domain::CustomerSortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                crm_domain::CustomerSortField::Name => a.name.cmp(&b.name),
            }
            .then(a.id.cmp(&b.id));
            if sort.descending {
                ord.reverse()
            } else {
                ord
            }
        });
        assert_eq!(
            seen.iter().map(|c| c.id).collect::<Vec<_>>(),
            expected.iter().map(|c| c.id).collect::<Vec<_>>(),
            "order with sort {sort}"
        );
    }
}

#[tokio::test]
async fn filters_select_exactly_the_matching_customers() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let sales = UserId::new_random();
    let make = |name: &str, status, kind, tags: &[&str], assigned: Option<UserId>| {
        let mut n = new_customer(name);
        n.status = status;
        n.customer_type = kind;
        n.tags = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
        n.assigned_to = assigned;
        n
    };
    use CustomerStatus::*;
    use CustomerType::*;
    for n in [
        make("a", Lead, Individual, &["vip"], Some(sales)),
        make("b", Active, Business, &["vip", "eu"], None),
        make("c", Active, Individual, &["us"], Some(sales)),
        make("d", Churned, Business, &[], None),
    ] {
        store(&repo, company, n).await;
    }
    let names = |q: CustomerQuery| {
        let repo = repo.clone();
        async move {
            let mut v: Vec<String> = repo
                .list(company, q.clone())
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.name)
                .collect();
            v.sort();
            let count = repo.count(company, q).await.unwrap();
            assert_eq!(count as usize, v.len(), "count agrees with list");
            v
        }
    };
    let q = CustomerQuery::default;
    assert_eq!(
        names(CustomerQuery {
            status: Some(Active),
            ..q()
        })
        .await,
        ["b", "c"]
    );
    assert_eq!(
        names(CustomerQuery {
            customer_type: Some(Business),
            ..q()
        })
        .await,
        ["b", "d"]
    );
    assert_eq!(
        names(CustomerQuery {
            tags_any: vec![Tag::parse("eu").unwrap(), Tag::parse("us").unwrap()],
            ..q()
        })
        .await,
        ["b", "c"]
    );
    assert_eq!(
        names(CustomerQuery {
            assigned_to: Some(sales),
            ..q()
        })
        .await,
        ["a", "c"]
    );
    assert_eq!(
        names(CustomerQuery {
            status: Some(Active),
            assigned_to: Some(sales),
            ..q()
        })
        .await,
        ["c"]
    );
    let future = Utc::now() + Duration::hours(1);
    assert!(names(CustomerQuery {
        created_from: Some(future),
        ..q()
    })
    .await
    .is_empty());
    assert_eq!(
        names(CustomerQuery {
            created_to: Some(future),
            ..q()
        })
        .await
        .len(),
        4
    );
}

#[tokio::test]
async fn the_company_setting_is_transaction_local() {
    let (_tdb, db, repo) = setup().await;
    let company = CompanyId::new_random();
    store(&repo, company, new_customer("x")).await;

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        value: Option<String>,
    }
    let inside: Setting = db
        .tenant_tx(company, |conn| {
            use diesel_async::scoped_futures::ScopedFutureExt;
            async move {
                diesel::sql_query("SELECT current_setting('app.company_id', true) AS value")
                    .get_result(conn)
                    .await
            }
            .scope_boxed()
        })
        .await
        .unwrap();
    assert_eq!(inside.value.as_deref(), Some(company.to_string().as_str()));

    // Every pooled connection, outside a tenant transaction, carries no company: the setting
    // died with the transaction that set it.
    for _ in 0..PoolSettings::default().max_size * 2 {
        let outside: Setting = db
            .unscoped_tx(|conn| {
                use diesel_async::scoped_futures::ScopedFutureExt;
                async move {
                    diesel::sql_query("SELECT current_setting('app.company_id', true) AS value")
                        .get_result(conn)
                        .await
                }
                .scope_boxed()
            })
            .await
            .unwrap();
        assert!(
            outside.value.as_deref().unwrap_or("").is_empty(),
            "leaked company setting: {:?}",
            outside.value
        );
    }
}
