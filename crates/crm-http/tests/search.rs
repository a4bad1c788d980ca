//! Filters, search, tags and segments over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::{Actor, Role};
use crm_testkit::tokens::{actor, colleague};
use crm_testkit::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

fn names(page: &Value) -> Vec<String> {
    let mut v: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn seed(app: &TestApp, who: &Actor) -> Vec<Value> {
    let mut out = Vec::new();
    for body in [
        json!({"name": "Ada Lovelace", "email": "ada@engines.co.uk", "status": "active", "tags": ["vip", "eu"], "metadata": {"tier": "gold"}}),
        json!({"name": "Grace Hopper", "email": "grace@navy.mil", "companyName": "US Navy", "tags": ["vip"], "metadata": {"tier": "silver"}}),
        json!({"name": "Alan Turing", "phone": "+44 1908 640404", "status": "active", "tags": ["eu"], "type": "business"}),
        json!({"name": "Edsger Dijkstra", "status": "churned"}),
    ] {
        out.push(app.create_customer(who, body).await);
    }
    out
}

#[tokio::test]
async fn every_list_filter_selects_the_right_customers() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    seed(&app, &a).await;
    seed(&app, &actor(Role::Admin)).await; // another company, same data
    let cases = [
        ("status=active", vec!["Ada Lovelace", "Alan Turing"]),
        ("type=business", vec!["Alan Turing"]),
        ("tags=vip", vec!["Ada Lovelace", "Grace Hopper"]),
        (
            "tags=VIP,eu",
            vec!["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        ),
        ("tagsAll=vip,eu", vec!["Ada Lovelace"]),
        (
            "metadata=%7B%22tier%22%3A%22gold%22%7D",
            vec!["Ada Lovelace"],
        ),
        (
            "status=active&tags=eu&type=individual",
            vec!["Ada Lovelace"],
        ),
        (
            "createdFrom=2000-01-01T00:00:00Z",
            vec![
                "Ada Lovelace",
                "Alan Turing",
                "Edsger Dijkstra",
                "Grace Hopper",
            ],
        ),
        ("updatedTo=2000-01-01T00:00:00Z", vec![]),
    ];
    for (query, expected) in cases {
        let page = app
            .get_json(&format!("/api/customers?{query}&includeTotal=true"), &a)
            .await;
        assert_eq!(names(&page), expected, "{query}");
        assert_eq!(page["totalCount"], expected.len(), "{query}");
    }
    for bad in [
        "metadata=notjson",
        "metadata=%5B1%5D",
        "tagsAll=%20,x%00",
        "updatedFrom=soon",
    ] {
        let res = app
            .get(&format!("/api/customers?{bad}"), &a)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn search_finds_fragments_and_typos_within_the_company() {
    let app = TestApp::spawn().await;
    let a = actor(Role::User);
    seed(&app, &a).await;
    let other = actor(Role::User);
    app.create_customer(&other, json!({"name": "Ada Lovelace Twin"}))
        .await;
    let search = |q: &str| format!("/api/customers/search?q={q}");
    assert_eq!(
        names(&app.get_json(&search("lovelace"), &a).await),
        ["Ada Lovelace"]
    );
    assert_eq!(
        names(&app.get_json(&search("navy"), &a).await),
        ["Grace Hopper"]
    );
    assert_eq!(
        names(&app.get_json(&search("640404"), &a).await),
        ["Alan Turing"]
    );
    assert_eq!(
        names(&app.get_json(&search("engines.co"), &a).await),
        ["Ada Lovelace"]
    );
    assert_eq!(
        names(&app.get_json(&search("Dijkstar"), &a).await),
        ["Edsger Dijkstra"],
        "a typo"
    );
    assert_eq!(
        names(&app.get_json(&search("ada&status=churned"), &a).await),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app.get_json(&search("ada&status=active"), &a).await),
        ["Ada Lovelace"]
    );
    // Best first: the exact name before the fragment.
    app.create_customer(&a, json!({"name": "Adams Family", "email": "x@ada.org"}))
        .await;
    let page = app.get_json(&search("adams%20family"), &a).await;
    assert_eq!(page["data"][0]["name"], "Adams Family");

    for bad in [
        "",
        "?q=ab",
        "?q=",
        "?q=ok&limit=0",
        "?q=lovelace&cursor=nope",
        "?q=lovelace&status=nope",
    ] {
        let res = app
            .get(&format!("/api/customers/search{bad}"), &a)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn search_results_page_without_repeats() {
    let app = TestApp::spawn().await;
    let a = actor(Role::User);
    for i in 0..12 {
        app.create_customer(&a, json!({"name": format!("Widget {i:02}")}))
            .await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut url = "/api/customers/search?q=widget&limit=5".to_owned();
    loop {
        let page = app.get_json(&url, &a).await;
        for c in page["data"].as_array().unwrap() {
            assert!(seen.insert(c["id"].as_str().unwrap().to_owned()));
        }
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(next) => url = format!("/api/customers/search?q=widget&limit=5&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
}

#[tokio::test]
async fn tags_are_added_removed_counted_and_recorded() {
    let app = TestApp::spawn().await;
    let owner = actor(Role::User);
    let stranger = colleague(owner.company(), Role::User);
    let c = app
        .create_customer(&owner, json!({"name": "Tagged", "tags": ["vip"]}))
        .await;
    let tags = format!("/api/customers/{}/tags", c["id"].as_str().unwrap());

    let add = |who: &Actor, body: Value| app.request(Method::POST, &tags, who).json(&body).send();
    let res = add(&owner, json!({"tags": [" EU ", "vip", "eu"]}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["tags"], json!(["vip", "eu"]));
    // Idempotent.
    let again: Value = add(&owner, json!({"tags": ["eu"]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["tags"], json!(["vip", "eu"]));
    assert_eq!(again["updatedAt"], after["updatedAt"], "nothing changed");

    let res = app
        .request(Method::DELETE, &tags, &owner)
        .json(&json!({"tags": ["VIP", "absent"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let removed: Value = res.json().await.unwrap();
    assert_eq!(removed["tags"], json!(["eu"]));

    // Counts across the company.
    app.create_customer(&owner, json!({"name": "Other", "tags": ["eu", "b2b"]}))
        .await;
    let counts = app.get_json("/api/customers/tags", &stranger).await;
    assert_eq!(
        counts["data"],
        json!([{"tag": "eu", "count": 2}, {"tag": "b2b", "count": 1}])
    );
    let first = app.get_json("/api/customers/tags?limit=1", &stranger).await;
    assert_eq!(first["data"], json!([{"tag": "eu", "count": 2}]));
    let next = first["pageInfo"]["nextCursor"].as_str().unwrap();
    let second = app
        .get_json(
            &format!("/api/customers/tags?limit=1&cursor={next}"),
            &stranger,
        )
        .await;
    assert_eq!(second["data"], json!([{"tag": "b2b", "count": 1}]));
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // History.
    let history = app
        .get_json(
            &format!("/api/customers/{}/history", c["id"].as_str().unwrap()),
            &owner,
        )
        .await;
    let entries = history["data"].as_array().unwrap();
    assert_eq!(entries[0]["type"], "tags.removed");
    assert_eq!(entries[0]["data"]["tags"], json!(["vip"]));
    assert_eq!(entries[1]["type"], "tags.added");
    assert_eq!(entries[1]["data"]["tags"], json!(["eu"]));

    // Rules and bad input.
    let res = add(&stranger, json!({"tags": ["x"]})).await.unwrap();
    assert_eq!(res.status(), 403);
    let res = add(&actor(Role::Admin), json!({"tags": ["x"]}))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    for bad in [
        json!({"tags": [""]}),
        json!({"tags": ["x".repeat(51)]}),
        json!({"tags": "vip"}),
        json!({}),
    ] {
        let res = add(&owner, bad.clone()).await.unwrap();
        assert_eq!(res.status(), 422, "{bad}");
    }
    let many: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let res = add(&owner, json!({"tags": many})).await.unwrap();
    assert_eq!(res.status(), 422, "over 50 in all");
}

#[tokio::test]
async fn segments_save_a_filter_and_list_live_members() {
    let app = TestApp::spawn().await;
    let owner = actor(Role::User);
    let other_user = colleague(owner.company(), Role::User);
    let manager = colleague(owner.company(), Role::Manager);
    let customers = seed(&app, &owner).await;

    let res = app
        .post(
            "/api/segments",
            &owner,
            &json!({"name": "Active VIPs", "description": "Top", "filter": {"status": "active", "tags": ["vip"]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let segment: Value = res.json().await.unwrap();
    assert_eq!(segment["memberCount"], 1);
    assert_eq!(
        segment["filter"],
        json!({"status": "active", "tags": ["vip"]})
    );

    let members = app
        .get_json(
            &format!("{location}/customers?includeTotal=true"),
            &other_user,
        )
        .await;
    assert_eq!(names(&members), ["Ada Lovelace"]);
    assert_eq!(members["totalCount"], 1);

    // Membership is live: Grace becomes active and joins.
    let grace = format!("/api/customers/{}", customers[1]["id"].as_str().unwrap());
    app.put(&grace, &owner, &json!({"status": "active"}))
        .send()
        .await
        .unwrap();
    let members = app.get_json(&format!("{location}/customers"), &owner).await;
    assert_eq!(names(&members), ["Ada Lovelace", "Grace Hopper"]);
    assert_eq!(app.get_json(&location, &owner).await["memberCount"], 2);

    // Change the filter; list segments.
    let res = app
        .put(
            &location,
            &owner,
            &json!({"filter": {"tagsAll": ["vip", "eu"]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["memberCount"], 1);
    assert_eq!(changed["name"], "Active VIPs");
    let list = app.get_json("/api/segments", &other_user).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // Rules, conflicts, validation, tenancy.
    let dup = app
        .post(
            "/api/segments",
            &other_user,
            &json!({"name": "active vips"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "filter": {"colour": "red"}}),
        json!({"name": "x", "filter": {"status": "vip"}}),
        json!({"name": "x", "filter": {"createdFrom": "2030-01-01T00:00:00Z", "createdTo": "2020-01-01T00:00:00Z"}}),
        json!({"name": "x", "memberCount": 5}),
    ] {
        let res = app
            .post("/api/segments", &owner, &bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{bad}");
    }
    assert_eq!(
        app.put(&location, &other_user, &json!({"name": "Mine"}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.delete(&location, &other_user)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let intruder = actor(Role::Admin);
    for method in [Method::GET, Method::DELETE] {
        let res = app
            .request(method.clone(), &location, &intruder)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{method}");
    }
    let res = app
        .get(&format!("{location}/customers"), &intruder)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.get("/api/segments/not-a-uuid", &owner)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        app.delete(&location, &manager)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.get(&location, &owner).send().await.unwrap().status(),
        404
    );
    // The customers are still there.
    assert_eq!(app.get(&grace, &owner).send().await.unwrap().status(), 200);
}
