//! Typed settings: `config/default.toml` (compiled in), an optional file named by `--config`,
//! then `MSHT_HUB__SECTION__KEY` environment variables. Unknown keys are rejected, so a typo in
//! a deployment fails at start-up instead of being silently ignored. Secrets are held in
//! [`secrecy`] types and never printed.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::error::AppError;

/// The defaults shipped with the binary; `config/default.toml` documents every key.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// All settings of one hub process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Folder for the SQLite file, dev keys, the audit signing key and file-transport mail.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; empty means a SQLite file in `data_dir`.
    #[serde(default)]
    pub database_url: String,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub identity: IdentitySettings,
    pub delivery: DeliverySettings,
    pub mail: MailSettings,
    pub notifications: NotificationSettings,
    pub referrals: ReferralSettings,
    pub log: LogSettings,
    pub audit: AuditSettings,
    pub support: SupportSettings,
    pub rate_limit: RateLimitSettings,
    pub limits: crate::domain::limits::Limits,
    pub reports: ReportSettings,
    /// msht-hub as a witness of other logs.
    pub witness: WitnessSettings,
    pub ictg: IctgSettings,
    pub console: ConsoleSettings,
}

/// ICTG monitoring: the allocation deadline of a child referred to an ICTG service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IctgSettings {
    /// Working days (the referrals' calendar) to allocate a guardian.
    pub allocation_working_days: u32,
}

/// The IG console's sign-in and sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session unused this long ends.
    pub idle_timeout_secs: i64,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout_secs: i64,
    /// A sign-in not completed at the issuer within this time must start again.
    pub sign_in_timeout_secs: i64,
    /// A session's last use is written at most this often (its idle timeout is that much
    /// coarser).
    pub touch_interval_secs: i64,
    /// Entries per page of the audit search and the person report.
    pub page_size: i64,
    /// Agreements whose review or expiry falls within this many days are marked as due.
    pub due_soon_days: i64,
}

/// Aggregate reports (the threat picture, the support coverage report): the small-number
/// protection of their counts and how many periods one report may span.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Counts from 1 to this are suppressed.
    pub small_number_threshold: u64,
    /// Other counts are rounded to the nearest multiple of this.
    pub small_number_base: u64,
    /// The most periods (months or quarters) one threat picture may span.
    pub threat_picture_max_periods: usize,
}

impl ReportSettings {
    /// The disclosure-control rule these settings describe.
    pub fn rule(&self) -> crate::domain::disclosure::Rule {
        crate::domain::disclosure::Rule::new(self.small_number_threshold, self.small_number_base)
    }
}

/// Per-caller request budgets (GCRA: a sustained rate and a burst on top of it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests per second one authenticated principal (issuer and subject) may sustain.
    pub principal_per_second: u32,
    /// Requests one principal may make at once on top of the sustained rate.
    pub principal_burst: u32,
    /// Requests per second one client address may sustain without a valid token.
    pub client_per_second: u32,
    pub client_burst: u32,
    /// Client addresses tracked at most; past it, unauthenticated callers share one budget.
    pub max_clients: usize,
}

/// Commissioned support: the VAT rate added to unit costs charged plus VAT (its counts of
/// people follow [`ReportSettings::rule`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportSettings {
    /// The standard VAT rate in percent, added to unit costs whose VAT is `added`.
    pub vat_standard_rate_percent: u32,
}

impl SupportSettings {
    /// The standard VAT rate as a fraction (`0.20`).
    pub fn vat_rate(&self) -> rust_decimal::Decimal {
        rust_decimal::Decimal::new(i64::from(self.vat_standard_rate_percent), 2)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// Hours a recipient has to acknowledge a notification where a child is at risk.
    pub ack_hours_child: i64,
    /// Hours to acknowledge any other notification.
    pub ack_hours_adult: i64,
}

/// Referral deadlines in working days (Monday to Friday in UK local time, less bank holidays).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralSettings {
    /// Working days a recipient has to acknowledge a referral (Working Together 2023: one).
    pub ack_working_days: u32,
    /// Working days after an NRM submission by which a reasonable grounds decision is due.
    pub rg_working_days: u32,
    /// Bank holidays, which are not working days.
    #[serde(default)]
    pub bank_holidays: Vec<chrono::NaiveDate>,
}

impl ReferralSettings {
    /// The working-day calendar these settings describe.
    pub fn calendar(&self) -> crate::domain::working_days::Calendar {
        crate::domain::working_days::Calendar::new(self.bank_holidays.clone())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address, `ADDR:PORT`.
    pub bind: String,
    /// The URL partners use to reach the hub; empty means `http://{bind}`.
    #[serde(default)]
    pub public_url: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before it gets a 503.
    pub connection_timeout_ms: u64,
    /// SQLite busy timeout.
    pub busy_timeout_ms: u64,
    /// SQLite `synchronous` on the writer: `full` (durable, the default) or `normal` (a
    /// power cut can lose answered writes; the hub warns at start).
    pub sqlite_synchronous: crate::service::Synchronous,
    /// How often a SQLite checkpoint runs off the request path (0: never; only for tests).
    pub checkpoint_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// Accept `http://` issuers (development and tests only).
    pub allow_http_issuers: bool,
    /// An unknown `kid` refreshes an issuer's keys at most once in this many seconds.
    pub jwks_min_refresh_secs: u64,
    /// Keys older than this are fetched again before use.
    pub jwks_max_age_secs: u64,
    /// Allowed clock skew for `exp` and `nbf`.
    pub clock_skew_secs: i64,
    /// Timeout for discovery and JWKS requests.
    pub fetch_timeout_secs: u64,
    /// How long an issuer registration is cached before it is read again.
    pub registry_ttl_secs: u64,
    /// Issuers found unregistered are remembered (for `registry_ttl_secs`) up to this many.
    pub unknown_issuers_cached: usize,
    /// After a failed discovery, an issuer is not asked again for this long, doubling with
    /// each further failure up to `discovery_retry_max_secs`.
    pub discovery_retry_min_ms: u64,
    pub discovery_retry_max_secs: u64,
    /// Largest discovery document or JWKS read from an issuer.
    pub max_document_bytes: usize,
    /// Verified tokens kept (by keyed hash), and for at most this long (and never past a
    /// token's `exp`).
    pub token_cache_entries: usize,
    pub token_cache_secs: i64,
    /// The hub operator's own issuers (roles `hub_admin`, `hub_auditor`).
    #[serde(default)]
    pub operators: Vec<IssuerSettings>,
}

/// One issuer given in configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    pub issuer: String,
    pub audience: String,
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    #[serde(default)]
    pub role_map: BTreeMap<String, String>,
    #[serde(default)]
    pub accept_jwt_typ: bool,
}

fn empty_secret() -> secrecy::SecretString {
    secrecy::SecretString::from(String::new())
}

fn default_roles_claim() -> String {
    "roles".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// Allow `http://` webhook URLs.
    pub allow_insecure_http: bool,
    /// Allow webhook URLs on loopback, link-local or private ranges.
    pub allow_private_networks: bool,
    /// Run the outbox worker in this process.
    pub worker_enabled: bool,
    /// How often an idle worker looks for due deliveries.
    pub poll_interval_ms: u64,
    /// Deliveries claimed per query.
    pub batch_size: i64,
    /// How long a claim is owned before it must be renewed (every third of it).
    pub lease_secs: i64,
    /// Deliveries one process holds at once (sending or waiting for their destination).
    pub max_in_flight: usize,
    /// Concurrent sends to one destination.
    pub per_destination_limit: usize,
    /// Deliveries held waiting for one destination beyond its sends; more are deferred.
    pub per_destination_queue: usize,
    /// How long a delivery for a busy destination is put back.
    pub busy_defer_ms: u64,
    /// How often the outbox depth gauge is refreshed.
    pub depth_interval_secs: u64,
    /// How often overdue notifications are escalated.
    pub deadline_interval_secs: u64,
    /// Nice value of the worker's threads (Linux); 0 keeps the hub's priority.
    pub worker_nice: i32,
    /// Intents waiting for the writer at which the worker holds back its next claim (0:
    /// never), for at most `yield_max_ms` in a row.
    pub yield_at_queued: u64,
    pub yield_max_ms: u64,
    /// Timeout of one DNS lookup of a webhook host.
    pub dns_timeout_ms: u64,
    /// Key file for webhook secrets at rest; empty means `data_dir/webhook-secret-key`.
    #[serde(default)]
    pub secret_key_file: String,
    /// First retry delay; doubles per attempt up to `max_backoff_secs`.
    pub base_backoff_ms: u64,
    pub max_backoff_secs: u64,
    /// Attempts before a delivery is parked.
    pub max_attempts: u32,
    /// Age after which a failing delivery is parked for an operator.
    pub max_age_secs: u64,
    /// Timeout of one webhook request.
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://host:port`; empty writes mail to files in the data folder.
    #[serde(default = "empty_secret")]
    pub smtp_url: secrecy::SecretString,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `json` or `text`.
    pub format: String,
    /// A tracing filter, for example `info,msht_hub=debug`.
    pub filter: String,
}

/// The audit trail's signing key and the limits on logging refused requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Ed25519 PKCS#8 PEM key that signs tree heads; empty means
    /// `data_dir/audit-signing-key.pem`, generated (mode 0600) on first start.
    #[serde(default)]
    pub signing_key_file: String,
    /// Earlier signing keys (PEM `PUBLIC KEY` or its base64 body) whose tree heads still
    /// verify after a key change.
    #[serde(default)]
    pub trusted_public_keys: Vec<String>,
    /// The log's name (origin line) in its C2SP checkpoints; empty: the public URL without
    /// its scheme, then `/audit`.
    #[serde(default)]
    pub checkpoint_origin: String,
    /// Sign a new tree head this often when the log has grown; 0 signs only on request.
    pub sign_interval_secs: u64,
    /// Refused requests logged one by one per source (client address, or caller) per minute.
    pub denials_per_source_per_minute: u32,
    /// Refused requests logged one by one per minute in all; the rest are counted in a
    /// summary entry.
    pub denials_per_minute: u32,
    /// Witnesses asked to cosign each new checkpoint (C2SP tlog-witness).
    #[serde(default)]
    pub witnesses: Vec<WitnessEndpoint>,
    /// Cosignatures needed before a checkpoint counts as witnessed.
    pub witness_quorum: usize,
    /// How often the witnesses are asked about the latest checkpoint.
    pub witness_interval_secs: u64,
    /// Timeout of one request to a witness.
    pub witness_timeout_secs: u64,
    /// Allow witness URLs on loopback and private ranges (development and tests only).
    pub witness_allow_private_networks: bool,
    /// Allow `http://` witness URLs (development and tests only).
    pub witness_allow_insecure_http: bool,
    /// Where the highest witnessed checkpoint is kept, outside the database; empty:
    /// `data_dir/audit-witnessed-checkpoint.txt`.
    #[serde(default)]
    pub witnessed_checkpoint_file: String,
}

/// One witness of the hub's log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// The witness's name (the name in its verifier key).
    pub name: String,
    /// Its submission prefix: requests go to `{url}/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier key, `name+keyid+base64(0x04 || Ed25519 public key)`.
    pub verifier_key: String,
}

/// msht-hub as a witness (C2SP tlog-witness) of other logs, for example another regional
/// hub: `POST /witness/add-checkpoint`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSettings {
    pub enabled: bool,
    /// Ed25519 PKCS#8 PEM key that cosigns; empty: `data_dir/witness-key.pem`, generated
    /// (mode 0600) on first start.
    #[serde(default)]
    pub key_file: String,
    /// The witness's name in its cosignatures; empty: the public URL without its scheme,
    /// then `/witness`.
    #[serde(default)]
    pub name: String,
    /// The logs it follows.
    #[serde(default)]
    pub logs: Vec<FollowedLog>,
}

/// A log a witness follows: its origin and the note verifier key of its checkpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowedLog {
    pub origin: String,
    pub verifier_key: String,
}

/// Overrides given on the command line; they win over files and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub bind: Option<String>,
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads the layered settings, reading `MSHT_HUB__...` from the process environment.
    pub fn load(overrides: &Overrides) -> Result<Self, AppError> {
        Self::load_with_env(overrides, None)
    }

    /// Loads the layered settings with an explicit environment (tests pass their own map so
    /// they never touch the process environment).
    pub fn load_with_env(
        overrides: &Overrides,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, AppError> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = &overrides.config_file {
            builder = builder.add_source(File::from(path.as_path()).required(true));
        }
        let mut environment = Environment::with_prefix("MSHT_HUB")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true);
        if let Some(env) = env {
            environment = environment.source(Some(env.into_iter().collect()));
        }
        builder = builder.add_source(environment);
        if let Some(dir) = &overrides.data_dir {
            builder = builder
                .set_override("data_dir", dir.to_string_lossy().into_owned())
                .map_err(config_error)?;
        }
        if let Some(bind) = &overrides.bind {
            builder = builder
                .set_override("http.bind", bind.clone())
                .map_err(config_error)?;
        }
        if let Some(url) = &overrides.database_url {
            builder = builder
                .set_override("database_url", url.clone())
                .map_err(config_error)?;
        }
        let settings: Settings = builder
            .build()
            .map_err(config_error)?
            .try_deserialize()
            .map_err(config_error)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), AppError> {
        if !matches!(self.log.format.as_str(), "json" | "text") {
            return Err(AppError::Config(
                "log.format must be `json` or `text`".into(),
            ));
        }
        if self.reports.small_number_base == 0 {
            return Err(AppError::Config(
                "reports.small_number_base must be at least 1".into(),
            ));
        }
        if self.console.idle_timeout_secs <= 0
            || self.console.absolute_timeout_secs < self.console.idle_timeout_secs
            || self.console.sign_in_timeout_secs <= 0
            || self.console.touch_interval_secs < 0
            || self.console.touch_interval_secs >= self.console.idle_timeout_secs
        {
            return Err(AppError::Config(
                "console: idle_timeout_secs and sign_in_timeout_secs must be positive, \
                 absolute_timeout_secs at least idle_timeout_secs, and touch_interval_secs \
                 shorter than idle_timeout_secs"
                    .into(),
            ));
        }
        if !(1..=crate::http::wire::page::MAX_LIMIT).contains(&self.console.page_size)
            || !(0..=3650).contains(&self.console.due_soon_days)
        {
            return Err(AppError::Config(format!(
                "console: page_size must be 1 to {}, due_soon_days 0 to 3650",
                crate::http::wire::page::MAX_LIMIT
            )));
        }
        if self.database.pool_size == 0 {
            return Err(AppError::Config(
                "database.pool_size must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the SQLite file in the data folder.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("msht-hub.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The URL partners use to reach this hub, without a trailing slash.
    pub fn public_url(&self, bound: &str) -> String {
        if self.http.public_url.trim().is_empty() {
            format!("http://{bound}")
        } else {
            self.http.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The origin line of the audit log's checkpoints, for a hub served at `base_url`.
    pub fn checkpoint_origin(&self, base_url: &str) -> String {
        let set = self.audit.checkpoint_origin.trim();
        if !set.is_empty() {
            return set.to_owned();
        }
        let bare = base_url
            .split_once("://")
            .map_or(base_url, |(_, rest)| rest)
            .trim_end_matches('/');
        format!("{bare}/audit")
    }

    /// Where the tree-head signing key is kept.
    pub fn audit_key_path(&self) -> PathBuf {
        if self.audit.signing_key_file.trim().is_empty() {
            self.data_dir.join("audit-signing-key.pem")
        } else {
            PathBuf::from(self.audit.signing_key_file.trim())
        }
    }

    /// Where the highest witnessed checkpoint is kept, outside the database.
    pub fn witnessed_checkpoint_path(&self) -> PathBuf {
        match self.audit.witnessed_checkpoint_file.trim() {
            "" => self.data_dir.join("audit-witnessed-checkpoint.txt"),
            set => PathBuf::from(set),
        }
    }

    /// Where the witness's cosigning key is kept.
    pub fn witness_key_path(&self) -> PathBuf {
        match self.witness.key_file.trim() {
            "" => self.data_dir.join("witness-key.pem"),
            set => PathBuf::from(set),
        }
    }

    /// The witness's name: set, or the public URL without its scheme, then `/witness`.
    pub fn witness_name(&self, base_url: &str) -> String {
        match self.witness.name.trim() {
            "" => {
                let bare = base_url
                    .split_once("://")
                    .map_or(base_url, |(_, rest)| rest)
                    .trim_end_matches('/');
                format!("{bare}/witness")
            }
            set => set.to_owned(),
        }
    }

    /// Where the key that encrypts webhook secrets at rest is kept.
    pub fn webhook_key_path(&self) -> PathBuf {
        if self.delivery.secret_key_file.trim().is_empty() {
            self.data_dir.join("webhook-secret-key")
        } else {
            PathBuf::from(self.delivery.secret_key_file.trim())
        }
    }

    /// A path inside the data folder.
    pub fn data_path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.data_dir.join(name)
    }
}

fn config_error(e: config::ConfigError) -> AppError {
    AppError::Config(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_load_and_environment_overrides() {
        let env = HashMap::from([
            (
                "MSHT_HUB__DELIVERY__ALLOW_PRIVATE_NETWORKS".to_owned(),
                "true".to_owned(),
            ),
            (
                "MSHT_HUB__HTTP__BIND".to_owned(),
                "127.0.0.1:9999".to_owned(),
            ),
        ]);
        let s = Settings::load_with_env(&Overrides::default(), Some(env)).unwrap();
        assert!(s.delivery.allow_private_networks);
        assert!(!s.delivery.allow_insecure_http);
        assert_eq!(s.http.bind, "127.0.0.1:9999");
        assert!(s.effective_database_url().starts_with("sqlite://"));
    }

    #[test]
    fn referral_deadlines_default_to_working_together() {
        let s = Settings::load_with_env(&Overrides::default(), Some(HashMap::new())).unwrap();
        assert_eq!(s.referrals.ack_working_days, 1);
        assert_eq!(s.referrals.rg_working_days, 5);
        let c = s.referrals.calendar();
        assert!(
            !c.is_working_day("2026-12-28".parse().unwrap()),
            "Boxing Day substitute"
        );
        assert!(c.is_working_day("2026-12-29".parse().unwrap()));
    }

    #[test]
    fn shipped_limits_are_the_documented_defaults() {
        let s = Settings::load_with_env(&Overrides::default(), Some(HashMap::new())).unwrap();
        assert_eq!(s.limits, crate::domain::limits::Limits::default());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let env = HashMap::from([("MSHT_HUB__HTTP__BINDD".to_owned(), "x".to_owned())]);
        let err = Settings::load_with_env(&Overrides::default(), Some(env)).unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
    }

    #[test]
    fn command_line_wins() {
        let env = HashMap::from([("MSHT_HUB__HTTP__BIND".to_owned(), "127.0.0.1:1".to_owned())]);
        let o = Overrides {
            bind: Some("127.0.0.1:2".into()),
            ..Overrides::default()
        };
        let s = Settings::load_with_env(&o, Some(env)).unwrap();
        assert_eq!(s.http.bind, "127.0.0.1:2");
    }
}
