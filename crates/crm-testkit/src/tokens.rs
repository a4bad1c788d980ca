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

/// Signs `claims` under an arbitrary `header` with `key` (for forged headers).
pub fn sign_with_header(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    encode(header, claims, key).unwrap()
}

/// A test key pair from `fixtures/jwt` (made by its `generate.sh`; test keys only): the
/// private key to sign with and the public JWK a JWKS serves.
#[derive(Debug, Clone, Copy)]
pub struct TestKey {
    /// The `kid` of its JWK.
    pub kid: &'static str,
    /// The algorithm it signs.
    pub alg: Algorithm,
    private_pem: &'static str,
    public_jwk: &'static str,
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jwt/", $name))
    };
}

/// RSA 2048, `kid` `test-rsa-a`, RS256.
pub const RSA_A: TestKey = TestKey {
    kid: "test-rsa-a",
    alg: Algorithm::RS256,
    private_pem: fixture!("rsa-a.pem"),
    public_jwk: fixture!("rsa-a.jwk.json"),
};

/// RSA 2048, `kid` `test-rsa-b`, RS256 (the key rotated in).
pub const RSA_B: TestKey = TestKey {
    kid: "test-rsa-b",
    alg: Algorithm::RS256,
    private_pem: fixture!("rsa-b.pem"),
    public_jwk: fixture!("rsa-b.jwk.json"),
};

/// An attacker's RSA 2048 key, `kid` `test-rsa-attacker`: never in the service's JWKS.
pub const RSA_ATTACKER: TestKey = TestKey {
    kid: "test-rsa-attacker",
    alg: Algorithm::RS256,
    private_pem: fixture!("rsa-attacker.pem"),
    public_jwk: fixture!("rsa-attacker.jwk.json"),
};

/// EC P-256, `kid` `test-ec-a`, ES256.
pub const EC_A: TestKey = TestKey {
    kid: "test-ec-a",
    alg: Algorithm::ES256,
    private_pem: fixture!("ec-a.pem"),
    public_jwk: fixture!("ec-a.jwk.json"),
};

/// Ed25519, `kid` `test-ed-a`, EdDSA.
pub const ED_A: TestKey = TestKey {
    kid: "test-ed-a",
    alg: Algorithm::EdDSA,
    private_pem: fixture!("ed-a.pem"),
    public_jwk: fixture!("ed-a.jwk.json"),
};

/// The public key of [`RSA_A`] as PEM: what the HS256/RS256 confusion attack uses as an HMAC
/// secret.
pub const RSA_A_PUBLIC_PEM: &str = fixture!("rsa-a.pub.pem");

impl TestKey {
    /// The public JWK.
    pub fn jwk(&self) -> Value {
        serde_json::from_str(self.public_jwk).unwrap()
    }

    /// The private key.
    pub fn encoding_key(&self) -> EncodingKey {
        match self.alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.private_pem.as_bytes()),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(self.private_pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(self.private_pem.as_bytes()),
        }
        .unwrap()
    }

    /// A header with this key's `alg` and `kid`.
    pub fn header(&self) -> Header {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.to_owned());
        header
    }

    /// `claims` signed by this key, naming it by `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        sign_with_header(&self.header(), claims, &self.encoding_key())
    }

    /// A valid token for `actor` signed by this key.
    pub fn token(&self, actor: &Actor) -> String {
        self.sign(&claims(actor))
    }
}

/// A JWKS document holding the public keys of `keys`.
pub fn jwks(keys: &[TestKey]) -> Value {
    json!({ "keys": keys.iter().map(TestKey::jwk).collect::<Vec<_>>() })
}

/// An unsigned token (`alg: none`) carrying `claims`.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}
