//! Session revocation: tokens revoked by `jti` or by user in Redis are refused; while Redis
//! is down the list is not consulted (fail open) and requests go on.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use chrono::Utc;
use crm_domain::Role;
use crm_redis::{RedisClient, RedisRevocationList};
use crm_testkit::tokens::{actor, claims, sign};
use crm_testkit::{eventually, TestApp, TestRedis, TEST_SECRET};
use jsonwebtoken::Algorithm;
use serde_json::Value;

const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

fn token_with(actor: &crm_domain::Actor, jti: &str, iat: i64) -> String {
    let mut c = claims(actor);
    c["jti"] = Value::from(jti);
    c["iat"] = Value::from(iat);
    sign(&c, Algorithm::HS256, TEST_SECRET)
}

async fn status(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/api/customers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until the app answers `token` with `expected`: a revocation reaches the app's near
/// cache as Redis's invalidation, a moment after the write (docs/sessions.md).
async fn becomes(app: &TestApp, token: &str, expected: u16) {
    eventually(
        &format!("the token answered {expected}"),
        Duration::from_secs(2),
        || async { (status(app, token).await == expected).then_some(()) },
    )
    .await;
}

fn list(url: &str) -> RedisRevocationList {
    RedisRevocationList::new(RedisClient::connect(url, Duration::from_secs(1)).unwrap())
}

#[tokio::test]
async fn revoked_tokens_and_users_are_refused() {
    let app = TestApp::builder().with_redis(SHARED_REDIS).start().await;
    let revocations = list(SHARED_REDIS);
    let user = actor(Role::User);
    let now = Utc::now().timestamp();
    let (jti_a, jti_b) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let a = token_with(&user, &jti_a, now - 10);
    let b = token_with(&user, &jti_b, now - 10);
    assert_eq!(status(&app, &a).await, 200);

    revocations.revoke_token(&jti_a, 600).await.unwrap();
    becomes(&app, &a, 401).await;
    let res = app
        .client
        .get(app.url("/api/customers"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    assert_eq!(status(&app, &b).await, 200, "only that token is revoked");

    // Revoking the user refuses every token issued before the moment, not later ones.
    revocations
        .revoke_user(&user.user().to_string(), now)
        .await
        .unwrap();
    becomes(&app, &b, 401).await;
    let fresh = token_with(&user, &uuid::Uuid::new_v4().to_string(), now + 1);
    assert_eq!(status(&app, &fresh).await, 200);
    // Other users are untouched.
    assert_eq!(
        status(&app, &crm_testkit::tokens::token(&actor(Role::User))).await,
        200
    );
}

#[tokio::test]
async fn the_list_is_not_consulted_while_redis_is_down() {
    let redis = TestRedis::start(18554).await;
    let app = TestApp::builder().with_redis(&redis.url()).start().await;
    let user = actor(Role::User);
    let jti = uuid::Uuid::new_v4().to_string();
    let token = token_with(&user, &jti, Utc::now().timestamp() - 10);
    list(&redis.url()).revoke_token(&jti, 600).await.unwrap();
    assert_eq!(status(&app, &token).await, 401);

    redis.stop().await;
    // Fail open: an outage must not lock every user out (once the app has noticed it: until
    // then the near cache may still answer from what Redis said).
    becomes(&app, &token, 200).await;
    assert_eq!(status(&app, &token).await, 200);

    // When Redis returns (empty: the test server keeps nothing), the list is consulted again.
    redis.restart().await;
    list(&redis.url()).revoke_token(&jti, 600).await.unwrap();
    eventually(
        "the list is consulted again",
        Duration::from_secs(5),
        || async { (status(&app, &token).await == 401).then_some(()) },
    )
    .await;
}
