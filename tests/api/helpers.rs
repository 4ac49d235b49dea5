//! Starting the real hub for one test, with a fresh database, a movable clock and test
//! issuers, plus small HTTP helpers.
#![allow(dead_code)]
use std::collections::HashMap;

use actix_web::dev::ServerHandle;
use actix_web::web;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use msht_hub::app::{AppState, Application};
use msht_hub::clock::Clock;
use msht_hub::config::{IssuerSettings, Overrides, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::issuer::TestIssuers;

pub const AUDIENCE: &str = "msht-hub-test";
pub const OPERATOR: &str = "operator";

/// A Monday morning, so working-day rules are easy to read in tests.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A fresh database URL: a SQLite file in `dir`, or a new PostgreSQL database.
pub fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("MSHT_HUB_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut c = diesel::PgConnection::establish(&admin).expect("admin connection");
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        _ => format!("sqlite://{}", dir.join("hub.db").display()),
    }
}

pub fn on_postgres() -> bool {
    std::env::var("MSHT_HUB_TEST_POSTGRES_URL")
        .map(|v| !v.is_empty())
        .unwrap_or(false)
}

/// Options for one test hub.
#[derive(Default)]
pub struct Options {
    pub dev: bool,
    pub jwks_min_refresh_secs: u64,
    pub env: HashMap<String, String>,
}

impl Options {
    /// Webhooks to the test receiver on loopback over http, and the worker driven by the test.
    pub fn local_delivery() -> Self {
        let env = [
            ("MSHT_HUB__DELIVERY__ALLOW_PRIVATE_NETWORKS", "true"),
            ("MSHT_HUB__DELIVERY__ALLOW_INSECURE_HTTP", "true"),
            ("MSHT_HUB__DELIVERY__WORKER_ENABLED", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Options {
            env,
            ..Options::default()
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// One agency registered in a test, with its own test issuer.
#[derive(Debug, Clone)]
pub struct TestAgency {
    pub id: String,
    pub name: String,
    pub issuer: String,
}

pub struct TestApp {
    pub base: String,
    pub api: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub issuers: TestIssuers,
    pub settings: Settings,
    pub state: web::Data<AppState>,
    pub handle: ServerHandle,
    pub data_dir: TempDir,
}

impl TestApp {
    /// Every e-mail the hub has written to its local mailbox, in order (empty when none).
    pub fn mails(&self) -> Vec<String> {
        let path = self
            .data_dir
            .path()
            .join("mail")
            .join(msht_hub::delivery::mailbox::FILE_NAME);
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for line in text.lines() {
            if line.starts_with("From ") {
                out.push(String::new());
            } else if let Some(m) = out.last_mut() {
                m.push_str(line);
                m.push('\n');
            }
        }
        out
    }

    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(opts: Options) -> TestApp {
        if std::env::var("MSHT_HUB_TEST_LOG").is_ok() {
            msht_hub::telemetry::init(&msht_hub::config::LogSettings {
                format: "text".into(),
                filter: "debug".into(),
            });
        }
        let issuers = TestIssuers::start().await;
        let operator_issuer = issuers.add(OPERATOR);
        let data_dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(data_dir.path());
        let overrides = Overrides {
            data_dir: Some(data_dir.path().to_path_buf()),
            bind: Some("127.0.0.1:0".into()),
            database_url: Some(db_url),
            ..Overrides::default()
        };
        let mut settings = Settings::load_with_env(&overrides, Some(opts.env)).unwrap();
        settings.log.format = "text".into();
        settings.identity.allow_http_issuers = true;
        settings.identity.jwks_min_refresh_secs = opts.jwks_min_refresh_secs;
        settings.http.workers = 2;
        // One named key per deployment (required on PostgreSQL once heads exist).
        settings.audit.signing_key_file = data_dir
            .path()
            .join("audit-signing-key.pem")
            .display()
            .to_string();
        settings.identity.operators = vec![IssuerSettings {
            issuer: operator_issuer,
            audience: AUDIENCE.into(),
            roles_claim: "roles".into(),
            role_map: [("hub_admin", "hub_admin"), ("hub_auditor", "hub_auditor")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            accept_jwt_typ: false,
        }];
        let clock = Clock::manual(start_time());
        let app = Application::build(settings.clone(), clock.clone(), opts.dev)
            .await
            .unwrap();
        let port = app.port();
        let state = app.state();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let base = format!("http://127.0.0.1:{port}");
        TestApp {
            api: format!("{base}/api/v1"),
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            clock,
            issuers,
            settings,
            state,
            handle,
            data_dir,
        }
    }

    /// Stops this hub (server and worker) and starts another on the same database, data
    /// folder, issuers and clock, with `worker_enabled` as given.
    pub async fn restart(mut self, worker_enabled: bool) -> TestApp {
        msht_hub::app::Application::stop(&self.handle, &self.state).await;
        let mut settings = self.settings.clone();
        settings.delivery.worker_enabled = worker_enabled;
        let app = Application::build(settings.clone(), self.clock.clone(), false)
            .await
            .unwrap();
        let port = app.port();
        self.state = app.state();
        self.handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        self.base = format!("http://127.0.0.1:{port}");
        self.api = format!("{}/api/v1", self.base);
        self.settings = settings;
        self
    }

    /// Starts a second hub on the same database, data folder (so the same audit signing
    /// key), issuers and clock, as a second hub process would run beside the first: its own
    /// pool, writer and delivery worker (driven by the test). Returns its API base and state.
    pub async fn spawn_peer(&self) -> (String, web::Data<AppState>, ServerHandle) {
        let mut settings = self.settings.clone();
        settings.delivery.worker_enabled = false;
        let app = Application::build(settings, self.clock.clone(), false)
            .await
            .unwrap();
        let port = app.port();
        let state = app.state();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        (format!("http://127.0.0.1:{port}/api/v1"), state, handle)
    }

    /// Runs the delivery worker until nothing is due.
    pub async fn drain(&self) -> usize {
        let mut total = 0;
        loop {
            let n = self.state.delivery.run_due().await.unwrap();
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    /// Standard claims for a token of `issuer_url`, valid now by the hub's clock.
    pub fn claims(&self, issuer_url: &str, subject: &str, roles: &[&str]) -> Value {
        let now = self.clock.now().timestamp();
        json!({
            "iss": issuer_url, "sub": subject, "aud": AUDIENCE,
            "iat": now, "nbf": now, "exp": now + 600, "roles": roles,
            "client_id": "test-client",
        })
    }

    pub fn operator_token(&self, roles: &[&str]) -> String {
        let claims = self.claims(&self.issuers.url(OPERATOR), "operator-user", roles);
        self.issuers.sign(OPERATOR, &claims)
    }

    pub fn admin(&self) -> String {
        self.operator_token(&["hub_admin"])
    }

    /// A token of `agency`'s issuer with `roles` (hub role names, mapped one to one).
    pub fn token(&self, agency: &TestAgency, roles: &[&str]) -> String {
        self.token_as(agency, "user-1", roles)
    }

    pub fn token_as(&self, agency: &TestAgency, subject: &str, roles: &[&str]) -> String {
        let name = agency.issuer.rsplit('/').next().unwrap().to_owned();
        self.issuers
            .sign(&name, &self.claims(&agency.issuer, subject, roles))
    }

    /// Registers an agency of `kind` over `areas` with a fresh test issuer.
    pub async fn agency(&self, name: &str, kind: &str, areas: &[&str]) -> TestAgency {
        let r = self
            .send(
                Method::POST,
                "/agencies",
                &self.admin(),
                Some(json!({"name": name, "kind": kind, "areas": areas,
                            "contact_email": "team@agency.example.org"})),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let id = r.1["id"].as_str().unwrap().to_owned();
        let slug = format!("a{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let issuer = self.issuers.add(&slug);
        let map: HashMap<&str, &str> = [
            ("agency_admin", "agency_admin"),
            ("ig_officer", "ig_officer"),
            ("practitioner", "practitioner"),
            ("analyst", "analyst"),
            ("commissioner", "commissioner"),
        ]
        .into_iter()
        .collect();
        let r = self
            .send(
                Method::PUT,
                &format!("/agencies/{id}/identity-provider"),
                &self.admin(),
                Some(
                    json!({"issuer": issuer, "audience": AUDIENCE, "roles_claim": "roles",
                            "role_map": map}),
                ),
            )
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        TestAgency {
            id,
            name: name.to_owned(),
            issuer,
        }
    }

    /// Sends a request to `/api/v1{path}` and returns the status and JSON body (Null if none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let resp = self.request(method, path, token, body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, format!("{}{}", self.api, path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// `PATCH /api/v1{path}` with `If-Match: {if_match}` (a change names the version it
    /// was made from).
    pub async fn patch_if(
        &self,
        path: &str,
        token: &str,
        if_match: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .patch(format!("{}{}", self.api, path))
            .bearer_auth(token)
            .header("if-match", if_match)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The Prometheus scrape at the root `/metrics` (or `{api}/metrics` with `under_api`).
    pub async fn metrics(&self, under_api: bool) -> String {
        let base = if under_api { &self.api } else { &self.base };
        self.client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// `agency`'s own agency_admin accepts its invitation to partnership `id`.
    pub async fn join(&self, id: &str, agency: &TestAgency) {
        let r = self
            .post(
                &format!("/partnerships/{id}/members/{}/acceptance", agency.id),
                &self.token(agency, &["agency_admin"]),
                json!({}),
            )
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert_eq!(r.1["status"], "member", "{}", r.1);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.state.delivery.stop();
        let h = self.handle.clone();
        let i = self.issuers.handle.clone();
        tokio::spawn(async move {
            h.stop(false).await;
            i.stop(false).await;
        });
    }
}

/// Asserts a problem response with `status`.
pub fn assert_problem(r: &(StatusCode, Value), status: u16) {
    assert_eq!(r.0.as_u16(), status, "{}", r.1);
    assert_eq!(r.1["status"], status, "{}", r.1);
    assert!(
        r.1["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:msht-hub:problem:"),
        "{}",
        r.1
    );
    assert!(r.1["title"].is_string());
}

/// The pointers of a 422.
pub fn pointers(r: &(StatusCode, Value)) -> Vec<String> {
    assert_problem(r, 422);
    r.1["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}
