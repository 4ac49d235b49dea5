//! Builds the application: opens the database, sets up identity (and the dev issuer with
//! `--dev`), and runs the actix server on a listener it binds itself (port 0 works, which the
//! tests use).
use std::net::TcpListener;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpServer};

use crate::audit::denials::{self, DenialBudget};
use crate::audit::witness::Witness;
use crate::audit::witnessing::Witnessing;
use crate::audit::{self, heads, AuditRuntime};
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::secrets::SecretBox;
use crate::delivery::worker::Worker;
use crate::domain::audit::{Actor, NewEntry};
use crate::error::AppError;
use crate::http::rate_limit::RateLimits;
use crate::http::{gate, handlers, middleware, routes};
use crate::identity::dev::{self, DevIssuer, DevState, OPERATOR_SLUG};
use crate::identity::registry::{IssuerEntry, Registry};
use crate::identity::relying_party::RelyingParty;
use crate::identity::{AuthFailure, Authenticator, Principal};
use crate::metrics::Metrics;
use crate::service::{Backend, Db, Synchronous};
use crate::usecase;
use crate::usecase::hub::Hub;

/// The dev issuer and what it seeded.
pub struct DevMode {
    pub issuer: DevIssuer,
    pub state: DevState,
    /// Authorization codes of the dev issuers' sign-in page.
    pub grants: dev::DevGrants,
}

/// Everything a request handler can reach.
pub struct AppState {
    pub settings: Arc<Settings>,
    /// The door to the data: every use case takes it.
    pub hub: Hub,
    /// The database itself, for the refusal log and the audit ticker (and, with the
    /// `testkit` feature, for test fixtures); handlers go through `hub`.
    db: Db,
    pub clock: Clock,
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    pub dev: Option<DevMode>,
    /// The outbox worker (its loop runs when `delivery.worker_enabled`; tests drive it).
    pub delivery: Arc<Worker>,
    /// The audit trail's signing key, trusted keys and refusal budget.
    pub audit: Arc<AuditRuntime>,
    /// Per-caller request budgets.
    pub rate: Arc<RateLimits>,
    /// Asking witnesses to cosign the log's checkpoints.
    pub witnessing: Arc<Witnessing>,
    /// msht-hub as a witness of other logs (`[witness]`), when enabled.
    pub witness: Option<Arc<Witness>>,
    /// The IG console's OpenID relying party (sign-in through each agency's issuer).
    pub console: Arc<RelyingParty>,
}

/// `METHOD /path` of a request, without its query string, at most 200 characters.
fn request_line(req: &HttpRequest) -> String {
    let mut line = format!("{} {}", req.method(), req.path());
    if line.len() > 200 {
        let mut cut = 200;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

impl AppState {
    /// The database, for integration tests' fixtures.
    #[cfg(feature = "testkit")]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Called when a bearer token is refused (or missing): traced, and logged in the audit
    /// trail as `access_denied` with the reason reduced to a fixed category and no token
    /// content, within the refusal budget (see `audit::denials`).
    pub async fn on_authentication_failure(&self, req: &HttpRequest, failure: &AuthFailure) {
        tracing::info!(
            path = %req.match_pattern().unwrap_or_default(),
            issuer = failure.issuer.as_deref().unwrap_or("-"),
            reason = %failure.reason,
            "authentication failed"
        );
        let source = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let entry = denials::authentication_failure(
            &request_line(req),
            &failure.reason,
            failure.issuer.as_deref(),
            &source,
            self.clock.now(),
        );
        self.log_refusal(&self.audit.denials, &source, entry).await;
    }

    /// Called when an IG console sign-in is refused: traced with its detail, and logged in
    /// the audit trail as `access_denied` with only its category, within the refusal budget.
    pub async fn on_sign_in_refusal(
        &self,
        req: &HttpRequest,
        category: &str,
        detail: &str,
        issuer: Option<&str>,
    ) {
        tracing::info!(
            issuer = issuer.unwrap_or("-"),
            category,
            detail,
            "console sign-in refused"
        );
        let source = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let entry = denials::sign_in_refusal(
            &request_line(req),
            category,
            issuer,
            &source,
            self.clock.now(),
        );
        self.log_refusal(&self.audit.denials, &source, entry).await;
    }

    /// Called when a valid caller lacks the role an action needs: traced, and logged in the
    /// audit trail as `access_denied` by that caller, within the refusal budget.
    pub async fn on_authorization_denial(&self, req: &HttpRequest, p: &Principal, needed: &str) {
        tracing::info!(
            path = %req.match_pattern().unwrap_or_default(),
            issuer = %p.issuer,
            subject = %p.subject,
            needed,
            "authorization denied"
        );
        let entry = denials::authorization_denial(
            &request_line(req),
            Actor::from(p),
            needed,
            self.clock.now(),
        );
        let source = format!("{} {}", p.issuer, p.subject);
        self.log_refusal(&self.audit.principal_denials, &source, entry)
            .await;
    }

    /// Appends a refusal (and the summary of an earlier minute's suppressed ones). A failure
    /// to log does not change the answer the caller gets; it is traced as an error.
    async fn log_refusal(&self, budget: &DenialBudget, source: &str, entry: NewEntry) {
        let admission = budget.admit(source, entry.occurred_at);
        let mut entries: Vec<NewEntry> = admission.summary.into_iter().collect();
        if admission.log_this {
            entries.push(entry);
        }
        if entries.is_empty() {
            return;
        }
        let r = self
            .db
            .write(move |c| audit::append_all(c, &entries).map(|_| ()))
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "could not log a refused request in the audit trail");
        }
    }

    /// The audit trail's periodic work: writes the summary of suppressed refusals once their
    /// minute is over, and signs a tree head when the log has grown.
    pub async fn audit_tick(&self) {
        let now = self.clock.now();
        let summaries: Vec<NewEntry> = [&self.audit.denials, &self.audit.principal_denials]
            .into_iter()
            .filter_map(|b| b.flush(now))
            .collect();
        let runtime = self.audit.clone();
        let r = self
            .db
            .write(move |c| {
                audit::append_all(c, &summaries)?;
                heads::current(c, &runtime.signer, now).map(|_| ())
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "audit tick failed");
        }
    }
}

/// How the writer logs a use case's refusal (a probe for another agency's record, an action
/// refused): within the refusing principal's refusal budget, like a refused role, so one
/// principal probing cannot fill the log; the ones over budget are counted in the summary.
fn refusal_log(runtime: Arc<AuditRuntime>) -> crate::service::RefusalLog {
    Arc::new(move |c, entry| {
        let source = format!("{} {}", entry.actor.issuer, entry.actor.subject);
        let admission = runtime.principal_denials.admit(&source, entry.occurred_at);
        let mut entries: Vec<NewEntry> = admission.summary.into_iter().collect();
        if admission.log_this {
            entries.push(entry.clone());
        }
        audit::append_all(c, &entries).map(|_| ())
    })
}

/// Runs [`AppState::audit_tick`] every `every` until the state is dropped.
fn spawn_audit_ticker(state: Weak<AppState>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { break };
            state.audit_tick().await;
        }
    });
}

/// A built, not yet running, hub.
pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens everything and binds the listener. `dev` mounts the dev issuer and seeds demo data.
    pub async fn build(
        mut settings: Settings,
        clock: Clock,
        dev_mode: bool,
    ) -> Result<Self, AppError> {
        let listener = TcpListener::bind(&settings.http.bind)
            .map_err(|e| AppError::Config(format!("cannot bind {}: {e}", settings.http.bind)))?;
        let local = listener.local_addr().map_err(AppError::internal)?;
        let port = local.port();
        let base_url = settings.public_url(&local.to_string());

        let url = settings.effective_database_url();
        let db_settings = settings.database.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&url, &db_settings))
            .await
            .map_err(AppError::internal)??;
        // The key that signs tree heads is checked against the heads already stored before
        // anything is written.
        let signed_by = db.read(heads::signing_key_ids).await?;
        let audit_runtime = Arc::new(AuditRuntime::load(
            &settings,
            db.backend(),
            &signed_by,
            settings.checkpoint_origin(&base_url),
        )?);
        let db = db.with_refusal_log(refusal_log(audit_runtime.clone()));
        if db.backend() == Backend::Sqlite
            && settings.database.sqlite_synchronous == Synchronous::Normal
        {
            tracing::warn!(
                "database.sqlite_synchronous = \"normal\": answered writes, audit entries \
                 included, can be lost on a power cut; use \"full\" for evidence"
            );
        }

        let mut operators = settings
            .identity
            .operators
            .iter()
            .map(IssuerEntry::for_operator)
            .collect::<Result<Vec<_>, _>>()?;

        if !dev_mode {
            let left = db.read(usecase::dev_seed::leftovers).await?;
            if !left.is_empty() {
                return Err(AppError::Config(format!(
                    "this database was seeded by `serve --dev`: the demo agencies' dev issuers \
                     ({}) and the signed demo agreement would keep working; serve it with \
                     --dev, or start from a fresh database",
                    left.join(", ")
                )));
            }
        }
        let dev = if dev_mode {
            settings.identity.allow_http_issuers = true;
            let issuer = DevIssuer::load_or_create(&settings.data_dir)?;
            let now = clock.now();
            let seed_base = base_url.clone();
            let agencies = db
                .write(move |c| usecase::dev_seed::seed(c, &seed_base, now))
                .await?;
            let state = DevState {
                base_url: base_url.clone(),
                agencies,
            };
            dev::write_state(&settings.data_dir, &state)?;
            operators.push(IssuerEntry {
                issuer: DevIssuer::issuer_url(&base_url, OPERATOR_SLUG),
                audience: dev::DEV_AUDIENCE.to_owned(),
                roles_path: vec!["roles".to_owned()],
                role_map: [
                    crate::domain::role::Role::HubAdmin,
                    crate::domain::role::Role::HubAuditor,
                ]
                .into_iter()
                .map(|r| (r.as_str().to_owned(), r))
                .collect(),
                accept_jwt_typ: false,
                agency_id: None,
            });
            Some(DevMode {
                issuer,
                state,
                grants: dev::DevGrants::default(),
            })
        } else {
            None
        };

        let sign_interval = settings.audit.sign_interval_secs;

        let registry = Arc::new(
            Registry::new(
                db.clone(),
                operators,
                Duration::from_secs(settings.identity.registry_ttl_secs),
            )
            .with_unknown_issuers_cached(settings.identity.unknown_issuers_cached),
        );
        let auth = Arc::new(Authenticator::new(
            registry,
            &settings.identity,
            clock.clone(),
        ));
        let console = Arc::new(RelyingParty::new(&settings.identity, clock.clone()));
        let rate = Arc::new(RateLimits::new(&settings.rate_limit)?);
        let metrics = Arc::new(Metrics::new()?);
        metrics.watch_writer(db.writer_stats());
        let max_body = settings.http.max_body_bytes;
        let workers = settings.http.workers;
        let settings = Arc::new(settings);
        let secrets = Arc::new(SecretBox::load_or_create(&settings.webhook_key_path())?);
        let delivery = Arc::new(Worker::new(
            db.clone(),
            clock.clone(),
            settings.clone(),
            &metrics,
            format!("{base_url}/api/v1"),
            secrets.clone(),
        )?);
        let hub = Hub::new(
            db.clone(),
            clock.clone(),
            settings.clone(),
            secrets,
            audit_runtime.clone(),
        );
        if let Some(d) = &dev {
            usecase::dev_activity::seed(&hub, &d.state.agencies, &d.state.base_url).await?;
        }
        let sealed = usecase::subscriptions::seal_stored_secrets(&hub).await?;
        if sealed > 0 {
            tracing::info!(sealed, "webhook secrets stored in the clear were sealed");
        }
        if settings.delivery.worker_enabled {
            delivery.clone().spawn_background()?;
        }
        let witnessing = Arc::new(Witnessing::new(
            db.clone(),
            clock.clone(),
            audit_runtime.clone(),
            &settings,
            &metrics,
        )?);
        witnessing.check_kept().await?;
        if witnessing.is_configured() && settings.audit.witness_interval_secs > 0 {
            witnessing
                .clone()
                .spawn(Duration::from_secs(settings.audit.witness_interval_secs));
        }
        let witness = Witness::load(&settings, &base_url)?.map(Arc::new);
        let state = web::Data::new(AppState {
            hub,
            settings,
            db,
            clock,
            auth,
            metrics,
            dev,
            delivery,
            audit: audit_runtime,
            rate,
            witnessing,
            witness,
            console,
        });
        if sign_interval > 0 {
            spawn_audit_ticker(
                Arc::downgrade(&state.clone().into_inner()),
                Duration::from_secs(sign_interval),
            );
        }

        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    AppError::BadRequest(format!("invalid query: {e}")).into()
                }))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .wrap(from_fn(crate::http::console::guard::protect))
                .wrap(from_fn(gate::gate))
                .wrap(from_fn(middleware::observe))
                .configure(|cfg| routes::configure(cfg, dev_mode))
                .default_service(web::to(handlers::fallback::not_found))
        })
        .disable_signals()
        .shutdown_timeout(5);
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(AppError::internal)?.run();
        Ok(Application {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Stops the server and the delivery worker.
    pub async fn stop(handle: &ServerHandle, state: &AppState) {
        state.delivery.stop();
        handle.stop(true).await;
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until the server is stopped.
    pub async fn run_until_stopped(self) -> Result<(), AppError> {
        self.server.await.map_err(AppError::internal)
    }
}
