//! Incident throughput through the whole hub: `POST /incidents` with routing to six candidate
//! recipients (four notified under the demo agreement, two withheld), projected notification
//! reads (`GET /notifications/{id}`), and webhook deliveries by the outbox worker to a local
//! receiver. Runs on SQLite, and on PostgreSQL too when `MSHT_HUB_BENCH_POSTGRES_URL` (an
//! admin URL) is set.
//!
//! Run: `cargo bench --bench incidents`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use msht_hub::app::Application;
use msht_hub::clock::Clock;
use msht_hub::config::{Overrides, Settings};
use serde_json::{json, Value};

const CONCURRENCY: usize = 8;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run("SQLite", None).await;
        if let Ok(admin) = std::env::var("MSHT_HUB_BENCH_POSTGRES_URL") {
            let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let mut c = diesel::PgConnection::establish(&admin).unwrap();
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            run("PostgreSQL", Some(url.to_string())).await;
        }
    });
}

fn incident(i: usize) -> Value {
    json!({
        "reference": format!("BENCH-{i}"), "occurred_at": "2026-01-10T22:15:00Z",
        "area": "E08000025", "exploitation_types": ["criminal"], "threats": ["county_lines"],
        "classification": "official", "narrative": "Bench incident",
        "victims": [
            {"reference": "V1", "age": 15, "consent_to_share": "not_required",
             "consent_absent_reason": "would_prejudice_protection", "safe_address": "1 Hidden Way"},
            {"reference": "V2", "age": 30, "adult_at_risk": true, "consent_to_share": "given"}
        ]
    })
}

async fn run(label: &str, database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("MSHT_HUB__DELIVERY__ALLOW_PRIVATE_NETWORKS", "true"),
        ("MSHT_HUB__DELIVERY__ALLOW_INSECURE_HTTP", "true"),
        ("MSHT_HUB__DELIVERY__WORKER_ENABLED", "false"),
        ("MSHT_HUB__DELIVERY__BATCH_SIZE", "64"),
        ("MSHT_HUB__DATABASE__POOL_SIZE", "16"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let o = Overrides {
        data_dir: Some(dir.path().into()),
        bind: Some("127.0.0.1:0".into()),
        database_url,
        ..Overrides::default()
    };
    let settings = Settings::load_with_env(&o, Some(env)).unwrap();
    let app = Application::build(settings.clone(), Clock::system(), true)
        .await
        .unwrap();
    let api = format!("http://127.0.0.1:{}/api/v1", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let token = |agency: Option<&str>, role: &str| {
        msht_hub::cli::dev_token(&settings, agency, role, None, 3600).unwrap()
    };
    let http = reqwest::Client::new();
    let police = token(Some("police"), "practitioner");
    let mash = token(Some("mash"), "practitioner");
    // A second MASH for Birmingham without an agreement, and the NGO subscribed: with the
    // four statutory recipients of the demo agreement that makes six candidates.
    let r = http
        .post(format!("{api}/agencies"))
        .bearer_auth(token(None, "hub_admin"))
        .json(
            &json!({"name": "Bench Second MASH", "kind": "mash", "areas": ["E08000025"],
                      "contact_email": "bench@example.org"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A local receiver for the MASH's webhook.
    let received = Arc::new(AtomicU64::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let counter = received.clone();
    let server = HttpServer::new(move || {
        let c = counter.clone();
        App::new().route(
            "/hook",
            web::post().to(move || {
                c.fetch_add(1, Ordering::Relaxed);
                async { HttpResponse::NoContent().finish() }
            }),
        )
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    for (who, url) in [
        (&mash, hook.as_str()),
        (&token(Some("ngo"), "practitioner"), hook.as_str()),
    ] {
        let r = http
            .post(format!("{api}/subscriptions"))
            .bearer_auth(who)
            .json(&json!({"events": ["incident.notified"], "channel": {"type": "webhook", "url": url}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let first: Value = http
        .post(format!("{api}/incidents"))
        .bearer_auth(&police)
        .json(&incident(0))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let routing = first["routing"].as_array().unwrap();
    let notified = routing
        .iter()
        .filter(|r| r["decision"] == "notified")
        .count();
    println!(
        "{label}: each incident has {} candidate recipients ({notified} notified)",
        routing.len()
    );

    // 1. Incidents created per second.
    let n = Arc::new(AtomicU64::new(1));
    let started = Instant::now();
    let window = Duration::from_secs(8);
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, api, police, n) = (http.clone(), api.clone(), police.clone(), n.clone());
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < window {
                let i = n.fetch_add(1, Ordering::Relaxed) as usize;
                let r = http
                    .post(format!("{api}/incidents"))
                    .bearer_auth(&police)
                    .json(&incident(i))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let created = n.load(Ordering::Relaxed) - 1;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label}: incidents created  {:>8.1}/s  ({created} in {secs:.1} s, {CONCURRENCY} clients)",
        created as f64 / secs
    );

    // 2. Projected notification reads per second (each one re-checks the policy and appends a
    //    consultation to the audit log).
    let list: Value = http
        .get(format!("{api}/notifications?limit=200"))
        .bearer_auth(&mash)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Arc<Vec<String>> = Arc::new(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect(),
    );
    let reads = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let window = Duration::from_secs(5);
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (http, api, mash, ids, reads) = (
            http.clone(),
            api.clone(),
            mash.clone(),
            ids.clone(),
            reads.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while started.elapsed() < window {
                let id = &ids[i % ids.len()];
                let r = http
                    .get(format!("{api}/notifications/{id}"))
                    .bearer_auth(&mash)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                reads.fetch_add(1, Ordering::Relaxed);
                i += CONCURRENCY;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let done = reads.load(Ordering::Relaxed);
    println!(
        "{label}: projected reads    {:>8.1}/s  ({done} in {secs:.1} s)",
        done as f64 / secs
    );

    // 3. Webhook deliveries per second by the outbox worker.
    let started = Instant::now();
    let mut attempted = 0;
    loop {
        let k = state.delivery.run_due().await.unwrap();
        if k == 0 {
            break;
        }
        attempted += k;
    }
    let secs = started.elapsed().as_secs_f64();
    let got = received.load(Ordering::Relaxed);
    println!("{label}: webhook deliveries {:>8.1}/s  ({got} received of {attempted} attempted, {secs:.1} s; e-mails to the file transport included in attempts)", attempted as f64 / secs);
}
