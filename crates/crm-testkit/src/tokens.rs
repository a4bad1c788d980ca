//! Tokens for tests: valid ones, and each kind of forgery the service must refuse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use crm_domain::{Actor, CompanyId, Role, UserId};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::TEST_SECRET;

/// A new actor in a new company.
pub fn actor(role: Role) -> Actor {
    Actor::new(UserId::new_random(), CompanyId::new_random(), role)
}

/// A new user of `company`.
pub fn colleague(company: CompanyId, role: Role) -> Actor {
    Actor::new(UserId::new_random(), company, role)
}

/// Claims of a valid token for `actor`, as JSON to be bent by tests.
pub fn claims(actor: &Actor) -> Value {
    json!({
        "sub": actor.user().to_string(),
        "companyId": actor.company().to_string(),
        "role": actor.role().as_str(),
        "exp": Utc::now().timestamp() + 600,
        "iat": Utc::now().timestamp(),
    })
}

/// Signs arbitrary claims with `alg` and `secret`.
pub fn sign(claims: &Value, alg: Algorithm, secret: &str) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A valid HS256 token for `actor` under [`TEST_SECRET`].
pub fn token(actor: &Actor) -> String {
    sign(&claims(actor), Algorithm::HS256, TEST_SECRET)
}

/// An unsigned token (`alg: none`) carrying `claims`.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}
