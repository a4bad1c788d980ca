//! The connection pools and the tenant-scoped transaction helpers.
//!
//! One pool on the primary serves every write and every read that must see the latest
//! state; an optional second pool on a read replica (`DATABASE_READ_URL`) serves the
//! read-only queries of lists, search, statistics, history and the audit trail through
//! [`Database::tenant_read_tx`]. Without a replica those run on the primary too.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crm_domain::{CompanyId, DomainError};
use deadpool::managed::Timeouts;
use deadpool::Runtime;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::scoped_futures::{ScopedBoxFuture, ScopedFutureExt};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};

use crate::errors::{map_diesel_error, map_pool_error};

/// The role every transaction of the service runs as: it neither owns the tables nor bypasses
/// row-level security (see the `row_level_security` migration).
pub const TENANT_ROLE: &str = "crm_tenant";

/// The role of the outbox relay: it may only read and delete `crm.outbox` rows, of every
/// company (see the `outbox` migration).
pub const RELAY_ROLE: &str = "crm_relay";

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

/// Which pool a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolRole {
    /// The primary's pool.
    Primary,
    /// The read replica's pool.
    Replica,
}

impl PoolRole {
    /// `primary` or `replica`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Replica => "replica",
        }
    }
}

/// Told of every connection checkout: the pool, how long it waited, and whether it got a
/// connection (`false`: timed out or the pool is closed). For metrics.
pub type CheckoutObserver = Arc<dyn Fn(PoolRole, Duration, bool) + Send + Sync>;

/// The database: the primary's pool, an optional replica's pool, and the only way to run
/// tenant queries.
#[derive(Clone)]
pub struct Database {
    pool: Pool<AsyncPgConnection>,
    read_pool: Option<Pool<AsyncPgConnection>>,
    // Shared by every clone, so an observer set after the repositories were built sees them.
    observer: Arc<OnceLock<CheckoutObserver>>,
}

fn build_pool(url: &str, settings: PoolSettings) -> Result<Pool<AsyncPgConnection>, DomainError> {
    // `Fast` recycling: a connection going back into use is checked for a left-over
    // transaction but not pinged; the default `Verified` spent one extra round trip
    // (`SELECT 1`) per request. A connection the server dropped fails its next statement
    // and is then discarded; readiness probes still ping (decision 0016).
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .timeouts(Timeouts {
            wait: Some(settings.wait_timeout),
            create: Some(settings.connect_timeout),
            recycle: Some(settings.connect_timeout),
        })
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DomainError::Internal(format!("building the database pool: {e}")))
}

impl Database {
    /// Builds the primary's pool. Connections open lazily, so this does not touch the network.
    ///
    /// # Errors
    /// When the pool cannot be built from the settings.
    pub fn connect(url: &str, settings: PoolSettings) -> Result<Self, DomainError> {
        Ok(Self {
            pool: build_pool(url, settings)?,
            read_pool: None,
            observer: Arc::new(OnceLock::new()),
        })
    }

    /// Reports every checkout from now on to `observer`, for this handle and all its clones.
    /// `false` (and no change) when an observer is already set.
    pub fn observe_checkouts(&self, observer: CheckoutObserver) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// A connection from the `role` pool (the primary when no replica is configured).
    async fn checkout(&self, role: PoolRole) -> Result<Object<AsyncPgConnection>, DomainError> {
        let (pool, role) = match (role, &self.read_pool) {
            (PoolRole::Replica, Some(read)) => (read, PoolRole::Replica),
            _ => (&self.pool, PoolRole::Primary),
        };
        let started = Instant::now();
        let result = pool.get().await;
        if let Some(observe) = self.observer.get() {
            observe(role, started.elapsed(), result.is_ok());
        }
        result.map_err(map_pool_error)
    }

    /// Adds a pool on a read replica of the primary: [`Database::tenant_read_tx`] runs there
    /// from now on. Connections open lazily.
    ///
    /// # Errors
    /// When the pool cannot be built from the settings.
    pub fn with_read_replica(
        mut self,
        url: &str,
        settings: PoolSettings,
    ) -> Result<Self, DomainError> {
        self.read_pool = Some(build_pool(url, settings)?);
        Ok(self)
    }

    /// Whether read-only queries go to a replica.
    pub fn has_read_replica(&self) -> bool {
        self.read_pool.is_some()
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
        F: TxWork<'a, T>,
        T: Send + 'a,
    {
        self.run(
            PoolRole::Primary,
            begin_sql(false, TENANT_ROLE, Some(company)),
            work,
        )
        .await
    }

    /// Runs `work` in a READ ONLY transaction scoped to `company`, on the read replica when
    /// one is configured and on the primary otherwise.
    ///
    /// Same role switch and company setting as [`Database::tenant_tx`], so row-level security
    /// applies alike. Only for queries whose result may lag the primary by the replication
    /// delay: lists, search, statistics, history, the audit trail. A read that decides a write
    /// (or must see the caller's own write) uses [`Database::tenant_tx`] on the primary.
    ///
    /// # Errors
    /// As [`Database::tenant_tx`]; a write attempted in `work` fails (read-only transaction).
    pub async fn tenant_read_tx<'a, T, F>(
        &self,
        company: CompanyId,
        work: F,
    ) -> Result<T, DomainError>
    where
        F: TxWork<'a, T>,
        T: Send + 'a,
    {
        self.run(
            PoolRole::Replica,
            begin_sql(true, TENANT_ROLE, Some(company)),
            work,
        )
        .await
    }

    /// Runs `work` in a transaction as the tenant role with no company set: for queries that
    /// touch no tenant data (health checks). Row-level security shows it no tenant rows.
    ///
    /// # Errors
    /// As [`Database::tenant_tx`].
    pub async fn unscoped_tx<'a, T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: TxWork<'a, T>,
        T: Send + 'a,
    {
        self.run(PoolRole::Primary, begin_sql(false, TENANT_ROLE, None), work)
            .await
    }

    /// Runs `work` in a transaction as [`RELAY_ROLE`]: the outbox relay's role, which may read
    /// and delete the outbox rows of every company and touch nothing else.
    ///
    /// # Errors
    /// As [`Database::tenant_tx`].
    pub async fn relay_tx<'a, T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: TxWork<'a, T>,
        T: Send + 'a,
    {
        self.run(PoolRole::Primary, begin_sql(false, RELAY_ROLE, None), work)
            .await
    }

    /// Runs `work` in a transaction on a connection of `pool`, opened by `begin`.
    async fn run<'a, T, F>(&self, pool: PoolRole, begin: String, work: F) -> Result<T, DomainError>
    where
        F: TxWork<'a, T>,
        T: Send + 'a,
    {
        let mut pooled = self.checkout(pool).await?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        in_transaction(conn, &begin, work)
            .await
            .map_err(map_diesel_error)
    }

    /// Checks that the database answers, for readiness probes: the primary and, when one is
    /// configured, the read replica.
    ///
    /// # Errors
    /// `Unavailable` when either does not.
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
        .map_err(|e| DomainError::Unavailable(format!("database ping: {e}")))?;
        if self.read_pool.is_some() {
            let mut conn = self
                .checkout(PoolRole::Replica)
                .await
                .map_err(|e| DomainError::Unavailable(format!("read replica ping: {e}")))?;
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .map_err(|e| DomainError::Unavailable(format!("read replica ping: {e}")))?;
        }
        Ok(())
    }

    /// Current status of the primary's pool (size, available, waiting), for health and
    /// metrics.
    pub fn pool_status(&self) -> deadpool::Status {
        self.pool.status()
    }

    /// Current status of the read replica's pool, when one is configured.
    pub fn read_pool_status(&self) -> Option<deadpool::Status> {
        self.read_pool.as_ref().map(Pool::status)
    }

    /// Closes the pools: waiting and future checkouts fail, idle connections are dropped and
    /// connections in use are dropped when returned. For shutdown.
    pub fn close(&self) {
        self.pool.close();
        if let Some(pool) = &self.read_pool {
            pool.close();
        }
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
/// The work a transaction helper runs: a closure from the connection to a boxed future (build
/// it with `|conn| async move { … }.scope_boxed()`).
pub trait TxWork<'a, T>:
    for<'r> FnOnce(
        &'r mut AsyncPgConnection,
    ) -> ScopedBoxFuture<'a, 'r, Result<T, diesel::result::Error>>
    + Send
    + 'a
{
}

impl<'a, T, F> TxWork<'a, T> for F where
    F: for<'r> FnOnce(
            &'r mut AsyncPgConnection,
        ) -> ScopedBoxFuture<'a, 'r, Result<T, diesel::result::Error>>
        + Send
        + 'a
{
}

/// `BEGIN` and the transaction-local settings as one simple-protocol batch, so one round trip
/// (no binds: `role` is one of this crate's constants and a company id a formatted UUID,
/// nothing a client chose).
fn begin_sql(read_only: bool, role: &'static str, company: Option<CompanyId>) -> String {
    let mode = if read_only { " READ ONLY" } else { "" };
    match company {
        Some(company) => format!(
            "BEGIN{mode}; SELECT set_config('role', '{role}', true), \
             set_config('app.company_id', '{}', true)",
            company.as_uuid()
        ),
        None => format!("BEGIN{mode}; SELECT set_config('role', '{role}', true)"),
    }
}

async fn in_transaction<'a, T, F>(
    conn: &mut AsyncPgConnection,
    begin: &str,
    work: F,
) -> Result<T, diesel::result::Error>
where
    F: TxWork<'a, T>,
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
