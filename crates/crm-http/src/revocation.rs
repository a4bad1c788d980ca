//! Refuses bearer tokens on the session revocation list (written by User Management in
//! Redis; see `docs/sessions.md`).
//!
//! This runs as a middleware before authentication and reads `sub`, `jti` and `iat` from the
//! token's payload without verifying it: the check can only refuse a request, never admit
//! one, and the authentication extractor still verifies every token it lets through. Keeping
//! it out of the extractor leaves token verification in one place (`auth.rs`).

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crm_domain::{RevocationList, TokenIdentity};
use serde::Deserialize;

use crate::error::ApiError;

/// The list the middleware consults.
#[derive(Clone)]
pub struct Revocations(pub Arc<dyn RevocationList>);

#[derive(Deserialize)]
struct Unverified {
    sub: String,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
}

/// The claims of a bearer token, unverified; `None` when there is none or it is malformed
/// (authentication refuses it then).
fn unverified_claims(req: &ServiceRequest) -> Option<Unverified> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Answers 401 when the request's token (by `jti`) or its user (tokens issued before the
/// recorded time) is revoked.
pub async fn revocation_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let list = req
        .app_data::<web::Data<Revocations>>()
        .map(|l| l.0.clone());
    let claims = list.as_ref().and_then(|_| unverified_claims(&req));
    if let (Some(list), Some(claims)) = (list, claims) {
        let token = TokenIdentity {
            user: &claims.sub,
            jti: claims.jti.as_deref(),
            issued_at: claims.iat,
        };
        if list.is_revoked(token).await {
            tracing::info!(user = %claims.sub, "revoked token refused");
            let res = ApiError::unauthorized("the token has been revoked").error_response();
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
