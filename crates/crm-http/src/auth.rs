//! JWT authentication (RFC 8725). The token's `alg` picks its key source, and nothing else:
//! HS256 is checked against `JWT_SECRET` only; RS256, ES256 and EdDSA only against the key of
//! User Management's JWKS whose `kid` the token names and whose type serves that algorithm.
//! Every other `alg` (`none`, HS384/512, RS384/512, PS*, ES384) is refused, and `jku`, `x5u`
//! and `jwk` headers are ignored. `exp` is required, `nbf` honoured (both with the configured
//! leeway), `iss`/`aud` required and checked when configured.

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use anyhow::Context;
use chrono::Utc;
use crm_domain::{Actor, CompanyId, Origin, Role, UserId};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{ConfigError, JwtConfig};
use crate::error::ApiError;
use crate::jwks::JwksCache;
use crate::request_id::RequestId;

/// The claims we read and write.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The tenant.
    pub company_id: String,
    /// `admin`, `manager` or `user`.
    pub role: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Verifies bearer tokens. Clones share one JWKS cache.
#[derive(Clone)]
pub struct JwtVerifier {
    /// The HS256 key (`JWT_SECRET`), if configured.
    secret: Option<Arc<DecodingKey>>,
    /// User Management's key set, if configured.
    jwks: Option<Arc<JwksCache>>,
    /// Claim checks; `algorithms` is set per token to the one algorithm its key serves.
    validation: Validation,
}

impl JwtVerifier {
    /// A verifier for `config`. Fetches nothing yet: the JWKS is fetched on first use.
    ///
    /// # Errors
    /// When the HTTP client for the JWKS cannot be built.
    pub fn new(config: &JwtConfig) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::from(["exp".to_owned(), "sub".to_owned()]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = config.leeway_seconds;
        // A configured issuer or audience must be present, not merely right when present.
        match &config.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                validation.required_spec_claims.insert("iss".to_owned());
            }
            None => validation.iss = None,
        }
        match &config.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        tracing::info!(
            hs256 = config.secret.is_some(),
            jwks_url = config.jwks.as_ref().map(|j| j.url.as_str()),
            "token verification configured"
        );
        let jwks = match &config.jwks {
            Some(jwks) => Some(Arc::new(JwksCache::new(jwks.clone()).context("JWKS")?)),
            None => None,
        };
        Ok(Self {
            secret: config
                .secret
                .as_ref()
                .map(|s| Arc::new(DecodingKey::from_secret(s.as_bytes()))),
            jwks,
            validation,
        })
    }

    /// Checks the token and returns the actor it names.
    ///
    /// # Errors
    /// A 401 [`ApiError`] saying, without echoing the token, why it was refused; a 503 when
    /// the token needs the JWKS and it could never be fetched.
    pub async fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        use jsonwebtoken::errors::ErrorKind;
        // The header is read unverified only to pick the key; the signature check below is
        // pinned to the algorithm that key serves.
        let header = decode_header(token).map_err(|e| {
            ApiError::unauthorized(match e.kind() {
                ErrorKind::Json(_) | ErrorKind::InvalidAlgorithmName => {
                    "the token header is malformed or names an algorithm that is not accepted"
                }
                _ => "the token is malformed",
            })
        })?;
        let (key, alg): (Arc<DecodingKey>, Algorithm) = match header.alg {
            Algorithm::HS256 => match &self.secret {
                Some(secret) => (secret.clone(), Algorithm::HS256),
                None => {
                    return Err(ApiError::unauthorized(
                        "the token algorithm HS256 is not accepted by this service",
                    ))
                }
            },
            alg @ (Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA) => {
                let Some(jwks) = &self.jwks else {
                    return Err(ApiError::unauthorized(format!(
                        "the token algorithm {alg:?} is not accepted by this service"
                    )));
                };
                let kid = header
                    .kid
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        ApiError::unauthorized("the token has no kid naming its signing key")
                    })?;
                (jwks.key(kid, alg).await?, alg)
            }
            _ => {
                return Err(ApiError::unauthorized(
                    "the token algorithm is not accepted",
                ))
            }
        };
        let mut validation = self.validation.clone();
        validation.algorithms = vec![alg];
        let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
            ApiError::unauthorized(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidSignature => "the token signature is invalid",
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    "the token algorithm is not accepted"
                }
                ErrorKind::InvalidIssuer => "the token issuer is not accepted",
                ErrorKind::InvalidAudience => "the token audience is not accepted",
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                    "the token is missing required claims"
                }
                _ => "the token is malformed",
            })
        })?;
        let claims = data.claims;
        let user = Uuid::parse_str(&claims.sub)
            .map_err(|_| ApiError::unauthorized("the token subject is not a user id"))?;
        let company = Uuid::parse_str(&claims.company_id)
            .map_err(|_| ApiError::unauthorized("the token companyId is not a company id"))?;
        let role: Role = claims
            .role
            .parse()
            .map_err(|_| ApiError::unauthorized("the token role is not admin, manager or user"))?;
        Ok(Actor::new(
            UserId::from(user),
            CompanyId::from(company),
            role,
        ))
    }
}

/// Signs HS256 tokens (the `token` subcommand, and tests).
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl TokenIssuer {
    /// An issuer signing with `config`'s secret and naming its issuer and audience.
    ///
    /// # Errors
    /// When no `JWT_SECRET` is configured (asymmetric tokens are User Management's to sign).
    pub fn new(config: &JwtConfig) -> Result<Self, ConfigError> {
        let secret = config.secret.as_ref().ok_or_else(|| ConfigError {
            var: "JWT_SECRET",
            message: "is required to sign tokens".to_owned(),
        })?;
        Ok(Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    /// A token for `actor` valid for `ttl_seconds`.
    ///
    /// # Errors
    /// When signing fails (it does not with an HMAC key).
    pub fn issue(
        &self,
        actor: &Actor,
        ttl_seconds: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: actor.user().to_string(),
            company_id: actor.company().to_string(),
            role: actor.role().as_str().to_owned(),
            exp: now + ttl_seconds,
            iat: Some(now),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: Some(Uuid::new_v4().to_string()),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}

/// The authenticated caller; extracting it from a request enforces authentication.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Actor);

async fn authenticate(req: &HttpRequest) -> Result<Actor, ApiError> {
    let verifier = req
        .app_data::<web::Data<JwtVerifier>>()
        .ok_or_else(|| ApiError::internal("JwtVerifier is not registered as app data"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is malformed"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    verifier.verify(token).await
}

/// The actor known to a request, left in its extensions for the audit of denied attempts.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Actor);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let actor = authenticate(&req).await?;
            let origin = Origin {
                request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
                client_ip: crate::client_ip::of_request(&req).map(|ip| ip.to_string()),
            };
            let actor = actor.with_origin(origin);
            req.extensions_mut().insert(RequestActor(actor.clone()));
            Ok(Authenticated(actor))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> JwtConfig {
        JwtConfig {
            secret: Some("0123456789abcdef0123456789abcdef".into()),
            jwks: None,
            issuer: Some("user-management".into()),
            audience: Some("nexus-crm".into()),
            leeway_seconds: 0,
        }
    }

    fn verifier(config: &JwtConfig) -> JwtVerifier {
        JwtVerifier::new(config).unwrap()
    }

    #[tokio::test]
    async fn issued_tokens_verify_to_the_same_actor() {
        let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::Manager);
        let token = TokenIssuer::new(&config())
            .unwrap()
            .issue(&actor, 60)
            .unwrap();
        assert_eq!(verifier(&config()).verify(&token).await.unwrap(), actor);
    }

    #[tokio::test]
    async fn wrong_issuer_or_audience_is_refused() {
        let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::User);
        let mut other = config();
        other.issuer = Some("someone-else".into());
        let token = TokenIssuer::new(&other).unwrap().issue(&actor, 60).unwrap();
        assert!(verifier(&config()).verify(&token).await.is_err());
        let mut other = config();
        other.audience = Some("billing".into());
        let token = TokenIssuer::new(&other).unwrap().issue(&actor, 60).unwrap();
        assert!(verifier(&config()).verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn without_a_secret_hs256_is_refused_and_nothing_is_signed() {
        let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::User);
        let token = TokenIssuer::new(&config())
            .unwrap()
            .issue(&actor, 60)
            .unwrap();
        let mut jwks_only = config();
        jwks_only.secret = None;
        jwks_only.jwks = Some(crate::config::JwksConfig {
            // Never contacted: an HS256 token does not reach the key set.
            url: "http://127.0.0.1:9/.well-known/jwks.json".into(),
            cache_ttl: std::time::Duration::from_secs(300),
            min_refresh: std::time::Duration::from_secs(10),
            timeout: std::time::Duration::from_secs(1),
        });
        let err = verifier(&jwks_only).verify(&token).await.unwrap_err();
        assert_eq!(err.problem().status, 401);
        assert_eq!(
            TokenIssuer::new(&jwks_only).err().unwrap().var,
            "JWT_SECRET"
        );
    }
}
