//! `crm-http`: serve (default), `migrate`, `token`, `seed`, or `healthcheck`.

use std::process::ExitCode;

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use crm_domain::{Actor, CompanyId, UserId};
use crm_http::auth::TokenIssuer;
use crm_http::cli::{Cli, Command};
use crm_http::config::JwtConfig;
use crm_http::{telemetry, Application, Config};
use crm_postgres::seed::{SeedPlan, SeedStage};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

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
        Command::Seed {
            companies,
            customers,
            notes,
            interactions,
            batch,
            quiet,
        } => {
            let url = std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| crm_http::config::DEFAULT_DATABASE_URL.to_owned());
            crm_postgres::migrate::prepare(&url).await?;
            let plan = SeedPlan {
                batch,
                ..SeedPlan::new(companies, customers, notes, interactions)
            };
            seed(&url, plan, quiet).await
        }
    }
}

/// Runs the generator behind a progress bar (one bar per table) and prints what it made.
async fn seed(url: &str, plan: SeedPlan, quiet: bool) -> anyhow::Result<()> {
    let style = ProgressStyle::with_template(
        "{prefix:>13} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {elapsed})",
    )
    .context("progress bar template")?
    .progress_chars("=> ");
    let bars = MultiProgress::with_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let bar = |name: &str, len: u64| {
        let b = bars.add(ProgressBar::new(len).with_style(style.clone()));
        b.set_prefix(name.to_owned());
        b
    };
    let customers = bar("customers", plan.customers);
    let notes = bar("notes", plan.notes);
    let interactions = bar("interactions", plan.interactions);
    let finishing = bars.add(ProgressBar::new_spinner());
    let started = Instant::now();
    let report = crm_postgres::seed::seed(url, plan, |stage, done| match stage {
        SeedStage::Customers => customers.set_position(done),
        SeedStage::Notes => notes.set_position(done),
        SeedStage::Interactions => interactions.set_position(done),
        SeedStage::Finishing => {
            finishing.enable_steady_tick(Duration::from_millis(200));
            finishing.set_message("rebuilding indexes and counters, committing, analyzing");
        }
    })
    .await
    .context("seeding failed; nothing was written")?;
    finishing.finish_and_clear();
    if !quiet {
        eprintln!(
            "seeded {} customers, {} notes and {} interactions in {} new companies in {:.1} s",
            report.customers,
            report.notes,
            report.interactions,
            report.companies.len(),
            started.elapsed().as_secs_f64()
        );
    }
    for company in &report.companies {
        println!("{company}");
    }
    Ok(())
}
