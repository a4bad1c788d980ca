//! The customers API end to end: CRUD, validation, bad input, roles, tenancy, pagination.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;

use crm_domain::Role;
use crm_testkit::tokens::{actor, colleague};
use crm_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn fields(problem: &Value) -> Vec<String> {
    let mut f: Vec<String> = problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    f.sort();
    f
}

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "problem has {key}: {body}");
    }
    body
}

#[tokio::test]
async fn create_read_update_delete() {
    let app = TestApp::spawn().await;
    let manager = actor(Role::Manager);
    let res = app
        .post(
            "/api/customers",
            &manager,
            &json!({
                "name": "  Grace Hopper ",
                "email": "grace@navy.mil",
                "type": "business",
                "tags": ["Navy", "navy", "COBOL"],
                "address": {"city": "Arlington"},
                "metadata": {"rank": "rear admiral"}
            }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/customers/{id}"));
    assert_eq!(created["name"], "Grace Hopper");
    assert_eq!(created["status"], "lead");
    assert_eq!(created["type"], "business");
    assert_eq!(created["tags"], json!(["navy", "cobol"]));
    assert_eq!(created["companyId"], manager.company().to_string());
    assert_eq!(created["createdBy"], manager.user().to_string());

    let fetched: Value = app.get_json(&location, &manager).await;
    assert_eq!(fetched, created);

    let res = app
        .put(
            &location,
            &manager,
            &json!({"status": "active", "email": null, "phone": "+1 555"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["status"], "active");
    assert_eq!(updated["email"], Value::Null);
    assert_eq!(updated["phone"], "+1 555");
    assert_eq!(updated["name"], "Grace Hopper", "fields not sent are kept");
    assert_eq!(updated["tags"], created["tags"]);
    assert!(updated["updatedAt"].as_str() > created["updatedAt"].as_str());

    let res = app.delete(&location, &manager).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(app.get(&location, &manager).send().await.unwrap(), 404).await;
    problem(app.delete(&location, &manager).send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn validation_failures_name_every_field() {
    let app = TestApp::spawn().await;
    let a = actor(Role::User);
    let cases = [
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "   "}), vec!["name"]),
        (json!({"name": "x".repeat(201)}), vec!["name"]),
        (json!({}), vec!["name"]),
        (json!({"name": "ok", "email": "nope"}), vec!["email"]),
        (json!({"name": "ok", "status": "vip"}), vec!["status"]),
        (json!({"name": "ok", "type": "robot"}), vec!["type"]),
        (json!({"name": "ok", "tags": ["ok", ""]}), vec!["tags[1]"]),
        (
            json!({"name": "ok", "tags": ["x".repeat(51)]}),
            vec!["tags[0]"],
        ),
        (
            json!({"name": "ok", "tags": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            vec!["tags"],
        ),
        (
            json!({"name": "ok", "assignedTo": "bob"}),
            vec!["assignedTo"],
        ),
        (json!({"name": "ok", "metadata": [1, 2]}), vec!["metadata"]),
        (json!({"name": "ok", "address": "Main St"}), vec!["address"]),
        (json!({"name": 5}), vec!["name"]),
        (
            json!({"name": "", "email": "bad", "phone": "1".repeat(51)}),
            vec!["email", "name", "phone"],
        ),
    ];
    for (body, expected) in cases {
        let res = app.post("/api/customers", &a, &body).send().await.unwrap();
        let p = problem(res, 422).await;
        assert_eq!(fields(&p), expected, "body {body}");
    }
    // Nothing was stored.
    let list: Value = app.get_json("/api/customers", &a).await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn server_owned_fields_cannot_be_set() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    for field in ["id", "companyId", "createdBy", "createdAt", "updatedAt"] {
        let mut body = json!({"name": "Mallory"});
        body[field] = json!("00000000-0000-0000-0000-000000000001");
        let p = problem(
            app.post("/api/customers", &a, &body).send().await.unwrap(),
            422,
        )
        .await;
        assert_eq!(fields(&p), vec![field.to_owned()], "create with {field}");
    }
    let c = app.create_customer(&a, json!({"name": "Real"})).await;
    let path = format!("/api/customers/{}", c["id"].as_str().unwrap());
    let p = problem(
        app.put(
            &path,
            &a,
            &json!({"companyId": "00000000-0000-0000-0000-000000000001"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["companyId"]);
    let p = problem(
        app.put(&path, &a, &json!({"name": null}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["name"]);
}

#[tokio::test]
async fn malformed_requests_are_4xx_problems() {
    let app = TestApp::builder().with_body_limit(4096).start().await;
    let a = actor(Role::Admin);
    let c = app.create_customer(&a, json!({"name": "Target"})).await;
    let path = format!("/api/customers/{}", c["id"].as_str().unwrap());
    let post = || app.request(reqwest::Method::POST, "/api/customers", &a);

    // Malformed JSON, empty body.
    let res = post()
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    let res = post()
        .header("content-type", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    let res = post()
        .header("content-type", "application/json")
        .body("[1,2")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    // Wrong or missing content type.
    let res = post()
        .header("content-type", "text/plain")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    problem(res, 415).await;
    let res = post().body("{\"name\":\"x\"}").send().await.unwrap();
    problem(res, 415).await;
    // Too large.
    let big = json!({"name": "x", "metadata": {"blob": "y".repeat(8000)}});
    problem(
        app.post("/api/customers", &a, &big).send().await.unwrap(),
        413,
    )
    .await;
    // A JSON array instead of an object.
    problem(
        app.post("/api/customers", &a, &json!([1]))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;

    // Bad ids and query parameters.
    problem(
        app.get("/api/customers/not-a-uuid", &a)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(
        app.delete("/api/customers/123", &a).send().await.unwrap(),
        400,
    )
    .await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "status=vip",
        "type=robot",
        "sort=email",
        "assignedTo=bob",
        "createdFrom=yesterday",
        "includeTotal=maybe",
        "cursor=!!!",
        "unknown=1",
    ] {
        let res = app
            .get(&format!("/api/customers?{query}"), &a)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(status == 400 || status == 422, "{query} gave {status}");
        problem(res, status).await;
    }
    // An inverted date range is a validation failure.
    let res = app
        .get(
            "/api/customers?createdFrom=2026-02-01T00:00:00Z&createdTo=2026-01-01T00:00:00Z",
            &a,
        )
        .send()
        .await
        .unwrap();
    problem(res, 422).await;
    // Unknown routes and methods.
    problem(app.get("/api/nothing-here", &a).send().await.unwrap(), 404).await;
    problem(
        app.request(reqwest::Method::PATCH, &path, &a)
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    // The target is untouched.
    let after: Value = app.get_json(&path, &a).await;
    assert_eq!(after, c);
}

#[tokio::test]
async fn duplicate_email_is_a_conflict_within_a_company_only() {
    let app = TestApp::spawn().await;
    let a = actor(Role::User);
    let b = actor(Role::User);
    app.create_customer(&a, json!({"name": "One", "email": "dup@example.com"}))
        .await;
    let res = app
        .post(
            "/api/customers",
            &a,
            &json!({"name": "Two", "email": "DUP@example.com"}),
        )
        .send()
        .await
        .unwrap();
    problem(res, 409).await;
    app.create_customer(&b, json!({"name": "Other co", "email": "dup@example.com"}))
        .await;
}

#[tokio::test]
async fn another_companys_customer_is_404_everywhere() {
    let app = TestApp::spawn().await;
    let owner = actor(Role::Admin);
    let intruder = actor(Role::Admin);
    let c = app.create_customer(&owner, json!({"name": "Secret"})).await;
    let path = format!("/api/customers/{}", c["id"].as_str().unwrap());

    problem(app.get(&path, &intruder).send().await.unwrap(), 404).await;
    problem(
        app.put(&path, &intruder, &json!({"name": "pwned"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(app.delete(&path, &intruder).send().await.unwrap(), 404).await;
    let list: Value = app
        .get_json("/api/customers?includeTotal=true", &intruder)
        .await;
    assert_eq!(list["data"], json!([]));
    assert_eq!(list["totalCount"], 0);

    let still: Value = app.get_json(&path, &owner).await;
    assert_eq!(still["name"], "Secret");
}

#[tokio::test]
async fn roles_decide_who_changes_and_deletes() {
    let app = TestApp::spawn().await;
    let creator = actor(Role::User);
    let company = creator.company();
    let other_user = colleague(company, Role::User);
    let assignee = colleague(company, Role::User);
    let manager = colleague(company, Role::Manager);
    let admin = colleague(company, Role::Admin);

    let c = app
        .create_customer(
            &creator,
            json!({"name": "Shared", "assignedTo": assignee.user().to_string()}),
        )
        .await;
    let path = format!("/api/customers/{}", c["id"].as_str().unwrap());
    let rename = |to: &str| json!({"name": to});

    // Everyone reads.
    for who in [&creator, &other_user, &assignee, &manager, &admin] {
        assert_eq!(app.get(&path, who).send().await.unwrap().status(), 200);
    }
    // A user who neither created nor is assigned may not change it.
    problem(
        app.put(&path, &other_user, &rename("x"))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    // The creator, the assignee, managers and admins may.
    for (who, name) in [
        (&creator, "c"),
        (&assignee, "a"),
        (&manager, "m"),
        (&admin, "ad"),
    ] {
        let res = app.put(&path, who, &rename(name)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{name}");
    }
    // Users never delete, not even their own; managers do.
    problem(app.delete(&path, &creator).send().await.unwrap(), 403).await;
    problem(app.delete(&path, &assignee).send().await.unwrap(), 403).await;
    assert_eq!(
        app.delete(&path, &manager).send().await.unwrap().status(),
        204
    );
}

async fn walk(app: &TestApp, a: &crm_domain::Actor, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = format!("/api/customers?limit=7&{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.get_json(&url, a).await;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 7);
        all.extend(data.iter().cloned());
        assert_eq!(
            page["pageInfo"]["hasNextPage"],
            !page["pageInfo"]["nextCursor"].is_null()
        );
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
    panic!("the walk did not end");
}

#[tokio::test]
async fn a_cursor_walk_visits_every_customer_once_in_order() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    for i in 0..45 {
        let status = if i % 3 == 0 { "active" } else { "lead" };
        app.create_customer(
            &a,
            json!({"name": format!("Customer {:02}", (i * 17) % 45), "status": status}),
        )
        .await;
    }
    for sort in [
        "createdAt",
        "-createdAt",
        "name",
        "-name",
        "updatedAt",
        "-updatedAt",
    ] {
        let all = walk(&app, &a, &format!("sort={sort}")).await;
        assert_eq!(all.len(), 45, "{sort}");
        let ids: HashSet<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 45, "no repeats with {sort}");
        let key = sort.trim_start_matches('-');
        let keys: Vec<&str> = all.iter().map(|c| c[key].as_str().unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if sort.starts_with('-') {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "order of {sort}");
    }
    // Filters combine with the walk.
    let active = walk(&app, &a, "status=active&sort=name").await;
    assert_eq!(active.len(), 15);
    assert!(active.iter().all(|c| c["status"] == "active"));

    let page: Value = app
        .get_json("/api/customers?includeTotal=true&status=lead&limit=5", &a)
        .await;
    assert_eq!(page["totalCount"], 30);
    assert_eq!(page["data"].as_array().unwrap().len(), 5);

    // A cursor made for one sort is refused with another.
    let first: Value = app.get_json("/api/customers?limit=2&sort=name", &a).await;
    let cursor = first["pageInfo"]["nextCursor"].as_str().unwrap();
    let res = app
        .get(
            &format!("/api/customers?limit=2&sort=-createdAt&cursor={cursor}"),
            &a,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
