//! Audit trail benchmark: `cargo bench --bench audit`.
//!
//! Prints appends per second on SQLite (and on PostgreSQL when `MSHT_HUB_TEST_POSTGRES_URL`
//! names an admin connection, e.g. from `eval "$(ci/postgres.sh start)"`):
//! - single: one entry per transaction, one thread;
//! - concurrent: several threads, each appending one entry per transaction of its own;
//! - group commit: `append_all` batches, one head update per batch;
//!
//! then builds a log of `MSHT_HUB_BENCH_VERIFY_ENTRIES` entries (default 1,000,000) on SQLite
//! the way the hub does (mostly single appends, each with its own receipt), times a full
//! verification (`audit::verify::verify_database`, what `msht-hub audit verify` and
//! `GET /audit/verify` run) and, in the same run over the same bodies, raw SHA-256 on one
//! core, and prints both in MB/s with their ratio. With a PostgreSQL admin URL
//! (`MSHT_HUB_BENCH_POSTGRES_URL`, set by `ci/bench-verify.sh`, which starts it durable) the
//! same log is copied there row for row and verified again. Beside the ratio it prints the
//! load average, the CPU time the verification used, and the least work a verification has
//! to do, each part timed alone on one core (reading, and on SQLite what SQLite itself takes
//! to step through the same statements copying nothing; leaf hashes; the tree fold; the root
//! at every size a receipt names), and the best ratio that work allows spread over every
//! core. `MSHT_HUB_BENCH_APPENDS=0` skips
//! the append runs; `MSHT_HUB_BENCH_WALK=1` also times the step-by-step walk alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use msht_hub::audit::{self, frontier::Frontier, heads::TrustedKeys, merkle};
use msht_hub::clock::Clock;
use msht_hub::config::DatabaseSettings;
use msht_hub::domain::audit::{Actor, AgreementRef, Decision, LawfulBasis, NewEntry, Operation};
use msht_hub::domain::ids::AgencyId;
use msht_hub::domain::role::Role;
use msht_hub::store::audit::page::{LogScan, Reader};
use msht_hub::store::{audit as rows, in_snapshot, ConnManager, Db};

const THREADS: usize = 8;

fn settings(pool: u32) -> DatabaseSettings {
    DatabaseSettings {
        pool_size: pool,
        connection_timeout_ms: 60_000,
        busy_timeout_ms: 60_000,
        sqlite_synchronous: msht_hub::store::Synchronous::Full,
        checkpoint_interval_ms: 250,
    }
}

/// A realistic disclosure entry (about 900 bytes of canonical JSON).
fn entry(i: u64, now: DateTime<Utc>) -> NewEntry {
    let from = AgencyId::new();
    let mut e = NewEntry::new(
        Operation::Disclosure,
        Actor {
            agency_id: Some(from),
            issuer: "https://login.police.example.org/realms/msht".into(),
            subject: format!("officer-{}", i % 500),
            roles: vec![Role::Practitioner],
        },
        now,
    )
    .record("incident", uuid::Uuid::now_v7())
    .purpose("safeguarding")
    .justification("Child victim in the MASH's area; the agreement allows the minimised record.")
    .recipients(vec![AgencyId::new(), AgencyId::new()])
    .data_items(vec![
        "area".into(),
        "exploitation_types".into(),
        "threats".into(),
        "victims[].age_band".into(),
        "victims[].needs".into(),
    ])
    .decision(
        Decision::Shared,
        vec![
            "agreement active and in date".into(),
            "fields allowed for recipient".into(),
        ],
    );
    e.subject_refs = vec![format!("person-{}", i % 10_000)];
    e.agreement = Some(AgreementRef {
        id: uuid::Uuid::now_v7().to_string(),
        version: 3,
    });
    e.lawful_basis = Some(LawfulBasis {
        regime: "dpa2018_part3".into(),
        condition: "sch8_safeguarding".into(),
        special_category: None,
    });
    e.consent = Some("not_required".into());
    e.classification = Some("official_sensitive".into());
    e.retention_days = Some(365);
    e
}

fn rate(n: u64, d: Duration) -> String {
    format!("{:>10.0}/s", n as f64 / d.as_secs_f64())
}

fn report(backend: &str, what: &str, n: u64, d: Duration) {
    println!(
        "{backend:<10} {what:<44} {n:>9} entries in {:>7.2} s = {} ",
        d.as_secs_f64(),
        rate(n, d)
    );
}

/// The three append measurements on one database.
fn appends(backend: &str, db: &Db, n: u64) {
    let now = Clock::system().now();
    let t = Instant::now();
    for i in 0..n {
        let e = entry(i, now);
        db.write_blocking(move |c| audit::append(c, &e)).unwrap();
    }
    report(
        backend,
        "single thread, 1 entry per transaction",
        n,
        t.elapsed(),
    );

    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..THREADS as u64 {
            s.spawn(move || {
                for i in 0..n / THREADS as u64 {
                    let e = entry(th * n + i, now);
                    db.write_blocking(move |c| audit::append(c, &e)).unwrap();
                }
            });
        }
    });
    let concurrent = n / THREADS as u64 * THREADS as u64;
    report(
        backend,
        &format!("{THREADS} threads, 1 entry per transaction"),
        concurrent,
        t.elapsed(),
    );

    for batch in [10u64, 100] {
        let total = n * 10;
        let t = Instant::now();
        for b in 0..total / batch {
            let entries: Vec<NewEntry> = (0..batch).map(|i| entry(b * batch + i, now)).collect();
            db.write_blocking(move |c| audit::append_all(c, &entries))
                .unwrap();
        }
        report(
            backend,
            &format!("group commit, append_all of {batch}"),
            total,
            t.elapsed(),
        );
    }

    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..THREADS as u64 {
            s.spawn(move || {
                for b in 0..n / THREADS as u64 / 10 {
                    let entries: Vec<NewEntry> =
                        (0..100).map(|i| entry(th * n + b * 100 + i, now)).collect();
                    db.write_blocking(move |c| audit::append_all(c, &entries))
                        .unwrap();
                }
            });
        }
    });
    let grouped = n / THREADS as u64 / 10 * 100 * THREADS as u64;
    report(
        backend,
        &format!("{THREADS} threads, append_all of 100"),
        grouped,
        t.elapsed(),
    );
    let size = db.read_blocking(audit::proofs::current_size).unwrap();
    let expected = n + concurrent + n * 10 * 2 + grouped;
    assert_eq!(
        size, expected,
        "{backend}: the log has every entry, no gaps"
    );
}

fn sqlite_db(dir: &std::path::Path, name: &str, pool: u32) -> (Db, String) {
    let url = format!("sqlite://{}", dir.join(name).display());
    (Db::open(&url, &settings(pool)).unwrap(), url)
}

fn postgres_db(admin: &str) -> (Db, String, String) {
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let mut c = diesel::PgConnection::establish(admin).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    (
        Db::open(&url, &settings(THREADS as u32 + 2)).unwrap(),
        url,
        name,
    )
}

/// A consultation entry, as every logged read appends one on its own (about 600 bytes).
fn consultation(i: u64, now: DateTime<Utc>) -> NewEntry {
    let mut e = NewEntry::new(
        Operation::Consultation,
        Actor {
            agency_id: Some(AgencyId::new()),
            issuer: "https://login.council.example.org/realms/msht".into(),
            subject: format!("officer-{}", i % 700),
            roles: vec![Role::Practitioner],
        },
        now,
    )
    .record("notification", uuid::Uuid::now_v7())
    .purpose("safeguarding")
    .decision(Decision::Allowed, vec!["GET /notifications/{id}".into()]);
    e.subject_refs = vec![format!("person-{}", i % 10_000)];
    e
}

/// Builds a log of `entries` entries the way the hub does: one writer transaction holds many
/// intents, and most intents append one entry of their own (each with its own receipt and
/// tree size); one intent in 16 is an incident's `append_all` of 7 (a collection and its
/// disclosures).
fn build_log(db: &Db, entries: u64) {
    let now = Clock::system().now();
    let mut built = 0u64;
    while built < entries {
        let start = built;
        let mut intents: Vec<Vec<NewEntry>> = Vec::new();
        let mut n = 0u64;
        while n < 1000 && built < entries {
            let i = start + n;
            let group = if intents.len() % 16 == 0 { 7 } else { 1 };
            let group = group.min(entries - built);
            intents.push(
                (0..group)
                    .map(|k| {
                        if group == 1 {
                            consultation(i, now)
                        } else {
                            entry(i + k, now)
                        }
                    })
                    .collect(),
            );
            n += group;
            built += group;
        }
        db.write_blocking(move |c| {
            for list in &intents {
                audit::append_all(c, list)?;
            }
            Ok(())
        })
        .unwrap();
    }
}

/// Copies the SQLite log at `from` into `to` row for row (entries, links, head), so both
/// backends verify exactly the same log.
fn copy_log(from: &str, to: &Db) {
    let mut src = ConnManager::new(from, 60_000).unwrap().open().unwrap();
    let mut after = 0i64;
    loop {
        let page = rows::scan(&mut src, after, 10_000).unwrap();
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            break;
        };
        let (agencies, subjects) = rows::links_between(&mut src, first.seq, last.seq).unwrap();
        after = last.seq;
        to.write_blocking(move |c| rows::write_entries(c, &page, &agencies, &subjects))
            .unwrap();
    }
    let head = rows::read_head(&mut src).unwrap();
    to.write_blocking(move |c| {
        rows::update_head(c, head.tree_size, &head.root_hash, &head.frontier)
    })
    .unwrap();
}

/// Times `msht-hub audit verify`'s check of the log at `url` and, in the same run, raw
/// SHA-256 over the same bodies on one core; prints both with their ratio.
fn verify_and_compare(backend: &str, url: &str, entries: u64) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (t, cpu) = (Instant::now(), cpu_time());
    let result =
        audit::verify::verify_database(url, 60_000, &TrustedKeys::new(), &mut |_, _| {}).unwrap();
    let (verify, verify_cpu) = (t.elapsed(), cpu_time().saturating_sub(cpu));
    assert!(result.ok, "{result:?}");
    assert_eq!(result.entries_checked, entries);

    // Only reading the pages, as the verification reads them, for comparison; and on an
    // SQLite file, SQLite stepping through the same statements touching every value where
    // it lies (what reading costs SQLite itself: the floor for reading).
    let mut conn = ConnManager::new(url, 60_000).unwrap().open().unwrap();
    rows::page::prepare_for_scan(&mut conn).unwrap();
    let sqlite_file = url.strip_prefix("sqlite://").map(std::path::Path::new);
    let t = Instant::now();
    {
        let mut scan = match sqlite_file {
            Some(path) => LogScan::sqlite_file(path, 60_000, 1).unwrap(),
            None => LogScan::on(&mut conn).unwrap(),
        };
        let mut page = rows::page::Page::default();
        let reader = scan.readers().first_mut().unwrap();
        for k in 0..entries.div_ceil(4096).max(1) as i64 {
            let (lo, hi) = (k * 4096 + 1, (k + 1) * 4096);
            reader.read(lo, hi, &mut page).unwrap();
            std::hint::black_box(&page);
        }
    }
    let reading = t.elapsed();
    let server = (backend == "postgres").then(|| postgres_reads(&mut conn, entries));
    let floor = sqlite_file.map(|path| {
        let mut scan = LogScan::sqlite_file(path, 60_000, 1).unwrap();
        let t = Instant::now();
        let Some(Reader::Sqlite(s)) = scan.readers().first_mut() else {
            unreachable!()
        };
        std::hint::black_box(s.skim().unwrap());
        t.elapsed()
    });

    // The same bytes through SHA-256 alone (the leaf hashes), on one core, read beforehand.
    let mut bodies: Vec<String> = Vec::with_capacity(entries as usize);
    let mut receipts: Vec<u64> = Vec::with_capacity(entries as usize);
    let mut after = 0i64;
    loop {
        let page = rows::scan(&mut conn, after, 10_000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in page {
            receipts.push(r.receipt_tree_size as u64);
            bodies.push(r.body);
        }
    }
    let bytes: u64 = bodies.iter().map(|b| b.len() as u64).sum();
    let t = Instant::now();
    for b in &bodies {
        std::hint::black_box(merkle::leaf_hash(std::hint::black_box(b.as_bytes())));
    }
    let sha = t.elapsed();
    let (fold, roots, sizes) = tree_work(&bodies, &receipts);
    let mb = bytes as f64 / 1e6;
    let (verify_mbs, sha_mbs) = (mb / verify.as_secs_f64(), mb / sha.as_secs_f64());
    println!(
        "{backend:<10} verify {entries} entries ({mb:.0} MB): {:>6.2} s = {verify_mbs:>6.0} MB/s | \
         raw SHA-256, 1 core: {:>5.2} s = {sha_mbs:>6.0} MB/s | ratio {:.2}",
        verify.as_secs_f64(),
        sha.as_secs_f64(),
        verify_mbs / sha_mbs
    );
    println!(
        "{backend:<10}   (load average before: {}; the verification used {:.2} s of CPU in this \
         process{})",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        verify_cpu.as_secs_f64(),
        if backend == "postgres" {
            ", the server's not counted"
        } else {
            ""
        }
    );
    println!(
        "{backend:<10}   (reading the pages alone, one reader on one thread: {:.2} s{})",
        reading.as_secs_f64(),
        floor
            .map(|f| format!(
                "; SQLite itself stepping the same statements, copying nothing: {:.2} s",
                f.as_secs_f64()
            ))
            .or(server.map(|f| format!(
                "; PostgreSQL itself executing the same reads over the whole log, sending \
                 nothing (EXPLAIN ANALYZE): {:.2} s",
                f.as_secs_f64()
            )))
            .unwrap_or_default()
    );
    // What a verification must do at the least, each part alone on one core: read the
    // rows (what SQLite itself takes, where it can be measured), hash the bodies, fold the
    // tree, and compute the root at each size a receipt names.
    let work = floor.unwrap_or(reading) + sha + fold + roots;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let best = work.as_secs_f64() / cores;
    println!(
        "{backend:<10}   work on one core: {} {:.2} s + leaf SHA-256 {:.2} s + tree fold {:.2} s \
         + roots at the {} sizes receipts name {:.2} s = {:.2} s; spread over {cores} cores at best {best:.2} s = {:.0} MB/s, \
         ratio at most {:.2} before the body checks",
        if floor.is_some() {
            "SQLite reading"
        } else {
            "reading"
        },
        floor.unwrap_or(reading).as_secs_f64(),
        sha.as_secs_f64(),
        fold.as_secs_f64(),
        sizes,
        roots.as_secs_f64(),
        work.as_secs_f64(),
        mb / best,
        (mb / best) / sha_mbs
    );
}

/// What PostgreSQL itself takes to execute the reads a verification sends, over the whole
/// log at once, without sending the rows (its executor's time, from `EXPLAIN ANALYZE`).
fn postgres_reads(conn: &mut msht_hub::store::DbConn, entries: u64) -> Duration {
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let msht_hub::store::DbConn::Pg(pg) = conn else {
        return Duration::ZERO;
    };
    [
        "SELECT seq, receipt_tree_size, operation, CAST(occurred_at AS TEXT), record_kind, \
         record_id, purpose, body, leaf_hash, subtree_hashes, receipt_root FROM audit_entries \
         WHERE seq > 0 ORDER BY seq"
            .to_owned(),
        format!(
            "SELECT seq, agency_id, relation FROM audit_entry_agencies WHERE seq BETWEEN 1 AND \
             {entries} ORDER BY seq, agency_id, relation"
        ),
        format!(
            "SELECT seq, subject_ref FROM audit_entry_subjects WHERE seq BETWEEN 1 AND {entries} \
             ORDER BY seq, subject_ref"
        ),
    ]
    .iter()
    .map(|q| {
        let plan: Vec<Plan> = diesel::sql_query(format!("EXPLAIN (ANALYZE, TIMING OFF) {q}"))
            .load(pg)
            .unwrap();
        let ms: f64 = plan
            .iter()
            .find_map(|p| p.line.strip_prefix("Execution Time: "))
            .and_then(|t| t.trim_end_matches(" ms").parse().ok())
            .unwrap_or(0.0);
        Duration::from_secs_f64(ms / 1000.0)
    })
    .sum()
}

/// This process's CPU time so far (user and system, every thread).
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// The tree alone, on one core: folding every leaf in (with the interior nodes each one
/// completes), then folding again while computing the root once at every size a receipt
/// names (as verification does). Returns both times and how many sizes.
fn tree_work(bodies: &[String], receipts: &[u64]) -> (Duration, Duration, usize) {
    let leaves: Vec<merkle::Hash> = bodies
        .iter()
        .map(|b| merkle::leaf_hash(b.as_bytes()))
        .collect();
    let t = Instant::now();
    let mut f = Frontier::empty();
    for leaf in &leaves {
        std::hint::black_box(f.push_matching(*leaf, &[]));
    }
    let fold = t.elapsed();
    let mut sizes = receipts.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let t = Instant::now();
    let mut f = Frontier::empty();
    let mut next = sizes.iter().peekable();
    for leaf in &leaves {
        f.push_matching(*leaf, &[]);
        while next.next_if(|s| **s == f.size()).is_some() {
            std::hint::black_box(f.root());
        }
    }
    (fold, t.elapsed().saturating_sub(fold), sizes.len())
}

/// The step-by-step walk alone (what verification did before it ran on every core).
fn walk_only(backend: &str, url: &str) {
    let mut conn = ConnManager::new(url, 60_000).unwrap().open().unwrap();
    let t = Instant::now();
    let result = in_snapshot(&mut conn, |c| {
        audit::verify::walk_log(c, &TrustedKeys::new(), &mut |_, _| {})
    })
    .unwrap();
    assert!(result.ok, "{result:?}");
    println!(
        "{backend:<10} the step-by-step walk alone (one core, typed parse): {:.2} s",
        t.elapsed().as_secs_f64()
    );
}

fn verify_million(dir: &std::path::Path, entries: u64, postgres: Option<&str>) {
    // MSHT_HUB_BENCH_VERIFY_DB=FILE keeps the built log there and reuses it on later runs.
    let kept = std::env::var("MSHT_HUB_BENCH_VERIFY_DB").ok();
    let path = kept
        .as_deref()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.join("verify.db"));
    let reuse = path.exists();
    let url = format!("sqlite://{}", path.display());
    let db = Db::open(&url, &settings(2)).unwrap();
    println!();
    if reuse {
        println!("reusing the log in {}", path.display());
    } else {
        println!(
            "building a log of {entries} entries on SQLite (mostly single appends, 1 intent in \
             16 an append_all of 7; 1000 intents per writer transaction) ..."
        );
        let t = Instant::now();
        build_log(&db, entries);
        report("sqlite", "building the log", entries, t.elapsed());
    }
    let entries = db.read_blocking(audit::proofs::current_size).unwrap();
    drop(db);
    verify_and_compare("sqlite", &url, entries);
    if std::env::var("MSHT_HUB_BENCH_WALK").is_ok_and(|v| v == "1") {
        walk_only("sqlite", &url);
    }
    if let Some(admin) = postgres {
        let (pg, pg_url, name) = postgres_db(admin);
        let t = Instant::now();
        copy_log(&url, &pg);
        report("postgres", "copying the same log", entries, t.elapsed());
        drop(pg);
        let mut c = diesel::PgConnection::establish(admin).unwrap();
        let mut on = diesel::PgConnection::establish(&pg_url).unwrap();
        on.batch_execute("VACUUM ANALYZE").unwrap();
        let settings: Vec<(String, String)> = ["fsync", "synchronous_commit", "full_page_writes"]
            .iter()
            .map(|k| {
                #[derive(diesel::QueryableByName)]
                struct Setting {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    setting: String,
                }
                let v: Setting = diesel::sql_query(format!(
                    "SELECT setting FROM pg_settings WHERE name = '{k}'"
                ))
                .get_result(&mut on)
                .unwrap();
                (k.to_string(), v.setting)
            })
            .collect();
        println!("postgres   server settings: {settings:?}");
        verify_and_compare("postgres", &pg_url, entries);
        drop(on);
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
    } else {
        println!("postgres   verify skipped (set MSHT_HUB_BENCH_POSTGRES_URL or MSHT_HUB_TEST_POSTGRES_URL; ci/bench-verify.sh does)");
    }
}

/// The append measurements on SQLite and (when configured) PostgreSQL.
fn appends_all(dir: &std::path::Path, n: u64) {
    println!(
"audit appends ({THREADS} threads for the concurrent runs; every run checks the log is gapless)");
    let (db, _) = sqlite_db(dir, "appends.db", THREADS as u32 + 2);
    appends("sqlite", &db, n);
    drop(db);
    match std::env::var("MSHT_HUB_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let (db, _, name) = postgres_db(&admin);
            appends("postgres", &db, n);
            drop(db);
            let mut c = diesel::PgConnection::establish(&admin).unwrap();
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        }
        _ => println!("postgres   skipped (set MSHT_HUB_TEST_POSTGRES_URL, e.g. eval \"$(ci/postgres.sh start)\")"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let dir = tempfile::tempdir().unwrap();
    let n: u64 = std::env::var("MSHT_HUB_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    if n == 0 {
        println!("audit appends skipped (MSHT_HUB_BENCH_APPENDS=0)");
    } else {
        appends_all(dir.path(), n);
    }
    let entries: u64 = std::env::var("MSHT_HUB_BENCH_VERIFY_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let postgres = std::env::var("MSHT_HUB_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("MSHT_HUB_TEST_POSTGRES_URL"))
        .ok()
        .filter(|u| !u.is_empty());
    verify_million(dir.path(), entries, postgres.as_deref());
}
