//! Analytics over HTTP: figures for known data, privacy of note counts, tenancy, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{Duration, Utc};
use crm_domain::Role;
use crm_testkit::tokens::{actor, colleague};
use crm_testkit::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn stats_dashboard_performance_and_activity_report_known_data() {
    let app = TestApp::spawn().await;
    let alice = actor(Role::User);
    let bob = colleague(alice.company(), Role::User);
    let manager = colleague(alice.company(), Role::Manager);
    let c = app
        .create_customer(&alice, json!({"name": "A", "source": "web", "tags": ["vip"], "assignedTo": alice.user().to_string()}))
        .await;
    app.create_customer(
        &bob,
        json!({"name": "B", "type": "business", "status": "active", "tags": ["vip", "eu"]}),
    )
    .await;
    let path = format!("/api/customers/{}", c["id"].as_str().unwrap());
    app.post(
        &format!("{path}/notes"),
        &alice,
        &json!({"content": "public"}),
    )
    .send()
    .await
    .unwrap();
    app.post(
        &format!("{path}/notes"),
        &alice,
        &json!({"content": "mine", "isPrivate": true}),
    )
    .send()
    .await
    .unwrap();
    app.post(
        &format!("{path}/notes"),
        &bob,
        &json!({"content": "bob's", "isPrivate": true, "type": "call"}),
    )
    .send()
    .await
    .unwrap();
    let soon = (Utc::now() + Duration::hours(3)).to_rfc3339();
    let past = (Utc::now() - Duration::hours(3)).to_rfc3339();
    app.post(
        &format!("{path}/interactions"),
        &alice,
        &json!({"type": "call", "subject": "done", "status": "completed", "durationMinutes": 15}),
    )
    .send()
    .await
    .unwrap();
    app.post(
        &format!("{path}/interactions"),
        &alice,
        &json!({"type": "meeting", "subject": "soon", "scheduledAt": soon}),
    )
    .send()
    .await
    .unwrap();
    app.post(
        &format!("{path}/interactions"),
        &alice,
        &json!({"type": "task", "subject": "late", "scheduledAt": past}),
    )
    .send()
    .await
    .unwrap();
    app.put(&path, &manager, &json!({"status": "active"}))
        .send()
        .await
        .unwrap();

    let s = app.get_json("/api/stats", &alice).await;
    assert_eq!(s["customersTotal"], 2);
    assert_eq!(s["customersByStatus"], json!({"active": 2}));
    assert_eq!(
        s["customersByType"],
        json!({"business": 1, "individual": 1})
    );
    assert_eq!(s["customersBySource"], json!({"": 1, "web": 1}));
    assert_eq!(s["notesTotal"], 2, "public + alice's private; not bob's");
    assert_eq!(app.get_json("/api/stats", &bob).await["notesTotal"], 2);
    assert_eq!(app.get_json("/api/stats", &manager).await["notesTotal"], 1);
    assert_eq!(s["interactionsTotal"], 3);
    assert_eq!(
        s["interactionsByStatus"],
        json!({"completed": 1, "scheduled": 2})
    );
    assert_eq!(s["newCustomersLast7Days"], 2);
    assert_eq!(s["newCustomersLast30Days"], 2);

    let d = app.get_json("/api/stats/dashboard?days=7", &alice).await;
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.len(), 7);
    assert_eq!(series[6]["day"], Utc::now().date_naive().to_string());
    assert_eq!(series[6]["newCustomers"], 2);
    assert_eq!(series[6]["interactionsCreated"], 3);
    assert_eq!(series[6]["interactionsCompleted"], 1);
    assert_eq!(series[0]["newCustomers"], 0);
    assert_eq!(d["upcoming"]["count"], 1);
    assert_eq!(d["upcoming"]["items"][0]["subject"], "soon");
    assert_eq!(d["overdue"]["count"], 1);
    assert_eq!(d["overdue"]["items"][0]["subject"], "late");
    assert_eq!(
        d["topTags"],
        json!([{"tag": "vip", "count": 2}, {"tag": "eu", "count": 1}])
    );
    assert_eq!(
        app.get_json("/api/stats/dashboard", &alice).await["series"]
            .as_array()
            .unwrap()
            .len(),
        30
    );

    let p = app.get_json("/api/stats/performance", &alice).await;
    let mine = p["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userId"] == alice.user().to_string())
        .unwrap()
        .clone();
    assert_eq!(mine["interactionsCreated"], 3);
    assert_eq!(mine["interactionsCompleted"], 1);
    assert_eq!(mine["averageDurationMinutes"], 15.0);
    assert_eq!(mine["customersAssigned"], 1);
    assert_eq!(mine["customersWon"], 1);

    let a = app
        .get_json(
            &format!(
                "/api/stats/customers/{}/activity",
                c["id"].as_str().unwrap()
            ),
            &bob,
        )
        .await;
    assert_eq!(a["notesTotal"], 2, "public + bob's own");
    assert_eq!(a["notesByType"], json!({"call": 1, "general": 1}));
    assert_eq!(a["interactionsTotal"], 3);
    assert_eq!(
        a["interactionsByType"],
        json!({"call": 1, "meeting": 1, "task": 1})
    );
    assert_eq!(a["daysSinceLastContact"], 0);
    assert!(a["lastContactAt"].is_string());
    assert!(a["nextScheduledAt"].is_string());
}

#[tokio::test]
async fn stats_refuse_bad_input_and_other_companies() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    let c = app.create_customer(&a, json!({"name": "Mine"})).await;
    let activity = format!(
        "/api/stats/customers/{}/activity",
        c["id"].as_str().unwrap()
    );
    assert_eq!(
        app.get(&activity, &actor(Role::Admin))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("/api/stats/customers/nope/activity", &a)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    for bad in ["days=0", "days=366", "days=week", "weeks=2"] {
        let res = app
            .get(&format!("/api/stats/dashboard?{bad}"), &a)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    let res = app
        .get("/api/stats/performance?from=yesterday", &a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .get(
            "/api/stats/performance?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            &a,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .get(
            "/api/stats/performance?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            &a,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "period too long");
    assert_eq!(
        app.request(Method::POST, "/api/stats", &a)
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    // Nothing at all yet for a new company: zeros, not errors.
    let empty = app.get_json("/api/stats", &actor(Role::User)).await;
    assert_eq!(empty["customersTotal"], 0);
    assert_eq!(empty["customersByStatus"], json!({}));
}
