//! Analytics against known data: every figure, time windows, empty days, privacy, and the
//! counters agreeing with direct counts after every kind of change.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use crm_domain::{
    clock, Actor, CompanyId, CreateCustomer, CreateInteraction, CreateNote, Customer,
    CustomerChanges, CustomerRepository, CustomerStatus, CustomerType, DashboardDays,
    InteractionRepository, InteractionStatus, InteractionType, NoteRepository, Role,
    StatsRepository, StatsService, UserId,
};
use crm_postgres::{
    Database, PgCustomerRepository, PgInteractionRepository, PgNoteRepository, PgStatsRepository,
    PoolSettings,
};
use crm_testkit::TestDatabase;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

struct World {
    tdb: TestDatabase,
    customers: Arc<PgCustomerRepository>,
    notes: PgNoteRepository,
    interactions: PgInteractionRepository,
    stats: Arc<PgStatsRepository>,
    company: CompanyId,
    now: DateTime<Utc>,
}

async fn world() -> World {
    let tdb = TestDatabase::new().await;
    let db = Database::connect(tdb.url(), PoolSettings::default()).unwrap();
    World {
        customers: Arc::new(PgCustomerRepository::new(db.clone())),
        notes: PgNoteRepository::new(db.clone()),
        interactions: PgInteractionRepository::new(db.clone()),
        stats: Arc::new(PgStatsRepository::new(db)),
        tdb,
        company: CompanyId::new_random(),
        now: clock::now(),
    }
}

impl World {
    async fn customer(
        &self,
        days_ago: i64,
        status: CustomerStatus,
        kind: CustomerType,
        source: Option<&str>,
        assignee: Option<UserId>,
    ) -> Customer {
        let mut new = CreateCustomer {
            name: format!("c{days_ago}"),
            source: source.map(str::to_owned),
            assigned_to: assignee,
            ..Default::default()
        }
        .validate_for(UserId::new_random())
        .unwrap();
        new.status = status;
        new.customer_type = kind;
        let c = new.into_customer(self.company, self.now - Duration::days(days_ago));
        self.customers.insert(self.company, &c, &[]).await.unwrap();
        c
    }

    async fn note(&self, c: &Customer, by: UserId, private: bool) {
        let n = CreateNote {
            content: "n".into(),
            note_type: None,
            is_private: Some(private),
        }
        .validate_into(self.company, c.id, by, self.now)
        .unwrap();
        self.notes.insert(self.company, &n, &[]).await.unwrap();
    }

    #[allow(clippy::too_many_arguments)]
    async fn interaction(
        &self,
        c: &Customer,
        by: UserId,
        kind: InteractionType,
        status: InteractionStatus,
        created_days_ago: i64,
        scheduled_in_hours: Option<i64>,
        duration: Option<u32>,
    ) {
        let mut i = CreateInteraction {
            interaction_type: kind,
            direction: None,
            subject: "s".into(),
            description: None,
            scheduled_at: scheduled_in_hours.map(|h| self.now + Duration::hours(h)),
            duration_minutes: duration,
            outcome: None,
            status: Some(status),
        }
        .validate_into(
            self.company,
            c.id,
            by,
            self.now - Duration::days(created_days_ago),
        )
        .unwrap();
        if status == InteractionStatus::Completed {
            i.completed_at = Some(self.now - Duration::days(created_days_ago));
        }
        self.interactions
            .insert(self.company, &i, &[])
            .await
            .unwrap();
    }
}

#[derive(QueryableByName)]
struct Mismatch {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The trigger-kept counters equal a direct count over the tables.
async fn assert_counters_exact(w: &World) {
    let mut conn = w.tdb.connect().await;
    let direct = "
        SELECT 'customers' m, '' k, count(*) c FROM crm.customers WHERE company_id = $1::uuid
        UNION ALL SELECT 'customers.status', status, count(*) FROM crm.customers WHERE company_id = $1::uuid GROUP BY 2
        UNION ALL SELECT 'customers.type', type, count(*) FROM crm.customers WHERE company_id = $1::uuid GROUP BY 2
        UNION ALL SELECT 'customers.source', coalesce(source, ''), count(*) FROM crm.customers WHERE company_id = $1::uuid GROUP BY 2
        UNION ALL SELECT 'customers.assigned', coalesce(assigned_to::text, ''), count(*) FROM crm.customers WHERE company_id = $1::uuid GROUP BY 2
        UNION ALL SELECT 'notes.public', '', count(*) FROM crm.customer_notes WHERE company_id = $1::uuid AND NOT is_private HAVING count(*) > 0
        UNION ALL SELECT 'notes.private', created_by::text, count(*) FROM crm.customer_notes WHERE company_id = $1::uuid AND is_private GROUP BY 2
        UNION ALL SELECT 'interactions', '', count(*) FROM crm.customer_interactions WHERE company_id = $1::uuid HAVING count(*) > 0
        UNION ALL SELECT 'interactions.type', type, count(*) FROM crm.customer_interactions WHERE company_id = $1::uuid GROUP BY 2
        UNION ALL SELECT 'interactions.status', status, count(*) FROM crm.customer_interactions WHERE company_id = $1::uuid GROUP BY 2";
    let sql = format!(
        "WITH direct AS ({direct}), kept AS (SELECT metric m, key k, count c FROM crm.stat_counters WHERE company_id = $1::uuid)
         SELECT count(*) AS n FROM ((SELECT * FROM direct WHERE c > 0 EXCEPT SELECT * FROM kept)
                                    UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM direct)) x"
    );
    let m: Mismatch = diesel::sql_query(sql)
        .bind::<Text, _>(w.company.to_string())
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(m.n, 0, "stat_counters differ from a direct count");
    let days: Mismatch = diesel::sql_query(
        "WITH direct AS (
            SELECT 'customers.created' m, (created_at AT TIME ZONE 'UTC')::date d, count(*) c FROM crm.customers WHERE company_id = $1::uuid GROUP BY 2
            UNION ALL SELECT 'interactions.created', (created_at AT TIME ZONE 'UTC')::date, count(*) FROM crm.customer_interactions WHERE company_id = $1::uuid GROUP BY 2
            UNION ALL SELECT 'interactions.completed', (completed_at AT TIME ZONE 'UTC')::date, count(*) FROM crm.customer_interactions WHERE company_id = $1::uuid AND completed_at IS NOT NULL GROUP BY 2),
         kept AS (SELECT metric m, day d, count c FROM crm.daily_counts WHERE company_id = $1::uuid)
         SELECT count(*) AS n FROM ((SELECT * FROM direct EXCEPT SELECT * FROM kept) UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM direct)) x",
    )
    .bind::<Text, _>(w.company.to_string())
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(days.n, 0, "daily_counts differ from a direct count");
}

#[tokio::test]
async fn company_totals_match_known_data() {
    let w = world().await;
    let (alice, bob) = (UserId::new_random(), UserId::new_random());
    use CustomerStatus::*;
    use CustomerType::*;
    let today = w
        .customer(0, Lead, Individual, Some("web"), Some(alice))
        .await;
    let three = w
        .customer(3, Active, Business, Some("web"), Some(alice))
        .await;
    let ten = w.customer(10, Active, Individual, None, Some(bob)).await;
    w.customer(40, Churned, Business, Some("event"), None).await;
    w.note(&today, alice, false).await;
    w.note(&today, alice, true).await;
    w.note(&three, bob, true).await;
    w.interaction(
        &ten,
        alice,
        InteractionType::Call,
        InteractionStatus::Completed,
        1,
        None,
        Some(10),
    )
    .await;
    w.interaction(
        &ten,
        alice,
        InteractionType::Email,
        InteractionStatus::Scheduled,
        0,
        Some(5),
        None,
    )
    .await;
    // Another company's data, in the same database, must not count.
    let elsewhere = CompanyId::new_random();
    let stranger = CreateCustomer {
        name: "x".into(),
        source: Some("web".into()),
        ..Default::default()
    }
    .validate_for(alice)
    .unwrap()
    .into_customer(elsewhere, w.now);
    w.customers.insert(elsewhere, &stranger, &[]).await.unwrap();
    let private = CreateNote {
        content: "n".into(),
        note_type: None,
        is_private: Some(false),
    }
    .validate_into(elsewhere, stranger.id, alice, w.now)
    .unwrap();
    w.notes.insert(elsewhere, &private, &[]).await.unwrap();

    let s = w
        .stats
        .company(w.company, alice, w.now.date_naive())
        .await
        .unwrap();
    assert_eq!(s.customers_total, 4);
    assert_eq!(
        s.customers_by_status,
        [
            ("active".into(), 2),
            ("churned".into(), 1),
            ("lead".into(), 1)
        ]
        .into()
    );
    assert_eq!(
        s.customers_by_type,
        [("business".into(), 2), ("individual".into(), 2)].into()
    );
    assert_eq!(
        s.customers_by_source,
        [("".into(), 1), ("event".into(), 1), ("web".into(), 2)].into()
    );
    assert_eq!(s.notes_total, 2, "public + alice's own private note");
    assert_eq!(
        w.stats
            .company(w.company, bob, w.now.date_naive())
            .await
            .unwrap()
            .notes_total,
        2,
        "public + bob's"
    );
    assert_eq!(
        w.stats
            .company(w.company, UserId::new_random(), w.now.date_naive())
            .await
            .unwrap()
            .notes_total,
        1
    );
    assert_eq!(s.interactions_total, 2);
    assert_eq!(
        s.interactions_by_type,
        [("call".into(), 1), ("email".into(), 1)].into()
    );
    assert_eq!(
        s.interactions_by_status,
        [("completed".into(), 1), ("scheduled".into(), 1)].into()
    );
    assert_eq!(s.new_customers_last_7_days, 2, "today and 3 days ago");
    assert_eq!(s.new_customers_last_30_days, 3, "and 10 days ago, not 40");
    assert_counters_exact(&w).await;

    // Changes and deletes keep the counters exact.
    let changes = CustomerChanges {
        status: Some(Prospect),
        customer_type: Some(Business),
        source: Some(None),
        assigned_to: Some(Some(bob)),
        ..Default::default()
    };
    let after = changes.apply(&today, clock::after(today.updated_at));
    assert!(w
        .customers
        .update(w.company, &after, today.updated_at, &[])
        .await
        .unwrap());
    assert_counters_exact(&w).await;
    w.customers.delete(w.company, &ten, &[]).await.unwrap();
    assert_counters_exact(&w).await;
    let s = w
        .stats
        .company(w.company, alice, w.now.date_naive())
        .await
        .unwrap();
    assert_eq!(s.customers_total, 3);
    assert_eq!(s.interactions_total, 0, "deleted with their customer");
}

#[tokio::test]
async fn the_dashboard_has_every_day_and_the_right_buckets() {
    let w = world().await;
    let alice = UserId::new_random();
    use CustomerStatus::*;
    let c = w
        .customer(2, Lead, CustomerType::Individual, None, None)
        .await;
    w.customer(2, Lead, CustomerType::Individual, None, None)
        .await;
    w.customer(0, Lead, CustomerType::Individual, None, None)
        .await;
    // Created 4 days ago and completed then; another created today.
    w.interaction(
        &c,
        alice,
        InteractionType::Call,
        InteractionStatus::Completed,
        4,
        None,
        Some(20),
    )
    .await;
    // Upcoming: in 5 hours and in 3 days; not in 8 days.
    w.interaction(
        &c,
        alice,
        InteractionType::Meeting,
        InteractionStatus::Scheduled,
        0,
        Some(5),
        None,
    )
    .await;
    w.interaction(
        &c,
        alice,
        InteractionType::Meeting,
        InteractionStatus::Scheduled,
        0,
        Some(72),
        None,
    )
    .await;
    w.interaction(
        &c,
        alice,
        InteractionType::Meeting,
        InteractionStatus::Scheduled,
        0,
        Some(8 * 24),
        None,
    )
    .await;
    // Overdue: scheduled in the past; a cancelled one in the past is not overdue.
    w.interaction(
        &c,
        alice,
        InteractionType::Task,
        InteractionStatus::Scheduled,
        0,
        Some(-30),
        None,
    )
    .await;
    w.interaction(
        &c,
        alice,
        InteractionType::Task,
        InteractionStatus::Cancelled,
        0,
        Some(-30),
        None,
    )
    .await;

    let svc = StatsService::new(w.stats.clone(), w.customers.clone());
    let actor = Actor::new(alice, w.company, Role::User);
    let d = svc
        .dashboard(&actor, DashboardDays::new(Some(5)).unwrap(), w.now)
        .await
        .unwrap();
    let today = w.now.date_naive();
    assert_eq!(d.series.len(), 5);
    assert_eq!(d.series[0].day, today - Duration::days(4));
    assert_eq!(d.series[4].day, today);
    let by = |days_ago: i64| d.series[(4 - days_ago) as usize];
    assert_eq!(
        (
            by(0).new_customers,
            by(1).new_customers,
            by(2).new_customers
        ),
        (1, 0, 2)
    );
    assert_eq!(
        by(3).new_customers + by(3).interactions_created + by(3).interactions_completed,
        0,
        "an empty day"
    );
    assert_eq!(
        (by(4).interactions_created, by(4).interactions_completed),
        (1, 1)
    );
    assert_eq!(by(0).interactions_created, 5);
    assert_eq!(d.upcoming.count, 2);
    assert!(d
        .upcoming
        .items
        .windows(2)
        .all(|p| p[0].scheduled_at <= p[1].scheduled_at));
    assert_eq!(d.overdue.count, 1);
    assert_eq!(d.overdue.items[0].interaction_type, InteractionType::Task);
    assert_counters_exact(&w).await;
}

#[tokio::test]
async fn performance_and_customer_activity() {
    let w = world().await;
    let (alice, bob) = (UserId::new_random(), UserId::new_random());
    use CustomerStatus::*;
    let a = w
        .customer(1, Lead, CustomerType::Individual, None, Some(alice))
        .await;
    w.customer(1, Lead, CustomerType::Individual, None, Some(alice))
        .await;
    w.customer(1, Lead, CustomerType::Individual, None, Some(bob))
        .await;
    w.interaction(
        &a,
        alice,
        InteractionType::Call,
        InteractionStatus::Completed,
        1,
        None,
        Some(10),
    )
    .await;
    w.interaction(
        &a,
        alice,
        InteractionType::Call,
        InteractionStatus::Completed,
        2,
        None,
        Some(30),
    )
    .await;
    w.interaction(
        &a,
        bob,
        InteractionType::Email,
        InteractionStatus::Scheduled,
        1,
        Some(48),
        None,
    )
    .await;
    w.interaction(
        &a,
        bob,
        InteractionType::Email,
        InteractionStatus::Completed,
        60,
        None,
        Some(99),
    )
    .await;
    // A win, through the service so it is recorded in the history.
    let svc = crm_domain::CustomerService::new(w.customers.clone(), Arc::new(Nowhere));
    let manager = Actor::new(UserId::new_random(), w.company, Role::Manager);
    let win = crm_domain::UpdateCustomer {
        status: Some(Active),
        ..Default::default()
    };
    svc.update(&manager, a.id, win).await.unwrap();

    let report = w
        .stats
        .performance(
            w.company,
            w.now - Duration::days(7),
            w.now + Duration::minutes(1),
        )
        .await
        .unwrap();
    let of = |u: UserId| report.iter().find(|p| p.user_id == u).unwrap().clone();
    let (ra, rb) = (of(alice), of(bob));
    assert_eq!((ra.interactions_created, ra.interactions_completed), (2, 2));
    assert_eq!(ra.average_duration_minutes, Some(20.0));
    assert_eq!(ra.customers_assigned, 2);
    assert_eq!(
        ra.customers_won, 1,
        "credited to the assignee, not the manager"
    );
    assert_eq!(
        (rb.interactions_created, rb.interactions_completed),
        (1, 0),
        "the 60-day-old one is outside"
    );
    assert_eq!(rb.customers_assigned, 1);
    assert!(report
        .iter()
        .all(|p| p.user_id != manager.user() || p.customers_won == 0));

    w.note(&a, alice, false).await;
    w.note(&a, alice, true).await;
    w.note(&a, bob, true).await;
    let stats = StatsService::new(w.stats.clone(), w.customers.clone());
    let as_alice = Actor::new(alice, w.company, Role::User);
    let act = stats
        .customer_activity(&as_alice, a.id, w.now)
        .await
        .unwrap();
    assert_eq!(
        act.notes_total, 2,
        "bob's private note is not counted for alice"
    );
    assert_eq!(act.interactions_total, 4);
    assert_eq!(
        act.interactions_by_type,
        [("call".into(), 2), ("email".into(), 2)].into()
    );
    assert_eq!(
        act.interactions_by_status,
        [("completed".into(), 3), ("scheduled".into(), 1)].into()
    );
    assert_eq!(act.last_contact_at, Some(w.now - Duration::days(1)));
    assert_eq!(act.days_since_last_contact, Some(1));
    assert_eq!(act.next_scheduled_at, Some(w.now + Duration::hours(48)));
    let stranger = Actor::new(alice, CompanyId::new_random(), Role::Admin);
    assert!(stats
        .customer_activity(&stranger, a.id, w.now)
        .await
        .is_err());
}

struct Nowhere;

#[async_trait::async_trait]
impl crm_domain::EventPublisher for Nowhere {
    async fn publish(&self, _: crm_domain::EventEnvelope) {}
}
