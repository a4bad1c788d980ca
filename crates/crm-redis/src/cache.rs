//! Read-through cache in Redis for a customer by id and for the company figures, with keys
//! per company (`crm:{companyId}:…`), TTL with jitter, one database query per key per
//! instance for concurrent misses, and invalidation after the writing transaction commits.
//!
//! - `crm:customer:{companyId}:{customerId}`: the customer as JSON. A write replaces it with a
//!   tombstone `-{Redis time in µs}`; a read fills the key only if it is absent or holds a
//!   tombstone older than the read's own lookup (both times from Redis `TIME`), so a read
//!   that raced with the write cannot put the old value back.
//! - `crm:gen:{companyId}`: the company's cache generation, incremented by every write.
//! - `crm:stats:{companyId}:{gen}:{viewer}:{day}`: the company figures as seen by `viewer` on
//!   `day`. A read uses the generation it saw before querying, so figures computed before a
//!   write are never found after it.
//!
//! With a [`NearCache`], what Redis answered is also kept in process and served from there
//! while Redis's client tracking reports every change to the customer and generation keys
//! (the figures are never changed once written under their generation); see `near.rs`.
//!
//! When Redis is unavailable the cache is bypassed (the circuit breaker makes that immediate).
//! An invalidation that could not be sent is kept and retried before this instance reads the
//! cache again; until it succeeds this instance does not use the cache.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::{
    Bucket, CompanyId, CompanyStats, Customer, CustomerActivity, CustomerFilter, CustomerId,
    CustomerQuery, CustomerRepository, DailyPoint, DomainError, EventEnvelope, EventPublisher,
    Ranked, SearchQuery, StatsRepository, TagCount, TagQuery, UserId, UserPerformance,
};
use deadpool_redis::redis;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::{NearCache, RedisClient};

/// How long a tombstone lives (it only has to outlive reads that started before it).
const TOMBSTONE_SECS: u64 = 60;

/// A lookup: the value (or nil) and the Redis clock in microseconds, taken before the caller
/// queries the database.
const LOOKUP: &str = r"
local v = redis.call('GET', KEYS[1])
local t = redis.call('TIME')
return {v, t[1] .. string.format('%06d', tonumber(t[2]))}
";

/// A write's invalidation: a tombstone `-{Redis clock in microseconds}`.
const TOMBSTONE: &str = r"
local t = redis.call('TIME')
redis.call('SET', KEYS[1], '-' .. t[1] .. string.format('%06d', tonumber(t[2])), 'EX', ARGV[1])
return 1
";

/// A fill: only into an absent key, or over a tombstone older than the read's lookup (a
/// read that started before the write must not put the old value back).
const FILL: &str = r"
local v = redis.call('GET', KEYS[1])
if v == false or (string.sub(v, 1, 1) == '-' and tonumber(string.sub(v, 2)) < tonumber(ARGV[3])) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
";

/// Cache tuning.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// Base time to live of an entry.
    pub ttl: Duration,
    /// Each entry lives `ttl` ± this fraction, at random, so entries filled together do not
    /// expire together.
    pub jitter: f64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            jitter: 0.1,
        }
    }
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    loads: AtomicU64,
}

impl CacheStats {
    /// Reads answered from Redis.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Reads not found in Redis.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Reads that skipped the cache because Redis was unavailable.
    pub fn bypassed(&self) -> u64 {
        self.bypassed.load(Ordering::Relaxed)
    }

    /// Database queries made to fill the cache (concurrent misses of one key share one).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
}

fn customer_key(company: CompanyId, id: CustomerId) -> String {
    format!("crm:customer:{company}:{id}")
}

fn generation_key(company: CompanyId) -> String {
    format!("crm:gen:{company}")
}

fn stats_key(company: CompanyId, generation: u64, viewer: UserId, day: NaiveDate) -> String {
    format!("crm:stats:{company}:{generation}:{viewer}:{day}")
}

#[derive(Debug, Clone)]
enum Invalidation {
    Key(String),
    Generation(String),
}

/// Concurrent loads of one key share one query.
struct SingleFlight<T> {
    flights: Mutex<HashMap<String, Arc<OnceCell<T>>>>,
}

impl<T: Clone> SingleFlight<T> {
    fn new() -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
        }
    }

    async fn run<F, Fut>(&self, key: &str, load: F) -> Result<T, DomainError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, DomainError>>,
    {
        let cell = {
            let mut flights = self
                .flights
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            flights.entry(key.to_owned()).or_default().clone()
        };
        let result = cell.get_or_try_init(load).await.cloned();
        let mut flights = self
            .flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if flights.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            flights.remove(key);
        }
        result
    }
}

/// The shared Redis side of the cache.
#[derive(Clone)]
pub struct RedisCache {
    client: RedisClient,
    settings: CacheSettings,
    stats: Arc<CacheStats>,
    pending: Arc<Mutex<Vec<Invalidation>>>,
    near: Option<NearCache>,
}

enum Lookup<T> {
    Hit(T),
    /// Not cached; the Redis clock (µs) at the lookup, for the fill.
    Miss(String),
    Bypass,
}

impl RedisCache {
    /// A cache in `client`'s Redis.
    pub fn new(client: RedisClient, settings: CacheSettings) -> Self {
        Self {
            client,
            settings,
            stats: Arc::new(CacheStats::default()),
            pending: Arc::new(Mutex::new(Vec::new())),
            near: None,
        }
    }

    /// Also keeps what Redis answers in `near`, and serves from it while it is live.
    #[must_use]
    pub fn with_near(mut self, near: NearCache) -> Self {
        self.near = Some(near);
        self
    }

    fn evict_near(&self, ops: &[Invalidation]) {
        if let Some(near) = &self.near {
            for op in ops {
                match op {
                    Invalidation::Key(key) | Invalidation::Generation(key) => near.evict(key),
                }
            }
        }
    }

    /// The cache's counters.
    pub fn stats(&self) -> Arc<CacheStats> {
        self.stats.clone()
    }

    fn ttl_secs(&self) -> u64 {
        let random = RandomState::new().build_hasher().finish();
        // A uniform factor in [-1, 1].
        let unit = (random % 2001) as f64 / 1000.0 - 1.0;
        let secs = self.settings.ttl.as_secs_f64() * (1.0 + self.settings.jitter * unit);
        (secs.round() as u64).max(1)
    }

    fn take_pending(&self) -> Vec<Invalidation> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Sends invalidations; what cannot be sent is kept for later.
    async fn invalidate(&self, mut ops: Vec<Invalidation>) -> bool {
        ops.extend(self.take_pending());
        if ops.is_empty() {
            return true;
        }
        // This process sees its own writes at once: evicted before Redis is told, and again
        // after, in case a concurrent read put the old value back in between.
        self.evict_near(&ops);
        let mut pipe = redis::pipe();
        for op in &ops {
            match op {
                Invalidation::Key(key) => {
                    pipe.cmd("EVAL")
                        .arg(TOMBSTONE)
                        .arg(1)
                        .arg(key)
                        .arg(TOMBSTONE_SECS)
                        .ignore();
                }
                Invalidation::Generation(key) => {
                    pipe.cmd("INCR").arg(key).ignore();
                }
            }
        }
        let sent = self
            .client
            .run(|mut conn| async move { pipe.query_async::<()>(&mut *conn).await })
            .await;
        self.evict_near(&ops);
        match sent {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, count = ops.len(), "cache invalidation deferred");
                self.pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(ops);
                false
            }
        }
    }

    /// Whether the cache may be read: no invalidation of this instance is outstanding.
    async fn usable(&self) -> bool {
        let outstanding = !self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty();
        !outstanding || self.invalidate(Vec::new()).await
    }

    async fn get<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Lookup<T> {
        if !self.usable().await {
            self.stats.bypassed.fetch_add(1, Ordering::Relaxed);
            return Lookup::Bypass;
        }
        if let Some(value) = self.near.as_ref().and_then(|near| near.get::<T>(key)) {
            return Lookup::Hit(value);
        }
        let stamp = self.near.as_ref().map(|near| near.stamp(key));
        let found = self
            .client
            .run(|mut conn| async move {
                redis::cmd("EVAL")
                    .arg(LOOKUP)
                    .arg(1)
                    .arg(key)
                    .query_async::<(Option<String>, String)>(&mut *conn)
                    .await
            })
            .await;
        match found {
            Ok((Some(json), now)) if !json.starts_with('-') => {
                match serde_json::from_str::<T>(&json) {
                    Ok(value) => {
                        self.stats.hits.fetch_add(1, Ordering::Relaxed);
                        if let (Some(near), Some(stamp)) = (&self.near, stamp) {
                            near.put(key, value.clone(), stamp);
                        }
                        Lookup::Hit(value)
                    }
                    Err(_) => {
                        self.stats.misses.fetch_add(1, Ordering::Relaxed);
                        Lookup::Miss(now)
                    }
                }
            }
            Ok((_, now)) => {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(now)
            }
            Err(_) => {
                self.stats.bypassed.fetch_add(1, Ordering::Relaxed);
                Lookup::Bypass
            }
        }
    }

    /// Fills `key` with what a read that looked it up at `looked_up` (Redis clock) found,
    /// unless it is filled already or a write invalidated it since.
    async fn fill<T: Serialize>(&self, key: &str, value: &T, looked_up: &str) {
        let Ok(json) = serde_json::to_string(value) else {
            return;
        };
        let ttl = self.ttl_secs();
        let _ = self
            .client
            .run(|mut conn| async move {
                redis::cmd("EVAL")
                    .arg(FILL)
                    .arg(1)
                    .arg(key)
                    .arg(json)
                    .arg(ttl)
                    .arg(looked_up)
                    .query_async::<i64>(&mut *conn)
                    .await
            })
            .await;
    }

    /// The company's cache generation (`None` when Redis is unavailable).
    async fn generation(&self, company: CompanyId) -> Option<u64> {
        if !self.usable().await {
            return None;
        }
        let key = generation_key(company);
        if let Some(generation) = self.near.as_ref().and_then(|near| near.get::<u64>(&key)) {
            return Some(generation);
        }
        let stamp = self.near.as_ref().map(|near| near.stamp(&key));
        let generation = self
            .client
            .run(|mut conn| {
                let mut get = redis::cmd("GET");
                get.arg(&key);
                async move { get.query_async::<Option<u64>>(&mut *conn).await }
            })
            .await
            .ok()
            .map(Option::unwrap_or_default)?;
        if let (Some(near), Some(stamp)) = (&self.near, stamp) {
            near.put(&key, generation, stamp);
        }
        Some(generation)
    }

    /// Invalidates everything cached about `company` that `event` may have changed.
    pub async fn invalidate_for(&self, event: &EventEnvelope) {
        self.invalidate(vec![
            Invalidation::Key(customer_key(event.company_id, event.customer_id)),
            Invalidation::Generation(generation_key(event.company_id)),
        ])
        .await;
    }
}

/// Invalidates the cache after each commit: an [`EventPublisher`] the services call once the
/// change is committed, before they answer.
#[derive(Clone)]
pub struct CacheInvalidator {
    cache: RedisCache,
}

impl CacheInvalidator {
    /// Invalidates `cache`.
    pub fn new(cache: RedisCache) -> Self {
        Self { cache }
    }
}

#[async_trait]
impl EventPublisher for CacheInvalidator {
    async fn publish(&self, event: EventEnvelope) {
        self.cache.invalidate_for(&event).await;
    }
}

/// Hands each event to several publishers, in order.
pub struct FanOut(pub Vec<Arc<dyn EventPublisher>>);

#[async_trait]
impl EventPublisher for FanOut {
    async fn publish(&self, event: EventEnvelope) {
        for publisher in &self.0 {
            publisher.publish(event.clone()).await;
        }
    }
}

/// A [`CustomerRepository`] that caches `find` in Redis.
pub struct CachedCustomerRepository {
    inner: Arc<dyn CustomerRepository>,
    cache: RedisCache,
    flights: SingleFlight<Option<Customer>>,
}

impl CachedCustomerRepository {
    /// Caches `inner`'s reads by id in `cache`.
    pub fn new(inner: Arc<dyn CustomerRepository>, cache: RedisCache) -> Self {
        Self {
            inner,
            cache,
            flights: SingleFlight::new(),
        }
    }
}

#[async_trait]
impl CustomerRepository for CachedCustomerRepository {
    async fn insert(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError> {
        self.inner.insert(company, customer, events).await
    }

    async fn find(
        &self,
        company: CompanyId,
        id: CustomerId,
    ) -> Result<Option<Customer>, DomainError> {
        let key = customer_key(company, id);
        let looked_up = match self.cache.get::<Customer>(&key).await {
            Lookup::Hit(customer) if customer.company_id == company && customer.id == id => {
                return Ok(Some(customer))
            }
            Lookup::Hit(_) | Lookup::Bypass => return self.inner.find(company, id).await,
            Lookup::Miss(at) => at,
        };
        self.flights
            .run(&key, || async {
                self.cache.stats.loads.fetch_add(1, Ordering::Relaxed);
                let found = self.inner.find(company, id).await?;
                if let Some(customer) = &found {
                    self.cache.fill(&key, customer, &looked_up).await;
                }
                Ok(found)
            })
            .await
    }

    async fn update(
        &self,
        company: CompanyId,
        after: &Customer,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let updated = self
            .inner
            .update(company, after, unmodified_since, events)
            .await?;
        if !updated {
            // The caller read a value that is no longer current (perhaps from the cache):
            // its retry must read the database.
            self.cache
                .invalidate(vec![Invalidation::Key(customer_key(company, after.id))])
                .await;
        }
        Ok(updated)
    }

    async fn delete(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        self.inner.delete(company, customer, events).await
    }

    async fn list(
        &self,
        company: CompanyId,
        query: CustomerQuery,
    ) -> Result<Vec<Customer>, DomainError> {
        self.inner.list(company, query).await
    }

    async fn count(&self, company: CompanyId, filter: CustomerFilter) -> Result<u64, DomainError> {
        self.inner.count(company, filter).await
    }

    async fn search(
        &self,
        company: CompanyId,
        query: SearchQuery,
    ) -> Result<Vec<Ranked>, DomainError> {
        self.inner.search(company, query).await
    }

    async fn tag_counts(
        &self,
        company: CompanyId,
        query: TagQuery,
    ) -> Result<Vec<TagCount>, DomainError> {
        self.inner.tag_counts(company, query).await
    }
}

/// A [`StatsRepository`] that caches the company figures in Redis.
pub struct CachedStatsRepository {
    inner: Arc<dyn StatsRepository>,
    cache: RedisCache,
    flights: SingleFlight<CompanyStats>,
}

impl CachedStatsRepository {
    /// Caches `inner`'s company figures in `cache`.
    pub fn new(inner: Arc<dyn StatsRepository>, cache: RedisCache) -> Self {
        Self {
            inner,
            cache,
            flights: SingleFlight::new(),
        }
    }
}

#[async_trait]
impl StatsRepository for CachedStatsRepository {
    async fn company(
        &self,
        company: CompanyId,
        viewer: UserId,
        today: NaiveDate,
    ) -> Result<CompanyStats, DomainError> {
        let Some(generation) = self.cache.generation(company).await else {
            self.cache.stats.bypassed.fetch_add(1, Ordering::Relaxed);
            return self.inner.company(company, viewer, today).await;
        };
        let key = stats_key(company, generation, viewer, today);
        let looked_up = match self.cache.get::<CompanyStats>(&key).await {
            Lookup::Hit(stats) => return Ok(stats),
            Lookup::Bypass => return self.inner.company(company, viewer, today).await,
            Lookup::Miss(at) => at,
        };
        self.flights
            .run(&key, || async {
                self.cache.stats.loads.fetch_add(1, Ordering::Relaxed);
                let stats = self.inner.company(company, viewer, today).await?;
                self.cache.fill(&key, &stats, &looked_up).await;
                Ok(stats)
            })
            .await
    }

    async fn daily(
        &self,
        company: CompanyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyPoint>, DomainError> {
        self.inner.daily(company, from, to).await
    }

    async fn scheduled(
        &self,
        company: CompanyId,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        first: u32,
    ) -> Result<Bucket, DomainError> {
        self.inner.scheduled(company, from, to, first).await
    }

    async fn performance(
        &self,
        company: CompanyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UserPerformance>, DomainError> {
        self.inner.performance(company, from, to).await
    }

    async fn customer_activity(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        now: DateTime<Utc>,
    ) -> Result<CustomerActivity, DomainError> {
        self.inner
            .customer_activity(company, customer, viewer, now)
            .await
    }
}
