//! Notes, interactions and history over HTTP: CRUD, privacy, roles, validation, tenancy,
//! ordering and cascades.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::{Actor, Role};
use crm_testkit::tokens::{actor, colleague};
use crm_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Team {
    author: Actor,
    colleague: Actor,
    manager: Actor,
    admin: Actor,
}

fn team() -> Team {
    let author = actor(Role::User);
    let company = author.company();
    Team {
        author,
        colleague: colleague(company, Role::User),
        manager: colleague(company, Role::Manager),
        admin: colleague(company, Role::Admin),
    }
}

async fn status(res: reqwest::Response) -> u16 {
    let code = res.status().as_u16();
    if code >= 400 {
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    code
}

async fn customer_path(app: &TestApp, by: &Actor) -> String {
    let c = app.create_customer(by, json!({"name": "Umbrella"})).await;
    format!("/api/customers/{}", c["id"].as_str().unwrap())
}

async fn created(app: &TestApp, path: &str, by: &Actor, body: Value) -> (String, Value) {
    let res = app.post(path, by, &body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "POST {path} {body}");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    (location, res.json().await.unwrap())
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn notes_crud_with_validation() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    let notes = format!("{c}/notes");

    let (location, note) = created(
        &app,
        &notes,
        &t.author,
        json!({"content": "First call", "type": "call"}),
    )
    .await;
    assert_eq!(
        location,
        format!("{notes}/{}", note["id"].as_str().unwrap())
    );
    assert_eq!(note["type"], "call");
    assert_eq!(note["isPrivate"], false);
    assert_eq!(note["createdBy"], t.author.user().to_string());
    assert_eq!(app.get_json(&location, &t.author).await, note);

    let res = app
        .put(
            &location,
            &t.author,
            &json!({"content": "First call, edited"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["content"], "First call, edited");
    assert_eq!(edited["type"], "call");

    for (body, field) in [
        (json!({"content": ""}), "content"),
        (json!({"content": "  "}), "content"),
        (json!({"content": "x".repeat(10_001)}), "content"),
        (json!({"content": "ok", "type": "rumour"}), "type"),
        (json!({"content": "ok", "isPrivate": "yes"}), "isPrivate"),
        (
            json!({"content": "ok", "createdBy": t.admin.user().to_string()}),
            "createdBy",
        ),
        (json!({}), "content"),
    ] {
        let res = app.post(&notes, &t.author, &body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{body}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    let res = app
        .put(&location, &t.author, &json!({"content": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    assert_eq!(
        app.delete(&location, &t.author)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        status(app.get(&location, &t.author).send().await.unwrap()).await,
        404
    );
    let list = app.get_json(&notes, &t.author).await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn a_private_note_exists_for_its_author_alone() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    let notes = format!("{c}/notes");
    let (secret_url, secret) = created(
        &app,
        &notes,
        &t.author,
        json!({"content": "secret", "isPrivate": true}),
    )
    .await;
    let (public_url, public) = created(&app, &notes, &t.author, json!({"content": "public"})).await;
    let secret_id = secret["id"].as_str().unwrap();
    let public_id = public["id"].as_str().unwrap();

    assert_eq!(
        ids(&app.get_json(&notes, &t.author).await),
        [public_id, secret_id]
    );
    for other in [&t.colleague, &t.manager, &t.admin] {
        assert_eq!(ids(&app.get_json(&notes, other).await), [public_id]);
        assert_eq!(
            status(app.get(&secret_url, other).send().await.unwrap()).await,
            404
        );
        let edit = app
            .put(&secret_url, other, &json!({"content": "pwned"}))
            .send()
            .await
            .unwrap();
        assert_eq!(status(edit).await, 404);
        assert_eq!(
            status(app.delete(&secret_url, other).send().await.unwrap()).await,
            404
        );
        let history = app.get_json(&format!("{c}/history"), other).await;
        let types: Vec<&str> = history["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["note.created", "customer.created"],
            "no trace of the private note"
        );
        assert!(!history.to_string().contains("secret"));
    }
    // The author still has it, untouched.
    assert_eq!(
        app.get_json(&secret_url, &t.author).await["content"],
        "secret"
    );
    // Only the author changes privacy, even of a public note.
    let hide = json!({"isPrivate": true});
    assert_eq!(
        status(app.put(&public_url, &t.admin, &hide).send().await.unwrap()).await,
        403
    );
    assert_eq!(
        app.put(&public_url, &t.author, &hide)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        ids(&app.get_json(&notes, &t.colleague).await),
        Vec::<&str>::new()
    );
}

#[tokio::test]
async fn roles_decide_who_changes_notes_and_interactions() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    let (note, _) = created(
        &app,
        &format!("{c}/notes"),
        &t.author,
        json!({"content": "mine"}),
    )
    .await;
    let (call, _) = created(
        &app,
        &format!("{c}/interactions"),
        &t.author,
        json!({"type": "call", "subject": "Hello"}),
    )
    .await;
    let complete = format!("{call}/complete");

    // A colleague reads but may not change or delete.
    assert_eq!(
        app.get(&note, &t.colleague).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        app.get(&call, &t.colleague).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        status(
            app.put(&note, &t.colleague, &json!({"content": "x"}))
                .send()
                .await
                .unwrap()
        )
        .await,
        403
    );
    assert_eq!(
        status(app.delete(&note, &t.colleague).send().await.unwrap()).await,
        403
    );
    assert_eq!(
        status(
            app.put(&call, &t.colleague, &json!({"subject": "x"}))
                .send()
                .await
                .unwrap()
        )
        .await,
        403
    );
    assert_eq!(
        status(
            app.request(Method::PATCH, &complete, &t.colleague)
                .send()
                .await
                .unwrap()
        )
        .await,
        403
    );
    assert_eq!(
        status(app.delete(&call, &t.colleague).send().await.unwrap()).await,
        403
    );
    // Managers and admins may.
    assert_eq!(
        app.put(&note, &t.manager, &json!({"content": "by manager"}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.put(&call, &t.admin, &json!({"subject": "by admin"}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.request(Method::PATCH, &complete, &t.manager)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.delete(&note, &t.admin).send().await.unwrap().status(),
        204
    );
    assert_eq!(
        app.delete(&call, &t.manager).send().await.unwrap().status(),
        204
    );
}

#[tokio::test]
async fn interactions_are_scheduled_completed_and_filtered() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    let list = format!("{c}/interactions");
    let (meeting, m) = created(
        &app,
        &list,
        &t.author,
        json!({"type": "meeting", "direction": "outbound", "subject": "Demo", "scheduledAt": "2030-05-01T10:00:00+02:00"}),
    )
    .await;
    assert_eq!(m["status"], "scheduled");
    assert_eq!(m["completedAt"], Value::Null);
    assert_eq!(m["scheduledAt"], "2030-05-01T08:00:00Z");
    let (_, call) = created(
        &app,
        &list,
        &t.author,
        json!({"type": "call", "subject": "Logged", "status": "completed", "durationMinutes": 12}),
    )
    .await;
    assert!(call["completedAt"].is_string());

    // Complete without a body, then again with one: completedAt stays the first one.
    let complete = format!("{meeting}/complete");
    let res = app
        .request(Method::PATCH, &complete, &t.author)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["status"], "completed");
    let first = done["completedAt"].as_str().unwrap().to_owned();
    let res = app
        .request(Method::PATCH, &complete, &t.author)
        .json(&json!({"outcome": "Signed", "durationMinutes": 60}))
        .send()
        .await
        .unwrap();
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["completedAt"], first.as_str());
    assert_eq!(again["outcome"], "Signed");
    assert_eq!(again["durationMinutes"], 60);
    let res = app
        .request(Method::PATCH, &complete, &t.author)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "completing twice is harmless");

    // A cancelled one cannot be completed.
    let (cancelled, _) = created(
        &app,
        &list,
        &t.author,
        json!({"type": "task", "subject": "Send deck", "status": "cancelled"}),
    )
    .await;
    let res = app
        .request(Method::PATCH, &format!("{cancelled}/complete"), &t.author)
        .send()
        .await
        .unwrap();
    assert_eq!(status(res).await, 409);

    // Filters.
    let calls = app.get_json(&format!("{list}?type=call"), &t.author).await;
    assert_eq!(calls["data"].as_array().unwrap().len(), 1);
    let completed = app
        .get_json(&format!("{list}?status=completed"), &t.author)
        .await;
    assert_eq!(completed["data"].as_array().unwrap().len(), 2);
    let all = app.get_json(&list, &t.author).await;
    let subjects: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Send deck", "Logged", "Demo"], "newest first");

    // Partial update and clearing.
    let res = app
        .put(
            &meeting,
            &t.author,
            &json!({"direction": null, "description": "Went well"}),
        )
        .send()
        .await
        .unwrap();
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["direction"], Value::Null);
    assert_eq!(updated["description"], "Went well");
    assert_eq!(updated["subject"], "Demo");
}

#[tokio::test]
async fn interaction_input_is_validated() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    let list = format!("{c}/interactions");
    for (body, field) in [
        (json!({"subject": "no type"}), "type"),
        (json!({"type": "fax", "subject": "x"}), "type"),
        (json!({"type": "call"}), "subject"),
        (json!({"type": "call", "subject": ""}), "subject"),
        (
            json!({"type": "call", "subject": "x", "durationMinutes": 10_081}),
            "durationMinutes",
        ),
        (
            json!({"type": "call", "subject": "x", "durationMinutes": -1}),
            "durationMinutes",
        ),
        (
            json!({"type": "call", "subject": "x", "scheduledAt": "tomorrow"}),
            "scheduledAt",
        ),
        (
            json!({"type": "call", "subject": "x", "direction": "sideways"}),
            "direction",
        ),
        (
            json!({"type": "call", "subject": "x", "status": "done"}),
            "status",
        ),
        (
            json!({"type": "call", "subject": "x", "id": "00000000-0000-0000-0000-000000000000"}),
            "id",
        ),
    ] {
        let res = app.post(&list, &t.author, &body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{body}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    let ok = app
        .post(
            &list,
            &t.author,
            &json!({"type": "call", "subject": "x", "durationMinutes": 10_080}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    for query in [
        "type=fax",
        "status=done",
        "limit=0",
        "cursor=zzz",
        "sort=name",
    ] {
        let res = app
            .get(&format!("{list}?{query}"), &t.author)
            .send()
            .await
            .unwrap();
        assert_eq!(status(res).await, 400, "{query}");
    }
    let (call, _) = created(
        &app,
        &list,
        &t.author,
        json!({"type": "call", "subject": "y"}),
    )
    .await;
    let complete = format!("{call}/complete");
    let res = app
        .request(Method::PATCH, &complete, &t.author)
        .json(&json!({"durationMinutes": 99_999}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(res).await, 422);
    let res = app
        .request(Method::PATCH, &complete, &t.author)
        .header("content-type", "text/plain")
        .body("done")
        .send()
        .await
        .unwrap();
    assert_eq!(status(res).await, 415);
    let res = app
        .request(Method::PATCH, &complete, &t.author)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(status(res).await, 400);
}

#[tokio::test]
async fn history_tells_the_story_newest_first() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    app.put(&c, &t.admin, &json!({"status": "prospect"}))
        .send()
        .await
        .unwrap();
    created(
        &app,
        &format!("{c}/notes"),
        &t.author,
        json!({"content": "Met at fair"}),
    )
    .await;
    let (call, _) = created(
        &app,
        &format!("{c}/interactions"),
        &t.author,
        json!({"type": "call", "subject": "Follow-up"}),
    )
    .await;
    app.request(Method::PATCH, &format!("{call}/complete"), &t.author)
        .json(&json!({"outcome": "Meeting booked"}))
        .send()
        .await
        .unwrap();

    let mut entries: Vec<Value> = Vec::new();
    let mut url = format!("{c}/history?limit=2");
    loop {
        let page = app.get_json(&url, &t.colleague).await;
        entries.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(next) => url = format!("{c}/history?limit=2&cursor={next}"),
            None => break,
        }
    }
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
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
    let updated = &entries[3];
    assert_eq!(
        updated["data"]["changes"]["status"],
        json!({"before": "lead", "after": "prospect"})
    );
    assert_eq!(updated["actor"], t.admin.user().to_string());
    assert_eq!(updated["entityType"], "customer");
    assert_eq!(entries[0]["data"]["outcome"], "Meeting booked");
    assert_eq!(entries[2]["data"]["content"], "Met at fair");
    for e in &entries {
        for key in [
            "id",
            "type",
            "occurredAt",
            "actor",
            "entityType",
            "entityId",
            "data",
        ] {
            assert!(!e[key].is_null(), "{key} in {e}");
        }
    }
}

#[tokio::test]
async fn another_companys_customer_is_404_on_every_route() {
    let app = TestApp::spawn().await;
    let t = team();
    let intruder = actor(Role::Admin);
    let c = customer_path(&app, &t.admin).await;
    let (note, _) = created(
        &app,
        &format!("{c}/notes"),
        &t.author,
        json!({"content": "n"}),
    )
    .await;
    let (call, _) = created(
        &app,
        &format!("{c}/interactions"),
        &t.author,
        json!({"type": "call", "subject": "s"}),
    )
    .await;
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{c}/notes"), None),
        (
            Method::POST,
            format!("{c}/notes"),
            Some(json!({"content": "x"})),
        ),
        (Method::GET, note.clone(), None),
        (Method::PUT, note.clone(), Some(json!({"content": "x"}))),
        (Method::DELETE, note.clone(), None),
        (Method::GET, format!("{c}/interactions"), None),
        (
            Method::POST,
            format!("{c}/interactions"),
            Some(json!({"type": "call", "subject": "x"})),
        ),
        (Method::GET, call.clone(), None),
        (Method::PUT, call.clone(), Some(json!({"subject": "x"}))),
        (Method::PATCH, format!("{call}/complete"), None),
        (Method::DELETE, call.clone(), None),
        (Method::GET, format!("{c}/history"), None),
    ];
    for (method, path, body) in routes {
        let mut req = app.request(method.clone(), &path, &intruder);
        if let Some(body) = body {
            req = req.json(&body);
        }
        assert_eq!(
            status(req.send().await.unwrap()).await,
            404,
            "{method} {path}"
        );
    }
    // All still there for the owners.
    assert_eq!(
        app.get(&note, &t.author).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        app.get(&call, &t.author).send().await.unwrap().status(),
        200
    );
    // And ids of one customer do not reach another's children.
    let other = customer_path(&app, &t.admin).await;
    let note_id = note.rsplit('/').next().unwrap();
    assert_eq!(
        status(
            app.get(&format!("{other}/notes/{note_id}"), &t.author)
                .send()
                .await
                .unwrap()
        )
        .await,
        404
    );
}

#[tokio::test]
async fn bad_ids_are_400_and_deleting_the_customer_takes_everything() {
    let app = TestApp::spawn().await;
    let t = team();
    let c = customer_path(&app, &t.admin).await;
    for path in [
        "/api/customers/nope/notes".to_owned(),
        format!("{c}/notes/nope"),
        format!("{c}/interactions/123"),
        format!("{c}/interactions/123/complete"),
        "/api/customers/x/history".to_owned(),
    ] {
        let method = if path.ends_with("complete") {
            Method::PATCH
        } else {
            Method::GET
        };
        let res = app.request(method, &path, &t.author).send().await.unwrap();
        assert_eq!(status(res).await, 400, "{path}");
    }
    created(
        &app,
        &format!("{c}/notes"),
        &t.author,
        json!({"content": "n"}),
    )
    .await;
    created(
        &app,
        &format!("{c}/interactions"),
        &t.author,
        json!({"type": "sms", "subject": "s"}),
    )
    .await;
    assert_eq!(
        app.delete(&c, &t.manager).send().await.unwrap().status(),
        204
    );
    for child in ["notes", "interactions", "history"] {
        let res = app
            .get(&format!("{c}/{child}"), &t.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(status(res).await, 404, "{child} of a deleted customer");
    }
}
