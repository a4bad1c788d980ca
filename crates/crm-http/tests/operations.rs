//! Operations: `/metrics`, read-replica routing through the API, and graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crm_domain::{clock, CompanyId, CreateCustomer, CustomerRepository, Role, UserId};
use crm_http::Application;
use crm_postgres::{Database, PgCustomerRepository, PoolSettings};
use crm_testkit::tokens::{actor, token};
use crm_testkit::{TestApp, TestDatabase, TEST_SECRET};
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::{json, Value};

fn sample_lines<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(metric) && !l.starts_with('#'))
        .collect()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_without_a_token() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Admin);
    let created = app
        .create_customer(&a, json!({"name": "Grace Hopper"}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let res = app
            .get(&format!("/api/customers/{id}"), &a)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let bad = app
        .get("/api/customers/not-a-uuid", &a)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let missing = app
        .client
        .get(app.url("/no/such/thing/42"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // No Authorization header: /metrics is for the internal scraper.
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = res.text().await.unwrap();

    let requests = sample_lines(&text, "crm_http_requests_total");
    assert!(
        requests.contains(
            &r#"crm_http_requests_total{method="GET",route="/api/customers/{id}",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        requests.contains(
            &r#"crm_http_requests_total{method="GET",route="/api/customers/{id}",status="400"} 1"#
        ),
        "{text}"
    );
    assert!(
        requests.contains(
            &r#"crm_http_requests_total{method="POST",route="/api/customers",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        requests
            .contains(&r#"crm_http_requests_total{method="GET",route="unmatched",status="404"} 1"#),
        "{text}"
    );
    // Raw paths never become labels.
    assert!(!text.contains(&id), "an id leaked into a label: {text}");
    assert!(
        !text.contains("not-a-uuid") && !text.contains("/no/such"),
        "{text}"
    );

    // Latency histogram per template.
    assert!(
        text.contains(
            r#"crm_http_request_duration_seconds_count{method="GET",route="/api/customers/{id}"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("crm_http_request_duration_seconds_bucket{")
                && l.contains(r#"le="+Inf""#)
        ),
        "{text}"
    );

    // The primary's pool, sized by the test configuration (4), has served these requests.
    assert!(
        text.contains(r#"crm_db_pool_max_connections{pool="primary"} 4"#),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l
            .starts_with(r#"crm_db_pool_connections{pool="primary",state="idle"} "#)
            && !l.ends_with(" 0")),
        "an idle connection after the requests: {text}"
    );
    assert!(
        text.contains(r#"crm_db_pool_waiting{pool="primary"} 0"#),
        "{text}"
    );
    // Every checkout was timed: the POST and the two reads by id (the 400 never reached the
    // database) make at least three; none failed.
    let checkouts: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(r#"crm_db_pool_wait_seconds_count{pool="primary"} "#))
        .expect("checkout waits recorded")
        .parse()
        .unwrap();
    assert!(checkouts >= 3, "{text}");
    assert!(
        !text.contains("crm_db_pool_checkout_failures_total{"),
        "{text}"
    );
    // No replica configured: no replica series.
    assert!(!text.contains(r#"pool="replica""#), "{text}");

    // No Redis: no cache, so no cache series (never a made-up zero). The relay's backlog and
    // the (in-process) rate limiter's rejections are reported.
    assert!(!text.contains("crm_cache_lookups"), "{text}");
    assert!(
        text.contains(r#"crm_rate_limit_rejections_total{scope="client_ip"} 0"#),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(r#"crm_outbox_backlog{outbox="events"} "#)),
        "{text}"
    );

    // Not part of the public API description.
    let doc = app.get_public_json("/api/openapi.json").await;
    assert!(doc["paths"].get("/metrics").is_none());
}

#[tokio::test]
async fn with_a_replica_lists_read_it_while_writes_and_reads_by_id_use_the_primary() {
    let app = TestApp::builder().with_read_replica().start().await;
    let replica = app.replica.as_ref().unwrap();
    let a = actor(Role::Admin);
    let company: CompanyId = a.company();

    // A row that exists only in the "replica".
    let replica_repo = PgCustomerRepository::new(
        Database::connect(replica.url(), PoolSettings::default()).unwrap(),
    );
    let only_there = CreateCustomer {
        name: "Replicated earlier".into(),
        ..Default::default()
    }
    .validate_for(UserId::new_random())
    .unwrap()
    .into_customer(company, clock::now());
    replica_repo
        .insert(company, &only_there, &[])
        .await
        .unwrap();

    // A write through the API lands on the primary and is read back by id from there.
    let created = app
        .create_customer(&a, json!({"name": "Just written"}))
        .await;
    let id = created["id"].as_str().unwrap();
    let fetched = app.get_json(&format!("/api/customers/{id}"), &a).await;
    assert_eq!(fetched["name"], "Just written");

    // The list reads the replica: it shows the replica's row, not (yet) the new one.
    let list: Value = app.get_json("/api/customers?includeTotal=true", &a).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Replicated earlier"]);
    assert_eq!(list["totalCount"], 1);

    // Updating the row the replica does not know works: read-before-write is on the primary.
    let res = app
        .put(
            &format!("/api/customers/{id}"),
            &a,
            &json!({"name": "Renamed"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // Both pools are reported, and readiness checks both.
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"crm_db_pool_max_connections{pool="replica"} 4"#),
        "{text}"
    );
    assert!(
        text.contains(r#"crm_db_pool_wait_seconds_count{pool="replica"}"#),
        "the list checked out from the replica: {text}"
    );
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Backends of the test database other than `observer` itself that satisfy `condition`.
async fn backends(observer: &mut AsyncPgConnection, db: &TestDatabase, condition: &str) -> i64 {
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid() AND {condition}",
        db.name()
    ))
    .get_result::<Count>(observer)
    .await
    .unwrap()
    .n
}

/// Holds an exclusive lock on the customers table so that a list request blocks in the
/// database until [`release`]: a real slow request, with no test-only route.
async fn lock_customers(db: &TestDatabase) -> AsyncPgConnection {
    let mut conn = db.connect().await;
    conn.batch_execute("BEGIN; LOCK TABLE crm.customers IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    conn
}

async fn release(mut conn: AsyncPgConnection) {
    conn.batch_execute("COMMIT").await.unwrap();
}

/// Polls (bounded) until a request is waiting on the lock.
async fn wait_until_blocked(db: &TestDatabase) {
    let mut observer = db.connect().await;
    for _ in 0..200 {
        if backends(&mut observer, db, "wait_event_type = 'Lock'").await > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the request never reached the database");
}

fn refuses_connections(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}

/// A running application and one request to it, blocked in the database on a lock this test
/// holds (`lock`; dropping it lets the request go on).
struct InFlight {
    port: u16,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    lock: AsyncPgConnection,
    in_flight: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
}

async fn start_with_a_blocked_request(config: crm_http::Config, db: &TestDatabase) -> InFlight {
    let app = Application::build(config).await.unwrap();
    let port = app.port();
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let a = actor(Role::Admin);

    let lock = lock_customers(db).await;
    let in_flight = tokio::spawn({
        let url = format!("http://127.0.0.1:{port}/api/customers");
        let token = token(&a);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .header("connection", "close")
                .send()
                .await
        }
    });
    wait_until_blocked(db).await;
    InFlight {
        port,
        handle,
        server,
        lock,
        in_flight,
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_then_closes_the_pools() {
    let (config, db, _) = TestApp::builder().prepare().await;
    let InFlight {
        port,
        handle,
        server,
        lock,
        in_flight,
    } = start_with_a_blocked_request(config, &db).await;

    // SIGTERM's equivalent: graceful stop.
    let stopping = tokio::spawn(handle.stop(true));
    // New connections are refused while the request is still in flight...
    let mut refused = false;
    for _ in 0..200 {
        if refuses_connections(port) {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "the listener still accepts after stop");
    assert!(
        !in_flight.is_finished(),
        "the request cannot finish while the lock is held"
    );

    // ...which completes normally once the database lets it.
    release(lock).await;
    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"], json!([]));

    stopping.await.unwrap();
    server.await.unwrap().unwrap();

    // The pools are closed: the service holds no connection to its database any more.
    let mut observer = db.connect().await;
    let mut open = -1;
    for _ in 0..200 {
        open = backends(&mut observer, &db, "backend_type = 'client backend'").await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(open, 0, "connections left open after shutdown");
}

#[tokio::test]
async fn shutdown_gives_up_on_a_request_that_outlives_the_timeout() {
    let (config, db, _) = TestApp::builder()
        .with_shutdown_timeout(Duration::from_secs(1))
        .prepare()
        .await;
    let InFlight {
        port: _,
        handle,
        server,
        lock,
        in_flight,
    } = start_with_a_blocked_request(config, &db).await;

    handle.stop(true).await;
    // The server finished although the request is still blocked: it was dropped.
    server.await.unwrap().unwrap();
    let outcome = in_flight.await.unwrap();
    assert!(
        !matches!(&outcome, Ok(res) if res.status() == 200),
        "the request outlived the shutdown timeout yet was answered: {outcome:?}"
    );
    release(lock).await;
}

/// The service process, killed if the test fails before it exits.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_binary_finishes_in_flight_requests_and_exits_cleanly() {
    let db = TestDatabase::new().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm-http"));
    cmd.env_clear()
        .env("JWT_SECRET", TEST_SECRET)
        .env("DATABASE_URL", db.url())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("SHUTDOWN_TIMEOUT_SECONDS", "30")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut service = Service(cmd.spawn().unwrap());
    let pid = service.0.id();

    // The JSON log lines, read on a thread.
    let stdout = service.0.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if lines_tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let next_message = |wanted: &str| -> Value {
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("no `{wanted}` log line: {e}"));
            if line["message"] == wanted {
                return line;
            }
        }
    };
    let port = u16::try_from(next_message("listening")["port"].as_u64().unwrap()).unwrap();

    let lock = lock_customers(&db).await;
    let a = actor(Role::Admin);
    let in_flight = tokio::spawn({
        let url = format!("http://127.0.0.1:{port}/api/customers");
        let token = token(&a);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .header("connection", "close")
                .send()
                .await
        }
    });
    wait_until_blocked(&db).await;

    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut refused = false;
    for _ in 0..200 {
        if refuses_connections(port) {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "the listener still accepts after SIGTERM");

    release(lock).await;
    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(res.status(), 200);

    next_message("server stopped; finishing shutdown tasks");
    next_message("database pools closed; bye");
    let status = tokio::task::spawn_blocking(move || service.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

/// The families other components own: cache lookups (Redis), rate-limit rejections and the
/// outbox backlog, read from their sources at each scrape.
#[tokio::test]
async fn metrics_report_cache_lookups_rate_limit_rejections_and_the_outbox_backlog() {
    let app = TestApp::builder()
        .with_redis("redis://127.0.0.1:6379")
        .with_rate_limit(4, 86_400)
        .with_trusted_proxies("127.0.0.1")
        .start()
        .await;
    let a = actor(Role::Admin);
    // A client address of this test's own, so no other test's requests count against it.
    let b = uuid::Uuid::new_v4().into_bytes();
    let client = format!("10.{}.{}.{}", b[0], b[1], b[2].max(1));
    let created = app
        .post("/api/customers", &a, &json!({"name": "Ada Lovelace"}))
        .header("X-Forwarded-For", &client)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // First read misses and fills the cache; the second is a hit.
    for _ in 0..2 {
        let res = app
            .get(&format!("/api/customers/{id}"), &a)
            .header("X-Forwarded-For", &client)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // Four allowed; the fifth and sixth are refused.
    for expected in [200, 429, 429] {
        let res = app
            .get("/api/customers", &a)
            .header("X-Forwarded-For", &client)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
    }
    app.relay.flush();
    // The scrape comes from the same client, already over its limit: /metrics is exempt.
    let scrape = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", &client)
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.unwrap();
    let value = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {text}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(
        value(r#"crm_cache_lookups_total{cache="redis",result="hit"} "#) >= 1,
        "{text}"
    );
    assert!(
        value(r#"crm_cache_lookups_total{cache="redis",result="miss"} "#) >= 1,
        "{text}"
    );
    assert_eq!(
        value(r#"crm_rate_limit_rejections_total{scope="client_ip"} "#),
        2,
        "{text}"
    );
    // The backlog is a live count of undelivered events (0 or the create's one event).
    assert!(
        value(r#"crm_outbox_backlog{outbox="events"} "#) <= 1,
        "{text}"
    );
    // The rejections are also counted as requests.
    assert!(
        text.contains(
            r#"crm_http_requests_total{method="GET",route="/api/customers",status="429"} 2"#
        ),
        "{text}"
    );
}
