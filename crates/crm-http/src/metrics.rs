//! Prometheus metrics: `GET /metrics` in the OpenMetrics text format.
//!
//! One [`Metrics`] registry per application (not a process-wide global), so that tests and
//! several apps in one process do not mix their numbers. What it measures:
//!
//! - `crm_http_requests_total{method,route,status}` and
//!   `crm_http_request_duration_seconds{method,route}` (histogram), recorded by
//!   [`metrics_middleware`]. `route` is the route **template** (`/api/customers/{id}`), never
//!   the raw path, so ids do not multiply the series; requests that match no route count
//!   under [`UNMATCHED_ROUTE`], and unusual methods under `OTHER`.
//! - `crm_db_pool_connections{pool,state}`, `crm_db_pool_max_connections{pool}` and
//!   `crm_db_pool_waiting{pool}` (requests waiting for a connection now), read from the
//!   deadpool status of the primary's and the replica's pools at each scrape;
//!   `crm_db_pool_wait_seconds{pool}` (histogram of how long each checkout waited) and
//!   `crm_db_pool_checkout_failures_total{pool}` (checkouts that got no connection), reported
//!   by the database on every checkout.
//! - `crm_cache_lookups_total{cache,result}`, `crm_rate_limit_rejections_total{scope}` and
//!   `crm_outbox_backlog{outbox}`: families fed through the handles [`Metrics::cache`],
//!   [`Metrics::rate_limit`] and [`Metrics::outbox`] by the components that own those facts.
//!   A family nobody feeds is left out of the exposition altogether: it never reports a
//!   made-up zero.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use crm_postgres::{Database, PoolRole};
use crm_redis::{CacheStats, NearStats, RateLimitStats, RelayHandle};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds (Prometheus' defaults: 5 ms to 10 s).
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    outbox: String,
}

/// Connection checkout wait buckets in seconds (100 µs to 5 s, the pool's wait timeout).
const WAIT_BUCKETS: [f64; 11] = [
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn wait_histogram() -> Histogram {
    Histogram::new(WAIT_BUCKETS)
}

/// Counts cache lookups by cache and outcome (`crm_cache_lookups_total`).
///
/// Cheap to clone; hand one to each cache. Use a small fixed set of cache names (such as
/// `customer`), never a key.
#[derive(Clone, Debug, Default)]
pub struct CacheMetrics {
    lookups: Family<CacheLabels, Counter>,
}

impl CacheMetrics {
    /// One lookup in `cache` found its entry.
    pub fn hit(&self, cache: &str) {
        self.record(cache, "hit");
    }

    /// One lookup in `cache` did not find its entry.
    pub fn miss(&self, cache: &str) {
        self.record(cache, "miss");
    }

    fn record(&self, cache: &str, result: &str) {
        self.lookups
            .get_or_create(&CacheLabels {
                cache: cache.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }
}

/// Counts requests refused by rate limiting (`crm_rate_limit_rejections_total`).
#[derive(Clone, Debug, Default)]
pub struct RateLimitMetrics {
    rejections: Family<ScopeLabels, Counter>,
}

impl RateLimitMetrics {
    /// One request was refused by the limit of `scope` (a fixed name such as `company` or
    /// `user`, never an id).
    pub fn rejected(&self, scope: &str) {
        self.rejections
            .get_or_create(&ScopeLabels {
                scope: scope.to_owned(),
            })
            .inc();
    }
}

/// The number of events stored but not yet relayed (`crm_outbox_backlog`).
#[derive(Clone, Debug, Default)]
pub struct OutboxMetrics {
    backlog: Family<OutboxLabels, Gauge>,
}

impl OutboxMetrics {
    /// The relay of `outbox` saw `pending` events waiting (call after each poll).
    pub fn set_backlog(&self, outbox: &str, pending: u64) {
        self.backlog
            .get_or_create(&OutboxLabels {
                outbox: outbox.to_owned(),
            })
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }
}

/// Facts that other components own, read into the registry at each scrape: the Redis
/// cache's and the rate limiter's counters, and the outbox relay's backlog.
#[derive(Clone, Default)]
pub struct MetricSources {
    /// The cache's counters (with Redis).
    pub cache: Option<Arc<CacheStats>>,
    /// The near cache's counters (with Redis, unless turned off).
    pub near: Option<Arc<NearStats>>,
    /// The rate limiter's counters (when rate limiting is on).
    pub rate_limit: Option<Arc<RateLimitStats>>,
    /// The event relay, whose backlog is a database query.
    pub relay: Option<RelayHandle>,
}

struct Inner {
    registry: Registry,
    sources: MetricSources,
    /// Serialises the copying of source counters, so that two scrapes never add one delta
    /// twice.
    sync: Mutex<()>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    pool_waiting: Family<PoolLabels, Gauge>,
    cache: CacheMetrics,
    rate_limit: RateLimitMetrics,
    outbox: OutboxMetrics,
    database: Option<Database>,
}

/// The application's metrics registry. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry; with `database`, its pools are reported at each scrape and its checkouts
    /// as they happen; `sources` are read at each scrape.
    pub fn new(database: Option<Database>, sources: MetricSources) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "crm_http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let durations: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "crm_http_request_duration_seconds",
            "HTTP request latency by method and route template, in seconds",
            durations.clone(),
        );
        let pool_connections = Family::<PoolStateLabels, Gauge>::default();
        registry.register(
            "crm_db_pool_connections",
            "Open database connections by pool (primary, replica) and state (idle, in_use)",
            pool_connections.clone(),
        );
        let pool_max = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "crm_db_pool_max_connections",
            "Configured most connections of each database pool",
            pool_max.clone(),
        );
        let pool_waiting = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "crm_db_pool_waiting",
            "Requests waiting for a database connection now, by pool",
            pool_waiting.clone(),
        );
        let pool_wait: Family<PoolLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(wait_histogram);
        registry.register(
            "crm_db_pool_wait_seconds",
            "How long each database connection checkout waited, by pool, in seconds",
            pool_wait.clone(),
        );
        let pool_failures = Family::<PoolLabels, Counter>::default();
        registry.register(
            "crm_db_pool_checkout_failures",
            "Database connection checkouts that got no connection (timeout, closed pool)",
            pool_failures.clone(),
        );
        if let Some(db) = &database {
            let installed = db.observe_checkouts(Arc::new(
                move |role: PoolRole, waited: Duration, ok: bool| {
                    let labels = PoolLabels {
                        pool: role.as_str().to_owned(),
                    };
                    pool_wait
                        .get_or_create(&labels)
                        .observe(waited.as_secs_f64());
                    if !ok {
                        pool_failures.get_or_create(&labels).inc();
                    }
                },
            ));
            if !installed {
                tracing::warn!("database checkouts already observed; wait metrics not recorded");
            }
        }
        let cache = CacheMetrics::default();
        registry.register(
            "crm_cache_lookups",
            "Cache lookups by cache and result (hit, miss, bypass: Redis unavailable)",
            cache.lookups.clone(),
        );
        let rate_limit = RateLimitMetrics::default();
        registry.register(
            "crm_rate_limit_rejections",
            "Requests refused by rate limiting, by scope",
            rate_limit.rejections.clone(),
        );
        let outbox = OutboxMetrics::default();
        registry.register(
            "crm_outbox_backlog",
            "Events stored but not yet relayed, by outbox",
            outbox.backlog.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                sources,
                sync: Mutex::new(()),
                requests,
                durations,
                pool_connections,
                pool_max,
                pool_waiting,
                cache,
                rate_limit,
                outbox,
                database,
            }),
        }
    }

    /// The handle through which caches report hits and misses.
    pub fn cache(&self) -> CacheMetrics {
        self.inner.cache.clone()
    }

    /// The handle through which rate limiting reports rejections.
    pub fn rate_limit(&self) -> RateLimitMetrics {
        self.inner.rate_limit.clone()
    }

    /// The handle through which the event relay reports its backlog.
    pub fn outbox(&self) -> OutboxMetrics {
        self.inner.outbox.clone()
    }

    /// Records one finished request.
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.inner
            .durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    fn sample_pools(&self) {
        let Some(db) = &self.inner.database else {
            return;
        };
        let pools = [
            ("primary", Some(db.pool_status())),
            ("replica", db.read_pool_status()),
        ];
        for (pool, status) in pools {
            let Some(status) = status else { continue };
            let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            let idle = status.available;
            let in_use = status.size.saturating_sub(status.available);
            for (state, n) in [("idle", idle), ("in_use", in_use)] {
                self.inner
                    .pool_connections
                    .get_or_create(&PoolStateLabels {
                        pool: pool.to_owned(),
                        state: state.to_owned(),
                    })
                    .set(gauge(n));
            }
            let labels = PoolLabels {
                pool: pool.to_owned(),
            };
            self.inner
                .pool_max
                .get_or_create(&labels)
                .set(gauge(status.max_size));
            self.inner
                .pool_waiting
                .get_or_create(&labels)
                .set(gauge(status.waiting));
        }
    }

    /// Reads the sources into the registry: counters advance by what their source counted
    /// since the last scrape; the outbox backlog is queried (and left out when the database
    /// cannot be reached).
    pub async fn read_sources(&self) {
        let sources = &self.inner.sources;
        if let Some(relay) = &sources.relay {
            match relay.backlog().await {
                Ok(backlog) => self.outbox().set_backlog("events", backlog.pending),
                Err(e) => tracing::warn!(error = %e, "outbox backlog unavailable for metrics"),
            }
        }
        let Ok(_guard) = self.inner.sync.lock() else {
            return;
        };
        let redis = sources.cache.as_ref().map(|cache| {
            (
                "redis",
                vec![
                    ("hit", cache.hits()),
                    ("miss", cache.misses()),
                    ("bypass", cache.bypassed()),
                ],
            )
        });
        // A near-cache miss goes on to Redis (or the database), counted there as well.
        let near = sources
            .near
            .as_ref()
            .map(|near| ("near", vec![("hit", near.hits()), ("miss", near.misses())]));
        for (cache, results) in redis.into_iter().chain(near) {
            for (result, total) in results {
                let counter = self.inner.cache.lookups.get_or_create(&CacheLabels {
                    cache: cache.to_owned(),
                    result: result.to_owned(),
                });
                counter.inc_by(total.saturating_sub(counter.get()));
            }
        }
        if let Some(limits) = &sources.rate_limit {
            let counter = self
                .inner
                .rate_limit
                .rejections
                .get_or_create(&ScopeLabels {
                    scope: "client_ip".to_owned(),
                });
            counter.inc_by(limits.rejected().saturating_sub(counter.get()));
        }
    }

    /// The exposition text, sampling the pools first.
    ///
    /// # Errors
    /// When encoding fails (it writes to a `String`, so only on a formatter bug).
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        self.sample_pools();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Records every request's route template, status and latency. Outermost middleware, so
/// that every answer counts, including those of other middleware (timeouts, CORS).
pub async fn metrics_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = req.method().clone();
    // Before routing, the resource map resolves the template from the path alone: kept for
    // a request that fails in a middleware, whose answer no longer carries the request.
    let early_route = req.match_pattern();
    let res = next.call(req).await;
    let (status, route) = match &res {
        Ok(res) => (res.status(), res.request().match_pattern()),
        Err(e) => (e.as_response_error().status_code(), early_route),
    };
    metrics.observe_request(
        &method,
        route.as_deref().unwrap_or(UNMATCHED_ROUTE),
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`: the exposition. Not authenticated (scraped from inside the cluster; keep
/// it off the public ingress) and not part of the public API description.
pub async fn metrics_endpoint(metrics: web::Data<Metrics>) -> HttpResponse {
    metrics.read_sources().await;
    match metrics.render() {
        Ok(body) => HttpResponse::Ok().content_type(CONTENT_TYPE).body(body),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Registers `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics_endpoint));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfed_families_report_no_sample() {
        let m = Metrics::new(None, MetricSources::default());
        let text = m.render().unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        for family in [
            "crm_cache_lookups",
            "crm_rate_limit_rejections",
            "crm_outbox_backlog",
        ] {
            assert!(!text.contains(family), "{family}: {text}");
        }
    }

    #[test]
    fn handles_feed_the_registry() {
        let m = Metrics::new(None, MetricSources::default());
        m.cache().hit("customer");
        m.cache().hit("customer");
        m.cache().miss("customer");
        m.rate_limit().rejected("company");
        m.outbox().set_backlog("events", 7);
        m.observe_request(&Method::from_bytes(b"BREW").unwrap(), "/x", 418, 0.2);
        let text = m.render().unwrap();
        assert!(
            text.contains(r#"crm_cache_lookups_total{cache="customer",result="hit"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"crm_cache_lookups_total{cache="customer",result="miss"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"crm_rate_limit_rejections_total{scope="company"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"crm_outbox_backlog{outbox="events"} 7"#),
            "{text}"
        );
        assert!(
            text.contains(r#"crm_http_requests_total{method="OTHER",route="/x",status="418"} 1"#),
            "{text}"
        );
    }
}
