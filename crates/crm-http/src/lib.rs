//! # crm-http
//!
//! The Nexus CRM REST service: configuration, authentication, routing, DTOs, error mapping,
//! OpenAPI and health. [`app::Application`] wires the PostgreSQL and Redis adapters into the
//! domain services; `main` only parses the command line.

pub mod app;
pub mod auth;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod dto;
pub mod error;
pub mod extract;
pub mod healthcheck;
pub mod jwks;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod request_id;
pub mod revocation;
pub mod routes;
pub mod security_headers;
pub mod telemetry;

pub use app::{build_app, AppState, Application};
pub use config::Config;
