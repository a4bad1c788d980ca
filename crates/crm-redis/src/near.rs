//! A near cache: a bounded in-process copy of Redis keys, kept correct across replicas by
//! Redis's own server-assisted client-side caching (`CLIENT TRACKING … BCAST`).
//!
//! One dedicated RESP3 connection per process turns tracking on for the prefixes in
//! [`TRACKED_PREFIXES`]. From then on Redis pushes an `invalidate` message on that connection
//! for every key under those prefixes that anyone changes (a write of this or another replica,
//! User Management revoking a session, an expiry, `FLUSHALL`), and the message evicts the key
//! here. Redis sends the message before it answers the write, so an entry outlives the change
//! only by the time the push takes to arrive (well under a millisecond on a LAN).
//!
//! The near cache is used only while that connection is up: when it drops (or stops answering
//! its health `PING`) every entry is discarded and lookups go to Redis until tracking is on
//! again, so no invalidation can be missed unnoticed.
//!
//! Fills race with invalidations; [`NearCache::stamp`] before reading Redis and
//! [`NearCache::put`] after it make a fill whose key was invalidated in between a no-op (an
//! epoch per key stripe, bumped before each eviction). See decision 0020.

use std::any::Any;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::{self, aio::MultiplexedConnection, IntoConnectionInfo, PushKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The key prefixes whose changes Redis reports. Values under other prefixes may be kept in
/// the near cache only if they never change once written (the company figures, keyed by the
/// cache generation).
pub const TRACKED_PREFIXES: [&str; 3] = ["crm:customer:", "crm:gen:", "crm:revoked:"];

/// Key stripes, each with its own epoch.
const STRIPES: usize = 256;
/// How often the tracking connection is checked with a `PING`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);
/// Reconnection back-off bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Near cache tuning.
#[derive(Debug, Clone, Copy)]
pub struct NearSettings {
    /// Most entries held (least recently used go first).
    pub max_entries: u64,
    /// Longest an entry is kept, invalidated or not.
    pub ttl: Duration,
}

impl Default for NearSettings {
    fn default() -> Self {
        Self {
            max_entries: 50_000,
            ttl: Duration::from_secs(30),
        }
    }
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct NearStats {
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
    resets: AtomicU64,
}

impl NearStats {
    /// Lookups answered in process.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that went on to Redis (not held, or tracking down).
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Keys evicted because Redis reported a change.
    pub fn invalidations(&self) -> u64 {
        self.invalidations.load(Ordering::Relaxed)
    }

    /// Times the whole near cache was discarded (tracking lost or re-established, `FLUSHALL`).
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }
}

type Entry = Arc<dyn Any + Send + Sync>;

struct Inner {
    entries: moka::sync::Cache<String, Entry>,
    /// Bumped before a key of the stripe is evicted.
    stripes: Box<[AtomicU64]>,
    /// Bumped whenever everything is discarded.
    session: AtomicU64,
    live: AtomicBool,
    stats: Arc<NearStats>,
}

/// What a reader saw before going to Redis; a fill with it lands only if nothing under the
/// key changed since.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    session: u64,
    stripe: usize,
    epoch: u64,
    live: bool,
}

/// The in-process side of the cache (cheap to clone; one per process).
#[derive(Clone)]
pub struct NearCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NearCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearCache")
            .field("live", &self.is_live())
            .field("entries", &self.inner.entries.entry_count())
            .finish()
    }
}

fn stripe_of(key: &str) -> usize {
    // A fixed hasher: the stripe only spreads keys, it needs no protection from collisions.
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
    (hash % STRIPES as u64) as usize
}

impl NearCache {
    /// An empty near cache, not live until [`NearCache::track`] has turned tracking on.
    pub fn new(settings: NearSettings) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(settings.max_entries)
            .time_to_live(settings.ttl)
            .build();
        Self {
            inner: Arc::new(Inner {
                entries,
                stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
                session: AtomicU64::new(0),
                live: AtomicBool::new(false),
                stats: Arc::default(),
            }),
        }
    }

    /// The counters.
    pub fn stats(&self) -> Arc<NearStats> {
        self.inner.stats.clone()
    }

    /// Whether Redis is reporting changes right now (otherwise nothing is served from here).
    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::SeqCst)
    }

    /// The value held for `key`, if tracking is live and one of type `T` is held.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, key: &str) -> Option<T> {
        let found = if self.is_live() {
            self.inner
                .entries
                .get(key)
                .and_then(|entry| entry.downcast_ref::<T>().cloned())
        } else {
            None
        };
        let counter = if found.is_some() {
            &self.inner.stats.hits
        } else {
            &self.inner.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Taken before reading `key` from Redis, for [`NearCache::put`].
    pub fn stamp(&self, key: &str) -> Stamp {
        let stripe = stripe_of(key);
        // The order matters: `live` last, so a reset that raced with the stamp is seen in
        // `session` or makes the stamp not live.
        let session = self.inner.session.load(Ordering::SeqCst);
        let epoch = self.inner.stripes[stripe].load(Ordering::SeqCst);
        let live = self.is_live();
        Stamp {
            session,
            stripe,
            epoch,
            live,
        }
    }

    fn unchanged_since(&self, stamp: &Stamp) -> bool {
        self.inner.session.load(Ordering::SeqCst) == stamp.session
            && self.inner.stripes[stamp.stripe].load(Ordering::SeqCst) == stamp.epoch
            && self.is_live()
    }

    /// Keeps `value` for `key`, read from Redis after `stamp` was taken, unless the key may
    /// have changed since (then the next lookup goes to Redis again).
    pub fn put<T: Send + Sync + 'static>(&self, key: &str, value: T, stamp: Stamp) {
        if !stamp.live || !self.unchanged_since(&stamp) {
            return;
        }
        self.inner.entries.insert(key.to_owned(), Arc::new(value));
        // An invalidation may have slipped in between the check and the insert: it bumped
        // the epoch before evicting, so either its eviction came after the insert, or the
        // bump is seen here.
        if !self.unchanged_since(&stamp) {
            self.inner.entries.invalidate(key);
        }
    }

    /// Evicts `key` (Redis reported a change, or this process just changed it).
    pub fn evict(&self, key: &str) {
        self.inner.stripes[stripe_of(key)].fetch_add(1, Ordering::SeqCst);
        self.inner.entries.invalidate(key);
    }

    /// Discards everything; with `live` false, stops serving until tracking is on again.
    fn reset(&self, live: bool) {
        if !live {
            self.inner.live.store(false, Ordering::SeqCst);
        }
        self.inner.session.fetch_add(1, Ordering::SeqCst);
        self.inner.entries.invalidate_all();
        self.inner.stats.resets.fetch_add(1, Ordering::Relaxed);
        if live {
            self.inner.live.store(true, Ordering::SeqCst);
        }
    }

    fn on_invalidate(&self, data: &[redis::Value]) {
        match data.first() {
            Some(redis::Value::Array(keys) | redis::Value::Set(keys)) => {
                for key in keys {
                    if let Ok(key) = redis::from_redis_value::<String>(key) {
                        self.evict(&key);
                        self.inner
                            .stats
                            .invalidations
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            // A null key list: the whole database was flushed.
            _ => self.reset(self.is_live()),
        }
    }

    /// Starts the task that keeps tracking on for `url` (reconnecting with back-off), and
    /// serves from the near cache only while it is. `timeout` bounds the connection and each
    /// command on it.
    ///
    /// # Errors
    /// When `url` is not a valid Redis URL.
    pub fn track(&self, url: &str, timeout: Duration) -> Result<Tracker, crate::RedisError> {
        let mut info = url
            .into_connection_info()
            .map_err(|e| crate::RedisError::Config(e.to_string()))?;
        info.redis.protocol = redis::ProtocolVersion::RESP3;
        let client =
            redis::Client::open(info).map_err(|e| crate::RedisError::Config(e.to_string()))?;
        let near = self.clone();
        let task = tokio::spawn(async move {
            let mut backoff = BACKOFF_MIN;
            loop {
                match near.tracking_session(&client, timeout).await {
                    Ok(()) => backoff = BACKOFF_MIN,
                    Err(e) => {
                        tracing::debug!(error = %e, "near cache: tracking unavailable");
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        });
        Ok(Tracker {
            task,
            near: self.clone(),
        })
    }

    /// One tracking connection, from `CLIENT TRACKING ON` until it fails.
    async fn tracking_session(
        &self,
        client: &redis::Client,
        timeout: Duration,
    ) -> Result<(), redis::RedisError> {
        // Invalidations are applied in the connection's reader, as they arrive; the rest
        // (the disconnection notice) goes to the loop below.
        let (tx, mut pushes) = mpsc::unbounded_channel();
        let near = self.clone();
        let on_push = move |push: redis::PushInfo| {
            if push.kind == PushKind::Invalidate {
                near.on_invalidate(&push.data);
                Ok(())
            } else {
                tx.send(push)
            }
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_push_sender(on_push);
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let mut tracking = redis::cmd("CLIENT");
        tracking.arg("TRACKING").arg("ON").arg("BCAST");
        for prefix in TRACKED_PREFIXES {
            tracking.arg("PREFIX").arg(prefix);
        }
        tracking.query_async::<()>(&mut conn).await?;
        // Whatever was held may have changed while tracking was off.
        self.reset(true);
        tracing::info!("near cache: Redis tracking on");
        let result = self.follow(&mut conn, &mut pushes).await;
        self.reset(false);
        tracing::warn!("near cache: Redis tracking lost; serving from Redis until it is back");
        result
    }

    async fn follow(
        &self,
        conn: &mut MultiplexedConnection,
        pushes: &mut mpsc::UnboundedReceiver<redis::PushInfo>,
    ) -> Result<(), redis::RedisError> {
        let mut health = tokio::time::interval(HEALTH_INTERVAL);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                push = pushes.recv() => match push {
                    Some(push) if push.kind != PushKind::Disconnection => {}
                    _ => return Ok(()),
                },
                _ = health.tick() => {
                    redis::cmd("PING").query_async::<()>(conn).await?;
                }
            }
        }
    }
}

/// The tracking task; when dropped it stops, and the near cache with it.
#[derive(Debug)]
pub struct Tracker {
    task: JoinHandle<()>,
    near: NearCache,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
        self.near.reset(false);
    }
}
