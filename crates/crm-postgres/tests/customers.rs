//! The customer repository against a real PostgreSQL, one fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;

use chrono::{Duration, Utc};
use crm_domain::{
    clock, CompanyId, CreateCustomer, Customer, CustomerChanges, CustomerFilter, CustomerId,
    CustomerQuery, CustomerRepository, CustomerSort, CustomerStatus, CustomerType, DomainError,
    Email, NewCustomer, PageLimit, SearchQuery, SearchText, Tag, TagQuery, UserId,
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
    assert_eq!(repo.count(theirs, q.filter).await.unwrap(), 0);

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
    let make = |name: &str,
                status,
                kind,
                tags: &[&str],
                assigned: Option<UserId>,
                meta: serde_json::Value| {
        let mut n = new_customer(name);
        n.status = status;
        n.customer_type = kind;
        n.tags = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
        n.assigned_to = assigned;
        n.metadata = meta.as_object().cloned().unwrap();
        n
    };
    use CustomerStatus::*;
    use CustomerType::*;
    for n in [
        make(
            "a",
            Lead,
            Individual,
            &["vip"],
            Some(sales),
            json!({"tier": "gold", "n": 1}),
        ),
        make(
            "b",
            Active,
            Business,
            &["vip", "eu"],
            None,
            json!({"tier": "silver"}),
        ),
        make(
            "c",
            Active,
            Individual,
            &["us"],
            Some(sales),
            json!({"tier": "gold", "region": {"x": 1}}),
        ),
        make("d", Churned, Business, &[], None, json!({})),
    ] {
        store(&repo, company, n).await;
    }
    // Noise in another company that matches every filter.
    store(
        &repo,
        CompanyId::new_random(),
        make(
            "z",
            Active,
            Business,
            &["vip", "eu", "us"],
            Some(sales),
            json!({"tier": "gold"}),
        ),
    )
    .await;
    let names = |filter: CustomerFilter| {
        let repo = repo.clone();
        async move {
            let query = CustomerQuery {
                filter: filter.clone(),
                ..Default::default()
            };
            let mut v: Vec<String> = repo
                .list(company, query)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.name)
                .collect();
            v.sort();
            let count = repo.count(company, filter).await.unwrap();
            assert_eq!(count as usize, v.len(), "count agrees with list");
            v
        }
    };
    let f = CustomerFilter::default;
    let tags = |t: &[&str]| t.iter().map(|t| Tag::parse(t).unwrap()).collect::<Vec<_>>();
    assert_eq!(
        names(CustomerFilter {
            status: Some(Active),
            ..f()
        })
        .await,
        ["b", "c"]
    );
    assert_eq!(
        names(CustomerFilter {
            customer_type: Some(Business),
            ..f()
        })
        .await,
        ["b", "d"]
    );
    assert_eq!(
        names(CustomerFilter {
            tags_any: tags(&["eu", "us"]),
            ..f()
        })
        .await,
        ["b", "c"]
    );
    assert_eq!(
        names(CustomerFilter {
            tags_all: tags(&["vip", "eu"]),
            ..f()
        })
        .await,
        ["b"]
    );
    assert_eq!(
        names(CustomerFilter {
            tags_all: tags(&["vip"]),
            ..f()
        })
        .await,
        ["a", "b"]
    );
    assert_eq!(
        names(CustomerFilter {
            assigned_to: Some(sales),
            ..f()
        })
        .await,
        ["a", "c"]
    );
    let gold = json!({"tier": "gold"}).as_object().cloned();
    assert_eq!(
        names(CustomerFilter {
            metadata: gold.clone(),
            ..f()
        })
        .await,
        ["a", "c"]
    );
    let nested = json!({"region": {"x": 1}}).as_object().cloned();
    assert_eq!(
        names(CustomerFilter {
            metadata: nested,
            ..f()
        })
        .await,
        ["c"]
    );
    assert_eq!(
        names(CustomerFilter {
            status: Some(Active),
            assigned_to: Some(sales),
            metadata: gold,
            ..f()
        })
        .await,
        ["c"]
    );
    let future = Utc::now() + Duration::hours(1);
    let past = Utc::now() - Duration::hours(1);
    assert!(names(CustomerFilter {
        created_from: Some(future),
        ..f()
    })
    .await
    .is_empty());
    assert_eq!(
        names(CustomerFilter {
            created_to: Some(future),
            ..f()
        })
        .await
        .len(),
        4
    );
    assert_eq!(
        names(CustomerFilter {
            updated_from: Some(past),
            updated_to: Some(future),
            ..f()
        })
        .await
        .len(),
        4
    );
    assert!(names(CustomerFilter {
        updated_to: Some(past),
        ..f()
    })
    .await
    .is_empty());
}

async fn search(
    repo: &PgCustomerRepository,
    company: CompanyId,
    text: &str,
    filter: CustomerFilter,
) -> Vec<String> {
    let query = SearchQuery {
        text: SearchText::parse(text).unwrap(),
        filter,
        limit: PageLimit::new(Some(100)).unwrap(),
        after: None,
    };
    repo.search(company, query)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.customer.name)
        .collect()
}

#[tokio::test]
async fn search_finds_fragments_and_typos_best_first() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let with = |name: &str, email: Option<&str>, phone: Option<&str>, org: Option<&str>| {
        let mut n = new_customer(name);
        n.email = email.map(|e| Email::parse(e).unwrap());
        n.phone = phone.map(str::to_owned);
        n.company_name = org.map(str::to_owned);
        n
    };
    for n in [
        with(
            "Ada Lovelace",
            Some("ada@engines.co.uk"),
            Some("+44 20 7946 0011"),
            Some("Analytical Engines"),
        ),
        with("Lovelace Studio", None, None, None),
        with(
            "Grace Hopper",
            Some("grace@navy.mil"),
            None,
            Some("US Navy"),
        ),
        with(
            "Alan Turing",
            Some("alan@bletchley.uk"),
            Some("+44 1908 640404"),
            None,
        ),
        with("100% Organic_Farms", None, None, None),
    ] {
        store(&repo, company, n).await;
    }
    store(
        &repo,
        CompanyId::new_random(),
        with("Ada Lovelace", None, None, None),
    )
    .await;

    // A fragment anywhere in name, email, phone or organisation.
    assert_eq!(
        search(&repo, company, "lovelace", CustomerFilter::default()).await,
        ["Lovelace Studio", "Ada Lovelace"]
    );
    assert_eq!(
        search(&repo, company, "NAVY", CustomerFilter::default()).await,
        ["Grace Hopper"]
    );
    assert_eq!(
        search(&repo, company, "bletchley", CustomerFilter::default()).await,
        ["Alan Turing"]
    );
    assert_eq!(
        search(&repo, company, "7946", CustomerFilter::default()).await,
        ["Ada Lovelace"]
    );
    assert_eq!(
        search(&repo, company, "analytical eng", CustomerFilter::default()).await,
        ["Ada Lovelace"]
    );
    // A typo in a name.
    assert_eq!(
        search(&repo, company, "Lovelase", CustomerFilter::default())
            .await
            .len(),
        2
    );
    assert_eq!(
        search(&repo, company, "grace hoper", CustomerFilter::default()).await,
        ["Grace Hopper"]
    );
    // LIKE wildcards in the text match literally.
    assert_eq!(
        search(&repo, company, "100%", CustomerFilter::default()).await,
        ["100% Organic_Farms"]
    );
    assert!(search(&repo, company, "a_a", CustomerFilter::default())
        .await
        .is_empty());
    // Nothing like it.
    assert!(search(&repo, company, "zzzqqq", CustomerFilter::default())
        .await
        .is_empty());
    // Combined with a filter.
    let churned = CustomerFilter {
        status: Some(CustomerStatus::Churned),
        ..Default::default()
    };
    assert!(search(&repo, company, "lovelace", churned).await.is_empty());
}

#[tokio::test]
async fn search_pages_walk_every_match_once() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    for i in 0..17 {
        store(&repo, company, new_customer(&format!("Widget Co {i:02}"))).await;
    }
    let mut seen = HashSet::new();
    let mut after = None;
    let mut last_rank = i64::MAX;
    loop {
        let query = SearchQuery {
            text: SearchText::parse("widget").unwrap(),
            filter: CustomerFilter::default(),
            limit: PageLimit::new(Some(5)).unwrap(),
            after,
        };
        let mut rows = repo.search(company, query).await.unwrap();
        let more = rows.len() > 5;
        rows.truncate(5);
        for r in &rows {
            assert!(r.rank <= last_rank, "best first");
            last_rank = r.rank;
            assert!(seen.insert(r.customer.id), "no repeats");
        }
        after = rows.last().map(|r| (r.rank, r.customer.id.as_uuid()));
        if !more {
            break;
        }
    }
    assert_eq!(seen.len(), 17);
}

#[tokio::test]
async fn tag_counts_follow_every_change() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let tagged = |name: &str, tags: &[&str]| {
        let mut n = new_customer(name);
        n.tags = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
        n
    };
    let a = store(&repo, company, tagged("a", &["vip", "eu"])).await;
    store(&repo, company, tagged("b", &["vip"])).await;
    store(
        &repo,
        CompanyId::new_random(),
        tagged("x", &["vip", "other"]),
    )
    .await;
    let counts = |repo: PgCustomerRepository| async move {
        repo.tag_counts(company, TagQuery::default())
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.tag.as_str().to_owned(), t.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counts(repo.clone()).await,
        [("vip".into(), 2), ("eu".into(), 1)]
    );
    let changes = CustomerChanges {
        tags: Some(vec![Tag::parse("us").unwrap(), Tag::parse("vip").unwrap()]),
        ..Default::default()
    };
    let a = change(&repo, company, &a, changes).await.unwrap().unwrap();
    assert_eq!(
        counts(repo.clone()).await,
        [("vip".into(), 2), ("us".into(), 1)]
    );
    repo.delete(company, &a, &[]).await.unwrap();
    assert_eq!(counts(repo.clone()).await, [("vip".into(), 1)]);
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

/// Search reads its rank tiers (exact name, name prefix, elsewhere) one after the other; pages
/// of any size must give the same sequence as one big page, best tier first, and a cursor in
/// one tier must continue into the next.
#[tokio::test]
async fn search_pages_run_across_the_rank_tiers_in_order() {
    let (_tdb, _db, repo) = setup().await;
    let company = CompanyId::new_random();
    let mut expected_tiers = Vec::new();
    for (name, email, tier) in [
        ("Ada", None, 3),
        ("ada", None, 3),
        ("ADA", Some("ada.one@example.com"), 3),
        ("Ada Lovelace", None, 2),
        ("Adalbert", None, 2),
        ("Ada King", Some("king@example.com"), 2),
        ("Nevada Jones", None, 1),
        ("Grace", Some("ada@navy.mil"), 1),
        ("Canada Dry", None, 1),
        ("Smith Ada", None, 1),
        ("Lee Ada", None, 1),
        ("Kim Ada", Some("kim@example.com"), 1),
        ("Bob", None, 0),
    ] {
        let mut n = new_customer(name);
        n.email = email.map(|e| Email::parse(e).unwrap());
        let id = store(&repo, company, n).await.id;
        if tier > 0 {
            expected_tiers.push((id, tier));
        }
    }
    let page = |repo: PgCustomerRepository, limit: u32, after: Option<(i64, uuid::Uuid)>| async move {
        repo.search(
            company,
            SearchQuery {
                text: SearchText::parse("ada").unwrap(),
                filter: CustomerFilter::default(),
                limit: PageLimit::new(Some(limit)).unwrap(),
                after,
            },
        )
        .await
        .unwrap()
    };
    let all: Vec<(CustomerId, i64)> = page(repo.clone(), 100, None)
        .await
        .into_iter()
        .map(|r| (r.customer.id, r.rank))
        .collect();
    assert_eq!(all.len(), expected_tiers.len(), "every match, nothing else");
    // Best tier first, and each row in the tier it belongs to.
    let tiers: Vec<i64> = all.iter().map(|(_, rank)| rank / 1_000_000).collect();
    let mut sorted = tiers.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(tiers, sorted);
    for (id, rank) in &all {
        let tier = expected_tiers.iter().find(|(e, _)| e == id).unwrap().1;
        assert_eq!(rank / 1_000_000, tier, "{id:?}");
    }
    // Any window (the newest ids read for a tier's best rank) gives the same pages: one that
    // holds the whole company, and ones that stop early or fall back to ranking the tier.
    for (window, limit) in [100, 3, 2, 1]
        .into_iter()
        .flat_map(|w| (1..=4).map(move |l| (w, l)))
    {
        let repo = repo.clone().with_search_window(window);
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let rows = page(repo.clone(), limit, after).await;
            let more = rows.len() > limit as usize;
            let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
            walked.extend(rows.iter().map(|r| (r.customer.id, r.rank)));
            assert!(
                walked.len() <= all.len(),
                "pages repeat: window {window}, limit {limit}"
            );
            match rows.last() {
                Some(last) if more => after = Some((last.rank, last.customer.id.as_uuid())),
                _ => break,
            }
        }
        assert_eq!(walked, all, "pages of {limit}, window {window}");
    }
}

/// A fragment of a word: the newest customers' best matches fill a page only if no older
/// customer ranks higher; the window must prove that, or rank the whole tier.
#[tokio::test]
async fn search_windows_below_the_best_rank_are_proven_or_abandoned() {
    let (_tdb, _db, repo) = setup().await;
    let search = |repo: PgCustomerRepository,
                  company: CompanyId,
                  limit: u32,
                  after: Option<(i64, uuid::Uuid)>| async move {
        repo.search(
            company,
            SearchQuery {
                text: SearchText::parse("ovel").unwrap(),
                filter: CustomerFilter::default(),
                limit: PageLimit::new(Some(limit)).unwrap(),
                after,
            },
        )
        .await
        .unwrap()
    };
    let walk = |repo: PgCustomerRepository, company: CompanyId| async move {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let rows = search(repo.clone(), company, 2, after).await;
            let more = rows.len() > 2;
            let rows: Vec<_> = rows.into_iter().take(2).collect();
            walked.extend(
                rows.iter()
                    .map(|r| (r.customer.id, r.customer.name.clone())),
            );
            assert!(walked.len() <= 20, "pages repeat");
            match rows.last() {
                Some(last) if more => after = Some((last.rank, last.customer.id.as_uuid())),
                _ => break,
            }
        }
        walked
    };
    let lovelaces = ["Ann Lovelace", "Bo Lovelace", "Cy Lovelace", "Di Lovelace"];
    // An older customer whose name holds the text as a whole word outranks the newer ones,
    // which hold it inside a word (a lower similarity, the same for all).
    let outranked = CompanyId::new_random();
    store(&repo, outranked, new_customer("Tan Ovel")).await;
    let plain = CompanyId::new_random();
    for company in [outranked, plain] {
        for name in lovelaces {
            store(&repo, company, new_customer(name)).await;
        }
    }
    for company in [outranked, plain] {
        // One page of everything: the whole tier ranked.
        let reference: Vec<_> = search(repo.clone(), company, 100, None)
            .await
            .into_iter()
            .map(|r| (r.customer.id, r.customer.name))
            .collect();
        for window in [100, 3, 2, 1] {
            let walked = walk(repo.clone().with_search_window(window), company).await;
            assert_eq!(walked, reference, "window {window}");
        }
    }
    let first = search(repo.clone().with_search_window(2), outranked, 2, None).await;
    assert_eq!(first[0].customer.name, "Tan Ovel");
    assert_eq!(search(repo.clone(), plain, 100, None).await.len(), 4);
}
