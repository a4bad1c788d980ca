//! The audit trail: sensitive changes with before/after, request id and client IP; denied
//! attempts; admins only; per company; append-only for the service's role.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::Role;
use crm_testkit::tokens::{actor, colleague};
use crm_testkit::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn sensitive_changes_and_denied_attempts_are_audited_for_admins() {
    let app = TestApp::spawn().await;
    let admin = actor(Role::Admin);
    let user = colleague(admin.company(), Role::User);
    let manager = colleague(admin.company(), Role::Manager);

    let res = app
        .post("/api/customers", &user, &json!({"name": "Audited"}))
        .header("X-Request-Id", "req-create-1")
        .send()
        .await
        .unwrap();
    let c: Value = res.json().await.unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    let path = format!("/api/customers/{id}");
    app.put(&path, &user, &json!({"status": "prospect"}))
        .send()
        .await
        .unwrap();
    app.request(Method::POST, &format!("{path}/tags"), &user)
        .json(&json!({"tags": ["vip"]}))
        .send()
        .await
        .unwrap();
    let (note, _) = {
        let res = app
            .post(&format!("{path}/notes"), &user, &json!({"content": "n"}))
            .send()
            .await
            .unwrap();
        (res.headers()["location"].to_str().unwrap().to_owned(), ())
    };
    app.delete(&note, &manager).send().await.unwrap();
    // A refused attempt: users do not delete customers.
    let denied = app
        .delete(&path, &user)
        .header("X-Request-Id", "req-denied-1")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);

    let trail = app.get_json("/api/audit", &admin).await;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "denied",
            "note.deleted",
            "tags.added",
            "customer.updated",
            "customer.created"
        ]
    );
    let entries = trail["data"].as_array().unwrap();
    let created = &entries[4];
    assert_eq!(created["requestId"], "req-create-1");
    assert_eq!(created["clientIp"], "127.0.0.1");
    assert_eq!(created["role"], "user");
    assert_eq!(created["actor"], user.user().to_string());
    assert_eq!(created["entityId"], id);
    assert_eq!(
        entries[3]["changes"]["changes"]["status"],
        json!({"before": "lead", "after": "prospect"})
    );
    assert_eq!(entries[1]["role"], "manager");
    let refused = &entries[0];
    assert_eq!(refused["entityType"], "DELETE /api/customers/{id}");
    assert_eq!(refused["entityId"], id);
    assert_eq!(refused["requestId"], "req-denied-1");

    // Filters.
    let by_action = app.get_json("/api/audit?action=tags.added", &admin).await;
    assert_eq!(by_action["data"].as_array().unwrap().len(), 1);
    let by_actor = app
        .get_json(&format!("/api/audit?actor={}", manager.user()), &admin)
        .await;
    assert_eq!(by_actor["data"].as_array().unwrap().len(), 1);
    let by_entity = app
        .get_json(
            &format!("/api/audit?entityId={id}&entityType=customer"),
            &admin,
        )
        .await;
    assert_eq!(by_entity["data"].as_array().unwrap().len(), 3);
    let paged = app.get_json("/api/audit?limit=2", &admin).await;
    assert_eq!(paged["data"].as_array().unwrap().len(), 2);
    assert_eq!(paged["pageInfo"]["hasNextPage"], true);

    // Admins only; the refusal is itself audited. Other companies see nothing.
    for who in [&user, &manager] {
        assert_eq!(
            app.get("/api/audit", who).send().await.unwrap().status(),
            403
        );
    }
    let after = app.get_json("/api/audit?action=denied", &admin).await;
    assert_eq!(after["data"].as_array().unwrap().len(), 3);
    let stranger = app.get_json("/api/audit", &actor(Role::Admin)).await;
    assert_eq!(stranger["data"], json!([]));
    for bad in [
        "from=soon",
        "actor=bob",
        "entityId=1",
        "limit=0",
        "colour=red",
    ] {
        assert_eq!(
            app.get(&format!("/api/audit?{bad}"), &admin)
                .send()
                .await
                .unwrap()
                .status(),
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_service_role_cannot_rewrite_the_trail() {
    let app = TestApp::spawn().await;
    let admin = actor(Role::Admin);
    app.create_customer(&admin, json!({"name": "x"})).await;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let mut conn = app.db.connect().await;
    conn.begin_test_transaction().await.unwrap();
    diesel::sql_query(format!(
        "SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', '{}', true)",
        admin.company()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert!(
        diesel::sql_query("UPDATE crm.audit_log SET action = 'nothing'")
            .execute(&mut conn)
            .await
            .is_err()
    );
    let mut conn = app.db.connect().await;
    conn.begin_test_transaction().await.unwrap();
    diesel::sql_query("SELECT set_config('role', 'crm_tenant', true)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(diesel::sql_query("DELETE FROM crm.audit_log")
        .execute(&mut conn)
        .await
        .is_err());
}
