//! The audit tables are append-only at the database: UPDATE and DELETE (and TRUNCATE on
//! PostgreSQL) are refused by triggers, whoever sends them, except through the documented
//! maintenance path; the hub's own forward move of the head row still works.
use diesel::RunQueryDsl;
use msht_hub::domain::audit::Decision;
use msht_hub::store::{Db, DbConn};
use reqwest::StatusCode;

use crate::audit::{append, auditor, disclosure};
use crate::helpers::TestApp;

/// Opens the maintenance path for the rest of the transaction on `c`.
pub fn enter_maintenance(c: &mut DbConn) {
    let sql = match c {
        DbConn::Pg(_) => "SET LOCAL msht_hub.audit_maintenance = 'on'",
        DbConn::Sqlite(_) => "INSERT INTO audit_maintenance (id, reason) VALUES (1, 'test')",
    };
    diesel::sql_query(sql).execute(c).unwrap();
}

/// Closes it again before the transaction commits (SQLite: the row is never committed).
pub fn leave_maintenance(c: &mut DbConn) {
    if let DbConn::Sqlite(_) = c {
        diesel::sql_query("DELETE FROM audit_maintenance")
            .execute(c)
            .unwrap();
    }
}

/// Runs one statement in its own transaction on a fresh connection to the hub's database;
/// the database's error, if it refused.
pub async fn run(app: &TestApp, sql: &str, maintenance: bool) -> Result<usize, String> {
    let url = app.settings.effective_database_url();
    let settings = app.settings.database.clone();
    let sql = sql.to_owned();
    tokio::task::spawn_blocking(move || {
        let db = Db::open(&url, &settings).unwrap();
        db.write_blocking(move |c| {
            if maintenance {
                enter_maintenance(c);
            }
            let n = diesel::sql_query(sql.as_str()).execute(c)?;
            if maintenance {
                leave_maintenance(c);
            }
            Ok(n)
        })
        .map_err(|e| format!("{e:?}"))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_update_on_an_audit_row_is_refused_by_the_database() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let entries = (0..3)
        .map(|i| disclosure(&app, &a, &[&b], &[&format!("p-{i}")], Decision::Shared))
        .collect();
    append(&app, entries).await;
    let head = app.get("/audit/tree-head", &auditor(&app)).await;
    assert_eq!(head.0, StatusCode::OK, "{}", head.1);

    let refused = [
        "UPDATE audit_entries SET purpose = 'investigation' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = (SELECT MAX(seq) FROM audit_entries)",
        "UPDATE audit_entry_agencies SET relation = 'actor' WHERE relation = 'recipient'",
        "DELETE FROM audit_entry_agencies",
        "DELETE FROM audit_entry_subjects",
        "UPDATE audit_tree_heads SET key_id = 'other'",
        "DELETE FROM audit_tree_heads",
        "UPDATE audit_head SET tree_size = tree_size - 1",
        "UPDATE audit_head SET tree_size = tree_size",
        "DELETE FROM audit_head",
    ];
    for sql in refused {
        let err = run(&app, sql, false).await.expect_err(sql);
        assert!(
            err.contains("append-only") || err.contains("only moves forward"),
            "{sql}: {err}"
        );
    }
    if app
        .settings
        .effective_database_url()
        .starts_with("postgres")
    {
        for table in ["audit_entries", "audit_tree_heads", "audit_head"] {
            let sql = format!("TRUNCATE {table}");
            let err = run(&app, &sql, false).await.expect_err(&sql);
            assert!(
                err.contains("append-only") || err.contains("forward"),
                "{err}"
            );
        }
    }

    // Nothing changed: the log still verifies, and the hub still appends (the head's
    // forward move is allowed).
    let report = app
        .get("/audit/verify?purpose=integrity_security", &auditor(&app))
        .await;
    assert_eq!(report.1["ok"], true, "{}", report.1);
    let more = vec![disclosure(&app, &a, &[&b], &["p-9"], Decision::Shared)];
    let receipts = append(&app, more).await;
    assert!(receipts[0].seq > 3);

    // The maintenance path lets a change through, and verification then finds it.
    let n = run(
        &app,
        "UPDATE audit_entries SET purpose = 'investigation' WHERE seq = 1",
        true,
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let report = app
        .get("/audit/verify?purpose=integrity_security", &auditor(&app))
        .await;
    assert_eq!(report.1["ok"], false, "{}", report.1);
}
