//! Command line: `crm-http` serves; `crm-http migrate` migrates; `crm-http token` prints a
//! signed token for local use.

use clap::{Parser, Subcommand};
use uuid::Uuid;

/// Nexus CRM service.
#[derive(Debug, Parser)]
#[command(name = "crm-http", version, about)]
pub struct Cli {
    /// What to do; without one, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create the database if needed and apply pending migrations, then exit.
    Migrate,
    /// Print a signed HS256 token (uses JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE).
    Token {
        /// Company (tenant) id.
        #[arg(long)]
        company: Uuid,
        /// Role: admin, manager or user.
        #[arg(long, value_parser = ["admin", "manager", "user"])]
        role: String,
        /// User id; random when omitted.
        #[arg(long)]
        user: Option<Uuid>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
        ttl: i64,
    },
    /// Exit 0 when the service on this machine answers its liveness endpoint (for container
    /// health checks: the image has no curl).
    Healthcheck {
        /// Port of the service (the `PORT` it serves on).
        #[arg(long, env = "PORT", default_value_t = 5000)]
        port: u16,
        /// Path to ask.
        #[arg(long, default_value = "/health/live")]
        path: String,
    },
}
