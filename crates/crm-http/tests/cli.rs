//! The `crm-http` binary: start-up errors name the variable; `token` and `migrate` work.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Command, Output};

use crm_domain::Role;
use crm_testkit::tokens::actor;
use crm_testkit::{TestApp, TestDatabase, TEST_SECRET};

fn crm_http(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm-http"));
    cmd.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn bad_configuration_stops_start_up_naming_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "JWT_SECRET"),
        (&[("JWT_SECRET", "too-short")], "JWT_SECRET"),
        (&[("JWT_SECRET", TEST_SECRET), ("PORT", "eighty")], "PORT"),
        (
            &[
                ("JWT_SECRET", TEST_SECRET),
                ("DATABASE_URL", "mysql://db/crm"),
            ],
            "DATABASE_URL",
        ),
        (
            &[("JWT_SECRET", TEST_SECRET), ("REDIS_URL", "nope")],
            "REDIS_URL",
        ),
        (
            &[("JWT_SECRET", TEST_SECRET), ("LOG_LEVEL", "[[")],
            "LOG_LEVEL",
        ),
        (
            &[("JWT_SECRET", TEST_SECRET), ("BODY_LIMIT_BYTES", "lots")],
            "BODY_LIMIT_BYTES",
        ),
        (
            &[("USER_MANAGEMENT_URL", "users:8080")],
            "USER_MANAGEMENT_URL",
        ),
        (
            &[("JWT_SECRET", TEST_SECRET), ("JWKS_URL", "/jwks.json")],
            "JWKS_URL",
        ),
        (
            &[
                ("USER_MANAGEMENT_URL", "https://users.example"),
                ("JWKS_CACHE_SECONDS", "0"),
            ],
            "JWKS_CACHE_SECONDS",
        ),
        (
            &[
                ("USER_MANAGEMENT_URL", "https://users.example"),
                ("JWT_SECRET", "too-short"),
            ],
            "JWT_SECRET",
        ),
        (&[("JWT_SECRET", TEST_SECRET), ("PORT", "abc")], "PORT"),
        (
            &[
                ("JWT_SECRET", TEST_SECRET),
                ("DATABASE_READ_URL", "http://replica:5432/crm"),
            ],
            "DATABASE_READ_URL",
        ),
        (
            &[
                ("JWT_SECRET", TEST_SECRET),
                ("SHUTDOWN_TIMEOUT_SECONDS", "-1"),
            ],
            "SHUTDOWN_TIMEOUT_SECONDS",
        ),
        (
            &[
                ("JWT_SECRET", TEST_SECRET),
                ("MIGRATE_ON_START", "sometimes"),
            ],
            "MIGRATE_ON_START",
        ),
    ];
    for (env, var) in cases {
        let out = crm_http(&[], env);
        assert!(!out.status.success(), "{var}: should not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var}: stderr was {stderr}");
        assert!(
            !stderr.contains(TEST_SECRET),
            "the secret never appears in messages"
        );
    }
}

#[tokio::test]
async fn the_token_subcommand_prints_a_token_the_service_accepts() {
    let app = TestApp::spawn().await;
    let a = actor(Role::Manager);
    let company = a.company().to_string();
    let user = a.user().to_string();
    let out = crm_http(
        &[
            "token",
            "--company",
            &company,
            "--role",
            "manager",
            "--user",
            &user,
        ],
        &[("JWT_SECRET", TEST_SECRET)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3);

    let created = app
        .client
        .post(app.url("/api/customers"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Via CLI token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let body: serde_json::Value = created.json().await.unwrap();
    assert_eq!(body["companyId"], company);
    assert_eq!(body["createdBy"], user);

    // Bad arguments are refused by the parser.
    let out = crm_http(
        &["token", "--company", "acme", "--role", "manager"],
        &[("JWT_SECRET", TEST_SECRET)],
    );
    assert!(!out.status.success());
    let out = crm_http(
        &["token", "--company", &company, "--role", "root"],
        &[("JWT_SECRET", TEST_SECRET)],
    );
    assert!(!out.status.success());

    // Without a secret there is nothing to sign with, whatever else is configured.
    let out = crm_http(
        &["token", "--company", &company, "--role", "admin"],
        &[("USER_MANAGEMENT_URL", "https://users.example")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
}

#[test]
fn the_migrate_subcommand_creates_and_migrates_the_database() {
    let db = TestDatabase::unmigrated();
    let env = [
        ("JWT_SECRET", TEST_SECRET),
        ("DATABASE_URL", db.url()),
        ("LOG_LEVEL", "warn"),
    ];
    let out = crm_http(&["migrate"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let applied = |out: &Output| -> usize {
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .strip_prefix("migrations applied: ")
            .and_then(|n| n.parse().ok())
            .expect("a count of applied migrations")
    };
    assert!(applied(&out) >= 1);
    let again = crm_http(&["migrate"], &env);
    assert_eq!(applied(&again), 0, "a second run has nothing to do");
}

// Multi-threaded: the server task must run while this thread waits for the child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_subcommand_reports_whether_the_service_answers() {
    let app = TestApp::spawn().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let up = crm_http(&["healthcheck"], &[("PORT", port.as_str())]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );

    // A path that answers 404 fails the check.
    let not_found = crm_http(&["healthcheck", "--port", &port, "--path", "/nope"], &[]);
    assert!(!not_found.status.success());
    assert!(String::from_utf8_lossy(&not_found.stderr).contains("404"));

    // Nothing listening: the check fails.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free.local_addr().unwrap().port().to_string();
    drop(free);
    let down = crm_http(&["healthcheck", "--port", &closed], &[]);
    assert!(!down.status.success());
}

#[tokio::test]
async fn the_seed_subcommand_migrates_and_fills_new_companies() {
    use diesel::sql_types::{BigInt, Uuid as SqlUuid};
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    let db = TestDatabase::unmigrated();
    let env = [("DATABASE_URL", db.url())];
    let args = [
        "seed",
        "--companies",
        "2",
        "--customers",
        "101",
        "--notes",
        "30",
        "--interactions",
        "40",
        "--quiet",
    ];
    let out = crm_http(&args, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let companies: Vec<uuid::Uuid> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().expect("a company id per line"))
        .collect();
    assert_eq!(companies.len(), 2);

    let mut conn = db.connect().await;
    let mut per_company = Vec::new();
    for company in &companies {
        let n = diesel::sql_query("SELECT count(*) AS n FROM crm.customers WHERE company_id = $1")
            .bind::<SqlUuid, _>(company)
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n;
        per_company.push(n);
    }
    per_company.sort_unstable();
    assert_eq!(per_company, vec![50, 51]);
    for (table, expected) in [
        ("crm.customer_notes", 30),
        ("crm.customer_interactions", 40),
    ] {
        let n = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n;
        assert_eq!(n, expected, "{table}");
    }

    // Zero companies is refused by the argument parser, before touching the database.
    assert!(
        !crm_http(&["seed", "--companies", "0", "--customers", "1"], &env)
            .status
            .success()
    );
}
