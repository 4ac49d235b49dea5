//! The audit log as evidence: tampering with the database is found and located by
//! `GET /audit/verify` and by `msht-hub audit verify`; proofs check with the independent
//! RFC 9162 verifier in `rfc9162.rs`; an action that fails takes its entries with it; and
//! concurrent appends leave one gapless sequence.
use diesel::RunQueryDsl;
use msht_hub::audit;
use msht_hub::domain::agency::{AgencyKind, GssCode, NewAgency};
use msht_hub::domain::audit::{Decision, NewEntry, Operation};
use msht_hub::domain::role::Role;
use msht_hub::error::AppError;
use msht_hub::store::Db;
use msht_hub::usecase;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::Value;

use crate::audit::{actor, all_events, append, auditor, disclosure};
use crate::helpers::TestApp;
use crate::rfc9162::{self, Hash};

/// A log of a few agencies' governance entries and `n` disclosures, with a signed head.
async fn populated(n: usize) -> TestApp {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let entries = (0..n)
        .map(|i| {
            let mut e = disclosure(&app, &a, &[&b], &[&format!("p-{i}")], Decision::Shared);
            e.justification = Some(format!("original justification {i}"));
            e
        })
        .collect();
    append(&app, entries).await;
    let head = app.get("/audit/tree-head", &auditor(&app)).await;
    assert_eq!(head.0, StatusCode::OK);
    app
}

/// Runs SQL against the hub's database behind its back, through the audit tables'
/// maintenance path (the append-only triggers let it through).
async fn tamper(app: &TestApp, statements: &[&str]) {
    let url = app.settings.effective_database_url();
    let settings = app.settings.database.clone();
    let statements: Vec<String> = statements.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let db = Db::open(&url, &settings).unwrap();
        db.write_blocking(move |c| {
            crate::audit_append_only::enter_maintenance(c);
            for s in &statements {
                let n = diesel::sql_query(s.as_str()).execute(c)?;
                assert!(n > 0, "{s} changed nothing");
            }
            crate::audit_append_only::leave_maintenance(c);
            Ok(())
        })
        .unwrap();
    })
    .await
    .unwrap();
}

/// `GET /audit/verify`.
async fn api_verify(app: &TestApp) -> Value {
    let r = app
        .get("/audit/verify?purpose=integrity_security", &auditor(app))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

/// `msht-hub audit verify` against the test hub's database and data folder.
async fn cli_verify(app: &TestApp) -> (i32, String, String) {
    let url = app.settings.effective_database_url();
    let dir = app.data_dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_msht-hub"))
            .args(["audit", "verify", "--database-url", &url, "--data-dir"])
            .arg(&dir)
            .env_remove("MSHT_HUB__DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// The parallel checks alone and the step-by-step walk alone, on the hub's database.
async fn both_ways(app: &TestApp) -> (Option<audit::verify::Report>, audit::verify::Report) {
    let url = app.settings.effective_database_url();
    let keys = app.state.audit.trusted.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = msht_hub::store::ConnManager::new(&url, 5000)
            .unwrap()
            .open()
            .unwrap();
        let (fast, walk) = msht_hub::store::in_snapshot(&mut conn, |c| {
            let fast = audit::verify::verify_in_parallel(c, &keys, &mut |_, _| {})?;
            let walk = audit::verify::walk_log(c, &keys, &mut |_, _| {})?;
            Ok((fast, walk))
        })
        .unwrap();
        // On SQLite the same checks also read the file on a connection of their own.
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut scan =
                msht_hub::store::audit::page::LogScan::sqlite_file(path.as_ref(), 5000, 2).unwrap();
            let own =
                audit::verify::verify_scan_in_parallel(&mut scan, &keys, &mut |_, _| {}).unwrap();
            assert_eq!(own, fast, "reading the file on its own shows the same");
            // Small pages: the log spans many pages, taken by both readers in turn and
            // folded out of order, with page edges at every seq.
            for page in [1, 2, 3, 7] {
                let mut scan =
                    msht_hub::store::audit::page::LogScan::sqlite_file(path.as_ref(), 5000, 2)
                        .unwrap();
                assert_eq!(scan.readers().len(), 2);
                let paged =
                    audit::verify::verify_in_pages(&mut scan, &keys, &mut |_, _| {}, page).unwrap();
                assert_eq!(paged, fast, "pages of {page} seqs show the same");
            }
        } else {
            // PostgreSQL: further connections in the walk's snapshot, many small pages.
            let manager = msht_hub::store::ConnManager::new(&url, 5000).unwrap();
            let shared = msht_hub::store::in_snapshot(&mut conn, |c| {
                let mut scan =
                    msht_hub::store::audit::page::LogScan::sharing(c, &manager, 3).unwrap();
                assert_eq!(
                    scan.readers().len(),
                    3,
                    "both further readers share the snapshot"
                );
                audit::verify::verify_in_pages(&mut scan, &keys, &mut |_, _| {}, 3)
            })
            .unwrap();
            assert_eq!(shared, fast, "readers sharing the snapshot show the same");
        }
        (fast, walk)
    })
    .await
    .unwrap()
}

async fn assert_intact(app: &TestApp) {
    let (fast, walk) = both_ways(app).await;
    assert!(walk.ok, "{walk:?}");
    assert_eq!(
        fast,
        Some(walk),
        "the parallel checks verify an intact log on their own"
    );
    let report = api_verify(app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["tree_heads_checked"].as_u64().unwrap() >= 1,
        "{report}"
    );
    let (code, out, err) = cli_verify(app).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("audit log OK:"), "{out}");
    assert!(err.contains("audit verify:"), "progress on stderr: {err}");
}

async fn assert_first_bad(app: &TestApp, seq: i64, words: &str) {
    let (fast, walk) = both_ways(app).await;
    assert_eq!(
        fast, None,
        "the parallel checks see the problem too: {walk:?}"
    );
    let report = api_verify(app).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_bad_seq"], seq, "{report}");
    assert!(
        report["problem"].as_str().unwrap().contains(words),
        "{report}"
    );
    let (code, out, err) = cli_verify(app).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("FAILED: first bad seq {seq}:")),
        "{out}{err}"
    );
}

#[tokio::test]
async fn editing_a_field_of_an_entry_is_found_and_located() {
    let app = populated(20).await;
    assert_intact(&app).await;
    tamper(
        &app,
        &[
            "UPDATE audit_entries SET body = replace(body, 'original justification 4', \
           'harmless justification 4') WHERE seq = 9",
        ],
    )
    .await;
    assert_first_bad(&app, 9, "edited").await;
}

#[tokio::test]
async fn editing_an_indexed_column_is_found_and_located() {
    let app = populated(20).await;
    tamper(
        &app,
        &["UPDATE audit_entries SET purpose = 'investigation' WHERE seq = 7"],
    )
    .await;
    assert_first_bad(&app, 7, "column purpose").await;
    // Also re-pointing an entry at another agency through the link table.
    let app = populated(5).await;
    tamper(
        &app,
        &["DELETE FROM audit_entry_agencies WHERE seq = 6 AND relation = 'recipient'"],
    )
    .await;
    assert_first_bad(&app, 6, "agency links").await;
}

#[tokio::test]
async fn deleting_an_entry_is_found_and_located() {
    let app = populated(20).await;
    tamper(&app, &["DELETE FROM audit_entries WHERE seq = 11"]).await;
    assert_first_bad(&app, 11, "missing").await;
    // So is deleting the newest entry, which a signed tree head already covers.
    let app = populated(6).await;
    let size = app.get("/audit/tree-head", &auditor(&app)).await.1["tree_size"]
        .as_i64()
        .unwrap();
    tamper(
        &app,
        &[&format!("DELETE FROM audit_entries WHERE seq = {size}")],
    )
    .await;
    assert_first_bad(&app, size, "missing").await;
}

#[tokio::test]
async fn swapping_two_entries_is_found_and_located() {
    let app = populated(20).await;
    tamper(
        &app,
        &[
            "UPDATE audit_entries SET seq = -5 WHERE seq = 5",
            "UPDATE audit_entries SET seq = 5 WHERE seq = 8",
            "UPDATE audit_entries SET seq = 8 WHERE seq = -5",
        ],
    )
    .await;
    assert_first_bad(&app, 5, "swapped or reordered").await;
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| rfc9162::hash_from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn proofs_verify_with_an_independent_rfc9162_verifier_for_many_tree_sizes() {
    let app = TestApp::spawn().await;
    // 75 leaves in batches of 1 to 7, so group commits of every shape are in the tree.
    let (mut left, mut batch) = (75usize, 1usize);
    while left > 0 {
        let n = batch.min(left);
        let entries = (0..n)
            .map(|i| {
                NewEntry::new(
                    Operation::Collection,
                    actor(None, &format!("s{left}-{i}"), Role::Practitioner),
                    app.clock.now(),
                )
                .record("incident", format!("i-{left}-{i}"))
            })
            .collect();
        let receipts = append(&app, entries).await;
        let last = receipts.last().unwrap();
        assert!(receipts
            .iter()
            .all(|r| r.tree_size == last.tree_size && r.root_hash == last.root_hash));
        left -= n;
        batch = batch % 7 + 1;
    }
    let token = auditor(&app);
    let events = all_events(&app, &token, "").await;
    // Leaf hashes computed here from the canonical bodies, not taken from the hub.
    let leaves: Vec<Hash> = events
        .iter()
        .map(|e| rfc9162::leaf_hash(e["canonical"].as_str().unwrap().as_bytes()))
        .collect();
    let n = leaves.len() as u64;
    assert!(n >= 75);

    let check = |m: u64, size: u64, first: u64| {
        let app = &app;
        let token = token.clone();
        let leaves = leaves.clone();
        async move {
            let d = &leaves[..size as usize];
            let root = rfc9162::mth_from_leaf_hashes(d);
            let i = app
                .get(
                    &format!("/audit/proofs/inclusion?seq={m}&tree_size={size}"),
                    &token,
                )
                .await;
            assert_eq!(i.0, StatusCode::OK, "{}", i.1);
            let path = hashes(&i.1["audit_path"]);
            assert_eq!(
                Some(path.clone()),
                rfc9162::inclusion_path(m as usize - 1, d)
            );
            assert_eq!(
                rfc9162::hash_from_hex(i.1["root_hash"].as_str().unwrap()),
                Some(root)
            );
            assert!(
                rfc9162::verify_inclusion(&leaves[m as usize - 1], m - 1, size, &path, &root),
                "inclusion of {m} in {size}"
            );
            let c = app
                .get(
                    &format!("/audit/proofs/consistency?first={first}&second={size}"),
                    &token,
                )
                .await;
            assert_eq!(c.0, StatusCode::OK, "{}", c.1);
            let proof = hashes(&c.1["proof"]);
            let first_root = rfc9162::mth_from_leaf_hashes(&leaves[..first as usize]);
            assert_eq!(
                Some(proof.clone()),
                rfc9162::consistency_path(first as usize, d)
            );
            assert!(
                rfc9162::verify_consistency(first, size, &first_root, &root, &proof),
                "consistency {first} -> {size}"
            );
        }
    };
    // Every pair in the small trees ...
    for size in 1..=17u64 {
        for m in 1..=size {
            check(m, size, m).await;
        }
    }
    // ... and random ones up to the whole log (powers of two and not).
    let mut runner = TestRunner::new(Config::with_cases(200));
    let cases = (1..=n).prop_flat_map(|size| (1..=size, proptest::strategy::Just(size), 1..=size));
    for _ in 0..200 {
        let (m, size, first) = cases.new_tree(&mut runner).unwrap().current();
        check(m, size, first).await;
    }
    for size in [1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 32, 33, 64, n - 1, n] {
        check(size, size, 1).await;
        check(1, size, size).await;
    }
}

#[tokio::test]
async fn an_action_that_fails_after_its_audit_append_leaves_neither() {
    let app = TestApp::spawn().await;
    let size = |app: &TestApp| {
        let db = app.state.db().clone();
        async move { db.read(audit::proofs::current_size).await.unwrap() }
    };
    let before = size(&app).await;
    let now = app.clock.now();
    let r = app
        .state
        .db()
        .write(move |c| {
            let new = NewAgency {
                name: "Doomed Agency".into(),
                kind: AgencyKind::Ngo,
                areas: vec![GssCode::parse("E08000025").unwrap()],
                first_responder: false,
                contact_email: "x@doomed.example.org".into(),
            };
            usecase::agencies::create(c, &msht_hub::domain::audit::Actor::system(), new, now)?;
            // The agency and its governance entry are written; then a later step fails.
            assert_eq!(audit::proofs::current_size(c)?, before + 1);
            Err::<(), _>(AppError::conflict("a later step failed"))
        })
        .await;
    assert!(matches!(r, Err(AppError::Conflict { .. })));
    assert_eq!(size(&app).await, before, "no entry");
    let list = app.get("/agencies", &app.admin()).await.1;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "no agency: {list}"
    );
    // The next append takes the next number: no gap where the rolled-back entry was.
    let receipts = append(
        &app,
        vec![NewEntry::new(
            Operation::Governance,
            msht_hub::domain::audit::Actor::system(),
            now,
        )],
    )
    .await;
    assert_eq!(receipts[0].seq, before as i64 + 1);
    assert_eq!(api_verify(&app).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_form_one_gapless_sequence_that_verifies() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for t in 0..12 {
        let db = app.state.db().clone();
        let now = app.clock.now();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..15 {
                let e = NewEntry::new(
                    Operation::Consultation,
                    actor(None, &format!("task-{t}"), Role::Analyst),
                    now,
                )
                .record("incident", format!("{t}-{i}"));
                // Every third transaction is a group commit of three.
                let batch = if i % 3 == 0 {
                    vec![e.clone(), e.clone(), e]
                } else {
                    vec![e]
                };
                let receipts = db
                    .write(move |c| audit::append_all(c, &batch))
                    .await
                    .unwrap();
                seqs.extend(receipts.iter().map(|r| r.seq));
            }
            seqs
        }));
    }
    // Readers and refused requests append at the same time.
    let token = auditor(&app);
    let mut readers = Vec::new();
    for _ in 0..6 {
        let r = app.get("/audit/events?purpose=self_monitoring&limit=5", &token);
        let bad = app.get("/me", "not-a-token");
        readers.push(async move { (r.await.0, bad.await.0) });
    }
    for r in futures_util::future::join_all(readers).await {
        assert_eq!(r, (StatusCode::OK, StatusCode::UNAUTHORIZED));
    }
    let mut appended: Vec<i64> = Vec::new();
    for t in tasks {
        appended.extend(t.await.unwrap());
    }
    assert_eq!(appended.len(), 12 * 25);
    let mut sorted = appended.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), appended.len(), "no seq handed out twice");

    let all = all_events(&app, &token, "").await;
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gapless");
    assert!(seqs.len() >= 12 * 25 + 12);
    let report = api_verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
}

#[tokio::test]
async fn audit_verify_is_single_flight_and_cached() {
    let app = populated(30).await;
    let verifications = &app.state.audit.verifications;

    // Cached per tree size: the report of a run answers every request within its size.
    let first = api_verify(&app).await;
    assert_eq!(first["ok"], true, "{first}");
    let size = first["tree_size"].as_u64().unwrap();
    let runs = verifications.runs();
    let kept = verifications
        .covering(size, || async {
            panic!("the kept report covers this size")
        })
        .await
        .unwrap();
    assert_eq!((kept.tree_size, verifications.runs()), (size, runs));

    // Single flight: while a verification runs, requests wait for it and share its report.
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    let url = app.settings.effective_database_url();
    let held = tokio::spawn(async move {
        let keys = state.audit.trusted.clone();
        state
            .audit
            .verifications
            .covering(size + 1, || async move {
                let _ = wait.await;
                tokio::task::spawn_blocking(move || {
                    audit::verify::verify_database(&url, 5000, &keys, &mut |_, _| {})
                })
                .await
                .unwrap()
            })
            .await
            .unwrap()
    });
    let release = async {
        // Once the three requests below have logged themselves (and wait), let it run.
        loop {
            let now = app
                .state
                .db()
                .read(audit::proofs::current_size)
                .await
                .unwrap();
            if now >= size + 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        go.send(()).unwrap();
    };
    let (a, b, c, ()) = tokio::join!(
        api_verify(&app),
        api_verify(&app),
        api_verify(&app),
        release
    );
    let held = held.await.unwrap();
    assert!(held.ok && held.tree_size >= size + 3, "{held:?}");
    for r in [a, b, c] {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["tree_size"].as_u64(), Some(held.tree_size), "{r}");
    }
    assert_eq!(verifications.runs(), runs + 1, "one run answered all three");
}
