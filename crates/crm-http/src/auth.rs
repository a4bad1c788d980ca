//! JWT authentication (RFC 8725): the accepted algorithm is pinned to HS256, `exp` is
//! required, `nbf` honoured, `iss`/`aud` checked when configured.

use std::collections::HashSet;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::Utc;
use crm_domain::{Actor, CompanyId, Origin, Role, UserId};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::JwtConfig;
use crate::error::ApiError;
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

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    /// A verifier for `config`.
    pub fn new(config: &JwtConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
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
        Self {
            key: DecodingKey::from_secret(config.secret.as_bytes()),
            validation,
        }
    }

    /// Checks the token and returns the actor it names.
    ///
    /// # Errors
    /// A 401 [`ApiError`] saying, without echoing the token, why it was refused.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
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
    pub fn new(config: &JwtConfig) -> Self {
        Self {
            key: EncodingKey::from_secret(config.secret.as_bytes()),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        }
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

fn authenticate(req: &HttpRequest) -> Result<Actor, ApiError> {
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
    verifier.verify(token)
}

/// The actor known to a request, left in its extensions for the audit of denied attempts.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Actor);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let actor = authenticate(req).map(|actor| {
            let origin = Origin {
                request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
                client_ip: crate::client_ip::of_request(req).map(|ip| ip.to_string()),
            };
            actor.with_origin(origin)
        });
        if let Ok(actor) = &actor {
            req.extensions_mut().insert(RequestActor(actor.clone()));
        }
        ready(actor.map(Authenticated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> JwtConfig {
        JwtConfig {
            secret: "0123456789abcdef0123456789abcdef".into(),
            issuer: Some("user-management".into()),
            audience: Some("nexus-crm".into()),
            leeway_seconds: 0,
        }
    }

    #[test]
    fn issued_tokens_verify_to_the_same_actor() {
        let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::Manager);
        let token = TokenIssuer::new(&config()).issue(&actor, 60).unwrap();
        assert_eq!(JwtVerifier::new(&config()).verify(&token).unwrap(), actor);
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::User);
        let mut other = config();
        other.issuer = Some("someone-else".into());
        let token = TokenIssuer::new(&other).issue(&actor, 60).unwrap();
        assert!(JwtVerifier::new(&config()).verify(&token).is_err());
        let mut other = config();
        other.audience = Some("billing".into());
        let token = TokenIssuer::new(&other).issue(&actor, 60).unwrap();
        assert!(JwtVerifier::new(&config()).verify(&token).is_err());
    }
}
