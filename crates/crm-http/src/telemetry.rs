//! Structured logging, set up once at start-up.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber: JSON lines (or pretty text) filtered by `level`, which is a
/// level name or a full filter directive. Quiet chatter from dependencies unless asked.
pub fn init(level: &str, format: LogFormat) {
    let directive = if level.contains('=') || level.contains(',') {
        level.to_owned()
    } else {
        format!("{level},h2=warn,hyper=warn,tokio_postgres=warn,actix_server=warn")
    };
    let filter = EnvFilter::try_new(directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    // A second call (tests) finds a subscriber installed and leaves it alone.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
