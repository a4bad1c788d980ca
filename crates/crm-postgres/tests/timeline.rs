//! Notes, interactions and history through the domain services over the real PostgreSQL
//! repositories: privacy, order, content, survival of history and cascades.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use crm_domain::{
    Actor, CompanyId, CompleteInteraction, CreateCustomer, CreateInteraction, CreateNote, Customer,
    CustomerService, EventEnvelope, EventPublisher, HistoryService, Interaction, InteractionQuery,
    InteractionService, InteractionStatus, InteractionType, NoteService, Role, UpdateCustomer,
    UpdateNote, UserId, Window,
};
use crm_postgres::{
    Database, PgCustomerRepository, PgHistoryRepository, PgInteractionRepository, PgNoteRepository,
    PoolSettings,
};
use crm_testkit::TestDatabase;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

struct Nowhere;

#[async_trait]
impl EventPublisher for Nowhere {
    async fn publish(&self, _: EventEnvelope) {}
}

struct Crm {
    tdb: TestDatabase,
    customers: CustomerService,
    notes: NoteService,
    interactions: InteractionService,
    history: HistoryService,
}

async fn crm() -> Crm {
    let tdb = TestDatabase::new().await;
    let db = Database::connect(tdb.url(), PoolSettings::default()).unwrap();
    let customers = Arc::new(PgCustomerRepository::new(db.clone()));
    let events = Arc::new(Nowhere);
    Crm {
        customers: CustomerService::new(customers.clone(), events.clone()),
        notes: NoteService::new(
            customers.clone(),
            Arc::new(PgNoteRepository::new(db.clone())),
            events.clone(),
        ),
        interactions: InteractionService::new(
            customers.clone(),
            Arc::new(PgInteractionRepository::new(db.clone())),
            events,
        ),
        history: HistoryService::new(customers, Arc::new(PgHistoryRepository::new(db))),
        tdb,
    }
}

fn people() -> (Actor, Actor, Actor) {
    let company = CompanyId::new_random();
    (
        Actor::new(UserId::new_random(), company, Role::User),
        Actor::new(UserId::new_random(), company, Role::User),
        Actor::new(UserId::new_random(), company, Role::Admin),
    )
}

async fn customer(crm: &Crm, by: &Actor) -> Customer {
    crm.customers
        .create(
            by,
            CreateCustomer {
                name: "Initech".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

fn note(text: &str, private: bool) -> CreateNote {
    CreateNote {
        content: text.into(),
        note_type: None,
        is_private: Some(private),
    }
}

fn meeting(subject: &str) -> CreateInteraction {
    CreateInteraction {
        interaction_type: InteractionType::Meeting,
        direction: None,
        subject: subject.into(),
        description: None,
        scheduled_at: None,
        duration_minutes: None,
        outcome: None,
        status: None,
    }
}

async fn history_types(crm: &Crm, who: &Actor, c: &Customer) -> Vec<String> {
    let page = crm
        .history
        .list(who, c.id, Window::new(Some(100), None).unwrap())
        .await
        .unwrap();
    page.items.into_iter().map(|e| e.entry_type).collect()
}

#[tokio::test]
async fn private_notes_are_invisible_to_everyone_else_in_lists_and_history() {
    let crm = crm().await;
    let (author, colleague, admin) = people();
    let c = customer(&crm, &admin).await;
    let secret = crm
        .notes
        .create(&author, c.id, note("my secret", true))
        .await
        .unwrap();
    let open = crm
        .notes
        .create(&author, c.id, note("for all", false))
        .await
        .unwrap();

    let window = || Window::new(None, None).unwrap();
    let mine = crm.notes.list(&author, c.id, window()).await.unwrap();
    assert_eq!(
        mine.items.iter().map(|n| n.id).collect::<Vec<_>>(),
        [open.id, secret.id]
    );
    for other in [&colleague, &admin] {
        let theirs = crm.notes.list(other, c.id, window()).await.unwrap();
        assert_eq!(
            theirs.items.iter().map(|n| n.id).collect::<Vec<_>>(),
            [open.id]
        );
        assert!(crm.notes.get(other, c.id, secret.id).await.is_err());
        let history = history_types(&crm, other, &c).await;
        assert_eq!(history, ["note.created", "customer.created"]);
    }
    assert_eq!(
        history_types(&crm, &author, &c).await,
        ["note.created", "note.created", "customer.created"]
    );

    // Making the public note private hides its whole history from the others...
    let hide = UpdateNote {
        is_private: Some(true),
        ..Default::default()
    };
    crm.notes
        .update(&author, c.id, open.id, hide)
        .await
        .unwrap();
    assert_eq!(
        history_types(&crm, &colleague, &c).await,
        ["customer.created"]
    );
    // ...and making it public again shows it.
    let show = UpdateNote {
        is_private: Some(false),
        ..Default::default()
    };
    crm.notes
        .update(&author, c.id, open.id, show)
        .await
        .unwrap();
    assert_eq!(
        history_types(&crm, &colleague, &c).await,
        [
            "note.updated",
            "note.updated",
            "note.created",
            "customer.created"
        ]
    );
}

#[tokio::test]
async fn history_is_newest_first_with_what_happened() {
    let crm = crm().await;
    let (user, _, admin) = people();
    let c = customer(&crm, &admin).await;
    let rename = UpdateCustomer {
        name: Some("Initrode".into()),
        ..Default::default()
    };
    crm.customers.update(&admin, c.id, rename).await.unwrap();
    let n = crm
        .notes
        .create(&user, c.id, note("Spoke to Bill", false))
        .await
        .unwrap();
    let i = crm
        .interactions
        .create(&user, c.id, meeting("Kick-off"))
        .await
        .unwrap();
    let done = CompleteInteraction {
        outcome: Some("Agreed".into()),
        duration_minutes: Some(45),
    };
    crm.interactions
        .complete(&user, c.id, i.id, done)
        .await
        .unwrap();

    // Walk two entries at a time.
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let window = Window::new(Some(2), cursor.as_deref()).unwrap();
        let page = crm.history.list(&user, c.id, window).await.unwrap();
        entries.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let types: Vec<&str> = entries.iter().map(|e| e.entry_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "interaction.completed",
            "interaction.created",
            "note.created",
            "customer.updated",
            "customer.created"
        ]
    );
    assert!(entries
        .windows(2)
        .all(|w| w[0].occurred_at >= w[1].occurred_at));
    let by_type = |t: &str| entries.iter().find(|e| e.entry_type == t).unwrap();
    assert_eq!(
        by_type("customer.updated").data["changes"]["name"],
        serde_json::json!({"before": "Initech", "after": "Initrode"})
    );
    assert_eq!(by_type("customer.updated").actor, admin.user());
    assert_eq!(by_type("note.created").data["content"], "Spoke to Bill");
    assert_eq!(by_type("note.created").entity_id, n.id.as_uuid());
    assert_eq!(by_type("interaction.completed").data["outcome"], "Agreed");
    assert_eq!(by_type("interaction.completed").data["durationMinutes"], 45);
    assert_eq!(by_type("interaction.completed").actor, user.user());
}

#[tokio::test]
async fn history_survives_the_deletion_of_what_it_mentions() {
    let crm = crm().await;
    let (user, _, admin) = people();
    let c = customer(&crm, &admin).await;
    let n = crm
        .notes
        .create(&user, c.id, note("Temporary", false))
        .await
        .unwrap();
    let edit = UpdateNote {
        content: Some("Edited".into()),
        ..Default::default()
    };
    crm.notes.update(&user, c.id, n.id, edit).await.unwrap();
    crm.notes.delete(&user, c.id, n.id).await.unwrap();
    let page = crm
        .history
        .list(&user, c.id, Window::new(None, None).unwrap())
        .await
        .unwrap();
    let types: Vec<&str> = page.items.iter().map(|e| e.entry_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "note.deleted",
            "note.updated",
            "note.created",
            "customer.created"
        ]
    );
    assert_eq!(page.items[2].data["content"], "Temporary");
    assert_eq!(
        page.items[1].data["changes"]["content"],
        serde_json::json!({"before": "Temporary", "after": "Edited"})
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn deleting_a_customer_takes_its_notes_interactions_and_history() {
    let crm = crm().await;
    let (user, _, admin) = people();
    let doomed = customer(&crm, &admin).await;
    let kept = customer(&crm, &admin).await;
    for c in [&doomed, &kept] {
        crm.notes
            .create(&user, c.id, note("n", false))
            .await
            .unwrap();
        crm.interactions
            .create(&user, c.id, meeting("m"))
            .await
            .unwrap();
    }
    crm.customers.delete(&admin, doomed.id).await.unwrap();

    let mut conn = crm.tdb.connect().await;
    for table in ["customer_notes", "customer_interactions", "activities"] {
        for (c, expected) in [
            (&doomed, 0),
            (&kept, if table == "activities" { 3 } else { 1 }),
        ] {
            let count: Count = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM crm.{table} WHERE customer_id = $1::uuid"
            ))
            .bind::<Text, _>(c.id.to_string())
            .get_result(&mut conn)
            .await
            .unwrap();
            assert_eq!(count.n, expected, "{table} rows of {}", c.name);
        }
    }
    // Nothing to add to a deleted customer.
    assert!(crm
        .notes
        .create(&user, doomed.id, note("late", false))
        .await
        .is_err());
}

#[tokio::test]
async fn interactions_filter_and_page_newest_first() {
    let crm = crm().await;
    let (user, _, admin) = people();
    let c = customer(&crm, &admin).await;
    let mut created: Vec<Interaction> = Vec::new();
    for i in 0..7 {
        let mut cmd = meeting(&format!("m{i}"));
        if i % 2 == 0 {
            cmd.interaction_type = InteractionType::Call;
        }
        if i % 3 == 0 {
            cmd.status = Some(InteractionStatus::Completed);
        }
        created.push(crm.interactions.create(&user, c.id, cmd).await.unwrap());
    }
    let list = |kind, status, limit, cursor: Option<String>| {
        let crm = &crm;
        let user = &user;
        async move {
            let query = InteractionQuery {
                interaction_type: kind,
                status,
                window: Window::new(Some(limit), cursor.as_deref()).unwrap(),
            };
            crm.interactions.list(user, c.id, query).await.unwrap()
        }
    };
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(None, None, 3, cursor).await;
        walked.extend(page.items.iter().map(|i| i.subject.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(walked, ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]);
    let calls = list(Some(InteractionType::Call), None, 100, None).await;
    assert_eq!(
        calls
            .items
            .iter()
            .map(|i| i.subject.as_str())
            .collect::<Vec<_>>(),
        ["m6", "m4", "m2", "m0"]
    );
    let done = list(None, Some(InteractionStatus::Completed), 100, None).await;
    assert_eq!(
        done.items
            .iter()
            .map(|i| i.subject.as_str())
            .collect::<Vec<_>>(),
        ["m6", "m3", "m0"]
    );
    assert!(done.items.iter().all(|i| i.completed_at.is_some()));
    let both = list(
        Some(InteractionType::Meeting),
        Some(InteractionStatus::Completed),
        100,
        None,
    )
    .await;
    assert_eq!(
        both.items
            .iter()
            .map(|i| i.subject.as_str())
            .collect::<Vec<_>>(),
        ["m3"]
    );
}
