//! Audit trail benchmark: `cargo bench --bench audit`.
//!
//! Prints appends per second on SQLite (and on PostgreSQL when `MSHT_HUB_TEST_POSTGRES_URL`
//! names an admin connection, e.g. from `eval "$(ci/postgres.sh start)"`):
//! - single: one entry per transaction, one thread;
//! - concurrent: several threads, each appending one entry per transaction of its own;
//! - group commit: `append_all` batches, one head update per batch;
//!
//! then builds a log of `MSHT_HUB_BENCH_VERIFY_ENTRIES` entries (default 1,000,000) on SQLite,
//! times a full verification (`audit::verify::verify_log`, what `msht-hub audit verify`
//! runs) and, over the same canonical bodies, raw SHA-256 alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use msht_hub::audit::frontier::Frontier;
use msht_hub::audit::{self, heads::TrustedKeys, merkle};
use msht_hub::clock::Clock;
use msht_hub::config::DatabaseSettings;
use msht_hub::domain::audit::{Actor, AgreementRef, Decision, LawfulBasis, NewEntry, Operation};
use msht_hub::domain::ids::AgencyId;
use msht_hub::domain::role::Role;
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

fn verify_million(dir: &std::path::Path, entries: u64) {
    let (db, url) = sqlite_db(dir, "verify.db", 2);
    let now = Clock::system().now();
    println!();
    println!("building a log of {entries} entries on SQLite (append_all of 1000) ...");
    let t = Instant::now();
    let mut built = 0;
    while built < entries {
        let batch = 1000.min(entries - built);
        let list: Vec<NewEntry> = (0..batch).map(|i| entry(built + i, now)).collect();
        db.write_blocking(move |c| audit::append_all(c, &list))
            .unwrap();
        built += batch;
    }
    report(
        "sqlite",
        "building the log, append_all of 1000",
        entries,
        t.elapsed(),
    );
    drop(db);

    let mut conn = ConnManager::new(&url, 60_000).unwrap().open().unwrap();
    let t = Instant::now();
    let result = in_snapshot(&mut conn, |c| {
        audit::verify::verify_log(c, &TrustedKeys::new(), &mut |_, _| {})
    })
    .unwrap();
    let verify = t.elapsed();
    assert!(result.ok, "{result:?}");
    assert_eq!(result.entries_checked, entries);

    // The same bytes through SHA-256 alone: the leaf hashes over every canonical body and
    // the interior nodes, timed apart from reading the rows.
    let (mut bytes, mut leaf_time, mut after) = (0u64, Duration::ZERO, 0i64);
    let mut leaves = Vec::with_capacity(entries as usize);
    let read_started = Instant::now();
    loop {
        let page = rows::scan(&mut conn, after, 10_000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        let t = Instant::now();
        for r in &page {
            leaves.push(merkle::leaf_hash(r.body.as_bytes()));
            bytes += r.body.len() as u64;
        }
        leaf_time += t.elapsed();
    }
    let read_time = read_started.elapsed().saturating_sub(leaf_time);
    let t = Instant::now();
    let mut tree = Frontier::empty();
    for leaf in &leaves {
        std::hint::black_box(tree.push(*leaf));
    }
    std::hint::black_box(tree.root());
    let tree_time = t.elapsed();
    let mb = bytes as f64 / 1e6;
    println!(
        "sqlite     verify {entries} entries ({mb:.0} MB of canonical JSON): {:.2} s = {}",
        verify.as_secs_f64(),
        rate(entries, verify)
    );
    println!(
        "           raw SHA-256 over the same bytes (the leaf hashes): {:.2} s = {:.0} MB/s",
        leaf_time.as_secs_f64(),
        mb / leaf_time.as_secs_f64()
    );
    println!(
        "           + the {} interior nodes: {:.2} s; all hashing together is {:.0}% of verification",
        entries.saturating_sub(1),
        tree_time.as_secs_f64(),
        100.0 * (leaf_time + tree_time).as_secs_f64() / verify.as_secs_f64()
    );
    println!(
        "           only reading the rows (same pages, no checks): {:.2} s",
        read_time.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let dir = tempfile::tempdir().unwrap();
    let n: u64 = std::env::var("MSHT_HUB_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    println!("audit appends ({THREADS} threads for the concurrent runs; every run checks the log is gapless)");
    let (db, _) = sqlite_db(dir.path(), "appends.db", THREADS as u32 + 2);
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
    let entries: u64 = std::env::var("MSHT_HUB_BENCH_VERIFY_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    verify_million(dir.path(), entries);
}
