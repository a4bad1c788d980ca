//! Command line: `crm-http` serves; `crm-http migrate` migrates; `crm-http token` prints a
//! signed token for local use; `crm-http seed` generates bulk data.

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
    /// Fill the database (DATABASE_URL) with realistic generated data in new companies, in one
    /// transaction. Always adds new companies; never changes existing data. Needs a superuser
    /// connection (the counter triggers are switched off for the load and the counters rebuilt).
    Seed {
        /// New companies; the customers are dealt evenly over them.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        companies: u32,
        /// Customers in all.
        #[arg(long)]
        customers: u64,
        /// Notes in all, spread over the customers (skewed).
        #[arg(long, default_value_t = 0)]
        notes: u64,
        /// Interactions in all, spread over the customers (skewed).
        #[arg(long, default_value_t = 0)]
        interactions: u64,
        /// Rows per INSERT statement.
        #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
        batch: u64,
        /// Print nothing but the new company ids, one a line (no progress bar).
        #[arg(long)]
        quiet: bool,
    },
}
