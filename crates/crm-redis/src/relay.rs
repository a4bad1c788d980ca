//! The outbox relay: a background task that delivers committed events, oldest first, and
//! backs off while the sink (Redis) is down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crm_domain::{EventEnvelope, EventPublisher, EventSink, OutboxBacklog, OutboxStore};
use tokio::sync::{watch, Mutex, Notify};
use tokio::task::JoinHandle;

/// How the relay paces itself.
#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// Messages per batch (one database transaction).
    pub batch: u32,
    /// How often the outbox is looked at without a wake-up (events written by other
    /// replicas, or left by a process that died).
    pub poll: Duration,
    /// First wait after a failure; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait between attempts while the sink or the database is down.
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch: 100,
            poll: Duration::from_secs(1),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Counters of a relay, for metrics.
#[derive(Debug, Default)]
pub struct RelayStats {
    published: AtomicU64,
    failures: AtomicU64,
}

impl RelayStats {
    /// Messages delivered since start.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Failed delivery attempts (sink or database down) since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// Wakes the relay after a commit: the services' [`EventPublisher`]. The events themselves
/// are already in the outbox, written with the change.
#[derive(Clone)]
pub struct RelayWaker {
    wake: Arc<Notify>,
}

#[async_trait]
impl EventPublisher for RelayWaker {
    async fn publish(&self, _event: EventEnvelope) {
        self.wake.notify_one();
    }
}

/// Delivers an [`OutboxStore`] to an [`EventSink`].
pub struct OutboxRelay {
    store: Arc<dyn OutboxStore>,
    sink: Arc<dyn EventSink>,
    settings: RelaySettings,
    wake: Arc<Notify>,
}

impl OutboxRelay {
    /// A relay from `store` to `sink`.
    pub fn new(
        store: Arc<dyn OutboxStore>,
        sink: Arc<dyn EventSink>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            store,
            sink,
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The publisher the services use to wake this relay.
    pub fn waker(&self) -> RelayWaker {
        RelayWaker {
            wake: self.wake.clone(),
        }
    }

    /// Starts the relay on the current Tokio runtime.
    pub fn spawn(self) -> RelayHandle {
        let (stop, stopped) = watch::channel(false);
        let stats = Arc::new(RelayStats::default());
        let store = self.store.clone();
        let wake = self.wake.clone();
        let task = tokio::spawn(run(self, stats.clone(), stopped));
        RelayHandle {
            stop,
            task: Arc::new(Mutex::new(Some(task))),
            stats,
            store,
            wake,
        }
    }
}

/// Controls a running relay.
#[derive(Clone)]
pub struct RelayHandle {
    stop: watch::Sender<bool>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    stats: Arc<RelayStats>,
    store: Arc<dyn OutboxStore>,
    wake: Arc<Notify>,
}

impl RelayHandle {
    /// Asks the relay to look at the outbox now.
    pub fn flush(&self) {
        self.wake.notify_one();
    }

    /// Stops the relay after one last delivery attempt, waiting at most `grace` for it. What
    /// is not delivered stays in the outbox for the next start (or another replica).
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let task = self.task.lock().await.take();
        if let Some(mut task) = task {
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                tracing::warn!("outbox relay did not stop in time; aborting it");
                task.abort();
            }
        }
    }

    /// The relay's counters.
    pub fn stats(&self) -> &RelayStats {
        &self.stats
    }

    /// The messages not yet delivered (a database query).
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn backlog(&self) -> Result<OutboxBacklog, crm_domain::DomainError> {
        self.store.backlog().await
    }
}

/// Outcome of one delivery attempt.
enum Step {
    /// A full batch went out: go on at once.
    More,
    /// Caught up (or another relay is at work): wait for a wake-up or the poll interval.
    Idle,
    /// The sink or the database failed: back off.
    Failed,
}

async fn step(relay: &OutboxRelay, stats: &RelayStats) -> Step {
    match relay
        .store
        .deliver_batch(relay.settings.batch, relay.sink.as_ref())
        .await
    {
        Ok(d) if d.busy => Step::Idle,
        Ok(d) => {
            stats
                .published
                .fetch_add(d.delivered as u64, Ordering::Relaxed);
            if let Some(e) = d.sink_error {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, delivered = d.delivered, pending_in_batch = d.claimed - d.delivered, "outbox relay: sink unavailable, backing off");
                Step::Failed
            } else if d.claimed >= relay.settings.batch as usize {
                Step::More
            } else {
                Step::Idle
            }
        }
        Err(e) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "outbox relay: store unavailable, backing off");
            Step::Failed
        }
    }
}

async fn run(relay: OutboxRelay, stats: Arc<RelayStats>, mut stopped: watch::Receiver<bool>) {
    let settings = relay.settings;
    let mut backoff = settings.min_backoff;
    loop {
        if *stopped.borrow() {
            // One last attempt, so what was just committed goes out before the process ends.
            while matches!(step(&relay, &stats).await, Step::More) {}
            tracing::info!("outbox relay stopped");
            return;
        }
        let wait = match step(&relay, &stats).await {
            Step::More => {
                backoff = settings.min_backoff;
                continue;
            }
            Step::Idle => {
                backoff = settings.min_backoff;
                Some(settings.poll)
            }
            Step::Failed => {
                let wait = backoff;
                backoff = (backoff * 2).min(settings.max_backoff);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop_requested(&mut stopped) => {}
                }
                None
            }
        };
        if let Some(poll) = wait {
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = relay.wake.notified() => {}
                () = stop_requested(&mut stopped) => {}
            }
        }
    }
}

/// Resolves when a stop is asked for. If every handle is gone, the relay runs on until the
/// runtime ends.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    if stopped.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
