//! The real application on an ephemeral port, with its own database.

use crm_domain::Actor;
use std::time::Duration;

use crm_http::config::{Config, JwksConfig, JwtConfig, LogFormat, JWKS_PATH};
use crm_http::Application;
use reqwest::{Client, RequestBuilder};

use crate::database::TestDatabase;
use crate::{tokens, TEST_SECRET};

/// Configures a [`TestApp`] before it starts.
pub struct TestAppBuilder {
    config: Config,
    read_replica: bool,
}

impl TestAppBuilder {
    /// Requires `iss` on tokens.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.config.jwt.issuer = Some(issuer.to_owned());
        self
    }

    /// Requires `aud` on tokens.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.config.jwt.audience = Some(audience.to_owned());
        self
    }

    /// Verifies RS256/ES256/EdDSA tokens against the JWKS under `url` (as `USER_MANAGEMENT_URL`
    /// does), cached for 300 s and refreshed at most every 10 s.
    pub fn with_user_management_url(self, url: &str) -> Self {
        self.with_jwks_url(&format!("{}{JWKS_PATH}", url.trim_end_matches('/')))
    }

    /// Verifies RS256/ES256/EdDSA tokens against the JWKS at `url` (as `JWKS_URL` does).
    pub fn with_jwks_url(mut self, url: &str) -> Self {
        self.config.jwt.jwks = Some(JwksConfig {
            url: url.to_owned(),
            cache_ttl: Duration::from_secs(300),
            min_refresh: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
        });
        self
    }

    /// Sets how long the key set is cached and the least time between two fetches (after
    /// `with_user_management_url`; zero durations are for tests only).
    pub fn with_jwks_timing(mut self, cache_ttl: Duration, min_refresh: Duration) -> Self {
        if let Some(jwks) = &mut self.config.jwt.jwks {
            jwks.cache_ttl = cache_ttl;
            jwks.min_refresh = min_refresh;
        }
        self
    }

    /// Trusts no HS256 secret: only JWKS-verified tokens are accepted.
    pub fn without_secret(mut self) -> Self {
        self.config.jwt.secret = None;
        self
    }

    /// Tolerates this much clock skew on `exp`/`nbf` (default 0 in tests).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.config.jwt.leeway_seconds = seconds;
        self
    }

    /// Sets the largest accepted body.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit_bytes = bytes;
        self
    }

    /// Allows a browser origin.
    pub fn with_cors_origin(mut self, origin: &str) -> Self {
        self.config.cors_origins.push(origin.to_owned());
        self
    }

    /// Sends `Strict-Transport-Security` with this max-age.
    pub fn with_hsts(mut self, max_age: u64) -> Self {
        self.config.hsts_max_age_seconds = Some(max_age);
        self
    }

    /// Allows `max` requests per client IP and `window_secs`.
    pub fn with_rate_limit(mut self, max: u32, window_secs: u64) -> Self {
        self.config.rate_limit = crm_http::config::RateLimitConfig {
            max,
            window: std::time::Duration::from_secs(window_secs),
        };
        self
    }

    /// Believes `X-Forwarded-For` from these proxies (`TRUSTED_PROXIES` syntax).
    pub fn with_trusted_proxies(mut self, list: &str) -> Self {
        self.config.trusted_proxies = crm_http::client_ip::TrustedProxies::parse(list).unwrap();
        self
    }

    /// Uses Redis at `url`.
    pub fn with_redis(mut self, url: &str) -> Self {
        self.config.redis_url = Some(url.to_owned());
        self
    }

    /// Sets how many entries the near cache holds with Redis (0: no near cache).
    pub fn with_near_cache(mut self, entries: u64) -> Self {
        self.config.near_cache_entries = entries;
        self
    }

    /// Routes read-only queries to a second fresh database standing in for a read replica
    /// (see [`TestApp::replica`]). Nothing replicates between the two.
    pub fn with_read_replica(mut self) -> Self {
        self.read_replica = true;
        self
    }

    /// Sets how long in-flight requests may run after a stop.
    pub fn with_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// The configuration with a fresh database (and replica) filled in, and the databases,
    /// for tests that run [`crm_http::Application`] themselves.
    pub async fn prepare(mut self) -> (Config, TestDatabase, Option<TestDatabase>) {
        let db = TestDatabase::new().await;
        self.config.database_url = db.url().to_owned();
        let replica = if self.read_replica {
            let replica = TestDatabase::new().await;
            self.config.database_read_url = Some(replica.url().to_owned());
            Some(replica)
        } else {
            None
        };
        (self.config, db, replica)
    }

    /// Starts the app on a fresh database.
    pub async fn start(self) -> TestApp {
        let (config, db, replica) = self.prepare().await;
        let mut app = TestApp::start_on(config, db).await;
        app.replica = replica;
        app
    }
}

/// A running app and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The configuration it runs with.
    pub config: Config,
    /// Plain HTTP client.
    pub client: Client,
    /// The app's outbox relay.
    pub relay: crm_redis::RelayHandle,
    handle: actix_web::dev::ServerHandle,
    // Declared last: dropped after the server is told to stop.
    /// The (primary) database.
    pub db: TestDatabase,
    /// The database standing in for a read replica, when the builder asked for one.
    pub replica: Option<TestDatabase>,
}

impl TestApp {
    /// Configuration of a test app (database filled in by the builder).
    pub fn config() -> Config {
        Config {
            database_url: String::new(),
            database_pool_size: 4,
            database_read_url: None,
            migrate_on_start: true,
            redis_url: None,
            near_cache_entries: 50_000,
            jwt: JwtConfig {
                secret: Some(TEST_SECRET.to_owned()),
                jwks: None,
                issuer: None,
                audience: None,
                leeway_seconds: 0,
            },
            host: "127.0.0.1".to_owned(),
            port: 0,
            cors_origins: Vec::new(),
            log_level: "info".to_owned(),
            log_format: LogFormat::Pretty,
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            hsts_max_age_seconds: None,
            shutdown_timeout: std::time::Duration::from_secs(30),
            // High enough for any test; rate-limit tests lower it.
            rate_limit: crm_http::config::RateLimitConfig {
                max: 100_000,
                window: std::time::Duration::from_secs(60),
            },
            trusted_proxies: crm_http::client_ip::TrustedProxies::default(),
        }
    }

    /// A builder with the default test configuration.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            config: Self::config(),
            read_replica: false,
        }
    }

    /// Starts the app with the default test configuration.
    pub async fn spawn() -> Self {
        Self::builder().start().await
    }

    async fn start_on(config: Config, db: TestDatabase) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            crm_http::telemetry::init("debug", LogFormat::Pretty);
        }
        let app = Application::build(config.clone())
            .await
            .expect("app starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let relay = app.relay().clone();
        let server = app.into_server();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            address,
            config,
            client: Client::builder().build().unwrap(),
            relay,
            handle,
            db,
            replica: None,
        }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request with `actor`'s token.
    pub fn request(&self, method: reqwest::Method, path: &str, actor: &Actor) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(tokens::token(actor))
    }

    /// `GET path` as `actor`.
    pub fn get(&self, path: &str, actor: &Actor) -> RequestBuilder {
        self.request(reqwest::Method::GET, path, actor)
    }

    /// `POST path` with a JSON body as `actor`.
    pub fn post(&self, path: &str, actor: &Actor, body: &serde_json::Value) -> RequestBuilder {
        self.request(reqwest::Method::POST, path, actor).json(body)
    }

    /// `PUT path` with a JSON body as `actor`.
    pub fn put(&self, path: &str, actor: &Actor, body: &serde_json::Value) -> RequestBuilder {
        self.request(reqwest::Method::PUT, path, actor).json(body)
    }

    /// `DELETE path` as `actor`.
    pub fn delete(&self, path: &str, actor: &Actor) -> RequestBuilder {
        self.request(reqwest::Method::DELETE, path, actor)
    }

    /// `GET path` as `actor`, expecting 200, and the JSON body.
    pub async fn get_json(&self, path: &str, actor: &Actor) -> serde_json::Value {
        let res = self.get(path, actor).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    /// `GET path` without a token, and the JSON body (for the public endpoints).
    pub async fn get_public_json(&self, path: &str) -> serde_json::Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Creates a customer as `actor` and returns its JSON.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let res = self
            .post("/api/customers", actor, &body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "creating {body}");
        res.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the returned future need not be awaited.
        drop(self.handle.stop(false));
    }
}
