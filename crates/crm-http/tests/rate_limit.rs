//! Rate limiting per client IP, shared by instances through Redis, with the in-process
//! fallback while Redis is down. Each test limits its own random client address (believed from
//! `X-Forwarded-For` because the test trusts 127.0.0.1 as a proxy), so tests sharing the Redis
//! on 6379 never count each other's requests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use crm_domain::Role;
use crm_testkit::tokens::actor;
use crm_testkit::{eventually, TestApp, TestRedis};
use serde_json::{json, Value};

const SHARED_REDIS: &str = "redis://127.0.0.1:6379";
/// Long windows: a window boundary in the middle of a test is very unlikely.
const DAY: u64 = 86_400;

fn random_ip() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2].max(1))
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn two_instances_share_one_limit_per_client() {
    let a = TestApp::builder()
        .with_redis(SHARED_REDIS)
        .with_rate_limit(5, DAY)
        .with_trusted_proxies("127.0.0.1")
        .start()
        .await;
    let b = TestApp::builder()
        .with_redis(SHARED_REDIS)
        .with_rate_limit(5, DAY)
        .with_trusted_proxies("127.0.0.1")
        .start()
        .await;
    let admin = actor(Role::Admin);
    let client = random_ip();
    for i in 0..5u32 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = app
            .get("/api/customers", &admin)
            .header("X-Forwarded-For", &client)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "request {i}");
        assert_eq!(header(&res, "ratelimit-limit"), "5");
        assert_eq!(header(&res, "ratelimit-remaining"), (4 - i).to_string());
    }
    for app in [&a, &b] {
        let res = app
            .get("/api/customers", &admin)
            .header("X-Forwarded-For", &client)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = header(&res, "retry-after").parse().unwrap();
        assert!((1..=DAY).contains(&retry));
        assert_eq!(header(&res, "ratelimit-remaining"), "0");
        assert!(header(&res, "content-type").starts_with("application/problem+json"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], 429);
        // Health endpoints are exempt.
        let health = app
            .client
            .get(app.url("/health"))
            .header("X-Forwarded-For", &client)
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        assert!(health.headers().get("ratelimit-limit").is_none());
    }
    // Another client is not affected.
    let res = b
        .get("/api/customers", &admin)
        .header("X-Forwarded-For", random_ip())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No Redis: the in-process limiter; no trusted proxy: every request is 127.0.0.1's.
    let app = TestApp::builder().with_rate_limit(3, DAY).start().await;
    let admin = actor(Role::Admin);
    for _ in 0..3 {
        let res = app
            .get("/api/customers", &admin)
            .header("X-Forwarded-For", random_ip())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = app
        .get("/api/customers", &admin)
        .header("X-Forwarded-For", random_ip())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn the_audit_trail_records_the_forwarded_client_from_a_trusted_proxy() {
    let app = TestApp::builder()
        .with_trusted_proxies("127.0.0.1")
        .start()
        .await;
    let admin = actor(Role::Admin);
    let client = random_ip();
    let res = app
        .post("/api/customers", &admin, &json!({"name": "Audited"}))
        .header("X-Forwarded-For", format!("{}, {client}", random_ip()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let audit: Value = app.get_json("/api/audit", &admin).await;
    let entries = audit["data"].as_array().unwrap();
    assert_eq!(entries[0]["clientIp"], client, "{audit}");
}

#[tokio::test]
async fn requests_keep_succeeding_while_redis_stops_and_restarts() {
    let redis = TestRedis::start(18553).await;
    let app = TestApp::builder()
        .with_redis(&redis.url())
        .with_rate_limit(1_000, DAY)
        .with_trusted_proxies("127.0.0.1")
        .start()
        .await;
    let admin = actor(Role::Admin);
    let client = random_ip();

    let load = {
        let (app_url, client, admin) = (app.address.clone(), client.clone(), admin.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let token = crm_testkit::tokens::token(&admin);
            let mut statuses = Vec::new();
            for i in 0..150 {
                let req = if i % 3 == 0 {
                    http.post(format!("{app_url}/api/customers"))
                        .json(&json!({"name": format!("Load {i}")}))
                } else {
                    http.get(format!("{app_url}/api/customers"))
                };
                let res = req
                    .bearer_auth(&token)
                    .header("X-Forwarded-For", &client)
                    .send()
                    .await
                    .unwrap();
                statuses.push(res.status().as_u16());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.stop().await;
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    redis.restart().await;
    let statuses = load.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );

    // Once Redis is back, the counts are shared there again.
    eventually(
        "a counter in Redis after it returned",
        Duration::from_secs(5),
        || async {
            let res = app
                .get("/api/customers", &admin)
                .header("X-Forwarded-For", &client)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            redis
                .command(&["KEYS", &format!("crm:ratelimit:{client}:*")])
                .filter(|k| !k.trim().is_empty())
        },
    )
    .await;
    // And the events of the customers made during the outage reached the outbox relay's
    // backlog, which drains.
    app.relay.flush();
    let mut pending = u64::MAX;
    for _ in 0..100 {
        pending = app.relay.backlog().await.unwrap().pending;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0);
}

/// The 429 the middleware can answer is in the contract of every `/api` operation, with its
/// headers, and of no health probe.
#[tokio::test]
async fn every_api_operation_documents_the_429() {
    let app = TestApp::spawn().await;
    let doc = app.get_public_json("/api/openapi.json").await;
    let too_many = &doc["components"]["responses"]["TooManyRequests"];
    for name in [
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ] {
        assert!(
            too_many["headers"].get(name).is_some(),
            "{name}: {too_many}"
        );
    }
    let mut api_operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let documented = operation["responses"].get("429").is_some();
            if path.starts_with("/api/") {
                api_operations += 1;
                assert!(documented, "{method} {path}");
            } else {
                assert!(!documented, "{method} {path}");
            }
        }
    }
    assert!(api_operations > 30, "{api_operations}");
}
