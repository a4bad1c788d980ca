//! The public keys of User Management (an RFC 7517 JWKS), for RS256, ES256 and EdDSA tokens.
//!
//! The set is fetched from the configured URL only (never from a `jku`, `x5u` or `jwk` a token
//! names), on first use, and cached. It is fetched again when it is older than
//! [`JwksConfig::cache_ttl`] or a token names a `kid` it does not hold (key rotation), but never
//! more often than once per [`JwksConfig::min_refresh`], so a flood of made-up `kid`s cannot
//! hammer User Management. A failed fetch keeps the keys already held.
//!
//! Each key is kept with its type (RSA, EC P-256, Ed25519) and, when the set declares it, its
//! `alg`; a key is handed out only for the one algorithm its type serves. Symmetric (`oct`)
//! keys, encryption keys and other curves are skipped: an HMAC secret never comes from here.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use anyhow::Context;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::config::JwksConfig;
use crate::error::ApiError;

/// Largest key set read; a few keys take a few KiB.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The kind of public key, which fixes the one algorithm it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    EcP256,
    Ed25519,
}

impl KeyKind {
    /// The token algorithm this kind of key verifies; anything else is refused.
    fn algorithm(self) -> Algorithm {
        match self {
            Self::Rsa => Algorithm::RS256,
            Self::EcP256 => Algorithm::ES256,
            Self::Ed25519 => Algorithm::EdDSA,
        }
    }
}

struct VerifyingKey {
    kind: KeyKind,
    /// The `alg` the set declares for the key, if any.
    declared: Option<KeyAlgorithm>,
    key: Arc<DecodingKey>,
}

struct Keys {
    by_kid: HashMap<String, VerifyingKey>,
    fetched_at: Instant,
}

#[derive(Default)]
struct State {
    keys: Option<Keys>,
    /// When the last fetch began: the rate limit counts from here, so a fetch abandoned
    /// half-way (its request dropped) still counts.
    last_started: Option<Instant>,
    /// When the last fetch ended, well or not.
    last_finished: Option<Instant>,
    last_error: Option<String>,
}

/// The cached key set, shared by every worker.
pub struct JwksCache {
    config: JwksConfig,
    client: reqwest::Client,
    state: RwLock<State>,
    /// Held while fetching: concurrent misses wait for one fetch instead of each making one.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl JwksCache {
    /// A cache for `config`; fetches nothing yet.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS set-up).
    pub fn new(config: JwksConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // The configured URL is the only source: no redirect elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            // Fetches are rare; no idle connection is kept (nor shared across worker runtimes).
            .pool_max_idle_per_host(0)
            .user_agent(concat!("nexus-crm/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client for the JWKS (USER_MANAGEMENT_URL)")?;
        Ok(Self {
            config,
            client,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The key named `kid`, if it verifies `alg` tokens.
    ///
    /// # Errors
    /// 401 when the set has no such key or the key is of another type or `alg`; 503 when the
    /// set could never be fetched.
    pub async fn key(&self, kid: &str, alg: Algorithm) -> Result<Arc<DecodingKey>, ApiError> {
        let asked = Instant::now();
        if let Some(found) = self.cached(kid, alg, true) {
            return found;
        }
        let _fetching = match self.fetching.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // A fetch is under way: a key already held, even from an expired set, need not
                // wait for it.
                if let Some(found) = self.cached(kid, alg, false) {
                    return found;
                }
                self.fetching.lock().await
            }
        };
        if self.may_fetch(asked) {
            self.state
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .last_started = Some(Instant::now());
            let result = self.fetch().await;
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            state.last_finished = Some(Instant::now());
            match result {
                Ok(by_kid) => {
                    tracing::info!(url = %self.config.url, keys = by_kid.len(), "JWKS fetched");
                    state.keys = Some(Keys {
                        by_kid,
                        fetched_at: Instant::now(),
                    });
                    state.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(url = %self.config.url, error = %format!("{e:#}"), "JWKS fetch failed");
                    state.last_error = Some(format!("{e:#}"));
                }
            }
        }
        match self.cached(kid, alg, false) {
            Some(found) => found,
            None => {
                let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
                match (&state.keys, &state.last_error) {
                    (None, error) => Err(ApiError::unavailable_because(
                        "the signing keys of User Management cannot be fetched; retry later",
                        error
                            .clone()
                            .unwrap_or_else(|| "JWKS not fetched".to_owned()),
                    )),
                    (Some(_), Some(_)) => Err(ApiError::unauthorized(
                        "the token kid is not a known signing key (and the key set of User \
                         Management could not be refreshed)",
                    )),
                    (Some(_), None) => Err(ApiError::unauthorized(
                        "the token kid is not a known signing key of User Management",
                    )),
                }
            }
        }
    }

    /// The cached answer for `kid`: `None` when the set must be (re)fetched first. With
    /// `fresh_only`, an expired set answers `None` too.
    fn cached(
        &self,
        kid: &str,
        alg: Algorithm,
        fresh_only: bool,
    ) -> Option<Result<Arc<DecodingKey>, ApiError>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let keys = state.keys.as_ref()?;
        if fresh_only && keys.fetched_at.elapsed() >= self.config.cache_ttl {
            return None;
        }
        let key = keys.by_kid.get(kid)?;
        Some(if key.kind.algorithm() != alg {
            Err(ApiError::unauthorized(format!(
                "the key named by the token kid does not verify {alg:?} tokens"
            )))
        } else if key.declared.is_some_and(|d| !declared_for(d, alg)) {
            Err(ApiError::unauthorized(format!(
                "the key named by the token kid is declared for another algorithm than {alg:?}"
            )))
        } else {
            Ok(key.key.clone())
        })
    }

    /// Whether a request that began at `asked` may fetch now: not when another fetch finished
    /// meanwhile (its answer is used), nor within `min_refresh` of the last attempt.
    fn may_fetch(&self, asked: Instant) -> bool {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let fetched_meanwhile = state.last_finished.is_some_and(|f| f > asked);
        let too_soon = state
            .last_started
            .is_some_and(|s| s.elapsed() < self.config.min_refresh);
        !fetched_meanwhile && !too_soon
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, VerifyingKey>> {
        let mut res = self
            .client
            .get(&self.config.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .context("requesting the JWKS")?;
        if !res.status().is_success() {
            anyhow::bail!("the JWKS endpoint answered {}", res.status());
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.context("reading the JWKS")? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                anyhow::bail!("the JWKS is larger than {MAX_JWKS_BYTES} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        let set: RawSet = serde_json::from_slice(&body).context("the JWKS is not a key set")?;
        Ok(usable_keys(set.keys))
    }
}

/// Whether a key declared for `declared` may verify `alg` tokens.
fn declared_for(declared: KeyAlgorithm, alg: Algorithm) -> bool {
    matches!(
        (declared, alg),
        (KeyAlgorithm::RS256, Algorithm::RS256)
            | (KeyAlgorithm::ES256, Algorithm::ES256)
            | (KeyAlgorithm::EdDSA, Algorithm::EdDSA)
    )
}

/// The signing keys of `raw` by `kid`; keys we cannot or must not use are skipped (logged).
fn usable_keys(raw: Vec<serde_json::Value>) -> HashMap<String, VerifyingKey> {
    let mut by_kid = HashMap::new();
    for value in raw {
        let jwk: Jwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::debug!(error = %e, "JWKS key skipped: not a supported JWK");
                continue;
            }
        };
        let Some(kid) = jwk.common.key_id.clone().filter(|k| !k.is_empty()) else {
            tracing::debug!("JWKS key skipped: no kid");
            continue;
        };
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                KeyKind::EcP256
            }
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                KeyKind::Ed25519
            }
            _ => {
                tracing::debug!(kid, "JWKS key skipped: not an RSA, P-256 or Ed25519 key");
                continue;
            }
        };
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption)
            || jwk
                .common
                .key_operations
                .as_ref()
                .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
        {
            tracing::debug!(kid, "JWKS key skipped: not a signature key");
            continue;
        }
        let key = match DecodingKey::from_jwk(&jwk) {
            Ok(key) => key,
            Err(e) => {
                tracing::debug!(kid, error = %e, "JWKS key skipped: unreadable");
                continue;
            }
        };
        if by_kid.contains_key(&kid) {
            tracing::debug!(kid, "JWKS key skipped: duplicate kid");
            continue;
        }
        by_kid.insert(
            kid,
            VerifyingKey {
                kind,
                declared: jwk.common.key_algorithm,
                key: Arc::new(key),
            },
        );
    }
    by_kid
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_signature_keys_of_the_three_kinds_are_kept() {
        let ec = json!({"kty": "EC", "crv": "P-256", "kid": "ec",
            "x": "ppuaIl6t_vbpjwUJH0VFmkd8_p2UeOhm2zURDrK8WNk",
            "y": "gFKnHLYBkkPYf-LC6HXu6LJmd-_5HT1PuKuJDGx6yJ4"});
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed",
            "x": "_nM7Cxd_6KrKZMC3JPvbQdx1OPZA8DXAjSkZH1olimA"});
        let rsa = json!({"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig",
            "n": "tu-SvC6EZo05Eq-NC45hhqrWdafmQ16BUutPkYcMnjbwBgeI1fMu", "e": "AQAB"});
        let mut enc = rsa.clone();
        enc["kid"] = "enc".into();
        enc["use"] = "enc".into();
        let mut no_kid = rsa.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut dup = ed.clone();
        dup["kid"] = "ec".into();
        let oct = json!({"kty": "oct", "kid": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"});
        let p384 = json!({"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"});
        let unknown = json!({"kty": "RSA-PSS", "kid": "pss"});
        let keys = usable_keys(vec![ec, ed, rsa, enc, no_kid, dup, oct, p384, unknown]);
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["ec", "ed", "rsa"]);
        assert_eq!(keys["ec"].kind, KeyKind::EcP256);
        assert_eq!(keys["ed"].kind, KeyKind::Ed25519);
        assert_eq!(keys["rsa"].kind, KeyKind::Rsa);
        assert_eq!(keys["rsa"].declared, Some(KeyAlgorithm::RS256));
    }
}
