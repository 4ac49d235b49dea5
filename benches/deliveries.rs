//! Signed webhook deliveries/s beside the machine's limit, and the incident rate with and
//! without the delivery worker, measured in the same run.
//!
//! - The limit: a local webhook receiver (actix-web, in this process, checking every
//!   Standard Webhooks signature) and its requests/s from a plain reqwest client (keep-alive,
//!   [`CLIENTS`] concurrent requests, each signed like a delivery).
//! - The hub: the real `msht-hub serve --dev` binary on a fresh SQLite data folder (or a fresh
//!   PostgreSQL database when `MSHT_HUB_BENCH_POSTGRES_URL`, an admin URL, is set), with the
//!   five recipient agencies of the demo incident subscribed by webhook to the receiver, so
//!   each incident queues five signed webhooks.
//!   1. worker off: `POST /api/v1/incidents` from [`CLIENTS`] clients for [`PHASE`] (the
//!      incident rate without the worker); this also queues the backlog;
//!   2. the hub restarted with the worker on: deliveries/s while it drains that backlog (from
//!      the first to the last delivery the receiver accepts), every `webhook-id` counted once;
//!   3. worker on: incidents/s again while the worker delivers what they queue;
//!   4. kill -9 while webhooks are being sent, then a restart: how soon they arrive;
//!   5. the hub restarted with the worker off: incidents/s once more, on a log and outbox
//!      larger than in phase 3's. The baseline for phase 3 is the mean of phases 1 and 5,
//!      whose databases bracket its size, so the ratio compares the worker and not the
//!      database's growth.
//!
//! Run: `cargo bench --bench deliveries` (SQLite), or with `MSHT_HUB_BENCH_POSTGRES_URL` set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use msht_hub::delivery::webhook;
use serde_json::{json, Value};

const HUB: &str = env!("CARGO_BIN_EXE_msht-hub");
const CLIENTS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const PHASE: Duration = Duration::from_secs(5);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);
const RECIPIENTS: [&str; 5] = ["mash", "children", "adults", "ictg", "ngo"];
const DELIVERY_TARGET: f64 = 2000.0;

fn main() {
    let tmp = tempfile::Builder::new()
        .prefix("msht-hub-deliveries.")
        .tempdir()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(tmp.path()));
}

// -------------------------------------------------------------------------------------------
// The receiver

#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    bad_signatures: AtomicU64,
    ids: Mutex<HashSet<String>>,
    duplicates: AtomicU64,
    first_last: Mutex<Option<(Instant, Instant)>>,
}

struct Receiver {
    base: String,
    keys: Mutex<HashMap<String, Vec<u8>>>,
    tally: Mutex<Arc<Tally>>,
    /// While set, requests hang (a receiver that stopped answering); once cleared, the hung
    /// ones are answered 503 and not counted.
    stalled: std::sync::atomic::AtomicBool,
}

impl Receiver {
    fn tally(&self) -> Arc<Tally> {
        self.tally.lock().unwrap().clone()
    }

    /// Starts counting afresh.
    fn reset(&self) -> Arc<Tally> {
        let t = Arc::new(Tally::default());
        *self.tally.lock().unwrap() = t.clone();
        t
    }
}

async fn hook(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    rx: web::Data<Arc<Receiver>>,
) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    if rx.stalled.load(Ordering::SeqCst) {
        while rx.stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        return HttpResponse::ServiceUnavailable().finish();
    }
    let key = rx.keys.lock().unwrap().get(path.as_str()).cloned();
    let id = h("webhook-id");
    let ts: i64 = h("webhook-timestamp").parse().unwrap_or(0);
    let tally = rx.tally();
    let ok = key.is_some_and(|k| webhook::verify(&k, id, ts, &body, h("webhook-signature")));
    if !ok {
        tally.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Unauthorized().finish();
    }
    if !tally.ids.lock().unwrap().insert(id.to_owned()) {
        tally.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    tally.accepted.fetch_add(1, Ordering::Relaxed);
    let now = Instant::now();
    let mut fl = tally.first_last.lock().unwrap();
    *fl = Some(fl.map_or((now, now), |(f, _)| (f, now)));
    HttpResponse::NoContent().finish()
}

fn start_receiver() -> Arc<Receiver> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rx = Arc::new(Receiver {
        base: format!("http://127.0.0.1:{port}/hook"),
        keys: Mutex::new(HashMap::new()),
        tally: Mutex::new(Arc::new(Tally::default())),
        stalled: std::sync::atomic::AtomicBool::new(false),
    });
    let data = rx.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(data.clone()))
            .route("/hook/{name}", web::post().to(hook))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    rx
}

/// The receiver's requests/s from a plain client: `CLIENTS` signed POSTs at a time.
async fn receiver_limit(rx: &Arc<Receiver>, window: Duration) -> (f64, u64) {
    let key = webhook::secret_key(&webhook::new_secret()).unwrap();
    rx.keys
        .lock()
        .unwrap()
        .insert("limit".to_owned(), key.clone());
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("{}/limit", rx.base);
    let body = serde_json::to_vec(&json!({"type": "incident.notified",
        "timestamp": "2026-01-10T22:15:00Z",
        "data": {"notification_id": uuid::Uuid::now_v7().to_string(),
                 "incident_id": uuid::Uuid::now_v7().to_string()}}))
    .unwrap();
    let tally = rx.reset();
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, body, key) = (client.clone(), url.clone(), body.clone(), key.clone());
            tokio::spawn(async move {
                while started.elapsed() < window {
                    let id = uuid::Uuid::now_v7().to_string();
                    let ts = 1_768_000_000;
                    let sig = webhook::sign(&key, &id, ts, &body);
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("webhook-id", &id)
                        .header("webhook-timestamp", ts.to_string())
                        .header("webhook-signature", sig)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                    let _ = r.bytes().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let n = tally.accepted.load(Ordering::Relaxed);
    (n as f64 / secs, n)
}

// -------------------------------------------------------------------------------------------
// The hub process

struct Hub {
    child: Child,
    api: String,
    root: String,
}

fn spawn_hub(data_dir: &Path, env: &[(String, String)], worker: bool, log: &Path) -> Hub {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = File::create(log).unwrap();
    let child = Command::new(HUB)
        .args(["serve", "--dev", "--data-dir"])
        .arg(data_dir)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("MSHT_HUB__DELIVERY__WORKER_ENABLED", worker.to_string())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    Hub {
        child,
        api: format!("http://127.0.0.1:{port}/api/v1"),
        root: format!("http://127.0.0.1:{port}"),
    }
}

impl Hub {
    async fn wait_healthy(&mut self, http: &reqwest::Client, log: &Path) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the hub exited: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            let ok = http
                .get(format!("{}/healthz", self.root))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the hub did not become healthy");
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Police officers the incident phases post as, one token each.
const OFFICERS: usize = 256;

/// `n` tokens of police practitioners, one per officer (subjects `bench-police-{i}`), minted
/// in this process with the dev issuer's key in the hub's data folder.
fn officer_tokens(data_dir: &Path, env: &[(String, String)], n: usize) -> Vec<String> {
    let overrides = msht_hub::config::Overrides {
        data_dir: Some(data_dir.to_path_buf()),
        ..Default::default()
    };
    let settings =
        msht_hub::config::Settings::load_with_env(&overrides, Some(env.iter().cloned().collect()))
            .unwrap();
    (0..n)
        .map(|i| {
            let subject = format!("bench-police-{i}");
            msht_hub::cli::dev_token(
                &settings,
                Some("police"),
                "practitioner",
                Some(&subject),
                3600,
            )
            .unwrap()
        })
        .collect()
}

fn dev_token(data_dir: &Path, env: &[(String, String)], agency: &str, role: &str) -> String {
    let out = Command::new(HUB)
        .arg("dev-token")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--agency", agency, "--role", role])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn incident(run: &str, i: u64) -> Value {
    json!({
        "reference": format!("DLV-{run}-{i}"), "occurred_at": "2026-01-10T22:15:00Z",
        "area": "E08000025", "exploitation_types": ["criminal", "labour"],
        "threats": ["county_lines"], "classification": "official",
        "narrative": "Delivery bench incident",
        "victims": [
            {"reference": "V1", "age": 15, "consent_to_share": "not_required",
             "consent_absent_reason": "would_prejudice_protection"},
            {"reference": "V2", "age": 30, "adult_at_risk": true, "consent_to_share": "given"}
        ]
    })
}

/// Incidents/s from `CLIENTS` clients over `window`; returns (rate, ok, non-2xx).
async fn incidents(
    http: &reqwest::Client,
    api: &str,
    tokens: &Arc<Vec<String>>,
    run: &str,
    seq: &Arc<AtomicU64>,
    window: Duration,
) -> (f64, u64, u64) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, api, tokens, run, seq) = (
                http.clone(),
                api.to_owned(),
                tokens.clone(),
                run.to_owned(),
                seq.clone(),
            );
            tokio::spawn(async move {
                let (mut ok, mut bad) = (0u64, 0u64);
                while started.elapsed() < window {
                    let i = seq.fetch_add(1, Ordering::Relaxed);
                    // One officer per request in turn: the load comes from many
                    // principals, as partners' does, so no rate limit is met.
                    let token = &tokens[i as usize % tokens.len()];
                    let r = http
                        .post(format!("{api}/incidents"))
                        .bearer_auth(token)
                        .json(&incident(&run, i))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            ok += 1;
                        }
                        _ => bad += 1,
                    }
                }
                (ok, bad)
            })
        })
        .collect();
    let (mut ok, mut bad) = (0, 0);
    for t in tasks {
        let (o, b) = t.await.unwrap();
        ok += o;
        bad += b;
    }
    (ok as f64 / started.elapsed().as_secs_f64(), ok, bad)
}

/// Posts one incident; returns the webhooks it queues.
async fn incidents_once(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    run: &str,
    seq: &Arc<AtomicU64>,
) -> u64 {
    let i = seq.fetch_add(1, Ordering::Relaxed);
    let r = http
        .post(format!("{api}/incidents"))
        .bearer_auth(token)
        .json(&incident(run, i))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    RECIPIENTS.len() as u64
}

/// Waits until the receiver has accepted `expected` deliveries (or the timeout).
async fn wait_for(tally: &Tally, expected: u64, timeout: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if tally.accepted.load(Ordering::Relaxed) >= expected {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn rate_of(tally: &Tally) -> (f64, f64) {
    let n = tally.accepted.load(Ordering::Relaxed);
    match *tally.first_last.lock().unwrap() {
        Some((f, l)) if n > 1 => {
            let secs = (l - f).as_secs_f64();
            ((n - 1) as f64 / secs, secs)
        }
        _ => (0.0, 0.0),
    }
}

fn fresh_postgres(admin: &str) -> String {
    let name = format!("bench_dlv_{}", uuid::Uuid::new_v4().simple());
    let mut c = PgConnection::establish(admin).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

async fn run(tmp: &Path) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("msht-hub delivery bench: nproc {cpus}, {CLIENTS} clients, phases {} s after {} s warm-up, temp {}",
        PHASE.as_secs(), WARM_UP.as_secs(), tmp.display());
    let rx = start_receiver();

    // 1. The limit: the receiver's own requests/s from a plain client.
    let _ = receiver_limit(&rx, WARM_UP).await;
    let (limit, limit_n) = receiver_limit(&rx, PHASE).await;
    println!(
        "limit   local receiver, plain reqwest client (keep-alive, {CLIENTS} in flight, signed):  {limit:>9.1} req/s  ({limit_n} in {} s)",
        PHASE.as_secs()
    );

    let data_dir = tmp.join("hub");
    std::fs::create_dir_all(&data_dir).unwrap();
    let mut env = vec![
        (
            "MSHT_HUB__DELIVERY__ALLOW_PRIVATE_NETWORKS".to_owned(),
            "true".to_owned(),
        ),
        (
            "MSHT_HUB__DELIVERY__ALLOW_INSECURE_HTTP".to_owned(),
            "true".to_owned(),
        ),
    ];
    let backend = match std::env::var("MSHT_HUB_BENCH_POSTGRES_URL") {
        Ok(admin) if !admin.trim().is_empty() => {
            env.push(("MSHT_HUB__DATABASE_URL".to_owned(), fresh_postgres(&admin)));
            "PostgreSQL"
        }
        _ => "SQLite",
    };
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("MSHT_HUB__")) {
        println!("inherited setting {k}={v}");
        env.push((k, v));
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let log = tmp.join("hub-1.log");
    let mut hub = spawn_hub(&data_dir, &env, false, &log);
    hub.wait_healthy(&http, &log).await;
    println!(
        "hub     {backend}, {} (worker off), log {}",
        hub.root,
        log.display()
    );
    for slug in RECIPIENTS {
        let token = dev_token(&data_dir, &env, slug, "practitioner");
        let r = http
            .post(format!("{}/subscriptions", hub.api))
            .bearer_auth(&token)
            .json(&json!({"events": ["incident.notified"],
                          "channel": {"type": "webhook", "url": format!("{}/{slug}", rx.base)}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let key = webhook::secret_key(created["secret"].as_str().unwrap()).unwrap();
        rx.keys.lock().unwrap().insert(slug.to_owned(), key);
    }
    let officers = Arc::new(officer_tokens(&data_dir, &env, OFFICERS));
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let seq = Arc::new(AtomicU64::new(0));
    let tally = rx.reset();

    // 2. Incidents without the worker (this queues the backlog).
    let _ = incidents(&http, &hub.api, &officers, &run_id, &seq, WARM_UP).await;
    let (without, without_n, without_bad) =
        incidents(&http, &hub.api, &officers, &run_id, &seq, PHASE).await;
    println!(
        "hub     POST /incidents, worker off:  {without:>9.1}/s  ({without_n} ok, {without_bad} non-2xx)"
    );
    let backlog = seq.load(Ordering::Relaxed) * RECIPIENTS.len() as u64;
    assert_eq!(
        tally.accepted.load(Ordering::Relaxed),
        0,
        "the worker was off"
    );
    hub.stop();

    // 3. The backlog drained by the worker. The log now has signed heads: on PostgreSQL a
    // restarted hub must be given the deployment's key, the one its first start made.
    if backend == "PostgreSQL" {
        let key = data_dir.join("audit-signing-key.pem");
        env.push((
            "MSHT_HUB__AUDIT__SIGNING_KEY_FILE".to_owned(),
            key.display().to_string(),
        ));
    }
    let tally = rx.reset();
    let log = tmp.join("hub-2.log");
    let mut hub = spawn_hub(&data_dir, &env, true, &log);
    hub.wait_healthy(&http, &log).await;
    println!(
        "hub     restarted with the worker on, log {}",
        log.display()
    );
    let drained = wait_for(&tally, backlog, DRAIN_TIMEOUT).await;
    let (rate, secs) = rate_of(&tally);
    let dup = tally.duplicates.load(Ordering::Relaxed);
    let bad = tally.bad_signatures.load(Ordering::Relaxed);
    println!(
        "deliver signed webhooks, backlog of {backlog}:  {rate:>9.1}/s  ({} accepted in {secs:.2} s, {} distinct webhook-ids, {dup} duplicates, {bad} bad signatures{})",
        tally.accepted.load(Ordering::Relaxed),
        tally.ids.lock().unwrap().len(),
        if drained { "" } else { ", NOT DRAINED in time" }
    );

    // 4. Incidents with the worker delivering what they queue (the restarted hub registered
    // the dev issuers at its new address: fresh tokens).
    let police = dev_token(&data_dir, &env, "police", "practitioner");
    let officers = Arc::new(officer_tokens(&data_dir, &env, OFFICERS));
    let before = seq.load(Ordering::Relaxed);
    let tally = rx.reset();
    let _ = incidents(&http, &hub.api, &officers, &run_id, &seq, WARM_UP).await;
    let (with, with_n, with_bad) =
        incidents(&http, &hub.api, &officers, &run_id, &seq, PHASE).await;
    let queued = (seq.load(Ordering::Relaxed) - before) * RECIPIENTS.len() as u64;
    let during = tally.accepted.load(Ordering::Relaxed);
    let caught_up = wait_for(&tally, queued, DRAIN_TIMEOUT).await;
    println!(
        "hub     POST /incidents, worker on:   {with:>9.1}/s  ({with_n} ok, {with_bad} non-2xx; {during} of {queued} webhooks delivered during the phase{})",
        if caught_up { ", all soon after" } else { ", NOT all delivered in time" }
    );

    // 5. kill -9 while deliveries are being sent, then restart: how soon they arrive.
    rx.stalled.store(true, Ordering::SeqCst);
    let tally = rx.reset();
    let one = incidents_once(&http, &hub.api, &police, &run_id, &seq).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Instant::now();
    let _ = hub.child.kill();
    let _ = hub.child.wait();
    rx.stalled.store(false, Ordering::SeqCst);
    let log = tmp.join("hub-3.log");
    let mut hub = spawn_hub(&data_dir, &env, true, &log);
    hub.wait_healthy(&http, &log).await;
    let restarted = killed.elapsed().as_secs_f64();
    let back = wait_for(&tally, one, Duration::from_secs(60)).await;
    let resent = killed.elapsed().as_secs_f64();
    println!(
        "kill -9 with {one} webhooks in flight: restarted in {restarted:.1} s, all {one} delivered {resent:.1} s after the kill{}",
        if back { "" } else { " (NOT within 60 s)" }
    );
    hub.stop();

    // 6. Incidents without the worker again, on the larger database the phases before left.
    let log = tmp.join("hub-4.log");
    let mut hub = spawn_hub(&data_dir, &env, false, &log);
    hub.wait_healthy(&http, &log).await;
    let officers = Arc::new(officer_tokens(&data_dir, &env, OFFICERS));
    let _ = incidents(&http, &hub.api, &officers, &run_id, &seq, WARM_UP).await;
    let (after, after_n, after_bad) =
        incidents(&http, &hub.api, &officers, &run_id, &seq, PHASE).await;
    println!(
        "hub     POST /incidents, worker off again: {after:>9.1}/s  ({after_n} ok, {after_bad} non-2xx)"
    );
    hub.stop();
    let baseline = (without + after) / 2.0;

    println!();
    println!("figure                                   value        limit / baseline       ratio   target");
    println!(
        "signed webhook deliveries/s   {rate:>15.1}/s  {limit:>12.1} receiver req/s  {:>6.2}   >= {DELIVERY_TARGET:.0}/s  {}",
        rate / limit,
        if rate >= DELIVERY_TARGET && dup == 0 && bad == 0 && drained { "PASS" } else { "MISS" }
    );
    println!(
        "re-sent after kill -9         {resent:>15.1} s   (restart {restarted:.1} s)              <= 15 s   {}",
        if back && resent <= 15.0 { "PASS" } else { "MISS" }
    );
    println!(
        "incidents/s with the worker   {with:>15.1}/s  {baseline:>12.1} without (mean of before and after)  {:>6.2}   >= 1.00   {}",
        with / baseline,
        if with >= baseline { "PASS" } else { "MISS" }
    );
}
