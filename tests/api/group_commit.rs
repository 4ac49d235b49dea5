//! The writer's batch: appending intents leave their rows for one flush per batch, an intent
//! that is not appending sees what the earlier ones of its batch left, and a failed or
//! refused appending intent gives back what it added without a gap in the log.
use std::sync::atomic::Ordering;
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use msht_hub::audit;
use msht_hub::domain::audit::{Decision, NewEntry, Operation};
use msht_hub::domain::role::Role;
use msht_hub::error::AppError;
use msht_hub::store::{Db, DbConn};
use reqwest::StatusCode;

use crate::audit::{actor, auditor, disclosure};
use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Entries in the table and the stored head's size, as `c` sees them.
fn stored(c: &mut DbConn) -> (i64, i64) {
    let entries = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_entries")
        .get_result::<Counted>(c)
        .unwrap()
        .n;
    let head = diesel::sql_query("SELECT tree_size AS n FROM audit_head")
        .get_result::<Counted>(c)
        .unwrap()
        .n;
    (entries, head)
}

/// The batch the writer is applying now (its counter moves as each batch starts).
fn batch_no(db: &Db) -> u64 {
    db.writer_stats().batches.load(Ordering::SeqCst)
}

#[tokio::test]
async fn appending_intents_of_one_batch_share_one_flush_and_a_failed_one_leaves_no_gap() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let db = app.state.db().clone();
    let (before, _) = db.write(|c| Ok(stored(c))).await.unwrap();

    // Hold the writer so that the intents below queue and are taken as one batch.
    let blocker = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|_| {
                std::thread::sleep(Duration::from_millis(1500));
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    let entry = |label: &str| {
        let mut e = disclosure(&app, &a, &[&b], &["p-1"], Decision::Shared);
        e.justification = Some(format!("group commit {label}"));
        e
    };
    let mut tasks = Vec::new();
    // A and C append; B appends, then is refused (its entry must go, its refusal stays);
    // D is not appending and reads the tables; E appends after it.
    for (label, kind) in [("A", 0), ("B", 1), ("C", 0), ("D", 2), ("E", 0)] {
        let (db, e) = (db.clone(), entry(label));
        let refusal = NewEntry::new(
            Operation::AccessDenied,
            actor(Some(&a), "practitioner-1", Role::Practitioner),
            app.clock.now(),
        )
        .justification("group commit B refused")
        .decision(Decision::Denied, vec!["test".into()]);
        let batch_of = db.clone();
        tasks.push(tokio::spawn(async move {
            match kind {
                0 => {
                    db.write_appending(move |c| {
                        let r = audit::append(c, &e)?;
                        Ok((batch_no(&batch_of), r.seq, None))
                    })
                    .await
                }
                1 => {
                    db.write_appending(move |c| {
                        audit::append(c, &e)?;
                        Err::<(u64, i64, Option<(i64, i64)>), _>(AppError::denied(
                            AppError::Forbidden("refused".into()),
                            refusal,
                        ))
                    })
                    .await
                }
                _ => {
                    db.write(move |c| Ok((batch_no(&batch_of), 0, Some(stored(c)))))
                        .await
                }
            }
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    blocker.await.unwrap().unwrap();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }

    let (ba, seq_a, _) = *out[0].as_ref().unwrap();
    assert!(
        matches!(out[1], Err(AppError::Forbidden(_))),
        "{:?}",
        out[1]
    );
    let (bc, seq_c, _) = *out[2].as_ref().unwrap();
    let (bd, _, seen) = *out[3].as_ref().unwrap();
    let (be, seq_e, _) = *out[4].as_ref().unwrap();
    assert!(
        ba == bc && bc == bd && bd == be,
        "the five intents were not one batch: {ba} {bc} {bd} {be}"
    );
    // A, B's refusal and C were flushed before D ran, head included.
    assert_eq!(seen, Some((before + 3, before + 3)));
    assert_eq!((seq_a, seq_c, seq_e), (before + 1, before + 3, before + 4));

    let (after, head) = db.write(|c| Ok(stored(c))).await.unwrap();
    assert_eq!((after, head), (before + 4, before + 4));
    let events = crate::audit::all_events(&app, &auditor(&app), "").await;
    let labelled: Vec<String> = events
        .iter()
        .filter_map(|e| e["justification"].as_str())
        .filter(|j| j.starts_with("group commit"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        labelled,
        vec![
            "group commit A",
            "group commit B refused",
            "group commit C",
            "group commit E"
        ],
        "in log order: B's own entry rolled back, its refusal kept"
    );
    let verified = app
        .get("/audit/verify?purpose=integrity_security", &auditor(&app))
        .await;
    assert_eq!(verified.0, StatusCode::OK, "{}", verified.1);
    assert_eq!(verified.1["ok"], true, "{}", verified.1);
}
