//! The near cache (decision 0020): what Redis answered is kept in process while Redis's client
//! tracking reports changes; a change made by any client evicts it; a fill that raced with a
//! change is dropped; without tracking nothing is served from it.
//!
//! The `NearCache` tests use private `redis-server`s (ports 18556-18558) or keys of their own on
//! the shared one, so concurrent tests never see each other's changes as their own.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use crm_domain::Role;
use crm_redis::{NearCache, NearSettings, Tracker};
use crm_testkit::tokens::{actor, token};
use crm_testkit::{eventually, redis_connection, TestApp, TestRedis};
use deadpool_redis::redis::AsyncCommands;
use serde_json::{json, Value};

const SHARED_REDIS: &str = "redis://127.0.0.1:6379";
const SOON: Duration = Duration::from_secs(2);

async fn tracking(url: &str) -> (NearCache, Tracker) {
    let near = NearCache::new(NearSettings::default());
    let tracker = near.track(url, Duration::from_secs(1)).unwrap();
    eventually("tracking is on", Duration::from_secs(5), || async {
        near.is_live().then_some(())
    })
    .await;
    (near, tracker)
}

fn fresh_key(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4())
}

fn fill(near: &NearCache, key: &str, value: &str) {
    let stamp = near.stamp(key);
    near.put(key, value.to_owned(), stamp);
}

#[tokio::test]
async fn a_change_by_any_client_evicts_the_key() {
    let (near, _tracker) = tracking(SHARED_REDIS).await;
    let key = fresh_key("crm:customer:");
    let untracked = fresh_key("crm:elsewhere:");
    fill(&near, &key, "v1");
    fill(&near, &untracked, "v1");
    assert_eq!(near.get::<String>(&key).as_deref(), Some("v1"));
    assert_eq!(near.get::<String>(&untracked).as_deref(), Some("v1"));
    // A value is only served as the type it was kept as.
    assert_eq!(near.get::<u64>(&key), None);

    // Another client (another replica, or User Management) writes the key in Redis.
    let mut conn = redis_connection(SHARED_REDIS).await;
    let _: () = conn.set(&key, "v2").await.unwrap();
    eventually("the key is evicted", SOON, || async {
        near.get::<String>(&key).is_none().then_some(())
    })
    .await;
    assert!(near.stats().invalidations() >= 1);
    let _: () = conn.del(&key).await.unwrap();
}

#[tokio::test]
async fn a_fill_that_raced_with_a_change_is_not_kept() {
    let (near, _tracker) = tracking(SHARED_REDIS).await;
    let key = fresh_key("crm:revoked:jti:");
    // A reader stamps, then reads Redis; meanwhile the key changes...
    let stale = near.stamp(&key);
    fill(&near, &key, "sentinel");
    let mut conn = redis_connection(SHARED_REDIS).await;
    let _: () = conn.set_ex(&key, "1", 60).await.unwrap();
    eventually("the change is reported", SOON, || async {
        near.get::<String>(&key).is_none().then_some(())
    })
    .await;
    // ...so what it read may be older than the change: it is not kept.
    near.put(&key, "read before the change".to_owned(), stale);
    assert_eq!(near.get::<String>(&key), None);
    // A read that started after the change is.
    fill(&near, &key, "read after the change");
    assert_eq!(
        near.get::<String>(&key).as_deref(),
        Some("read after the change")
    );
    let _: () = conn.del(&key).await.unwrap();
}

#[tokio::test]
async fn nothing_is_served_while_tracking_is_lost_and_nothing_old_survives_it() {
    let redis = TestRedis::start(18556).await;
    let (near, _tracker) = tracking(&redis.url()).await;
    let key = fresh_key("crm:customer:");
    fill(&near, &key, "held");
    assert_eq!(near.get::<String>(&key).as_deref(), Some("held"));

    redis.stop().await;
    eventually("tracking is lost", SOON, || async {
        (!near.is_live()).then_some(())
    })
    .await;
    assert_eq!(
        near.get::<String>(&key),
        None,
        "not served without tracking"
    );
    fill(&near, &key, "filled while not tracking");
    assert_eq!(near.get::<String>(&key), None, "not kept without tracking");

    redis.restart().await;
    eventually("tracking is back", Duration::from_secs(10), || async {
        near.is_live().then_some(())
    })
    .await;
    assert_eq!(near.get::<String>(&key), None, "what was held is gone");
    assert!(near.stats().resets() >= 2, "reset when lost and when back");
    fill(&near, &key, "after");
    assert_eq!(near.get::<String>(&key).as_deref(), Some("after"));
}

#[tokio::test]
async fn flushing_redis_drops_everything_and_dropping_the_tracker_stops_serving() {
    let redis = TestRedis::start(18557).await;
    let (near, tracker) = tracking(&redis.url()).await;
    let tracked = fresh_key("crm:gen:");
    let untracked = fresh_key("crm:stats:");
    fill(&near, &tracked, "a");
    fill(&near, &untracked, "b");
    assert!(redis.command(&["FLUSHALL"]).is_some());
    eventually("everything is dropped", SOON, || async {
        (near.get::<String>(&tracked).is_none() && near.get::<String>(&untracked).is_none())
            .then_some(())
    })
    .await;
    assert!(near.is_live(), "a flush does not stop tracking");

    fill(&near, &tracked, "c");
    assert_eq!(near.get::<String>(&tracked).as_deref(), Some("c"));
    drop(tracker);
    assert!(!near.is_live());
    assert_eq!(near.get::<String>(&tracked), None);
}

/// A running second instance of the service on `app`'s database and Redis.
async fn second_instance(app: &TestApp) -> String {
    let mut config = app.config.clone();
    config.database_url = app.db.url().to_owned();
    let second = crm_http::Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.into_server());
    address
}

async fn near_hits(client: &reqwest::Client, address: &str) -> u64 {
    let text = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|line| {
            line.starts_with("crm_cache_lookups_total")
                && line.contains(r#"cache="near""#)
                && line.contains(r#"result="hit""#)
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_write_through_one_replica_is_seen_by_the_other_replicas_near_cache() {
    let a = TestApp::builder().with_redis(SHARED_REDIS).start().await;
    let b = second_instance(&a).await;
    let admin = actor(Role::Admin);
    let bearer = token(&admin);
    let customer = a.create_customer(&admin, json!({"name": "Near"})).await;
    let path = format!("/api/customers/{}", customer["id"].as_str().unwrap());
    let read_b = || async {
        let res = a
            .client
            .get(format!("{b}{path}"))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["name"].clone()
    };

    // B serves the customer (and the token's revocation entries) from its near cache.
    let before = near_hits(&a.client, &b).await;
    eventually(
        "B answers from its near cache",
        Duration::from_secs(5),
        || async {
            assert_eq!(read_b().await, "Near");
            (near_hits(&a.client, &b).await >= before + 2).then_some(())
        },
    )
    .await;

    // A renames it; B's copy is evicted by Redis's invalidation (its own expiry is 30 s away).
    let res = a
        .put(&path, &admin, &json!({"name": "Renamed on A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually("B sees the change", SOON, || async {
        (read_b().await == "Renamed on A").then_some(())
    })
    .await;
    // And keeps it.
    for _ in 0..5 {
        assert_eq!(read_b().await, "Renamed on A");
    }
}
