//! Database creation and the embedded migrations.
//!
//! Migrations are the workspace's top-level `migrations/` directory, embedded at compile time.
//! They run under a PostgreSQL advisory lock, so replicas starting together apply them once.

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use thiserror::Error;
use url::Url;

/// The migrations of the `migrations/` directory.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Key of the advisory lock held while migrating ("crm-migr" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x63_72_6d_2d_6d_69_67_72;

/// Why preparing the database failed.
#[derive(Debug, Error)]
pub enum MigrateError {
    /// `DATABASE_URL` is not a usable PostgreSQL URL.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The server could not be reached or refused us.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    /// A statement failed.
    #[error("database error: {0}")]
    Query(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Splits a database URL into the URL of the server's `postgres` maintenance database and the
/// name of the target database.
fn maintenance_url(database_url: &str) -> Result<(String, String), MigrateError> {
    let mut url = Url::parse(database_url).map_err(|e| MigrateError::InvalidUrl(e.to_string()))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(MigrateError::InvalidUrl(format!(
            "scheme must be postgres:// or postgresql://, not {}://",
            url.scheme()
        )));
    }
    let name = url.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(MigrateError::InvalidUrl(
            "no database name in the path".into(),
        ));
    }
    let name = percent_decode(&name);
    url.set_path("/postgres");
    Ok((url.to_string(), name))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("n={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// Quotes a PostgreSQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the database named in `database_url` if it does not exist yet.
///
/// # Errors
/// When the URL is invalid, the server unreachable, or creation fails for another reason than
/// a concurrent creation of the same database.
pub async fn ensure_database(database_url: &str) -> Result<(), MigrateError> {
    let (admin_url, name) = maintenance_url(database_url)?;
    let mut conn = AsyncPgConnection::establish(&admin_url)
        .await
        .map_err(|e| MigrateError::Connect(e.to_string()))?;
    let exists: Exists =
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(&name)
            .get_result(&mut conn)
            .await
            .map_err(|e| MigrateError::Query(e.to_string()))?;
    if exists.n > 0 {
        return Ok(());
    }
    tracing::info!(database = %name, "creating database");
    match diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&name)))
        .execute(&mut conn)
        .await
    {
        Ok(_) => Ok(()),
        // Another replica created it between our check and our CREATE.
        Err(e) if e.to_string().contains("already exists") => Ok(()),
        Err(e) => Err(MigrateError::Query(e.to_string())),
    }
}

/// Applies pending migrations under the advisory lock and returns how many were applied.
///
/// # Errors
/// When the database is unreachable or a migration fails (the failing migration is rolled
/// back).
pub async fn run_migrations(database_url: &str) -> Result<usize, MigrateError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
            diesel::Connection::establish(&url)
                .map_err(|e| MigrateError::Connect(e.to_string()))?;
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .map_err(|e| MigrateError::Query(e.to_string()))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.len())
            .map_err(|e| MigrateError::Migration(e.to_string()));
        // Unlock even when a migration failed; the lock dies with the connection anyway.
        let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
        applied
    })
    .await
    .map_err(|e| MigrateError::Migration(format!("migration task failed: {e}")))?
}

/// [`ensure_database`] then [`run_migrations`].
///
/// # Errors
/// As those two.
pub async fn prepare(database_url: &str) -> Result<usize, MigrateError> {
    ensure_database(database_url).await?;
    let applied = run_migrations(database_url).await?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_url_swaps_the_database() {
        let (admin, name) = maintenance_url("postgres://u:p@h:5433/crm_x?sslmode=disable").unwrap();
        assert_eq!(name, "crm_x");
        assert_eq!(admin, "postgres://u:p@h:5433/postgres?sslmode=disable");
    }

    #[test]
    fn bad_urls_are_rejected() {
        assert!(maintenance_url("mysql://h/db").is_err());
        assert!(maintenance_url("postgres://h").is_err());
        assert!(maintenance_url("not a url").is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
