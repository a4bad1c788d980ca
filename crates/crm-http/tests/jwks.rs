//! RS256, ES256 and EdDSA tokens verified against a JWKS served by a local stand-in for User
//! Management, and every way to abuse that: key confusion, token-named key sources, unknown
//! `kid` floods, an unreachable key set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use crm_domain::Role;
use crm_testkit::tokens::{
    self, actor, claims, jwks, sign_with_header, TestKey, EC_A, ED_A, RSA_A, RSA_ATTACKER,
    RSA_A_PUBLIC_PEM, RSA_B,
};
use crm_testkit::{JwksServer, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// `GET /api/customers` with `token`: the status and the problem `detail` (if any).
async fn call(app: &TestApp, token: &str) -> (u16, String) {
    let res = app
        .client
        .get(app.url("/api/customers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 200 {
        return (status, String::new());
    }
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    if status == 401 {
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    (
        status,
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn assert_refused(app: &TestApp, token: &str, case: &str) -> String {
    let (status, detail) = call(app, token).await;
    assert_eq!(status, 401, "{case}: {detail}");
    assert!(!detail.is_empty(), "{case}");
    detail
}

/// The secret of an `oct` key slipped into the JWKS.
const OCT_SECRET: &str = "oct-secret-oct-secret-oct-secret-1234";

fn header(alg: Algorithm, kid: &str) -> Header {
    let mut h = Header::new(alg);
    h.kid = Some(kid.to_owned());
    h
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_are_accepted() {
    let server = JwksServer::start(jwks(&[RSA_A, EC_A, ED_A])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .start()
        .await;
    let a = actor(Role::Admin);

    // A customer created with an RS256 token is seen with ES256, EdDSA and HS256 tokens of the
    // same actor: the claims, not the key, say who is calling.
    let res = app
        .client
        .post(app.url("/api/customers"))
        .bearer_auth(RSA_A.token(&a))
        .json(&json!({"name": "Ada", "email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    for token in [EC_A.token(&a), ED_A.token(&a), tokens::token(&a)] {
        let res = app
            .client
            .get(app.url("/api/customers"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["data"][0]["name"], "Ada", "{body}");
    }
    // One fetch served them all, from the documented path.
    assert_eq!(server.paths(), ["/.well-known/jwks.json"]);
}

#[tokio::test]
async fn without_a_secret_only_jwks_tokens_are_accepted() {
    let server = JwksServer::start(jwks(&[RSA_A])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .without_secret()
        .start()
        .await;
    let a = actor(Role::User);
    assert_eq!(call(&app, &RSA_A.token(&a)).await.0, 200);
    assert_refused(&app, &tokens::token(&a), "HS256 with no secret configured").await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_on_its_unknown_kid_and_a_removed_one_is_refused() {
    let server = JwksServer::start(jwks(&[RSA_A])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_jwks_timing(Duration::from_secs(300), Duration::ZERO)
        .start()
        .await;
    let a = actor(Role::Manager);
    assert_eq!(call(&app, &RSA_A.token(&a)).await.0, 200);
    assert_eq!(server.requests(), 1);

    // User Management rotates: B replaces A. The new kid works without a restart.
    server.set_keys(jwks(&[RSA_B]));
    assert_eq!(call(&app, &RSA_B.token(&a)).await.0, 200);
    assert_eq!(server.requests(), 2);
    // A known kid is served from the cache.
    assert_eq!(call(&app, &RSA_B.token(&a)).await.0, 200);
    assert_eq!(server.requests(), 2);
    // The retired key is gone from the set, so its tokens are refused.
    let detail = assert_refused(&app, &RSA_A.token(&a), "retired key").await;
    assert!(detail.contains("kid"), "{detail}");
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn the_cache_expires_and_a_failed_refresh_keeps_the_keys_held() {
    let mut server = JwksServer::start(jwks(&[EC_A])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_jwks_timing(Duration::ZERO, Duration::ZERO)
        .start()
        .await;
    let a = actor(Role::User);
    assert_eq!(call(&app, &EC_A.token(&a)).await.0, 200);
    assert_eq!(call(&app, &EC_A.token(&a)).await.0, 200);
    // With a zero TTL every use refetches.
    assert_eq!(server.requests(), 2);

    // The key set answers 500, then goes away: the keys held still verify.
    server.answer(500, "oops");
    assert_eq!(call(&app, &EC_A.token(&a)).await.0, 200);
    assert_eq!(server.requests(), 3);
    server.stop().await;
    assert_eq!(call(&app, &EC_A.token(&a)).await.0, 200);
    // An unknown kid is still a 401, saying the set could not be refreshed.
    let detail = assert_refused(&app, &RSA_A.token(&a), "unknown kid, refresh failed").await;
    assert!(detail.contains("refreshed"), "{detail}");
}

#[tokio::test]
async fn a_flood_of_unknown_kids_does_not_hammer_user_management() {
    let server = JwksServer::start(jwks(&[RSA_A])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_jwks_timing(Duration::from_secs(300), Duration::from_secs(3600))
        .start()
        .await;
    let a = actor(Role::User);
    assert_eq!(call(&app, &RSA_A.token(&a)).await.0, 200);
    assert_eq!(server.requests(), 1);
    for i in 0..25 {
        let token = sign_with_header(
            &header(Algorithm::RS256, &format!("random-kid-{i}")),
            &claims(&a),
            &RSA_A.encoding_key(),
        );
        assert_refused(&app, &token, "random kid").await;
    }
    // Concurrent ones too.
    let floods = (0..10).map(|i| {
        let token = sign_with_header(
            &header(Algorithm::ES256, &format!("concurrent-kid-{i}")),
            &claims(&a),
            &EC_A.encoding_key(),
        );
        let app = &app;
        async move { call(app, &token).await.0 }
    });
    for status in futures_util::future::join_all(floods).await {
        assert_eq!(status, 401);
    }
    assert_eq!(server.requests(), 1, "refreshes are rate-limited");
    assert_eq!(call(&app, &RSA_A.token(&a)).await.0, 200);
}

#[tokio::test]
async fn keys_are_never_confused_across_algorithms() {
    let mut rs512 = RSA_A.jwk();
    rs512["kid"] = "rsa-for-rs512".into();
    rs512["alg"] = "RS512".into();
    let server = JwksServer::start(json!({"keys": [
        RSA_A.jwk(),
        EC_A.jwk(),
        ED_A.jwk(),
        // A symmetric key in the set must never become an HMAC secret.
        {"kty": "oct", "kid": "oct-key", "k": URL_SAFE_NO_PAD.encode(OCT_SECRET)},
        // RSA A again, declared for RS512 only.
        rs512,
    ]}))
    .await;
    for app in [
        TestApp::builder()
            .with_user_management_url(&server.url())
            .start()
            .await,
        TestApp::builder()
            .with_user_management_url(&server.url())
            .without_secret()
            .start()
            .await,
    ] {
        let a = actor(Role::Admin);
        let c = claims(&a);
        let n = URL_SAFE_NO_PAD
            .decode(RSA_A.jwk()["n"].as_str().unwrap())
            .unwrap();
        let signed = |alg: Algorithm, kid: &str, key: &TestKey| {
            sign_with_header(&header(alg, kid), &c, &key.encoding_key())
        };
        // Each case, and the reason it must be refused for (any of the fragments).
        let hs = &["HS256 is not accepted", "signature is invalid"][..];
        let kind = &["does not verify"][..];
        let alg = &["algorithm is not accepted"][..];
        let kid = &["no kid"][..];
        let cases: Vec<(&str, String, &[&str])> = vec![
            (
                "HS256 signed with the RSA public key PEM as HMAC secret",
                sign_with_header(
                    &header(Algorithm::HS256, RSA_A.kid),
                    &c,
                    &EncodingKey::from_secret(RSA_A_PUBLIC_PEM.as_bytes()),
                ),
                hs,
            ),
            (
                "HS256 signed with the RSA modulus bytes as HMAC secret",
                sign_with_header(
                    &header(Algorithm::HS256, RSA_A.kid),
                    &c,
                    &EncodingKey::from_secret(&n),
                ),
                hs,
            ),
            (
                "HS256 signed with the JWKS's oct key",
                sign_with_header(
                    &header(Algorithm::HS256, "oct-key"),
                    &c,
                    &EncodingKey::from_secret(OCT_SECRET.as_bytes()),
                ),
                hs,
            ),
            (
                "ES256 naming an RSA kid",
                signed(Algorithm::ES256, RSA_A.kid, &EC_A),
                kind,
            ),
            (
                "RS256 naming an EC kid",
                signed(Algorithm::RS256, EC_A.kid, &RSA_A),
                kind,
            ),
            (
                "EdDSA naming an EC kid",
                signed(Algorithm::EdDSA, EC_A.kid, &ED_A),
                kind,
            ),
            (
                "ES256 naming an Ed25519 kid",
                signed(Algorithm::ES256, ED_A.kid, &EC_A),
                kind,
            ),
            (
                "RS256 naming the oct kid",
                signed(Algorithm::RS256, "oct-key", &RSA_A),
                &["not a known signing key"],
            ),
            (
                "RS256 naming a key declared for RS512",
                signed(Algorithm::RS256, "rsa-for-rs512", &RSA_A),
                &["declared for another algorithm"],
            ),
            (
                "RS256 signed by another key under a known kid",
                signed(Algorithm::RS256, RSA_A.kid, &RSA_ATTACKER),
                &["signature is invalid"],
            ),
            (
                "PS256 with the RSA key",
                signed(Algorithm::PS256, RSA_A.kid, &RSA_A),
                alg,
            ),
            (
                "RS384 with the RSA key",
                signed(Algorithm::RS384, RSA_A.kid, &RSA_A),
                alg,
            ),
            (
                "RS512 with the RSA key",
                signed(Algorithm::RS512, RSA_A.kid, &RSA_A),
                alg,
            ),
            (
                "RS512 naming the key declared for RS512",
                signed(Algorithm::RS512, "rsa-for-rs512", &RSA_A),
                alg,
            ),
            (
                "RS256 without a kid",
                sign_with_header(&Header::new(Algorithm::RS256), &c, &RSA_A.encoding_key()),
                kid,
            ),
            (
                "RS256 with an empty kid",
                signed(Algorithm::RS256, "", &RSA_A),
                kid,
            ),
        ];
        for (case, token, reasons) in cases {
            let detail = assert_refused(&app, &token, case).await;
            assert!(
                reasons.iter().any(|r| detail.contains(r)),
                "{case}: refused for another reason: {detail}"
            );
        }
        // The genuine tokens pass, so each case above failed for its own reason.
        for key in [RSA_A, EC_A, ED_A] {
            assert_eq!(call(&app, &key.token(&a)).await.0, 200, "{}", key.kid);
        }
    }
}

#[tokio::test]
async fn key_locations_named_by_the_token_are_never_fetched() {
    let server = JwksServer::start(jwks(&[RSA_A])).await;
    let attacker = JwksServer::start(jwks(&[RSA_ATTACKER])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_jwks_timing(Duration::from_secs(300), Duration::ZERO)
        .start()
        .await;
    let a = actor(Role::Admin);
    let c = claims(&a);
    let key = RSA_ATTACKER.encoding_key();

    let mut jku = RSA_ATTACKER.header();
    jku.jku = Some(attacker.jwks_url());
    let mut jku_known_kid = header(Algorithm::RS256, RSA_A.kid);
    jku_known_kid.jku = Some(attacker.jwks_url());
    let mut x5u = RSA_ATTACKER.header();
    x5u.x5u = Some(attacker.url());
    let mut embedded = RSA_ATTACKER.header();
    embedded.jwk = Some(serde_json::from_value(RSA_ATTACKER.jwk()).unwrap());
    let mut embedded_known_kid = header(Algorithm::RS256, RSA_A.kid);
    embedded_known_kid.jwk = Some(serde_json::from_value(RSA_ATTACKER.jwk()).unwrap());

    for (case, h) in [
        ("jku to the attacker's set", jku),
        ("jku with a known kid", jku_known_kid),
        ("x5u to the attacker", x5u),
        ("embedded jwk", embedded),
        ("embedded jwk with a known kid", embedded_known_kid),
    ] {
        assert_refused(&app, &sign_with_header(&h, &c, &key), case).await;
    }
    assert_eq!(
        attacker.requests(),
        0,
        "the attacker's server was never asked"
    );
    assert!(server.requests() >= 1);
    // A jku on a genuine token changes nothing either: the configured set verifies it.
    let mut genuine = RSA_A.header();
    genuine.jku = Some(attacker.jwks_url());
    let token = sign_with_header(&genuine, &c, &RSA_A.encoding_key());
    assert_eq!(call(&app, &token).await.0, 200);
    assert_eq!(attacker.requests(), 0);
}

#[tokio::test]
async fn claim_rules_apply_to_asymmetric_tokens() {
    let server = JwksServer::start(jwks(&[RSA_A, EC_A, ED_A])).await;
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_issuer("user-management")
        .with_audience("nexus-crm")
        .with_leeway(30)
        .start()
        .await;
    let a = actor(Role::User);
    let now = Utc::now().timestamp();
    let mut good = claims(&a);
    good["iss"] = "user-management".into();
    good["aud"] = "nexus-crm".into();
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    for key in [RSA_A, EC_A, ED_A] {
        assert_eq!(call(&app, &key.sign(&good)).await.0, 200, "{}", key.kid);
        // Within the leeway: a little early, a little late.
        assert_eq!(
            call(&app, &key.sign(&with("nbf", (now + 10).into())))
                .await
                .0,
            200
        );
        assert_eq!(
            call(&app, &key.sign(&with("exp", (now - 10).into())))
                .await
                .0,
            200
        );
        for (case, c) in [
            ("expired", with("exp", (now - 120).into())),
            ("not yet valid", with("nbf", (now + 3600).into())),
            ("missing exp", without("exp")),
            ("wrong iss", with("iss", "evil".into())),
            ("missing iss", without("iss")),
            ("wrong aud", with("aud", "billing".into())),
            ("missing aud", without("aud")),
            ("unknown role", with("role", "root".into())),
        ] {
            assert_refused(&app, &key.sign(&c), &format!("{}: {case}", key.kid)).await;
        }
    }
}

#[tokio::test]
async fn an_unreachable_key_set_is_503_not_500_and_does_not_block_hs256() {
    let mut server = JwksServer::start(jwks(&[RSA_A])).await;
    let url = server.url();
    server.stop().await;
    let app = TestApp::builder()
        .with_user_management_url(&url)
        .start()
        .await;
    let a = actor(Role::Admin);
    let res = app
        .client
        .get(app.url("/api/customers"))
        .bearer_auth(RSA_A.token(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("signing keys"),
        "{body}"
    );
    // HS256 tokens do not need the key set.
    assert_eq!(call(&app, &tokens::token(&a)).await.0, 200);
}

#[tokio::test]
async fn a_failing_key_set_is_asked_once_per_interval_and_recovers() {
    let server = JwksServer::start(jwks(&[RSA_A])).await;
    server.answer(500, "down for maintenance");
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_jwks_timing(Duration::from_secs(300), Duration::from_secs(3600))
        .start()
        .await;
    let a = actor(Role::Admin);
    for _ in 0..10 {
        assert_eq!(call(&app, &RSA_A.token(&a)).await.0, 503);
    }
    assert_eq!(server.requests(), 1, "one attempt per refresh interval");

    // Garbage instead of a key set is as good as none; once it is back, tokens verify.
    let server = JwksServer::start(jwks(&[ED_A])).await;
    server.answer(200, "<html>not json</html>");
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .with_jwks_timing(Duration::from_secs(300), Duration::ZERO)
        .start()
        .await;
    assert_eq!(call(&app, &ED_A.token(&a)).await.0, 503);
    server.set_keys(jwks(&[ED_A]));
    assert_eq!(call(&app, &ED_A.token(&a)).await.0, 200);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_hung_key_set_times_out_into_a_503() {
    let server = JwksServer::start(jwks(&[RSA_A])).await;
    server.hang();
    // The test builder gives a fetch 2 s; the request itself may take 30 s.
    let app = TestApp::builder()
        .with_user_management_url(&server.url())
        .start()
        .await;
    let a = actor(Role::Admin);
    let (status, detail) = call(&app, &RSA_A.token(&a)).await;
    assert_eq!(status, 503, "{detail}");
    assert_eq!(server.requests(), 1);
}
