//! Health endpoints (no authentication): liveness, readiness and a detailed report.

use std::time::{Duration, Instant};

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use crm_domain::HealthProbe;
use serde::Serialize;
use utoipa::ToSchema;

/// What the health endpoints look at.
#[derive(Clone)]
pub struct HealthChecks {
    /// The primary database.
    pub database: Arc<dyn HealthProbe>,
    /// Redis, when configured.
    pub redis: Option<Arc<dyn HealthProbe>>,
    /// When the process started.
    pub started: Instant,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Registers `/health`, `/health/live`, `/health/ready`, `/health/detailed`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, route) in [
        ("/health", web::get().to(health)),
        ("/health/live", web::get().to(live)),
        ("/health/ready", web::get().to(ready)),
        ("/health/detailed", web::get().to(detailed)),
    ] {
        cfg.service(
            web::resource(path)
                .route(route)
                .default_service(super::not_allowed("GET")),
        );
    }
}

/// A plain status answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`, `ready`, `unavailable`, `degraded` or `down`.
    pub status: &'static str,
}

/// One dependency's state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyStatus {
    /// `up`, `down` or `disabled`.
    pub status: &'static str,
    /// Round-trip time of the check, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every dependency's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dependencies {
    /// PostgreSQL.
    pub postgres: DependencyStatus,
    /// Redis (optional; `disabled` without `REDIS_URL`).
    pub redis: DependencyStatus,
}

/// The detailed report.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetailedHealth {
    /// `ok`, `degraded` (an optional dependency is down) or `down`.
    pub status: &'static str,
    /// Service version.
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Each dependency.
    pub checks: Dependencies,
}

async fn timed<E: std::fmt::Display>(
    check: impl std::future::Future<Output = Result<(), E>>,
) -> DependencyStatus {
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check).await;
    let latency_ms = Some((started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0);
    match outcome {
        Ok(Ok(())) => DependencyStatus {
            status: "up",
            latency_ms,
            error: None,
        },
        Ok(Err(e)) => DependencyStatus {
            status: "down",
            latency_ms,
            error: Some(e.to_string()),
        },
        Err(_) => DependencyStatus {
            status: "down",
            latency_ms,
            error: Some("timed out".into()),
        },
    }
}

/// Basic health.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "The process is up", body = Status)))]
pub async fn health() -> web::Json<Status> {
    web::Json(Status { status: "ok" })
}

/// Liveness probe: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Alive", body = Status)))]
pub async fn live() -> web::Json<Status> {
    web::Json(Status { status: "ok" })
}

/// Readiness probe: 503 while PostgreSQL is unreachable.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "PostgreSQL unreachable", body = Status),
    ))]
pub async fn ready(checks: web::Data<HealthChecks>) -> HttpResponse {
    let db = timed(checks.database.check()).await;
    if db.status == "up" {
        HttpResponse::Ok().json(Status { status: "ready" })
    } else {
        tracing::warn!(error = ?db.error, "not ready: database unreachable");
        HttpResponse::ServiceUnavailable().json(Status {
            status: "unavailable",
        })
    }
}

/// Each dependency with its status and latency.
#[utoipa::path(get, path = "/health/detailed", tag = "health",
    responses(
        (status = 200, description = "PostgreSQL up (Redis may be down: `degraded`)", body = DetailedHealth),
        (status = 503, description = "PostgreSQL down", body = DetailedHealth),
    ))]
pub async fn detailed(checks: web::Data<HealthChecks>) -> HttpResponse {
    let postgres = timed(checks.database.check()).await;
    let redis = match &checks.redis {
        Some(client) => timed(client.check()).await,
        None => DependencyStatus {
            status: "disabled",
            latency_ms: None,
            error: None,
        },
    };
    let status = match (postgres.status, redis.status) {
        ("up", "down") => "degraded",
        ("up", _) => "ok",
        _ => "down",
    };
    let body = DetailedHealth {
        status,
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: checks.started.elapsed().as_secs(),
        checks: Dependencies { postgres, redis },
    };
    if status == "down" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}
