//! The Redis read-through cache: hits, invalidation after writes, and bypass while Redis is
//! down. Keys are per random company, so tests sharing the Redis on 6379 never meet.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use crm_domain::Role;
use crm_testkit::tokens::actor;
use crm_testkit::{eventually, redis_connection, TestApp, TestRedis};
use deadpool_redis::redis::AsyncCommands;
use serde_json::{json, Value};

const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

#[tokio::test]
async fn reads_by_id_are_cached_and_writes_invalidate_them() {
    let app = TestApp::builder().with_redis(SHARED_REDIS).start().await;
    let admin = actor(Role::Admin);
    let customer = app.create_customer(&admin, json!({"name": "Cached"})).await;
    let id = customer["id"].as_str().unwrap();
    let path = format!("/api/customers/{id}");
    let key = format!("crm:customer:{}:{id}", admin.company());
    let mut conn = redis_connection(SHARED_REDIS).await;

    assert_eq!(app.get_json(&path, &admin).await["name"], "Cached");
    let stored: String = conn.get(&key).await.unwrap();
    let mut stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["name"], "Cached");
    let ttl: i64 = conn.ttl(&key).await.unwrap();
    assert!((50..=66).contains(&ttl), "TTL 60 s ± 10 %: {ttl}");

    // The next read is answered from Redis: a value planted there is what comes back.
    stored["name"] = json!("Planted in the cache");
    let _: () = conn.set_ex(&key, stored.to_string(), 60).await.unwrap();
    assert_eq!(
        app.get_json(&path, &admin).await["name"],
        "Planted in the cache"
    );

    // A write invalidates before it answers: the next read sees the new value.
    let res = app
        .put(&path, &admin, &json!({"name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_json(&path, &admin).await["name"], "Renamed");
    let res = app
        .post(&format!("{path}/tags"), &admin, &json!({"tags": ["gold"]}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(app.get_json(&path, &admin).await["tags"], json!(["gold"]));
    let res = app.delete(&path, &admin).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = app.get(&path, &admin).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn company_figures_are_cached_until_the_next_change() {
    let app = TestApp::builder().with_redis(SHARED_REDIS).start().await;
    let admin = actor(Role::Admin);
    let customer = app
        .create_customer(&admin, json!({"name": "Counted"}))
        .await;
    let id = customer["id"].as_str().unwrap();
    let stats = app.get_json("/api/stats", &admin).await;
    assert_eq!(stats["customersTotal"], 1);
    assert_eq!(stats["notesTotal"], 0);
    let mut conn = redis_connection(SHARED_REDIS).await;
    let keys: Vec<String> = conn
        .keys(format!("crm:stats:{}:*", admin.company()))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");

    let res = app
        .post(
            &format!("/api/customers/{id}/notes"),
            &admin,
            &json!({"content": "counted"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(app.get_json("/api/stats", &admin).await["notesTotal"], 1);
    app.create_customer(&admin, json!({"name": "Second"})).await;
    assert_eq!(
        app.get_json("/api/stats", &admin).await["customersTotal"],
        2
    );
}

#[tokio::test]
async fn the_cache_is_bypassed_while_redis_is_down_and_used_again_after() {
    let redis = TestRedis::start(18555).await;
    let app = TestApp::builder().with_redis(&redis.url()).start().await;
    let admin = actor(Role::Admin);
    let customer = app.create_customer(&admin, json!({"name": "Before"})).await;
    let id = customer["id"].as_str().unwrap();
    let path = format!("/api/customers/{id}");
    assert_eq!(app.get_json(&path, &admin).await["name"], "Before");

    redis.stop().await;
    // Reads and writes go on against the database alone.
    assert_eq!(app.get_json(&path, &admin).await["name"], "Before");
    let res = app
        .put(&path, &admin, &json!({"name": "During"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_json(&path, &admin).await["name"], "During");
    assert_eq!(
        app.get_json("/api/stats", &admin).await["customersTotal"],
        1
    );

    redis.restart().await;
    let key = format!("crm:customer:{}:{id}", admin.company());
    let cached = eventually("the cache fills again", Duration::from_secs(5), || async {
        assert_eq!(app.get_json(&path, &admin).await["name"], "During");
        redis
            .command(&["GET", &key])
            .filter(|v| !v.trim().is_empty())
    })
    .await;
    assert!(cached.contains("During"), "the cache fills again");
}
