//! Regressions for what contract fuzzing (.ci/contract.sh, schemathesis) found: each request
//! here used to get a 500 or an answer the OpenAPI document did not promise.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::Role;
use crm_testkit::tokens::actor;
use crm_testkit::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &crm_domain::Actor,
    body: &str,
) -> reqwest::RequestBuilder {
    app.request(method, path, who)
        .header("content-type", "application/json")
        .body(body.to_owned())
}

#[tokio::test]
async fn nul_characters_are_refused_not_a_server_error() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Manager);
    let c = app.create_customer(&a, json!({"name": "Ada"})).await;
    let id = c["id"].as_str().unwrap();

    // In a text column (used to be a 500: PostgreSQL refuses 0x00 in text).
    let res = app
        .post(
            &format!("/api/customers/{id}/notes"),
            &a,
            &json!({"content": "a\u{0}b"}),
        )
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "content");

    // In a jsonb key, nested (used to be a 500: jsonb refuses \u0000).
    let res = app
        .put(
            &format!("/api/customers/{id}"),
            &a,
            &json!({"address": {"street": {"x\u{0}": 1}}}),
        )
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "address.street.x\u{0}");

    // In query parameters that reach SQL as text.
    for path in [
        "/api/audit?action=a%00b".to_owned(),
        "/api/customers?metadata=%7B%22a%22%3A%22%00%22%7D".to_owned(),
    ] {
        let admin = actor(Role::Admin);
        let who = if path.starts_with("/api/audit") {
            &admin
        } else {
            &a
        };
        let res = app.get(&path, who).send().await.unwrap();
        problem(res, 400).await;
    }
    // The customer is still readable.
    assert_eq!(
        app.get_json(&format!("/api/customers/{id}"), &a).await["name"],
        "Ada"
    );
}

#[tokio::test]
async fn extreme_numbers_in_json_fields_read_back() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Manager);
    let c = app.create_customer(&a, json!({"name": "Ada"})).await;
    let path = format!("/api/customers/{}", c["id"].as_str().unwrap());
    // PostgreSQL stores these exactly as decimals; reading them back used to fail
    // ("Invalid Json"), and every later read or list of the customer was a 500.
    let body = r#"{"address": {"max": -1.7976931348623157e308, "tiny": 1.1125369292536007e-308, "big": 1.6368923471763207e220}}"#;
    let res = raw(&app, Method::PUT, &path, &a, body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got = app.get_json(&path, &a).await;
    assert_eq!(got["address"]["max"].as_f64(), Some(-f64::MAX));
    assert_eq!(
        got["address"]["tiny"].as_f64(),
        Some(1.112_536_929_253_600_7e-308)
    );
    let list = app.get_json("/api/customers", &a).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unsupported_methods_are_405_with_allow() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    let trace = Method::from_bytes(b"TRACE").unwrap();
    for (path, allow) in [
        ("/api/customers", "GET, POST"),
        (
            "/api/customers/0190c9e6-0000-7000-8000-000000000000",
            "GET, PUT, DELETE",
        ),
        (
            "/api/customers/0190c9e6-0000-7000-8000-000000000000/tags",
            "POST, DELETE",
        ),
        ("/api/audit", "GET"),
    ] {
        let res = app.request(trace.clone(), path, &a).send().await.unwrap();
        assert_eq!(res.headers()["allow"], allow, "{path}");
        problem(res, 405).await;
    }
    // The probes too (they used to answer 404 to other methods).
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/health/detailed",
    ] {
        let res = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(res.headers()["allow"], "GET", "{path}");
        problem(res, 405).await;
    }
}

#[tokio::test]
async fn bodies_must_be_objects_and_whole() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Manager);
    let c = app.create_customer(&a, json!({"name": "Ada"})).await;
    let id = c["id"].as_str().unwrap();
    let i: Value = app
        .post(
            &format!("/api/customers/{id}/interactions"),
            &a,
            &json!({"type": "call", "subject": "Hello"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let complete = format!(
        "/api/customers/{id}/interactions/{}/complete",
        i["id"].as_str().unwrap()
    );
    // serde reads a struct from an array of its fields: `[null, null]` used to complete it.
    let res = raw(&app, Method::PATCH, &complete, &a, "[null, null]")
        .send()
        .await
        .unwrap();
    problem(res, 422).await;
    let res = raw(
        &app,
        Method::POST,
        "/api/segments",
        &a,
        r#"{"name": "s", "filter": [null]}"#,
    )
    .send()
    .await
    .unwrap();
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "filter");
    // Trailing bytes after the object are not JSON.
    let res = raw(
        &app,
        Method::POST,
        "/api/customers",
        &a,
        r#"{"name": "B"} x"#,
    )
    .send()
    .await
    .unwrap();
    problem(res, 400).await;
    // `null` is the documented "no body" of the completion.
    let res = raw(&app, Method::PATCH, &complete, &a, "null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn whole_numbers_may_be_written_with_a_zero_fraction() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Manager);
    let c = app.create_customer(&a, json!({"name": "Ada"})).await;
    let path = format!("/api/customers/{}/interactions", c["id"].as_str().unwrap());
    // JSON Schema's `integer` admits 30.0; it used to be a 422.
    let body = r#"{"type": "call", "subject": "Hi", "durationMinutes": 30.0}"#;
    let res = raw(&app, Method::POST, &path, &a, body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["durationMinutes"], 30);
    for bad in ["30.5", "-1", "1e10"] {
        let body = format!(r#"{{"type": "call", "subject": "Hi", "durationMinutes": {bad}}}"#);
        let res = raw(&app, Method::POST, &path, &a, &body)
            .send()
            .await
            .unwrap();
        let p = problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], "durationMinutes", "{bad}");
    }
}

#[tokio::test]
async fn the_document_states_what_the_server_checks() {
    let app = TestApp::spawn().await;
    let spec: Value = app.get_public_json("/api/openapi.json").await;
    let params = |path: &str| {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone()
    };
    let search = params("/api/customers/search");
    let q = search.iter().find(|p| p["name"] == "q").unwrap();
    assert_eq!(q["required"], true);
    // `metadata` is a JSON object in the query string.
    let list = params("/api/customers");
    let metadata = list.iter().find(|p| p["name"] == "metadata").unwrap();
    assert_eq!(
        metadata["content"]["application/json"]["schema"]["type"],
        "object"
    );
    assert!(metadata.get("schema").is_none());
    // Tags carry the rule of `Tag::parse`.
    assert_eq!(
        spec["components"]["schemas"]["Tag"]["pattern"],
        crm_domain::Tag::PATTERN
    );
    // Creates link to what uses their ids, by `operationId`.
    let link = &spec["paths"]["/api/customers/{id}/notes"]["post"]["responses"]["201"]["links"]
        ["get_note"];
    assert_eq!(link["operationId"], "get_note");
    assert_eq!(link["parameters"]["noteId"], "$response.body#/id");
    // Deletes can lose a race (409).
    assert!(spec["paths"]["/api/customers/{id}"]["delete"]["responses"]["409"].is_object());
    // Text the services refuse when blank says so: it must hold a non-whitespace character
    // (schemathesis sent a lone U+000B as a note, valid by the document, refused with 422).
    let not_blank =
        "[^\\t-\\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]";
    for (schema, field) in [
        ("CreateCustomerRequest", "name"),
        ("UpdateCustomerRequest", "name"),
        ("CreateNoteRequest", "content"),
        ("UpdateNoteRequest", "content"),
        ("CreateInteractionRequest", "subject"),
        ("UpdateInteractionRequest", "subject"),
        ("CreateSegmentRequest", "name"),
        ("UpdateSegmentRequest", "name"),
    ] {
        assert_eq!(
            spec["components"]["schemas"][schema]["properties"][field]["pattern"], not_blank,
            "{schema}.{field}"
        );
    }
    let user = actor(Role::User);
    let customer = app
        .create_customer(&user, json!({"name": "Blank note"}))
        .await;
    let res = app
        .post(
            &format!("/api/customers/{}/notes", customer["id"].as_str().unwrap()),
            &user,
            &json!({"content": "\u{b}"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}
