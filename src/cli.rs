//! The command line: `serve [--dev] [--bind]`, `migrate`, `dev-token`, each with `--config`
//! and `--data-dir`.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::clock::Clock;
use crate::config::{Overrides, Settings};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::dev::{self, DevIssuer, OPERATOR_SLUG};
use crate::store::Db;

#[derive(Debug, Parser)]
#[command(
    name = "msht-hub",
    version,
    about = "Information-sharing hub for MSHT partnerships"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// A TOML settings file layered over config/default.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data folder (SQLite file, dev keys, audit key, file-transport mail).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the hub.
    Serve {
        /// Seed demo agencies and serve local development issuers (never in production).
        #[arg(long)]
        dev: bool,
        /// Listen address, ADDR:PORT (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<String>,
    },
    /// Applies pending database migrations and exits.
    Migrate {
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Prints a token from the dev issuer of the hub whose --data-dir is given.
    DevToken {
        /// Demo agency slug, name or id; not needed for hub_admin and hub_auditor.
        #[arg(long, value_name = "NAME-OR-ID")]
        agency: Option<String>,
        /// The hub role to put in the token.
        #[arg(long)]
        role: String,
        /// The token's subject.
        #[arg(long)]
        subject: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        lifetime: i64,
    },
}

/// Parses the command line and runs it; errors are printed, never panicked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("msht-hub: {e}");
            ExitCode::FAILURE
        }
    }
}

fn overrides(g: &Global) -> Overrides {
    Overrides {
        config_file: g.config.clone(),
        data_dir: g.data_dir.clone(),
        ..Overrides::default()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AppError::internal)
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<ExitCode, AppError> {
    match cli.command {
        Command::Serve { dev, bind } => {
            let mut o = overrides(&cli.global);
            o.bind = bind;
            let settings = Settings::load(&o)?;
            crate::telemetry::init(&settings.log);
            runtime()?.block_on(serve(settings, dev))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { database_url } => {
            let mut o = overrides(&cli.global);
            o.database_url = database_url;
            let settings = Settings::load(&o)?;
            let db = Db::open(&settings.effective_database_url(), &settings.database)?;
            let applied = db.migrate_blocking()?;
            println!(
                "database is up to date ({} migration(s) were pending)",
                applied.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::DevToken {
            agency,
            role,
            subject,
            lifetime,
        } => {
            let settings = Settings::load(&overrides(&cli.global))?;
            let token = dev_token(
                &settings,
                agency.as_deref(),
                &role,
                subject.as_deref(),
                lifetime,
            )?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings, dev_mode: bool) -> Result<(), AppError> {
    let app = Application::build(settings, Clock::system(), dev_mode).await?;
    let state = app.state();
    if let Some(dev) = &state.dev {
        eprintln!("{}", dev_banner(&dev.state));
    }
    tracing::info!(port = app.port(), dev = dev_mode, "msht-hub listening");
    let handle = app.handle();
    let server = app.run_until_stopped();
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r,
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            handle.stop(true).await;
            server.await
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn dev_banner(state: &dev::DevState) -> String {
    let mut s = String::from(
        "\n*** DEVELOPMENT MODE: local dev issuers are enabled and demo agencies are seeded. ***\n\
         *** Tokens from `msht-hub dev-token` are accepted. Never run --dev in production. ***\n\n\
         Demo agencies (use the slug with `msht-hub dev-token --agency SLUG --role ROLE`):\n",
    );
    for a in &state.agencies {
        s.push_str(&format!("  {:<9} {}  ({})\n", a.slug, a.name, a.id));
    }
    s.push_str(&format!(
        "  operator  hub_admin / hub_auditor tokens need no --agency\n\nAPI: {}/api/v1\n",
        state.base_url
    ));
    s
}

/// Mints a dev token for `role` (and `agency` unless the role is the operator's).
pub fn dev_token(
    settings: &Settings,
    agency: Option<&str>,
    role: &str,
    subject: Option<&str>,
    lifetime: i64,
) -> Result<String, AppError> {
    let role: Role = role
        .parse()
        .map_err(|_| AppError::Config(format!("`{role}` is not a hub role")))?;
    let state = dev::read_state(&settings.data_dir)?;
    let issuer = DevIssuer::load(&settings.data_dir)?;
    let slug = if role.is_operator_role() {
        if agency.is_some() {
            return Err(AppError::Config(format!(
                "{role} is the operator's role: drop --agency"
            )));
        }
        OPERATOR_SLUG.to_owned()
    } else {
        let wanted = agency.ok_or_else(|| {
            AppError::Config(format!(
                "{role} acts for an agency: give --agency SLUG-OR-NAME"
            ))
        })?;
        state
            .agencies
            .iter()
            .find(|a| a.slug == wanted || a.id == wanted || a.name.eq_ignore_ascii_case(wanted))
            .map(|a| a.slug.clone())
            .ok_or_else(|| AppError::Config(format!("no demo agency `{wanted}`")))?
    };
    let subject = subject
        .map(str::to_owned)
        .unwrap_or_else(|| format!("dev-{slug}-{role}"));
    let iss = DevIssuer::issuer_url(&state.base_url, &slug);
    issuer.mint(&iss, &subject, &[role], Clock::system().now(), lifetime)
}
