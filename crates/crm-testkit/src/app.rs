//! The real application on an ephemeral port, with its own database.

use crm_domain::Actor;
use crm_http::config::{Config, JwtConfig, LogFormat};
use crm_http::Application;
use reqwest::{Client, RequestBuilder};

use crate::database::TestDatabase;
use crate::{tokens, TEST_SECRET};

/// Configures a [`TestApp`] before it starts.
pub struct TestAppBuilder {
    config: Config,
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

    /// Starts the app on a fresh database.
    pub async fn start(mut self) -> TestApp {
        let db = TestDatabase::new().await;
        self.config.database_url = db.url().to_owned();
        TestApp::start_on(self.config, db).await
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
    pub db: TestDatabase,
}

impl TestApp {
    /// Configuration of a test app (database filled in by the builder).
    pub fn config() -> Config {
        Config {
            database_url: String::new(),
            database_pool_size: 4,
            redis_url: None,
            jwt: JwtConfig {
                secret: TEST_SECRET.to_owned(),
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
            request_timeout: std::time::Duration::from_secs(30),
            hsts_max_age_seconds: None,
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
