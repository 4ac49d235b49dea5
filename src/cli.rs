//! The command line: `serve [--dev] [--bind]`, `migrate`, `dev-token`, `audit verify`, each
//! with `--config` and `--data-dir`.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::audit::heads::TreeHeadSigner;
use crate::audit::runtime::trusted_keys;
use crate::audit::verify::{verify_database, Report};
use crate::clock::Clock;
use crate::config::{Overrides, Settings};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::dev::{self, DevIssuer, OPERATOR_SLUG};
use crate::service::Db;

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
    /// Works on the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Checks the whole audit log offline against the database: every entry, the Merkle
    /// tree, every receipt and every signed tree head (with the key in the data folder and
    /// `audit.trusted_public_keys`). Exits 1 naming the first bad sequence number.
    Verify {
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// A checkpoint (`GET /audit/checkpoint`) or a saved receipt (a notification read, a
        /// referral, an incident's routing answer) kept outside the hub; fails, naming it,
        /// when the log is shorter than it or inconsistent with it. Repeatable.
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
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

/// The hub's runtime. Its blocking threads run database reads, each on one of the pool's
/// connections, so a few more threads than connections is all they can use: more would only
/// wait for a connection, each holding its stack and allocator cache.
fn runtime(pool_size: u32) -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(usize::try_from(pool_size).unwrap_or(8) + 8)
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
            runtime(settings.database.pool_size)?.block_on(serve(settings, dev))?;
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
        Command::Audit {
            command:
                AuditCommand::Verify {
                    database_url,
                    checkpoint,
                },
        } => {
            let mut o = overrides(&cli.global);
            o.database_url = database_url;
            let settings = Settings::load(&o)?;
            audit_verify(&settings, &checkpoint)
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
    eprintln!(
        "audit checkpoint verifier key: {}",
        state.audit.verifier_key()
    );
    tracing::info!(port = app.port(), dev = dev_mode, "msht-hub listening");
    let handle = app.handle();
    let server = app.run_until_stopped();
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r,
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            // The server future processes the stop command, so it must be polled meanwhile.
            let ((), r) = tokio::join!(handle.stop(true), &mut server);
            r
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
    s.push_str(&format!(
        "IG console: {}/console (sign in through a demo agency's dev issuer, as police:ig_officer)\n",
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

/// `msht-hub audit verify`: reads the database without migrating or writing it; progress
/// goes to stderr, the verdict to stdout.
fn audit_verify(settings: &Settings, checkpoints: &[PathBuf]) -> Result<ExitCode, AppError> {
    let url = settings.effective_database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        if !Path::new(path).exists() {
            return Err(AppError::Config(format!("no database at {path}")));
        }
    }
    let key_path = settings.audit_key_path();
    let signer = TreeHeadSigner::load(&key_path)?;
    if signer.is_none() {
        eprintln!(
            "msht-hub: no audit signing key at {}; tree heads are checked only against \
             audit.trusted_public_keys",
            key_path.display()
        );
    }
    let keys = trusted_keys(settings, signer.as_ref())?;
    let started = Instant::now();
    let mut last = started;
    let mut progress = |done: u64, total: u64| {
        if last.elapsed().as_secs_f64() >= 2.0 || (done == total && total > 0) {
            last = Instant::now();
            let pct = if total == 0 {
                100.0
            } else {
                done as f64 * 100.0 / total as f64
            };
            eprintln!(
                "audit verify: {done} / {total} entries ({pct:.0}%), {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let busy = settings.database.busy_timeout_ms;
    let held = checkpoints
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|e| AppError::Config(format!("cannot read {}: {e}", p.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The highest witnessed checkpoint the hub kept outside the database is held too.
    let mut held = held;
    let kept = settings.witnessed_checkpoint_path();
    if let Ok(text) = std::fs::read_to_string(&kept) {
        held.push((kept.display().to_string(), text));
    }
    if let Some(failure) = crate::audit::held::check_database(&url, busy, &keys, &held)? {
        println!("audit log verification FAILED: {failure}");
        return Ok(ExitCode::from(1));
    }
    let report = verify_database(&url, busy, &keys, &mut progress)?;
    println!("{}", verdict(&report, started.elapsed().as_secs_f64()));
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The one-line result of a verification.
pub fn verdict(report: &Report, secs: f64) -> String {
    match (&report.problem, report.first_bad_seq) {
        (None, _) => format!(
            "audit log OK: {} entries and {} signed tree head(s) verified in {secs:.1} s",
            report.entries_checked, report.tree_heads_checked
        ),
        (Some(problem), Some(seq)) => {
            format!("audit log verification FAILED: first bad seq {seq}: {problem}")
        }
        (Some(problem), None) => format!("audit log verification FAILED: {problem}"),
    }
}

#[cfg(test)]
mod banner_tests {
    use super::*;

    #[test]
    fn the_dev_banner_names_the_console() {
        let state = dev::DevState {
            base_url: "http://127.0.0.1:8080".into(),
            agencies: Vec::new(),
        };
        assert!(dev_banner(&state).contains("IG console: http://127.0.0.1:8080/console"));
    }
}
