//! `crm-http`: serve (default), `migrate`, `token`, or `healthcheck`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use crm_domain::{Actor, CompanyId, UserId};
use crm_http::auth::TokenIssuer;
use crm_http::cli::{Cli, Command};
use crm_http::config::JwtConfig;
use crm_http::{telemetry, Application, Config};

#[actix_web::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crm-http: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = Config::from_env().context("invalid configuration")?;
            telemetry::init(&config.log_level, config.log_format);
            let app = Application::build(config).await?;
            app.run_until_stopped().await.context("server failed")
        }
        Command::Migrate => {
            let config = Config::from_env().context("invalid configuration")?;
            telemetry::init(&config.log_level, config.log_format);
            let applied = crm_postgres::migrate::prepare(&config.database_url).await?;
            println!("migrations applied: {applied}");
            Ok(())
        }
        Command::Token {
            company,
            role,
            user,
            ttl,
        } => {
            let jwt = JwtConfig::from_lookup(|v| std::env::var(v).ok())
                .context("invalid configuration")?;
            let role = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = user.map_or_else(UserId::new_random, UserId::from);
            let actor = Actor::new(user, CompanyId::from(company), role);
            let token = TokenIssuer::new(&jwt)?.issue(&actor, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::Healthcheck { port, path } => crm_http::healthcheck::probe(port, &path),
    }
}
