//! Per-client-IP rate limiting (`RATE_LIMIT_MAX` requests per `RATE_LIMIT_WINDOW_SECONDS`),
//! shared through Redis when configured. Health endpoints are exempt.

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use crm_domain::{RateDecision, RateLimiter};

use crate::client_ip;
use crate::error::ApiError;

/// The limiter the middleware consults (absent: no limit).
#[derive(Clone)]
pub struct RateLimit(pub Arc<dyn RateLimiter>);

fn set(headers: &mut actix_web::http::header::HeaderMap, name: &'static str, value: u64) {
    headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
}

fn add_headers(headers: &mut actix_web::http::header::HeaderMap, d: &RateDecision) {
    set(headers, "ratelimit-limit", u64::from(d.limit));
    set(headers, "ratelimit-remaining", u64::from(d.remaining));
    set(headers, "ratelimit-reset", d.reset_after_secs);
}

/// Whether `path` is exempt from rate limiting: the health probes and the metrics scrape,
/// which orchestrators and Prometheus call from one address, on a schedule.
fn exempt(path: &str) -> bool {
    path.starts_with("/health") || path == "/metrics"
}

/// Counts the request against its client IP; past the limit answers 429 with `Retry-After`.
/// Every limited response carries `RateLimit-Limit`, `RateLimit-Remaining` and
/// `RateLimit-Reset` (seconds). Health probes and `/metrics` are exempt.
pub async fn rate_limit_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let limiter = req.app_data::<web::Data<RateLimit>>().map(|l| l.0.clone());
    let (Some(limiter), false) = (limiter, exempt(req.path())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let client = client_ip::of_service_request(&req)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let decision = limiter.hit(&client).await;
    if decision.allowed {
        let mut res = next.call(req).await?;
        add_headers(res.headers_mut(), &decision);
        return Ok(res.map_into_left_body());
    }
    tracing::info!(client = %client, "rate limit exceeded");
    let mut res = ApiError::too_many_requests(decision.reset_after_secs).error_response();
    add_headers(res.headers_mut(), &decision);
    res.headers_mut().insert(
        RETRY_AFTER,
        HeaderValue::from(decision.reset_after_secs.max(1)),
    );
    Ok(req.into_response(res).map_into_right_body())
}
