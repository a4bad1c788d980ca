//! Builds the application: adapters, services, middleware and routes, bound to a listener.

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Compress, Next};
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use crm_domain::{
    AuditService, CustomerRepository, CustomerService, EventPublisher, EventSink, HealthProbe,
    HistoryService, InteractionService, NoteService, SegmentService, StatsRepository, StatsService,
};
use crm_postgres::{
    Database, PgAuditRepository, PgCustomerRepository, PgHistoryRepository,
    PgInteractionRepository, PgNoteRepository, PgOutboxStore, PgSegmentRepository,
    PgStatsRepository, PoolSettings,
};
use crm_redis::{
    CacheInvalidator, CacheSettings, CacheStats, CachedCustomerRepository, CachedStatsRepository,
    FanOut, InProcessEventSink, InProcessRateLimiter, NearCache, NearSettings, NoRevocations,
    OutboxRelay, RateLimitStats, RedisCache, RedisClient, RedisEventSink, RedisRateLimiter,
    RedisRevocationList, RelayHandle, RelaySettings, RevocationStats, Tracker,
};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtVerifier;
use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::error::ApiError;
use crate::extract::{path_config, query_config, BodyLimit};
use crate::metrics::{metrics_middleware, MetricSources, Metrics};
use crate::openapi::ApiDoc;
use crate::rate_limit::{rate_limit_middleware, RateLimit};
use crate::request_id::{request_id_middleware, REQUEST_ID_HEADER};
use crate::revocation::{revocation_middleware, Revocations};
use crate::routes::{audit, customers, health, history, interactions, notes, segments, stats};
use crate::security_headers::{security_headers_middleware, Hsts};

/// How long a Redis call may take before it counts as down.
const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the near cache's tracking connection may take to connect or answer its health
/// `PING` before the near cache is dropped: longer than a command's timeout, since dropping it
/// sends every read to Redis at once (a machine stalled for 100 ms is not a lost connection).
const NEAR_TRACKING_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the outbox relay may take to deliver what is left when the server stops.
const RELAY_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    customers: CustomerService,
    notes: NoteService,
    interactions: InteractionService,
    history: HistoryService,
    segments: SegmentService,
    stats: StatsService,
    audit: AuditService,
    verifier: JwtVerifier,
    health: health::HealthChecks,
    body_limit: usize,
    cors_origins: Vec<String>,
    request_timeout: Duration,
    hsts: Hsts,
    database: Database,
    metrics: Metrics,
    relay: RelayHandle,
    rate_limit: Option<RateLimit>,
    rate_limit_stats: Option<Arc<RateLimitStats>>,
    trusted_proxies: TrustedProxies,
    revocations: Revocations,
    cache_stats: Option<Arc<CacheStats>>,
    revocation_stats: Option<Arc<RevocationStats>>,
    near: Option<NearCache>,
    /// Keeps the near cache's tracking task running as long as the state lives.
    _tracker: Option<Arc<Tracker>>,
}

impl AppState {
    /// Wires the adapters for `config` into the services and starts the outbox relay (so it
    /// must be called inside a Tokio runtime). Does not touch the network: pools connect
    /// lazily.
    ///
    /// # Errors
    /// When a pool cannot be built from the configuration.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let pool_settings = PoolSettings {
            max_size: config.database_pool_size,
            ..PoolSettings::default()
        };
        let mut database =
            Database::connect(&config.database_url, pool_settings).context("DATABASE_URL")?;
        if let Some(url) = &config.database_read_url {
            database = database
                .with_read_replica(url, pool_settings)
                .context("DATABASE_READ_URL")?;
        }
        let redis = match &config.redis_url {
            Some(url) => Some(RedisClient::connect(url, REDIS_TIMEOUT).context("REDIS_URL")?),
            None => None,
        };
        // With Redis, a near cache in front of it, kept current by Redis's client tracking.
        let (near, tracker) = match (&config.redis_url, config.near_cache_entries) {
            (Some(url), entries) if entries > 0 => {
                let near = NearCache::new(NearSettings {
                    max_entries: entries,
                    ..NearSettings::default()
                });
                let tracker = near
                    .track(url, NEAR_TRACKING_TIMEOUT)
                    .context("REDIS_URL")?;
                (Some(near), Some(Arc::new(tracker)))
            }
            _ => (None, None),
        };
        // Events go to the outbox with their change; the relay publishes them after the
        // commit (to Redis, or in process without REDIS_URL). The services' publisher only
        // wakes the relay.
        let sink: Arc<dyn EventSink> = match &redis {
            Some(client) => Arc::new(RedisEventSink::new(client.clone())),
            None => Arc::new(InProcessEventSink::default()),
        };
        let relay = OutboxRelay::new(
            Arc::new(PgOutboxStore::new(database.clone())),
            sink,
            RelaySettings::default(),
        );
        // With Redis, reads of a customer by id and of the company figures go through a cache
        // that the services invalidate after each commit (before relaying the event).
        let cache = redis.as_ref().map(|client| {
            let cache = RedisCache::new(client.clone(), CacheSettings::default());
            match &near {
                Some(near) => cache.with_near(near.clone()),
                None => cache,
            }
        });
        let events: Arc<dyn EventPublisher> = match &cache {
            Some(cache) => Arc::new(FanOut(vec![
                Arc::new(CacheInvalidator::new(cache.clone())),
                Arc::new(relay.waker()),
            ])),
            None => Arc::new(relay.waker()),
        };
        let relay = relay.spawn();
        let (revocations, revocation_stats) = match &redis {
            Some(client) => {
                let mut list = RedisRevocationList::new(client.clone());
                if let Some(near) = &near {
                    list = list.with_near(near.clone());
                }
                let stats = list.stats();
                (Revocations(Arc::new(list)), Some(stats))
            }
            None => (Revocations(Arc::new(NoRevocations)), None),
        };
        let (rate_limit, rate_limit_stats) = match (config.rate_limit.max, &redis) {
            (0, _) => (None, None),
            (max, Some(client)) => {
                let limiter = RedisRateLimiter::new(client.clone(), max, config.rate_limit.window);
                let stats = limiter.stats();
                (Some(RateLimit(Arc::new(limiter))), Some(stats))
            }
            (max, None) => {
                let limiter = InProcessRateLimiter::new(max, config.rate_limit.window);
                let stats = limiter.stats();
                (Some(RateLimit(Arc::new(limiter))), Some(stats))
            }
        };
        let metrics = Metrics::new(
            Some(database.clone()),
            MetricSources {
                cache: cache.as_ref().map(RedisCache::stats),
                near: near.as_ref().map(NearCache::stats),
                rate_limit: rate_limit_stats.clone(),
                relay: Some(relay.clone()),
            },
        );
        let pg_customers = Arc::new(PgCustomerRepository::new(database.clone()));
        let pg_stats = Arc::new(PgStatsRepository::new(database.clone()));
        let (customer_repo, stats_repo): (Arc<dyn CustomerRepository>, Arc<dyn StatsRepository>) =
            match &cache {
                Some(cache) => (
                    Arc::new(CachedCustomerRepository::new(pg_customers, cache.clone())),
                    Arc::new(CachedStatsRepository::new(pg_stats, cache.clone())),
                ),
                None => (pg_customers, pg_stats),
            };
        let customers = CustomerService::new(customer_repo.clone(), events.clone());
        let notes = NoteService::new(
            customer_repo.clone(),
            Arc::new(PgNoteRepository::new(database.clone())),
            events.clone(),
        );
        let interactions = InteractionService::new(
            customer_repo.clone(),
            Arc::new(PgInteractionRepository::new(database.clone())),
            events,
        );
        let history = HistoryService::new(
            customer_repo.clone(),
            Arc::new(PgHistoryRepository::new(database.clone())),
        );
        let segments = SegmentService::new(
            Arc::new(PgSegmentRepository::new(database.clone())),
            customer_repo.clone(),
        );
        let audit = AuditService::new(Arc::new(PgAuditRepository::new(database.clone())));
        let stats = StatsService::new(stats_repo, customer_repo);
        Ok(Self {
            customers,
            notes,
            interactions,
            history,
            segments,
            stats,
            audit,
            verifier: JwtVerifier::new(&config.jwt)?,
            health: health::HealthChecks {
                database: Arc::new(database.clone()),
                redis: redis.map(|r| Arc::new(r) as Arc<dyn HealthProbe>),
                started: Instant::now(),
            },
            body_limit: config.body_limit_bytes,
            cors_origins: config.cors_origins.clone(),
            request_timeout: config.request_timeout,
            hsts: Hsts::new(config.hsts_max_age_seconds),
            database,
            metrics,
            relay,
            rate_limit,
            rate_limit_stats,
            trusted_proxies: config.trusted_proxies.clone(),
            revocations,
            cache_stats: cache.map(|c| c.stats()),
            revocation_stats,
            near,
            _tracker: tracker,
        })
    }

    /// The application's metrics registry, whose handles ([`Metrics::cache`],
    /// [`Metrics::rate_limit`], [`Metrics::outbox`]) other components report through.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The database (both pools).
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The outbox relay: stop it on shutdown ([`RelayHandle::shutdown`]); its counters and
    /// backlog are for metrics.
    pub fn relay(&self) -> &RelayHandle {
        &self.relay
    }

    /// Rate-limit counters (rejections, in-process fallbacks), when rate limiting is on.
    pub fn rate_limit_stats(&self) -> Option<&Arc<RateLimitStats>> {
        self.rate_limit_stats.as_ref()
    }

    /// Cache counters (hits, misses, bypasses, loads), when Redis is configured.
    pub fn cache_stats(&self) -> Option<&Arc<CacheStats>> {
        self.cache_stats.as_ref()
    }

    /// The near cache, when Redis is configured and `NEAR_CACHE_ENTRIES` is not 0.
    pub fn near_cache(&self) -> Option<&NearCache> {
        self.near.as_ref()
    }

    /// Revocation-list counters (refused, unchecked while Redis was down), with Redis.
    pub fn revocation_stats(&self) -> Option<&Arc<RevocationStats>> {
        self.revocation_stats.as_ref()
    }

    /// Registers state and routes on an actix `App`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        if let Some(limit) = &self.rate_limit {
            cfg.app_data(web::Data::new(limit.clone()));
        }
        cfg.app_data(web::Data::new(self.trusted_proxies.clone()))
            .app_data(web::Data::new(self.revocations.clone()))
            .app_data(web::Data::new(self.customers.clone()))
            .app_data(web::Data::new(self.notes.clone()))
            .app_data(web::Data::new(self.interactions.clone()))
            .app_data(web::Data::new(self.history.clone()))
            .app_data(web::Data::new(self.segments.clone()))
            .app_data(web::Data::new(self.stats.clone()))
            .app_data(web::Data::new(self.audit.clone()))
            .app_data(web::Data::new(self.verifier.clone()))
            .app_data(web::Data::new(self.health.clone()))
            .app_data(web::Data::new(self.metrics.clone()))
            .app_data(web::PayloadConfig::new(self.body_limit))
            .app_data(BodyLimit(self.body_limit))
            .app_data(path_config())
            .app_data(query_config())
            .configure(health::configure)
            .configure(crate::metrics::configure)
            .configure(customers::configure)
            .configure(notes::configure)
            .configure(interactions::configure)
            .configure(history::configure)
            .configure(segments::configure)
            .configure(stats::configure)
            .configure(audit::configure)
            .service(web::redirect("/api/docs", "/api/docs/"))
            .service(
                SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()),
            );
    }

    fn cors(&self) -> Cors {
        let mut cors = Cors::default()
            .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allowed_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                REQUEST_ID_HEADER,
            ])
            .expose_headers([header::LOCATION, REQUEST_ID_HEADER])
            .max_age(600);
        for origin in &self.cors_origins {
            cors = cors.allowed_origin(origin);
        }
        cors
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such resource"))
}

/// Abandons a request that runs longer than the configured timeout (504 problem). Dropping
/// the handler's future rolls back its open transaction.
async fn timeout_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let limit = req
        .app_data::<web::Data<RequestTimeout>>()
        .map_or(Duration::from_secs(30), |t| t.0);
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(res) => res,
        Err(_) => Err(ApiError::timeout().into()),
    }
}

#[derive(Debug, Clone, Copy)]
struct RequestTimeout(Duration);

/// Builds the full application for `state`.
pub fn build_app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = state.cors();
    let timeout = RequestTimeout(state.request_timeout);
    let hsts = state.hsts.clone();
    App::new()
        .app_data(web::Data::new(timeout))
        .app_data(web::Data::new(hsts))
        .configure(|cfg| state.configure(cfg))
        .default_service(web::to(not_found))
        .wrap(from_fn(audit::audit_denied_middleware))
        .wrap(from_fn(timeout_middleware))
        .wrap(from_fn(revocation_middleware))
        .wrap(from_fn(rate_limit_middleware))
        .wrap(cors)
        .wrap(Compress::default())
        .wrap(from_fn(security_headers_middleware))
        .wrap(from_fn(request_id_middleware))
        .wrap(from_fn(metrics_middleware))
}

/// Work to finish after the server has stopped and before the pools close.
type ShutdownTask = (&'static str, Pin<Box<dyn Future<Output = ()> + Send>>);

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    state: AppState,
    shutdown_timeout: Duration,
    shutdown_tasks: Vec<ShutdownTask>,
}

impl Application {
    /// Prepares the database (creates it, migrates it), wires the services and binds
    /// `HOST:PORT` (`PORT=0` picks a free port, see [`Application::port`]).
    ///
    /// # Errors
    /// When the database cannot be prepared, a pool cannot be built or the port cannot be
    /// bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.migrate_on_start {
            crm_postgres::migrate::prepare(&config.database_url)
                .await
                .context("preparing the database (DATABASE_URL)")?;
        }
        let state = AppState::new(&config)?;
        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .with_context(|| format!("binding {}:{} (HOST/PORT)", config.host, config.port))?;
        let port = listener.local_addr()?.port();
        let app_state = state.clone();
        // actix handles SIGTERM (and SIGINT) itself: it stops accepting, lets in-flight
        // requests finish for up to the shutdown timeout, then resolves the server future.
        let server = HttpServer::new(move || build_app(app_state.clone()))
            .listen(listener)?
            .shutdown_timeout(config.shutdown_timeout.as_secs())
            .run();
        tracing::info!(
            host = %config.host,
            port,
            read_replica = state.database.has_read_replica(),
            "listening"
        );
        Ok(Self {
            server,
            port,
            state,
            shutdown_timeout: config.shutdown_timeout,
            shutdown_tasks: Vec::new(),
        })
    }

    /// The wired state (services, database, metrics).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle to stop the server as a signal would (`stop(true)` is graceful).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Registers work to finish at shutdown, after the last request and before the pools
    /// close: this is where a background worker (such as an event relay) flushes what it
    /// holds. Tasks run in registration order, all of them bounded together by the shutdown
    /// timeout.
    pub fn on_shutdown(
        &mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.shutdown_tasks.push((name, Box::pin(task)));
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server is stopped (SIGTERM, SIGINT or [`Application::handle`]), then
    /// shuts down in order: the server has stopped accepting and finished (or, past the
    /// shutdown timeout, dropped) its in-flight requests; the shutdown tasks run; the
    /// database pools close.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            state,
            shutdown_timeout,
            shutdown_tasks,
            ..
        } = self;
        let result = server.await;
        tracing::info!("server stopped; finishing shutdown tasks");
        // In-flight requests are done: deliver what they committed, then stop the relay;
        // then whatever else was registered.
        let tasks = async {
            state.relay.shutdown(RELAY_SHUTDOWN_GRACE).await;
            tracing::info!(task = "event relay", "shutdown task done");
            for (name, task) in shutdown_tasks {
                task.await;
                tracing::info!(task = name, "shutdown task done");
            }
        };
        if tokio::time::timeout(shutdown_timeout, tasks).await.is_err() {
            tracing::warn!("shutdown tasks did not finish within the shutdown timeout");
        }
        if let Some(cache) = &state.cache_stats {
            tracing::info!(
                hits = cache.hits(),
                misses = cache.misses(),
                bypassed = cache.bypassed(),
                loads = cache.loads(),
                "cache counters at shutdown"
            );
        }
        state.database.close();
        tracing::info!("database pools closed; bye");
        result
    }

    /// The outbox relay (to flush or stop it, or read its counters).
    pub fn relay(&self) -> &RelayHandle {
        self.state.relay()
    }

    /// The server handle and future, for callers (tests) that spawn it themselves.
    pub fn into_server(self) -> Server {
        self.server
    }
}
