//! Builds the application: opens the database, sets up identity (and the dev issuer with
//! `--dev`), and runs the actix server on a listener it binds itself (port 0 works, which the
//! tests use).
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpServer};

use crate::clock::Clock;
use crate::config::Settings;
use crate::error::AppError;
use crate::http::{handlers, middleware, routes};
use crate::identity::dev::{self, DevIssuer, DevState, OPERATOR_SLUG};
use crate::identity::registry::{IssuerEntry, Registry};
use crate::identity::{AuthFailure, Authenticator, Principal};
use crate::metrics::Metrics;
use crate::store::Db;
use crate::usecase;

/// The dev issuer and what it seeded.
pub struct DevMode {
    pub issuer: DevIssuer,
    pub state: DevState,
}

/// Everything a request handler can reach.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: Clock,
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    pub dev: Option<DevMode>,
}

impl AppState {
    /// Called when a bearer token is refused.
    pub async fn on_authentication_failure(&self, req: &HttpRequest, failure: &AuthFailure) {
        tracing::info!(
            path = %req.match_pattern().unwrap_or_default(),
            issuer = failure.issuer.as_deref().unwrap_or("-"),
            reason = %failure.reason,
            "authentication failed"
        );
    }

    /// Called when a valid caller lacks the role an action needs.
    pub async fn on_authorization_denial(&self, req: &HttpRequest, p: &Principal, needed: &str) {
        tracing::info!(
            path = %req.match_pattern().unwrap_or_default(),
            issuer = %p.issuer,
            subject = %p.subject,
            needed,
            "authorization denied"
        );
    }
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

        let mut operators = settings
            .identity
            .operators
            .iter()
            .map(IssuerEntry::for_operator)
            .collect::<Result<Vec<_>, _>>()?;

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
            Some(DevMode { issuer, state })
        } else {
            None
        };

        let registry = Arc::new(Registry::new(
            db.clone(),
            operators,
            Duration::from_secs(settings.identity.registry_ttl_secs),
        ));
        let auth = Arc::new(Authenticator::new(
            registry,
            &settings.identity,
            clock.clone(),
        ));
        let metrics = Arc::new(Metrics::new()?);
        let max_body = settings.http.max_body_bytes;
        let workers = settings.http.workers;
        let state = web::Data::new(AppState {
            settings: Arc::new(settings),
            db,
            clock,
            auth,
            metrics,
            dev,
        });

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

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until the server is stopped.
    pub async fn run_until_stopped(self) -> Result<(), AppError> {
        self.server.await.map_err(AppError::internal)
    }
}
