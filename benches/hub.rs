//! The hub's figures through HTTP beside the machine's limits, measured in the same run.
//!
//! Starts the real `msht-hub serve --dev` binary (release) on a free loopback port with a fresh
//! data folder, and measures:
//!
//! - the limits: durable single-row commits/s of SQLite (WAL, `synchronous=FULL`, one
//!   connection, a file in the hub's data folder), of PostgreSQL with 1 and 32 connections
//!   (when `MSHT_HUB_BENCH_POSTGRES_URL`, an admin URL, is set), and `GET /healthz`
//!   requests/s of the running hub;
//! - the hub at 32 and 64 concurrent clients: incidents/s (`POST /api/v1/incidents`, each
//!   routed to five recipients), logged notification reads/s (`GET /api/v1/notifications/{id}`),
//!   p50/p99 latency and non-2xx answers per phase, and the hub's peak RSS; the load comes
//!   from many principals (one token per officer, [`PRINCIPALS`] per agency), so no 429
//!   may appear in these phases;
//! - one principal flooding `GET /api/v1/me` from every client: it must be answered 429
//!   once its rate limit is spent;
//!
//! then prints each figure beside its ratio to the limit and its target, PASS or MISS. Runs on
//! SQLite, and again on a fresh PostgreSQL database when `MSHT_HUB_BENCH_POSTGRES_URL` is set.
//!
//! Run: `cargo bench --bench hub` (SQLite), or `ci/bench.sh` (SQLite and a durable PostgreSQL).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Integer, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::{json, Value};

const HUB: &str = env!("CARGO_BIN_EXE_msht-hub");
/// Concurrent clients of the hub phases (and of the `/healthz` limit beside them).
const CLIENTS: [usize; 2] = [32, 64];
const WARM_UP: Duration = Duration::from_secs(1);
const PHASE: Duration = Duration::from_secs(5);
/// Requests of one phase at most, whatever the time.
const MAX_REQUESTS: u64 = 2_000_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long each commit-rate limit is measured, and its bound on commits.
const COMMIT_WINDOW: Duration = Duration::from_secs(2);
const MAX_COMMITS: u64 = 1_000_000;
const PG_GROUP_CONNECTIONS: usize = 32;
const HUB_START_TIMEOUT: Duration = Duration::from_secs(120);
/// Notification ids kept for the read phases.
const MAX_IDS: usize = 200_000;
/// Distinct failure statuses printed per phase.
const MAX_SAMPLES: usize = 5;

const WANTED_RECIPIENTS: usize = 5;
/// Principals (officers) per agency that drive the hub phases: enough that no one of them
/// comes near the per-principal rate limit at the hub's full rate.
const PRINCIPALS: usize = 512;
/// How long one principal floods the hub.
const FLOOD: Duration = Duration::from_secs(3);
const INCIDENT_TARGET: f64 = 0.40;
const READ_TARGET: f64 = 0.25;
const RSS_TARGET_MIB: f64 = 128.0;

fn main() {
    let tmp = tempfile::Builder::new()
        .prefix("msht-hub-bench.")
        .tempdir()
        .unwrap();
    let pg_admin = std::env::var("MSHT_HUB_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let mut out = Report;
    out.line(format!("msht-hub bench: {}", machine()));
    out.line(format!(
        "temp folder {} | client: one reqwest client (keep-alive) in this process, sharing the CPUs with the hub | phases: {} s warm-up, then {} s",
        tmp.path().display(),
        WARM_UP.as_secs_f64(),
        PHASE.as_secs_f64()
    ));
    let inherited: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("MSHT_HUB__"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    out.line(format!(
        "hub settings: defaults of `serve --dev`{}",
        if inherited.is_empty() {
            String::new()
        } else {
            format!(", with inherited overrides {}", inherited.join(" "))
        }
    ));

    // 1. The machine's durable commit rates.
    out.section("limits (same run)");
    let sqlite_dir = tmp.path().join("hub-sqlite");
    std::fs::create_dir_all(&sqlite_dir).unwrap();
    let sqlite_limit = sqlite_commits(&sqlite_dir);
    out.line(format!(
        "  SQLite durable commits/s      WAL, synchronous=FULL, 1 connection   {:>10.1}/s  ({} commits in {:.2} s, {})",
        sqlite_limit.rate(),
        sqlite_limit.ops,
        sqlite_limit.secs,
        sqlite_dir.display()
    ));
    let mut rows = Vec::new();
    let mut pg = None;
    if let Some(admin) = &pg_admin {
        let s = pg_settings(admin);
        out.line(format!(
            "  PostgreSQL settings           SHOW fsync = {}, synchronous_commit = {}, full_page_writes = {} (wal_sync_method = {}, {})",
            s.fsync, s.synchronous_commit, s.full_page_writes, s.wal_sync_method, s.version
        ));
        if s.fsync == "off" || s.synchronous_commit == "off" || s.full_page_writes == "off" {
            out.line(
                "  !!!!! WARNING: this PostgreSQL is NOT DURABLE (fsync, synchronous_commit or full_page_writes is off): \
                 REFUSING to measure PostgreSQL; start it durable (ci/bench.sh does) !!!!!"
                    .to_owned(),
            );
            rows.push(Row {
                backend: "PostgreSQL",
                clients: None,
                figure: "durable server (not measured)".to_owned(),
                value: "REFUSED".to_owned(),
                p50: None,
                p99: None,
                failures: None,
                limit: "-".to_owned(),
                ratio: None,
                target: "fsync etc. on".to_owned(),
                pass: false,
            });
        } else {
            let one = pg_commits(admin, 1);
            let group = pg_commits(admin, PG_GROUP_CONNECTIONS);
            for (n, l) in [(1, &one), (PG_GROUP_CONNECTIONS, &group)] {
                out.line(format!(
                    "  PostgreSQL durable commits/s  {n:>2} connection(s)                   {:>10.1}/s  ({} commits in {:.2} s)",
                    l.rate(),
                    l.ops,
                    l.secs
                ));
            }
            pg = Some((admin.clone(), group));
        }
    } else {
        out.line(
            "  PostgreSQL                    not measured: MSHT_HUB_BENCH_POSTGRES_URL is not set (ci/bench.sh sets it)"
                .to_owned(),
        );
    }

    // 2. The hub through HTTP.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rows.extend(rt.block_on(run_hub(
        "SQLite",
        &sqlite_dir,
        None,
        ("SQLite commits", sqlite_limit.rate()),
        &mut out,
    )));
    if let Some((admin, group)) = &pg {
        let name = format!("bench_hub_{}", uuid::Uuid::new_v4().simple());
        admin_execute(admin, &format!("CREATE DATABASE {name}"));
        let dir = tmp.path().join("hub-postgres");
        std::fs::create_dir_all(&dir).unwrap();
        rows.extend(rt.block_on(run_hub(
            "PostgreSQL",
            &dir,
            Some(database_url(admin, &name)),
            ("PG commits x32", group.rate()),
            &mut out,
        )));
        admin_execute(
            admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }

    out.section("figures beside their limits and targets");
    out.line(format!(
        "{:<10} {:>7}  {:<31} {:>10} {:>8} {:>8} {:>7}  {:<22} {:>6}  {:<18} {}",
        "backend",
        "clients",
        "figure",
        "value",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "limit",
        "ratio",
        "target",
        "verdict"
    ));
    let mut misses = 0;
    for r in &rows {
        if !r.pass {
            misses += 1;
        }
        out.line(r.to_string());
    }
    out.line(format!(
        "{} line(s), {} PASS, {} MISS",
        rows.len(),
        rows.len() - misses,
        misses
    ));
}

// -------------------------------------------------------------------------------------------
// Printing

/// Prints as the run goes (one place, so the output could go elsewhere too).
struct Report;

impl Report {
    fn line(&mut self, s: String) {
        println!("{s}");
    }

    fn section(&mut self, title: &str) {
        self.line(String::new());
        self.line(format!("== {title}"));
    }
}

struct Row {
    backend: &'static str,
    clients: Option<usize>,
    figure: String,
    value: String,
    p50: Option<f64>,
    p99: Option<f64>,
    failures: Option<u64>,
    limit: String,
    ratio: Option<f64>,
    target: String,
    pass: bool,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |v: Option<f64>, d: usize| v.map_or("-".to_owned(), |v| format!("{v:.d$}"));
        write!(
            f,
            "{:<10} {:>7}  {:<31} {:>10} {:>8} {:>8} {:>7}  {:<22} {:>6}  {:<18} {}",
            self.backend,
            self.clients.map_or("-".to_owned(), |c| c.to_string()),
            self.figure,
            self.value,
            opt(self.p50, 1),
            opt(self.p99, 1),
            self.failures.map_or("-".to_owned(), |n| n.to_string()),
            self.limit,
            opt(self.ratio, 3),
            self.target,
            if self.pass { "PASS" } else { "MISS" }
        )
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = |key: &str| -> f64 {
        meminfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "nproc {cpus} ({model}), memory {:.1} GiB ({:.1} GiB available), Linux {}",
        kib("MemTotal:") / 1048576.0,
        kib("MemAvailable:") / 1048576.0,
        kernel.trim()
    )
}

// -------------------------------------------------------------------------------------------
// The machine's limits

struct Count {
    ops: u64,
    secs: f64,
}

impl Count {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

#[derive(QueryableByName)]
struct Synchronous {
    #[diesel(sql_type = Integer)]
    synchronous: i32,
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// Single-row INSERT transactions on one SQLite connection, WAL and `synchronous=FULL`, in a
/// file in `dir` (removed afterwards). Automatic checkpoints are off, as the hub keeps them
/// off the request path.
fn sqlite_commits(dir: &Path) -> Count {
    let path = dir.join("bench-commit-limit.db");
    let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    c.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;
         CREATE TABLE commits (id INTEGER PRIMARY KEY, at TEXT NOT NULL);",
    )
    .unwrap();
    let mode: JournalMode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut c)
        .unwrap();
    let sync: Synchronous = diesel::sql_query("PRAGMA synchronous")
        .get_result(&mut c)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    assert_eq!(sync.synchronous, 2, "synchronous must be FULL (2)");
    let started = Instant::now();
    let mut ops = 0;
    while started.elapsed() < COMMIT_WINDOW && ops < MAX_COMMITS {
        diesel::sql_query("INSERT INTO commits (at) VALUES (strftime('%Y-%m-%dT%H:%M:%f'))")
            .execute(&mut c)
            .unwrap();
        ops += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    drop(c);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Count { ops, secs }
}

#[derive(QueryableByName)]
struct PgSettings {
    #[diesel(sql_type = Text)]
    fsync: String,
    #[diesel(sql_type = Text)]
    synchronous_commit: String,
    #[diesel(sql_type = Text)]
    full_page_writes: String,
    #[diesel(sql_type = Text)]
    wal_sync_method: String,
    #[diesel(sql_type = Text)]
    version: String,
}

fn pg_settings(admin: &str) -> PgSettings {
    let mut c = PgConnection::establish(admin).unwrap();
    diesel::sql_query(
        "SELECT current_setting('fsync') AS fsync, \
                current_setting('synchronous_commit') AS synchronous_commit, \
                current_setting('full_page_writes') AS full_page_writes, \
                current_setting('wal_sync_method') AS wal_sync_method, \
                'PostgreSQL ' || current_setting('server_version') AS version",
    )
    .get_result(&mut c)
    .unwrap()
}

fn admin_execute(admin: &str, sql: &str) {
    PgConnection::establish(admin)
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}

/// `admin` with its database replaced by `name`.
fn database_url(admin: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Single-row INSERT transactions (autocommit) on `connections` connections at once, in a
/// scratch database dropped afterwards; with many connections PostgreSQL shares WAL flushes
/// among the commits waiting (group commit).
fn pg_commits(admin: &str, connections: usize) -> Count {
    let name = format!("bench_commits_{}", uuid::Uuid::new_v4().simple());
    admin_execute(admin, &format!("CREATE DATABASE {name}"));
    let url = database_url(admin, &name);
    PgConnection::establish(&url)
        .unwrap()
        .batch_execute("CREATE TABLE commits (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
        .unwrap();
    let barrier = Arc::new(Barrier::new(connections + 1));
    let total = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (url, barrier, total) = (url.clone(), barrier.clone(), total.clone());
            std::thread::spawn(move || {
                let mut c = PgConnection::establish(&url).unwrap();
                barrier.wait();
                let started = Instant::now();
                while started.elapsed() < COMMIT_WINDOW
                    && total.fetch_add(1, Ordering::Relaxed) < MAX_COMMITS
                {
                    diesel::sql_query("INSERT INTO commits (at) VALUES (now())")
                        .execute(&mut c)
                        .unwrap();
                }
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let mut c = PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM commits")
        .get_result(&mut c)
        .unwrap();
    drop(c);
    admin_execute(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    Count {
        ops: n.n as u64,
        secs,
    }
}

// -------------------------------------------------------------------------------------------
// The hub process

struct Hub {
    child: Child,
    data_dir: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    root: String,
    api: String,
}

impl Hub {
    /// Starts `serve --dev` on a free loopback port (a few tries, in case another process
    /// takes the port between our probe and the hub's bind).
    fn spawn(data_dir: &Path, env: Vec<(String, String)>) -> Hub {
        let log = data_dir.parent().unwrap().join(format!(
            "{}.log",
            data_dir.file_name().unwrap().to_string_lossy()
        ));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = File::create(&log).unwrap();
        let child = Command::new(HUB)
            .args(["serve", "--dev", "--data-dir"])
            .arg(data_dir)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Hub {
            child,
            data_dir: data_dir.to_owned(),
            log,
            env,
            root: format!("http://127.0.0.1:{port}"),
            api: format!("http://127.0.0.1:{port}/api/v1"),
        }
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until `/healthz` (or, where the hub still serves it, `/api/v1/healthz`) answers
    /// 200, and returns that URL; `None` when the hub exited first.
    async fn wait_healthy(&mut self, http: &reqwest::Client) -> Option<String> {
        let candidates = [
            format!("{}/healthz", self.root),
            format!("{}/healthz", self.api),
        ];
        let started = Instant::now();
        while started.elapsed() < HUB_START_TIMEOUT {
            if self.child.try_wait().unwrap().is_some() {
                return None;
            }
            for url in &candidates {
                let ok = http
                    .get(url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if ok {
                    return Some(url.clone());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the hub did not answer healthz in {} s; its log:\n{}",
            HUB_START_TIMEOUT.as_secs(),
            self.log_tail(40)
        );
    }

    /// `n` tokens of `agency`'s practitioners, one per officer (subjects `bench-{agency}-{i}`),
    /// minted in this process with the dev issuer's key in the hub's data folder.
    fn tokens(&self, agency: &str, n: usize) -> Vec<String> {
        let env = self.env.iter().cloned().collect();
        let overrides = msht_hub::config::Overrides {
            data_dir: Some(self.data_dir.clone()),
            ..Default::default()
        };
        let settings = msht_hub::config::Settings::load_with_env(&overrides, Some(env)).unwrap();
        (0..n)
            .map(|i| {
                let subject = format!("bench-{agency}-{i}");
                msht_hub::cli::dev_token(
                    &settings,
                    Some(agency),
                    "practitioner",
                    Some(&subject),
                    3600,
                )
                .unwrap()
            })
            .collect()
    }

    /// A token from the binary's `dev-token` subcommand.
    fn token(&self, agency: Option<&str>, role: &str) -> String {
        let mut cmd = Command::new(HUB);
        cmd.arg("dev-token").arg("--data-dir").arg(&self.data_dir);
        if let Some(a) = agency {
            cmd.args(["--agency", a]);
        }
        let out = cmd
            .args(["--role", role])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dev-token {agency:?} {role}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The peak resident set (VmHWM) in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    /// SIGTERM, up to 10 s for a graceful stop, then SIGKILL.
    fn stop(&mut self) {
        if self.child.try_wait().unwrap().is_some() {
            return;
        }
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

// -------------------------------------------------------------------------------------------
// Load

fn incident(run: &str, i: u64) -> Value {
    // A child (to the MASH, the children's partnership and the ICTG service) and an adult at
    // risk (to the adults' board) in Birmingham; the NGO's subscription makes the fifth.
    json!({
        "reference": format!("BENCH-{run}-{i}"), "occurred_at": "2026-01-10T22:15:00Z",
        "area": "E08000025", "exploitation_types": ["criminal", "labour"],
        "threats": ["county_lines"], "classification": "official",
        "narrative": "Bench incident",
        "victims": [
            {"reference": "V1", "age": 15, "consent_to_share": "not_required",
             "consent_absent_reason": "would_prejudice_protection", "safe_address": "1 Hidden Way"},
            {"reference": "V2", "age": 30, "adult_at_risk": true, "consent_to_share": "given"}
        ]
    })
}

fn notified(answer: &Value) -> usize {
    answer["routing"].as_array().map_or(0, |items| {
        items
            .iter()
            .filter(|r| r["notified"] == true || r["decision"] == "notified")
            .count()
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Health,
    Incident,
    Read,
    /// One principal's `GET /me` from every client at once.
    Flood,
}

struct Ctx {
    http: reqwest::Client,
    run: String,
    health: String,
    api: String,
    /// One token per officer: the load comes from many principals, as it would in a real
    /// partnership, each well inside its own rate limit.
    police: Vec<String>,
    reader: Vec<String>,
    /// A principal of its own for the flood phase.
    flooder: String,
    reader_agency: String,
    seq: AtomicU64,
}

struct Phase {
    ok: u64,
    failures: u64,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    samples: Vec<String>,
    /// Incidents whose answer notified other than five recipients.
    misrouted: u64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// `clients` tasks issue `op` back to back for `window` (and at most [`MAX_REQUESTS`]);
/// notification ids for `reader_agency` from incident answers go to `ids`.
async fn phase(
    ctx: &Arc<Ctx>,
    op: Op,
    clients: usize,
    window: Duration,
    read_ids: &Arc<Vec<String>>,
    ids: &Arc<Mutex<Vec<String>>>,
) -> Phase {
    let issued = Arc::new(AtomicU64::new(0));
    let samples: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for t in 0..clients {
        let (ctx, issued, samples, read_ids, ids) = (
            ctx.clone(),
            issued.clone(),
            samples.clone(),
            read_ids.clone(),
            ids.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(4096);
            let (mut ok, mut failures, mut misrouted) = (0u64, 0u64, 0u64);
            let mut found = Vec::new();
            let mut k = t;
            while started.elapsed() < window
                && issued.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
            {
                let t0 = Instant::now();
                let request = match op {
                    Op::Health => ctx.http.get(&ctx.health),
                    Op::Incident => {
                        let i = ctx.seq.fetch_add(1, Ordering::Relaxed);
                        let officer = &ctx.police[i as usize % ctx.police.len()];
                        ctx.http
                            .post(format!("{}/incidents", ctx.api))
                            .bearer_auth(officer)
                            .json(&incident(&ctx.run, i))
                    }
                    Op::Read => {
                        let id = &read_ids[k % read_ids.len()];
                        let officer = &ctx.reader[k % ctx.reader.len()];
                        k += clients;
                        ctx.http
                            .get(format!("{}/notifications/{id}", ctx.api))
                            .bearer_auth(officer)
                    }
                    Op::Flood => ctx
                        .http
                        .get(format!("{}/me", ctx.api))
                        .bearer_auth(&ctx.flooder),
                };
                let failure = match request.send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(body) => {
                            ok += 1;
                            if op == Op::Incident {
                                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                                if notified(&v) != WANTED_RECIPIENTS {
                                    misrouted += 1;
                                }
                                let routing = v["routing"].as_array().into_iter().flatten();
                                found.extend(
                                    routing
                                        .filter(|r| r["agency_id"] == ctx.reader_agency.as_str())
                                        .filter_map(|r| r["notification_id"].as_str())
                                        .map(str::to_owned),
                                );
                            }
                            None
                        }
                        Err(e) => Some(("body".to_owned(), e.to_string())),
                    },
                    Ok(r) => {
                        let status = r.status().as_u16().to_string();
                        let body = r.text().await.unwrap_or_default();
                        Some((status, body))
                    }
                    Err(e) => Some(("transport error".to_owned(), e.to_string())),
                };
                latencies.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if let Some((key, detail)) = failure {
                    failures += 1;
                    let mut s = samples.lock().unwrap();
                    if s.len() < MAX_SAMPLES && !s.iter().any(|(k, _)| *k == key) {
                        s.push((key, detail.chars().take(400).collect()));
                    }
                }
            }
            if !found.is_empty() {
                let mut all = ids.lock().unwrap();
                let room = MAX_IDS.saturating_sub(all.len());
                all.extend(found.into_iter().take(room));
            }
            (latencies, ok, failures, misrouted)
        }));
    }
    let mut latencies = Vec::new();
    let (mut ok, mut failures, mut misrouted) = (0, 0, 0);
    for t in tasks {
        let (l, o, f, m) = t.await.unwrap();
        latencies.extend(l);
        ok += o;
        failures += f;
        misrouted += m;
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let samples = samples
        .lock()
        .unwrap()
        .iter()
        .map(|(k, d)| format!("{k}: {d}"))
        .collect();
    Phase {
        ok,
        failures,
        secs,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        samples,
        misrouted,
    }
}

async fn run_hub(
    backend: &'static str,
    data_dir: &Path,
    database_url: Option<String>,
    (limit_name, commit_limit): (&str, f64),
    out: &mut Report,
) -> Vec<Row> {
    out.section(&format!("hub on {backend}"));
    let mut env = Vec::new();
    if let Some(url) = &database_url {
        env.push(("MSHT_HUB__DATABASE_URL".to_owned(), url.clone()));
    }
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut tries = 0;
    let (mut hub, health) = loop {
        tries += 1;
        let mut hub = Hub::spawn(data_dir, env.clone());
        if let Some(url) = hub.wait_healthy(&http).await {
            break (hub, url);
        }
        let tail = hub.log_tail(40);
        assert!(
            tries < 3 && tail.contains("cannot bind"),
            "the hub exited before it was healthy; its log:\n{tail}"
        );
    };
    out.line(format!(
        "  {} (pid {}), log {}, health at {}",
        hub.root,
        hub.child.id(),
        hub.log.display(),
        health
    ));

    let police = hub.tokens("police", PRINCIPALS);
    let reader = hub.tokens("mash", PRINCIPALS);
    let flooder = hub.token(Some("mash"), "practitioner");
    let ngo = hub.token(Some("ngo"), "practitioner");
    out.line(format!(
        "  load from {PRINCIPALS} police and {PRINCIPALS} MASH principals (one token per officer)"
    ));
    let me: Value = http
        .get(format!("{}/me", hub.api))
        .bearer_auth(&reader[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reader_agency = me["agency_id"].as_str().unwrap().to_owned();
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        run: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        health,
        api: hub.api.clone(),
        police,
        reader,
        flooder,
        reader_agency,
        seq: AtomicU64::new(0),
    });

    // Routing: the demo seed alone, then with the NGO subscribed by e-mail.
    let post = |body: Value| {
        let ctx = ctx.clone();
        async move {
            let r = ctx
                .http
                .post(format!("{}/incidents", ctx.api))
                .bearer_auth(&ctx.police[0])
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            r.json::<Value>().await.unwrap()
        }
    };
    let describe = |v: &Value| -> String {
        v["routing"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{}={}",
                    r["route"].as_str().unwrap_or("?"),
                    r["decision"].as_str().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let seeded = post(incident(&ctx.run, u64::MAX)).await;
    out.line(format!(
        "  routing with the dev seed alone: {} notified ({})",
        notified(&seeded),
        describe(&seeded)
    ));
    let r = http
        .post(format!("{}/subscriptions", hub.api))
        .bearer_auth(&ngo)
        .json(&json!({"events": ["incident.notified"],
                      "channel": {"type": "email", "addresses": ["duty@ngo.demo.invalid"]}}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(status, 201, "NGO subscription: {}", r.text().await.unwrap());
    let first = post(incident(&ctx.run, u64::MAX - 1)).await;
    let recipients = notified(&first);
    out.line(format!(
        "  routing with the NGO subscribed by e-mail: {recipients} notified ({})",
        describe(&first)
    ));
    if recipients != WANTED_RECIPIENTS {
        out.line(format!(
            "  !!!!! the demo data routes an incident to {recipients} recipients, not {WANTED_RECIPIENTS}; measuring with {recipients}"
        ));
    }
    let mut rows = vec![Row {
        backend,
        clients: None,
        figure: "recipients notified/incident".to_owned(),
        value: recipients.to_string(),
        p50: None,
        p99: None,
        failures: None,
        limit: "-".to_owned(),
        ratio: None,
        target: format!("= {WANTED_RECIPIENTS}"),
        pass: recipients == WANTED_RECIPIENTS,
    }];

    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let no_ids: Arc<Vec<String>> = Arc::default();
    for clients in CLIENTS {
        let run = |op: Op, read_ids: Arc<Vec<String>>| {
            let (ctx, ids) = (ctx.clone(), ids.clone());
            async move {
                let _ = phase(&ctx, op, clients, WARM_UP, &read_ids, &ids).await;
                phase(&ctx, op, clients, PHASE, &read_ids, &ids).await
            }
        };
        let health = run(Op::Health, no_ids.clone()).await;
        let incidents = run(Op::Incident, no_ids.clone()).await;
        let read_ids = Arc::new(ids.lock().unwrap().clone());
        assert!(!read_ids.is_empty(), "no notification ids were collected");
        let reads = run(Op::Read, read_ids.clone()).await;

        let hz = health.rate();
        let mut add =
            |figure: String, p: &Phase, limit: String, ratio: Option<f64>, target: Option<f64>| {
                let rate_ok = match (ratio, target) {
                    (Some(r), Some(t)) => r >= t,
                    _ => true,
                };
                let clean = p.failures == 0 && p.misrouted == 0;
                rows.push(Row {
                    backend,
                    clients: Some(clients),
                    figure,
                    value: format!("{:.1}/s", p.rate()),
                    p50: Some(p.p50_ms),
                    p99: Some(p.p99_ms),
                    failures: Some(p.failures),
                    limit,
                    ratio,
                    target: match target {
                        Some(t) => format!(">= {t:.2}, 0 non-2xx"),
                        None => "0 non-2xx".to_owned(),
                    },
                    pass: rate_ok && clean,
                });
            };
        add(
            format!(
                "GET {} (limit)",
                ctx.health.strip_prefix(&hub.root).unwrap_or(&ctx.health)
            ),
            &health,
            "-".to_owned(),
            None,
            None,
        );
        add(
            "POST /incidents".to_owned(),
            &incidents,
            format!("{commit_limit:.1} {limit_name}"),
            Some(incidents.rate() / commit_limit),
            Some(INCIDENT_TARGET),
        );
        add(
            "GET /notifications/{id} logged".to_owned(),
            &reads,
            format!("{hz:.1} healthz"),
            Some(reads.rate() / hz),
            Some(READ_TARGET),
        );
        for (name, p) in [
            ("healthz", &health),
            ("incidents", &incidents),
            ("reads", &reads),
        ] {
            out.line(format!(
                "  {clients:>2} clients {name:<9} {:>9.1}/s  ({} ok in {:.2} s, p50 {:.1} ms, p99 {:.1} ms, {} non-2xx{})",
                p.rate(),
                p.ok,
                p.secs,
                p.p50_ms,
                p.p99_ms,
                p.failures,
                if name == "incidents" {
                    format!(", {} not routed to {WANTED_RECIPIENTS}", p.misrouted)
                } else if name == "reads" {
                    format!(", over {} notification ids", read_ids.len())
                } else {
                    String::new()
                }
            ));
            for s in &p.samples {
                out.line(format!("      non-2xx sample: {s}"));
            }
        }
    }

    // One principal flooding is held to its rate limit while the many above never were.
    let flood = phase(
        &ctx,
        Op::Flood,
        CLIENTS[CLIENTS.len() - 1],
        FLOOD,
        &no_ids,
        &ids,
    )
    .await;
    let only_429 = flood.samples.iter().all(|s| s.starts_with("429"));
    out.line(format!(
        "  one principal flooding GET /me from {} clients for {:.1} s: {} ok, {} answered 429 ({:.0}% throttled)",
        CLIENTS[CLIENTS.len() - 1],
        flood.secs,
        flood.ok,
        flood.failures,
        100.0 * flood.failures as f64 / (flood.ok + flood.failures).max(1) as f64
    ));
    for s in &flood.samples {
        out.line(format!("      flood answer sample: {s}"));
    }
    rows.push(Row {
        backend,
        clients: Some(CLIENTS[CLIENTS.len() - 1]),
        figure: "one principal flooding: 429s".to_owned(),
        value: flood.failures.to_string(),
        p50: Some(flood.p50_ms),
        p99: Some(flood.p99_ms),
        failures: None,
        limit: "-".to_owned(),
        ratio: None,
        target: "> 0, all 429".to_owned(),
        pass: flood.failures > 0 && only_429,
    });

    let rss = hub.peak_rss_mib();
    let alive = hub.child.try_wait().unwrap().is_none();
    out.line(format!(
        "  hub still running at the end: {alive}; log {} KiB",
        std::fs::metadata(&hub.log).map_or(0, |m| m.len() / 1024)
    ));
    hub.stop();
    rows.push(Row {
        backend,
        clients: None,
        figure: "peak RSS of the hub (VmHWM)".to_owned(),
        value: rss.map_or("?".to_owned(), |m| format!("{m:.1} MiB")),
        p50: None,
        p99: None,
        failures: None,
        limit: "-".to_owned(),
        ratio: None,
        target: format!("<= {RSS_TARGET_MIB:.0} MiB"),
        pass: rss.is_some_and(|m| m <= RSS_TARGET_MIB),
    });
    rows
}
