//! Cross-cutting behaviour: request ids, headers, CORS, health, OpenAPI and docs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crm_domain::Role;
use crm_testkit::tokens::actor;
use crm_testkit::TestApp;
use serde_json::Value;

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");

    let res = app.client.get(app.url("/health")).send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    // An id that could forge log lines is replaced.
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "evil id\twith spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "evil id\twith spaces");

    // Errors carry it too.
    let res = app
        .client
        .get(app.url("/api/customers"))
        .header("X-Request-Id", "err-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-request-id"], "err-1");
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/api/customers", "/nope", "/api/openapi.json"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer", "{path}");
        assert!(res.headers().contains_key("permissions-policy"), "{path}");
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("script-src"),
            "{path}: the API allows no scripts"
        );
        assert!(
            !res.headers().contains_key("strict-transport-security"),
            "HSTS is opt-in"
        );
    }
    // The docs page may run its own scripts, and nothing from elsewhere.
    let docs = app.client.get(app.url("/api/docs/")).send().await.unwrap();
    let csp = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("http"),
        "{csp}"
    );

    let https = TestApp::builder().with_hsts(31_536_000).start().await;
    let res = https.client.get(https.url("/health")).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::builder()
        .with_cors_origin("https://erp.example")
        .start()
        .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/customers"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://erp.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://erp.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn health_endpoints_report_dependencies() {
    let app = TestApp::spawn().await;
    let body: Value = app.get_public_json("/health").await;
    assert_eq!(body["status"], "ok");
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let detailed: Value = app.get_public_json("/health/detailed").await;
    assert_eq!(detailed["status"], "ok");
    assert_eq!(detailed["checks"]["postgres"]["status"], "up");
    assert!(detailed["checks"]["postgres"]["latencyMs"].is_number());
    assert_eq!(detailed["checks"]["redis"]["status"], "disabled");
}

#[tokio::test]
async fn readiness_fails_when_postgres_is_unreachable() {
    let app = TestApp::spawn().await;
    // Drop the app's database from under it: the service keeps answering, but not ready.
    let mut conn = crm_testkit::admin().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", app.db.name()))
        .execute(&mut conn)
        .await
        .unwrap();
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let live = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let detailed = app
        .client
        .get(app.url("/health/detailed"))
        .send()
        .await
        .unwrap();
    assert_eq!(detailed.status(), 503);
    let body: Value = detailed.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"]["status"], "down");
    // An API call is a 503 problem, not a 500.
    let res = app
        .get("/api/customers", &actor(Role::User))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn openapi_describes_every_route_and_docs_work_offline() {
    let app = TestApp::spawn().await;
    let spec: Value = app.get_public_json("/api/openapi.json").await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/customers", vec!["get", "post"]),
        ("/api/customers/{id}", vec!["get", "put", "delete"]),
        ("/api/customers/{id}/notes", vec!["get", "post"]),
        (
            "/api/customers/{id}/notes/{noteId}",
            vec!["get", "put", "delete"],
        ),
        ("/api/customers/{id}/interactions", vec!["get", "post"]),
        (
            "/api/customers/{id}/interactions/{interactionId}",
            vec!["get", "put", "delete"],
        ),
        (
            "/api/customers/{id}/interactions/{interactionId}/complete",
            vec!["patch"],
        ),
        ("/api/customers/{id}/history", vec!["get"]),
        ("/api/customers/search", vec!["get"]),
        ("/api/customers/tags", vec!["get"]),
        ("/api/customers/{id}/tags", vec!["post", "delete"]),
        ("/api/segments", vec!["get", "post"]),
        ("/api/segments/{id}", vec!["get", "put", "delete"]),
        ("/api/segments/{id}/customers", vec!["get"]),
        ("/api/stats", vec!["get"]),
        ("/api/stats/dashboard", vec!["get"]),
        ("/api/stats/performance", vec!["get"]),
        ("/api/stats/customers/{id}/activity", vec!["get"]),
        ("/api/audit", vec!["get"]),
        ("/health", vec!["get"]),
        ("/health/live", vec!["get"]),
        ("/health/ready", vec!["get"]),
        ("/health/detailed", vec!["get"]),
    ] {
        for m in methods {
            assert!(paths[path].get(m).is_some(), "{m} {path} documented");
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Without the trailing slash, a redirect to the page.
    let page = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "the Swagger UI page");
    // Its assets are served by us, not a CDN.
    let js = app
        .client
        .get(app.url("/api/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(!html.contains("unpkg.com") && !html.contains("cdn."));
}
