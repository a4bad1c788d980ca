//! Configuration from the environment. Every invalid value stops start-up with a message
//! naming the variable.

use std::time::Duration;

use thiserror::Error;

use crate::client_ip::TrustedProxies;

/// A configuration problem, naming the variable at fault.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// How tokens are verified (and, for the `token` subcommand, signed). At least one of the
/// HS256 secret and the JWKS must be configured; with both, each token is checked against the
/// one its `alg` names (HS256 against the secret, RS256/ES256/EdDSA against the JWKS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// HS256 shared secret (`JWT_SECRET`), at least 32 bytes. `None`: HS256 tokens are refused.
    pub secret: Option<String>,
    /// Where the public keys of User Management are fetched (`USER_MANAGEMENT_URL` or
    /// `JWKS_URL`). `None`: asymmetric tokens are refused.
    pub jwks: Option<JwksConfig>,
    /// Required `iss` claim when set (`JWT_ISSUER`).
    pub issuer: Option<String>,
    /// Required `aud` claim when set (`JWT_AUDIENCE`).
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf` (`JWT_LEEWAY_SECONDS`, default 30).
    pub leeway_seconds: u64,
}

/// The JWKS (RFC 7517 key set) of User Management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksConfig {
    /// `JWKS_URL`, or `USER_MANAGEMENT_URL` + [`JWKS_PATH`].
    pub url: String,
    /// How long a fetched key set is used before it is fetched again (`JWKS_CACHE_SECONDS`,
    /// default 300).
    pub cache_ttl: Duration,
    /// Least time between two fetches, whatever asks for them: an unknown `kid` or an expired
    /// cache (`JWKS_MIN_REFRESH_SECONDS`, default 10).
    pub min_refresh: Duration,
    /// How long one fetch may take (`JWKS_TIMEOUT_SECONDS`, default 5).
    pub timeout: Duration,
}

/// Where the key set lives under `USER_MANAGEMENT_URL` (the RFC 8615 well-known location).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (default; for log shippers).
    Json,
    /// Human-readable lines.
    Pretty,
}

/// The service's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/crm`.
    pub database_url: String,
    /// `DATABASE_POOL_SIZE`, default 16 (per pool: the primary's and the replica's each).
    pub database_pool_size: usize,
    /// `DATABASE_READ_URL`: a read replica of the primary. When set, read-only queries
    /// (lists, search, statistics, history, audit) go there; writes and reads by id stay on
    /// the primary.
    pub database_read_url: Option<String>,
    /// `MIGRATE_ON_START`: create the database and apply pending migrations before serving
    /// (default `true`; set `false` where a separate job migrates, as in Kubernetes).
    pub migrate_on_start: bool,
    /// `REDIS_URL`; without it the service uses in-process implementations.
    pub redis_url: Option<String>,
    /// `NEAR_CACHE_ENTRIES`, default 50,000; 0 turns it off: with Redis, how many cached
    /// values (customers, company figures, revocation entries) each process also keeps in
    /// memory, invalidated by Redis's client tracking.
    pub near_cache_entries: u64,
    /// JWT settings.
    pub jwt: JwtConfig,
    /// `HOST`, default `0.0.0.0`.
    pub host: String,
    /// `PORT`, default 5000; 0 picks a free port.
    pub port: u16,
    /// `CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// `LOG_LEVEL`: `error`, `warn`, `info` (default), `debug`, `trace`, or a full
    /// tracing filter directive.
    pub log_level: String,
    /// `LOG_FORMAT`: `json` (default) or `pretty`.
    pub log_format: LogFormat,
    /// `BODY_LIMIT_BYTES`: largest accepted request body, default 1 MiB.
    pub body_limit_bytes: usize,
    /// `REQUEST_TIMEOUT_SECONDS`: how long one request may take in the service, default 30.
    pub request_timeout: Duration,
    /// `HSTS_MAX_AGE_SECONDS`: when set, responses carry `Strict-Transport-Security` (set it
    /// when the service is only reached over HTTPS).
    pub hsts_max_age_seconds: Option<u64>,
    /// `SHUTDOWN_TIMEOUT_SECONDS`: after SIGTERM/SIGINT, how long in-flight requests may run
    /// before they are abandoned, default 30 (0 to 600).
    pub shutdown_timeout: Duration,
    /// Per-client-IP rate limit.
    pub rate_limit: RateLimitConfig,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR networks whose `X-Forwarded-For`
    /// is believed; empty (default): the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
}

/// Requests allowed per client IP and window (shared by all replicas through Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_MAX`, default 100; 0 turns rate limiting off.
    pub max: u32,
    /// `RATE_LIMIT_WINDOW_SECONDS`, default 60.
    pub window: Duration,
}

/// Default database.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/crm";
/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: a key of at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Reads variables through `get`, so tests need not touch the process environment.
struct Source<F>(F);

impl<F: Fn(&str) -> Option<String>> Source<F> {
    fn opt(&self, var: &'static str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        var: &'static str,
        default: T,
        check: impl Fn(&T) -> bool,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.opt(var) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<T>()
                .ok()
                .filter(|v| check(v))
                .ok_or_else(|| invalid(var, format!("`{raw}` is not {expected}"))),
        }
    }
}

impl JwtConfig {
    /// Reads the JWT variables through `get`.
    ///
    /// # Errors
    /// When neither `JWT_SECRET` nor `USER_MANAGEMENT_URL`/`JWKS_URL` is set, the secret is
    /// too short, a URL is not http(s), or a number is out of range.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Source(get))
    }

    fn read<F: Fn(&str) -> Option<String>>(src: &Source<F>) -> Result<Self, ConfigError> {
        let secret = src.opt("JWT_SECRET");
        if let Some(secret) = &secret {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(invalid(
                    "JWT_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes long"),
                ));
            }
        }
        let jwks_url = match (src.opt("JWKS_URL"), src.opt("USER_MANAGEMENT_URL")) {
            (Some(url), _) => Some(http_url("JWKS_URL", url)?),
            (None, Some(base)) => {
                let base = http_url("USER_MANAGEMENT_URL", base)?;
                Some(format!("{}{JWKS_PATH}", base.trim_end_matches('/')))
            }
            (None, None) => None,
        };
        if secret.is_none() && jwks_url.is_none() {
            return Err(invalid(
                "JWT_SECRET",
                "is required unless USER_MANAGEMENT_URL (or JWKS_URL) is set: set it to the \
                 HS256 secret shared with User Management, or USER_MANAGEMENT_URL to verify its \
                 RS256/ES256/EdDSA tokens against its JWKS",
            ));
        }
        let jwks = match jwks_url {
            None => None,
            Some(url) => Some(JwksConfig {
                url,
                cache_ttl: Duration::from_secs(src.parsed(
                    "JWKS_CACHE_SECONDS",
                    300,
                    |s| (1..=86_400).contains(s),
                    "a number of seconds from 1 to 86400",
                )?),
                min_refresh: Duration::from_secs(src.parsed(
                    "JWKS_MIN_REFRESH_SECONDS",
                    10,
                    |s| (1..=3_600).contains(s),
                    "a number of seconds from 1 to 3600",
                )?),
                timeout: Duration::from_secs(src.parsed(
                    "JWKS_TIMEOUT_SECONDS",
                    5,
                    |s| (1..=60).contains(s),
                    "a number of seconds from 1 to 60",
                )?),
            }),
        };
        Ok(Self {
            secret,
            jwks,
            issuer: src.opt("JWT_ISSUER"),
            audience: src.opt("JWT_AUDIENCE"),
            leeway_seconds: src.parsed(
                "JWT_LEEWAY_SECONDS",
                30,
                |s| *s <= 300,
                "a number of seconds from 0 to 300",
            )?,
        })
    }
}

/// `raw` when it is an absolute http(s) URL with a host and no query or fragment.
fn http_url(var: &'static str, raw: String) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(&raw)
        .map_err(|e| invalid(var, format!("`{raw}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(var, format!("`{raw}` is not an http(s) URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            var,
            format!("`{raw}` must not carry a query or fragment"),
        ));
    }
    Ok(raw)
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads variables through `get`.
    ///
    /// # Errors
    /// The first invalid variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let src = Source(get);
        let database_url = src
            .opt("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !is_postgres_url(&database_url) {
            return Err(invalid(
                "DATABASE_URL",
                "must be a postgres:// or postgresql:// URL",
            ));
        }
        let database_read_url = src.opt("DATABASE_READ_URL");
        if let Some(url) = &database_read_url {
            if !is_postgres_url(url) {
                return Err(invalid(
                    "DATABASE_READ_URL",
                    "must be a postgres:// or postgresql:// URL",
                ));
            }
        }
        let migrate_on_start = match src.opt("MIGRATE_ON_START").as_deref() {
            None | Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(invalid(
                    "MIGRATE_ON_START",
                    format!("`{other}` is not true or false"),
                ))
            }
        };
        let redis_url = src.opt("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid("REDIS_URL", "must be a redis:// or rediss:// URL"));
            }
        }
        let log_level = src.opt("LOG_LEVEL").unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(invalid(
                "LOG_LEVEL",
                format!("`{log_level}` is not a level (error, warn, info, debug, trace) or filter"),
            ));
        }
        let log_format = match src.opt("LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("`{other}` is not json or pretty"),
                ))
            }
        };
        let cors_origins = src
            .opt("CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(invalid(
                    "CORS_ORIGINS",
                    format!("`{origin}` is not an http(s) origin"),
                ));
            }
        }
        Ok(Self {
            database_url,
            database_pool_size: src.parsed(
                "DATABASE_POOL_SIZE",
                16,
                |n| (1..=1000).contains(n),
                "a pool size from 1 to 1000",
            )?,
            database_read_url,
            migrate_on_start,
            redis_url,
            near_cache_entries: src.parsed(
                "NEAR_CACHE_ENTRIES",
                50_000,
                |n| *n <= 10_000_000,
                "a number of entries from 0 (off) to 10000000",
            )?,
            jwt: JwtConfig::read(&src)?,
            host: src.opt("HOST").unwrap_or_else(|| "0.0.0.0".to_owned()),
            port: src.parsed("PORT", 5000, |_| true, "a port number (0-65535)")?,
            cors_origins,
            log_level,
            log_format,
            body_limit_bytes: src.parsed(
                "BODY_LIMIT_BYTES",
                1024 * 1024,
                |n| (1024..=64 * 1024 * 1024).contains(n),
                "a size in bytes from 1024 to 67108864",
            )?,
            request_timeout: Duration::from_secs(src.parsed(
                "REQUEST_TIMEOUT_SECONDS",
                30,
                |n| (1..=600).contains(n),
                "a number of seconds from 1 to 600",
            )?),
            hsts_max_age_seconds: match src.opt("HSTS_MAX_AGE_SECONDS") {
                None => None,
                Some(_) => Some(src.parsed(
                    "HSTS_MAX_AGE_SECONDS",
                    0,
                    |n| *n <= 63_072_000,
                    "a number of seconds up to two years",
                )?),
            },
            shutdown_timeout: Duration::from_secs(src.parsed(
                "SHUTDOWN_TIMEOUT_SECONDS",
                30,
                |n| *n <= 600,
                "a number of seconds from 0 to 600",
            )?),
            rate_limit: RateLimitConfig {
                max: src.parsed(
                    "RATE_LIMIT_MAX",
                    100,
                    |_| true,
                    "a number of requests (0 turns the limit off)",
                )?,
                window: Duration::from_secs(src.parsed(
                    "RATE_LIMIT_WINDOW_SECONDS",
                    60,
                    |n| (1..=86_400).contains(n),
                    "a number of seconds from 1 to 86400",
                )?),
            },
            trusted_proxies: match src.opt("TRUSTED_PROXIES") {
                None => TrustedProxies::default(),
                Some(list) => {
                    TrustedProxies::parse(&list).map_err(|e| invalid("TRUSTED_PROXIES", e))?
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply() {
        let c = load(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.port, 5000);
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.body_limit_bytes, 1024 * 1024);
        assert_eq!(c.redis_url, None);
        assert_eq!(c.near_cache_entries, 50_000);
        assert_eq!(c.database_read_url, None);
        assert!(c.migrate_on_start);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(30));
        assert!(c.cors_origins.is_empty());
        assert_eq!(c.rate_limit.max, 100);
        assert_eq!(c.rate_limit.window, Duration::from_secs(60));
        assert_eq!(c.trusted_proxies, TrustedProxies::default());
    }

    #[test]
    fn jwks_url_comes_from_user_management_or_its_override() {
        let c = load(&[("USER_MANAGEMENT_URL", "https://users.example/")]).unwrap();
        assert_eq!(c.jwt.secret, None);
        let jwks = c.jwt.jwks.unwrap();
        assert_eq!(jwks.url, "https://users.example/.well-known/jwks.json");
        assert_eq!(jwks.cache_ttl, Duration::from_secs(300));
        assert_eq!(jwks.min_refresh, Duration::from_secs(10));
        assert_eq!(jwks.timeout, Duration::from_secs(5));

        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("USER_MANAGEMENT_URL", "http://users:8080/base"),
            ("JWKS_CACHE_SECONDS", "60"),
            ("JWKS_MIN_REFRESH_SECONDS", "2"),
        ])
        .unwrap();
        assert_eq!(c.jwt.secret.as_deref(), Some(SECRET));
        let jwks = c.jwt.jwks.unwrap();
        assert_eq!(jwks.url, "http://users:8080/base/.well-known/jwks.json");
        assert_eq!(jwks.cache_ttl, Duration::from_secs(60));
        assert_eq!(jwks.min_refresh, Duration::from_secs(2));

        let c = load(&[
            ("USER_MANAGEMENT_URL", "http://users:8080"),
            ("JWKS_URL", "https://keys.example/jwks"),
        ])
        .unwrap();
        assert_eq!(c.jwt.jwks.unwrap().url, "https://keys.example/jwks");

        assert_eq!(load(&[("JWT_SECRET", SECRET)]).unwrap().jwt.jwks, None);
    }

    #[test]
    fn missing_secret_names_the_variable() {
        let err = load(&[]).unwrap_err();
        assert_eq!(err.var, "JWT_SECRET");
        assert_eq!(
            load(&[("JWT_SECRET", "short")]).unwrap_err().var,
            "JWT_SECRET"
        );
        // A key set does not excuse a secret that is set but too short.
        assert_eq!(
            load(&[
                ("JWT_SECRET", "short"),
                ("USER_MANAGEMENT_URL", "https://users.example")
            ])
            .unwrap_err()
            .var,
            "JWT_SECRET"
        );
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("PORT", "http"),
            ("PORT", "70000"),
            ("DATABASE_URL", "mysql://x/y"),
            ("REDIS_URL", "localhost:6379"),
            ("NEAR_CACHE_ENTRIES", "-1"),
            ("NEAR_CACHE_ENTRIES", "many"),
            ("LOG_LEVEL", "loud[["),
            ("LOG_FORMAT", "xml"),
            ("CORS_ORIGINS", "example.com"),
            ("BODY_LIMIT_BYTES", "-1"),
            ("DATABASE_POOL_SIZE", "0"),
            ("JWT_LEEWAY_SECONDS", "soon"),
            ("REQUEST_TIMEOUT_SECONDS", "0"),
            ("HSTS_MAX_AGE_SECONDS", "forever"),
            ("USER_MANAGEMENT_URL", "users:8080"),
            ("USER_MANAGEMENT_URL", "ftp://users"),
            ("USER_MANAGEMENT_URL", "https://users?x=1"),
            ("JWKS_URL", "/jwks.json"),
            ("JWKS_CACHE_SECONDS", "0"),
            ("JWKS_MIN_REFRESH_SECONDS", "never"),
            ("JWKS_TIMEOUT_SECONDS", "120"),
            ("DATABASE_READ_URL", "replica.internal:5432"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "-1"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "601"),
            ("MIGRATE_ON_START", "maybe"),
            ("RATE_LIMIT_MAX", "-5"),
            ("RATE_LIMIT_WINDOW_SECONDS", "0"),
            ("TRUSTED_PROXIES", "10.0.0.0/40"),
        ];
        for (var, value) in cases {
            let err = load(&[
                ("JWT_SECRET", SECRET),
                ("USER_MANAGEMENT_URL", "https://users.example"),
                (var, value),
            ])
            .unwrap_err();
            assert_eq!(err.var, var, "{var}={value}");
        }
    }

    #[test]
    fn operations_settings_are_read() {
        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("DATABASE_READ_URL", "postgresql://reader@replica:5432/crm"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "5"),
            ("MIGRATE_ON_START", "false"),
        ])
        .unwrap();
        assert_eq!(
            c.database_read_url.as_deref(),
            Some("postgresql://reader@replica:5432/crm")
        );
        assert_eq!(c.shutdown_timeout, Duration::from_secs(5));
        assert!(!c.migrate_on_start);
    }

    #[test]
    fn lists_are_split() {
        let c = load(&[
            ("JWT_SECRET", SECRET),
            ("CORS_ORIGINS", "https://a.example, http://b.example:8080"),
        ])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            vec!["https://a.example", "http://b.example:8080"]
        );
    }
}
