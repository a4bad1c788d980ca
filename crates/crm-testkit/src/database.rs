//! Throwaway databases cloned from a migrated template.

use std::sync::OnceLock;

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use uuid::Uuid;

const TEMPLATE_LOCK_KEY: i64 = 0x63_72_6d_2d_74_70_6c_31;

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for(database: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// The template's name changes whenever the migrations do, so a stale template is never used.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut hasher = Sha256::new();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
        let mut files: Vec<_> = walk(std::path::Path::new(dir));
        files.sort();
        for path in files {
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update(std::fs::read(&path).unwrap_or_default());
        }
        // And what the binary really embeds, should it be older than the files.
        use diesel::migration::MigrationSource;
        let embedded =
            MigrationSource::<diesel::pg::Pg>::migrations(&crm_postgres::migrate::MIGRATIONS)
                .map(|m| {
                    m.iter()
                        .map(|m| m.name().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
        hasher.update(embedded.as_bytes());
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("crm_test_tpl_{hex}")
    })
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A connection to the server's maintenance database, for tests that create, drop or
/// inspect databases.
pub async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&server_url())
        .await
        .expect("connect to the test PostgreSQL (is it running? see README)")
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Builds the migrated template once per machine (guarded by an advisory lock across test
/// processes) and once per process (guarded by a OnceCell).
async fn ensure_template() -> &'static str {
    static READY: OnceCell<()> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let name = template_name();
            let mut conn = admin().await;
            exec(
                &mut conn,
                &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})"),
            )
            .await;
            let exists: Count =
                diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                    .bind::<Text, _>(name)
                    .get_result(&mut conn)
                    .await
                    .unwrap();
            if exists.n == 0 {
                let building = format!("{name}_build");
                exec(
                    &mut conn,
                    &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
                )
                .await;
                exec(&mut conn, &format!("CREATE DATABASE {building}")).await;
                crm_postgres::migrate::run_migrations(&url_for(&building))
                    .await
                    .expect("migrating the template");
                exec(
                    &mut conn,
                    &format!("ALTER DATABASE {building} RENAME TO {name}"),
                )
                .await;
            }
            exec(
                &mut conn,
                &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})"),
            )
            .await;
        })
        .await;
    template_name()
}

/// A fresh, migrated database, dropped with this value.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Clones the migrated template into a new database.
    pub async fn new() -> Self {
        let template = ensure_template().await;
        let name = format!("crm_test_{}", Uuid::new_v4().simple());
        let mut conn = admin().await;
        exec(
            &mut conn,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        )
        .await;
        Self {
            url: url_for(&name),
            name,
        }
    }

    /// An empty database that does not exist yet (for tests of creation and migration);
    /// dropped with this value if it was created.
    pub fn unmigrated() -> Self {
        let name = format!("crm_test_{}", Uuid::new_v4().simple());
        Self {
            url: url_for(&name),
            name,
        }
    }

    /// Connection URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A direct connection, for assertions behind the repository's back.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut conn = admin().await;
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
