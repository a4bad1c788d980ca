//! The connection pool and the tenant-scoped transaction helper.

use std::time::Duration;

use crm_domain::{CompanyId, DomainError};
use deadpool::managed::Timeouts;
use deadpool::Runtime;
use diesel::sql_types::Text;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::scoped_futures::{ScopedBoxFuture, ScopedFutureExt};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, TransactionManager,
};

use crate::errors::{map_diesel_error, map_pool_error};

/// The role every transaction of the service runs as: it neither owns the tables nor bypasses
/// row-level security (see the `row_level_security` migration).
pub const TENANT_ROLE: &str = "crm_tenant";

/// Pool sizing and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_size: usize,
    /// How long a request waits for a free connection before the store counts as unavailable.
    pub wait_timeout: Duration,
    /// How long opening a new connection may take.
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The database: a pool of connections and the only way to run tenant queries.
#[derive(Clone)]
pub struct Database {
    pool: Pool<AsyncPgConnection>,
}

impl Database {
    /// Builds the pool. Connections open lazily, so this does not touch the network.
    ///
    /// # Errors
    /// When the pool cannot be built from the settings.
    pub fn connect(url: &str, settings: PoolSettings) -> Result<Self, DomainError> {
        // `Fast` recycling: a connection going back into use is checked for a left-over
        // transaction but not pinged; the default `Verified` spent one extra round trip
        // (`SELECT 1`) per request. A connection the server dropped fails its next statement
        // and is then discarded; readiness probes still ping (decision 0016).
        let mut config = ManagerConfig::default();
        config.recycling_method = RecyclingMethod::Fast;
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(settings.max_size)
            .timeouts(Timeouts {
                wait: Some(settings.wait_timeout),
                create: Some(settings.connect_timeout),
                recycle: Some(settings.connect_timeout),
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| DomainError::Internal(format!("building the database pool: {e}")))?;
        Ok(Self { pool })
    }

    /// Runs `work` in a transaction scoped to `company`.
    ///
    /// The transaction first switches to [`TENANT_ROLE`] and sets `app.company_id`, on which the
    /// row-level security policies key; both are transaction-local, so they can never leak to
    /// the next user of the pooled connection. Every query on tenant data goes through here.
    ///
    /// # Errors
    /// `Unavailable` when no connection can be had; otherwise whatever `work` fails with,
    /// mapped by [`map_diesel_error`].
    pub async fn tenant_tx<'a, T, F>(&self, company: CompanyId, work: F) -> Result<T, DomainError>
    where
        F: for<'r> FnOnce(
                &'r mut AsyncPgConnection,
            ) -> ScopedBoxFuture<'a, 'r, Result<T, diesel::result::Error>>
            + Send
            + 'a,
        T: Send + 'a,
    {
        // `BEGIN` and the tenant settings in one round trip (simple protocol, so no binds: the
        // role is a constant and a company id is a formatted UUID, nothing a client chose).
        let begin = format!(
            "BEGIN; SELECT set_config('role', '{TENANT_ROLE}', true), \
             set_config('app.company_id', '{}', true)",
            company.as_uuid()
        );
        let mut pooled = self.pool.get().await.map_err(map_pool_error)?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        in_transaction(conn, &begin, work)
            .await
            .map_err(map_diesel_error)
    }

    /// Runs `work` in a transaction as the tenant role with no company set: for queries that
    /// touch no tenant data (health checks). Row-level security shows it no tenant rows.
    ///
    /// # Errors
    /// As [`Database::tenant_tx`].
    pub async fn unscoped_tx<'a, T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: for<'r> FnOnce(
                &'r mut AsyncPgConnection,
            ) -> ScopedBoxFuture<'a, 'r, Result<T, diesel::result::Error>>
            + Send
            + 'a,
        T: Send + 'a,
    {
        let mut pooled = self.pool.get().await.map_err(map_pool_error)?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        conn.transaction(move |conn| {
            async move {
                diesel::sql_query("SELECT set_config('role', $1, true)")
                    .bind::<Text, _>(TENANT_ROLE)
                    .execute(conn)
                    .await?;
                work(conn).await
            }
            .scope_boxed()
        })
        .await
        .map_err(map_diesel_error)
    }

    /// Checks that the database answers, for readiness probes.
    ///
    /// # Errors
    /// `Unavailable` when it does not.
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.unscoped_tx(|conn| {
            async move {
                diesel::sql_query("SELECT 1")
                    .execute(conn)
                    .await
                    .map(|_| ())
            }
            .scope_boxed()
        })
        .await
        .map_err(|e| DomainError::Unavailable(format!("database ping: {e}")))
    }

    /// Current pool status (size, available), for health and metrics.
    pub fn pool_status(&self) -> deadpool::Status {
        self.pool.status()
    }
}

#[async_trait::async_trait]
impl crm_domain::HealthProbe for Database {
    async fn check(&self) -> Result<(), DomainError> {
        self.ping().await
    }
}

/// `TransactionManager::transaction` with a custom opening statement: commits when `work`
/// succeeds, rolls back when it fails (a broken rollback leaves the connection marked broken,
/// so the pool drops it).
async fn in_transaction<'a, T, F>(
    conn: &mut AsyncPgConnection,
    begin: &str,
    work: F,
) -> Result<T, diesel::result::Error>
where
    F: for<'r> FnOnce(
            &'r mut AsyncPgConnection,
        ) -> ScopedBoxFuture<'a, 'r, Result<T, diesel::result::Error>>
        + Send
        + 'a,
    T: Send + 'a,
{
    AnsiTransactionManager::begin_transaction_sql(conn, begin).await?;
    match work(&mut *conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback),
        },
    }
}

/// Guards against storing a row under another company than the transaction's.
pub(crate) fn same_company(company: CompanyId, row_company: uuid::Uuid) -> Result<(), DomainError> {
    if company.as_uuid() == row_company {
        Ok(())
    } else {
        Err(DomainError::Internal(
            "refusing to write a row of another company".into(),
        ))
    }
}
