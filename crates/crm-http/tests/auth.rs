//! Every way authentication can fail is a 401 problem with `WWW-Authenticate: Bearer`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::Utc;
use crm_domain::Role;
use crm_testkit::tokens::{self, actor, claims, sign, unsigned};
use crm_testkit::{TestApp, TEST_SECRET};
use jsonwebtoken::Algorithm;
use serde_json::Value;

async fn assert_unauthorized(app: &TestApp, authorization: Option<String>, case: &str) {
    let mut req = app.client.get(app.url("/api/customers"));
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 401, "{case}");
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{case}: WWW-Authenticate"
    );
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{case}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], 401, "{case}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{case}"
    );
}

#[tokio::test]
async fn every_bad_token_is_refused() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    let valid = claims(&a);
    let with = |key: &str, value: Value| {
        let mut c = valid.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = valid.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let bearer = |t: String| Some(format!("Bearer {t}"));
    let hs = |c: &Value| sign(c, Algorithm::HS256, TEST_SECRET);

    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("other scheme", Some(format!("Basic {}", tokens::token(&a)))),
        ("not a jwt", bearer("not.a.jwt".into())),
        ("garbage", bearer("abc".into())),
        (
            "expired",
            bearer(hs(&with("exp", (Utc::now().timestamp() - 60).into()))),
        ),
        (
            "wrong signature",
            bearer(sign(
                &valid,
                Algorithm::HS256,
                "another-secret-another-secret-1234",
            )),
        ),
        ("alg none", bearer(unsigned(&valid))),
        (
            "alg HS512",
            bearer(sign(&valid, Algorithm::HS512, TEST_SECRET)),
        ),
        (
            "alg HS384",
            bearer(sign(&valid, Algorithm::HS384, TEST_SECRET)),
        ),
        ("missing exp", bearer(hs(&without("exp")))),
        ("missing sub", bearer(hs(&without("sub")))),
        ("missing companyId", bearer(hs(&without("companyId")))),
        ("missing role", bearer(hs(&without("role")))),
        (
            "unknown role",
            bearer(hs(&with("role", "superuser".into()))),
        ),
        (
            "role with other case",
            bearer(hs(&with("role", "Admin".into()))),
        ),
        ("sub not a uuid", bearer(hs(&with("sub", "alice".into())))),
        (
            "companyId not a uuid",
            bearer(hs(&with("companyId", "acme".into()))),
        ),
        (
            "not yet valid",
            bearer(hs(&with("nbf", (Utc::now().timestamp() + 3600).into()))),
        ),
        (
            "exp as a string",
            bearer(hs(&with("exp", "tomorrow".into()))),
        ),
    ];
    for (case, header) in cases {
        assert_unauthorized(&app, header, case).await;
    }

    // And the valid token works, so the cases above fail for their own reason.
    let res = app.get("/api/customers", &a).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = TestApp::builder()
        .with_issuer("user-management")
        .with_audience("nexus-crm")
        .start()
        .await;
    let a = actor(Role::User);
    let mut good = claims(&a);
    good["iss"] = "user-management".into();
    good["aud"] = "nexus-crm".into();
    let ok = app
        .client
        .get(app.url("/api/customers"))
        .bearer_auth(sign(&good, Algorithm::HS256, TEST_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    for (key, value) in [
        ("iss", Some("evil")),
        ("aud", Some("billing")),
        ("iss", None),
        ("aud", None),
    ] {
        let mut c = good.clone();
        match value {
            Some(v) => c[key] = v.into(),
            None => {
                c.as_object_mut().unwrap().remove(key);
            }
        }
        let token = sign(&c, Algorithm::HS256, TEST_SECRET);
        assert_unauthorized(
            &app,
            Some(format!("Bearer {token}")),
            &format!("{key}={value:?}"),
        )
        .await;
    }
}

#[tokio::test]
async fn health_and_docs_need_no_token() {
    let app = TestApp::spawn().await;
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/health/detailed",
        "/api/openapi.json",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}
