//! Domain events: the transactional outbox and its relay to Redis pub/sub, against the real
//! Redis on 6379 (channels per random company) and private `redis-server`s stopped and
//! restarted mid-test (ports 18551-18559).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use crm_domain::{CompanyId, Role};
use crm_testkit::tokens::{actor, colleague};
use crm_testkit::{eventually, TestApp, TestRedis};
use deadpool_redis::redis;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use serde_json::{json, Value};

const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

/// Subscribes to `crm.events.{company}` on the Redis at `url`.
async fn subscribe(url: &str, company: CompanyId) -> redis::aio::PubSub {
    let client = redis::Client::open(url).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .subscribe(format!("crm.events.{company}"))
        .await
        .unwrap();
    pubsub
}

/// The next `n` events on `pubsub`, failing after 20 s without one.
async fn next_events(pubsub: &mut redis::aio::PubSub, n: usize) -> Vec<Value> {
    let mut stream = pubsub.on_message();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events arrived: {out:?}", out.len()))
            .expect("subscription open");
        let payload: String = msg.get_payload().unwrap();
        out.push(serde_json::from_str(&payload).unwrap());
    }
    out
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn outbox_rows(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect().await;
    diesel::sql_query("SELECT count(*) AS n FROM crm.outbox")
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .n
}

/// Makes one change of every kind on a new customer; returns its id and the event types in
/// order.
async fn change_everything(
    app: &TestApp,
    admin: &crm_domain::Actor,
) -> (String, Vec<&'static str>) {
    let customer = app
        .create_customer(admin, json!({"name": "Ada", "email": "ada@example.com"}))
        .await;
    let id = customer["id"].as_str().unwrap().to_owned();
    let ok = |res: reqwest::Response| {
        assert!(res.status().is_success(), "{}", res.status());
        res
    };
    ok(app
        .put(
            &format!("/api/customers/{id}"),
            admin,
            &json!({"status": "active"}),
        )
        .send()
        .await
        .unwrap());
    ok(app
        .post(
            &format!("/api/customers/{id}/tags"),
            admin,
            &json!({"tags": ["vip"]}),
        )
        .send()
        .await
        .unwrap());
    let note: Value = ok(app
        .post(
            &format!("/api/customers/{id}/notes"),
            admin,
            &json!({"content": "hello"}),
        )
        .send()
        .await
        .unwrap())
    .json()
    .await
    .unwrap();
    ok(app
        .delete(
            &format!("/api/customers/{id}/notes/{}", note["id"].as_str().unwrap()),
            admin,
        )
        .send()
        .await
        .unwrap());
    ok(app
        .delete(&format!("/api/customers/{id}"), admin)
        .send()
        .await
        .unwrap());
    (
        id,
        vec![
            "customer.created",
            "customer.updated",
            "tags.added",
            "note.created",
            "note.deleted",
            "customer.deleted",
        ],
    )
}

#[tokio::test]
async fn every_change_is_published_in_order_with_the_documented_fields() {
    let app = TestApp::builder().with_redis(SHARED_REDIS).start().await;
    let admin = actor(Role::Admin);
    let mut company_events = subscribe(SHARED_REDIS, admin.company()).await;
    let mut all_events = {
        let client = redis::Client::open(SHARED_REDIS).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.subscribe("crm.events").await.unwrap();
        pubsub
    };
    // Another company's changes never reach this company's channel.
    let other = colleague(CompanyId::new_random(), Role::Admin);
    app.create_customer(&other, json!({"name": "Elsewhere"}))
        .await;

    let (id, expected) = change_everything(&app, &admin).await;
    let events = next_events(&mut company_events, expected.len()).await;
    assert_eq!(types(&events), expected);
    for e in &events {
        assert_eq!(e["companyId"], admin.company().to_string());
        assert_eq!(e["customerId"], id);
        assert_eq!(e["actor"], admin.user().to_string());
        assert!(e["id"].is_string() && e["occurredAt"].is_string() && e["entityId"].is_string());
    }
    assert_eq!(events[0]["entityId"], id);
    assert_eq!(events[0]["data"]["name"], "Ada");
    assert_eq!(events[1]["data"]["changes"]["status"]["after"], "active");
    assert_eq!(events[2]["data"]["tags"], json!(["vip"]));
    assert_eq!(events[3]["entityType"], "note");

    // The global channel carries both companies' events (and maybe other tests'): this
    // company's arrive there in the same order.
    let mut mine = Vec::new();
    let mut stream = all_events.on_message();
    while mine.len() < expected.len() {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("events on crm.events")
            .unwrap();
        let e: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
        if e["companyId"] == admin.company().to_string() {
            mine.push(e);
        }
    }
    assert_eq!(types(&mine), expected);
    drop(stream);

    // Delivered events leave the outbox.
    for _ in 0..100 {
        if outbox_rows(&app).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox was not emptied");
}

#[tokio::test]
async fn events_committed_while_redis_is_down_are_sent_when_it_returns() {
    let redis = TestRedis::start(18551).await;
    let app = TestApp::builder().with_redis(&redis.url()).start().await;
    let admin = actor(Role::Admin);

    redis.stop().await;
    // Writes succeed without Redis, and their events wait in the outbox.
    let (id, expected) = change_everything(&app, &admin).await;
    assert_eq!(outbox_rows(&app).await, expected.len() as i64);
    let health: Value = app.get_public_json("/health/detailed").await;
    assert_eq!(health["checks"]["redis"]["status"], "down", "{health}");
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // Redis returns (closed to the app until this test listens), and the same, still running
    // app delivers the backlog in order.
    redis.restart_closed().await;
    let mut events = subscribe(&redis.admin_url(), admin.company()).await;
    redis.open();
    let got = next_events(&mut events, expected.len()).await;
    assert_eq!(types(&got), expected);
    assert!(got.iter().all(|e| e["customerId"] == id));
    for _ in 0..100 {
        if outbox_rows(&app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox_rows(&app).await, 0);
    // The circuit closes again: health reports Redis up (after at most a cool-down).
    eventually(
        "health reports Redis up",
        Duration::from_secs(5),
        || async {
            let health: Value = app.get_public_json("/health/detailed").await;
            (health["checks"]["redis"]["status"] == "up").then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn events_left_in_the_outbox_by_a_stopped_instance_are_sent_by_the_next() {
    let redis = TestRedis::start(18552).await;
    let first = TestApp::builder().with_redis(&redis.url()).start().await;
    let admin = actor(Role::Admin);
    redis.stop().await;
    let (_, expected) = change_everything(&first, &admin).await;
    // The first instance's relay stops with its events undelivered (as in a shutdown while
    // Redis is down; a killed process leaves the same rows behind).
    first.relay.shutdown(Duration::from_secs(5)).await;
    assert_eq!(outbox_rows(&first).await, expected.len() as i64);

    // A new instance on the same database delivers them once Redis is back.
    redis.restart_closed().await;
    let mut events = subscribe(&redis.admin_url(), admin.company()).await;
    redis.open();
    let mut config = first.config.clone();
    config.database_url = first.db.url().to_owned();
    let second = crm_http::Application::build(config).await.unwrap();
    let got = next_events(&mut events, expected.len()).await;
    assert_eq!(types(&got), expected);
    let relay = second.relay().clone();
    relay.shutdown(Duration::from_secs(5)).await;
    assert_eq!(relay.backlog().await.unwrap().pending, 0);
    assert_eq!(relay.stats().published(), expected.len() as u64);
}

#[tokio::test]
async fn without_redis_the_relay_still_drains_the_outbox_in_process() {
    let app = TestApp::spawn().await;
    let admin = actor(Role::Admin);
    let (_, expected) = change_everything(&app, &admin).await;
    app.relay.flush();
    let mut left = i64::MAX;
    for _ in 0..100 {
        left = outbox_rows(&app).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "{} events never left the outbox", expected.len());
    assert_eq!(app.relay.stats().published(), expected.len() as u64);
}
