//! Receipts that travel: each receipt the hub hands out (an incident's routing answer, a
//! notification read, a referral made or read) carries the signed checkpoint of its tree and
//! the entry's inclusion proof, and is checked here offline, from the C2SP signed-note text
//! and RFC 9162 alone: the note verifies with the hub's verifier key, its root is the
//! receipt's, and the leaf hash with the audit path recomputes that root.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::auditor;
use crate::helpers::{TestAgency, TestApp};
use crate::outcomes::incident_body;
use crate::rfc9162;
use crate::sharing::{share, BIRMINGHAM};

/// The hub's verifier key, as served.
pub async fn verifier_key(app: &TestApp) -> String {
    let r = app
        .client
        .get(format!("{}/audit/verifier-key", app.api))
        .bearer_auth(auditor(app))
        .send()
        .await
        .unwrap();
    r.text().await.unwrap().trim_end().to_owned()
}

/// Checks `receipt` offline against `vkey`; panics saying what does not hold.
pub fn check_offline(receipt: &Value, vkey: &str) {
    let note = receipt["checkpoint"].as_str().expect("a checkpoint");
    let lines = crate::audit_checkpoints::open(note, vkey);
    let size = receipt["tree_size"].as_u64().unwrap();
    assert_eq!(
        lines[1],
        size.to_string(),
        "the checkpoint's size: {receipt}"
    );
    let root = STANDARD.decode(&lines[2]).unwrap();
    assert_eq!(
        hex::encode(&root),
        receipt["root_hash"].as_str().unwrap(),
        "the checkpoint's root is the receipt's"
    );
    let leaf = rfc9162::hash_from_hex(receipt["leaf_hash"].as_str().unwrap()).unwrap();
    let path: Vec<_> = receipt["audit_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| rfc9162::hash_from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    assert!(
        rfc9162::verify_inclusion(
            &leaf,
            receipt["leaf_index"].as_u64().unwrap(),
            size,
            &path,
            &root.try_into().unwrap()
        ),
        "the leaf and audit path recompute the root: {receipt}"
    );
}

fn referral() -> Value {
    json!({
        "area": BIRMINGHAM,
        "potential_victim": {"name": "Ana Popescu", "age": 30, "gender": "female",
                             "nationality": "RO"},
        "nrm_consent": "given",
        "exploitation_types": ["labour"],
        "indicators": ["passport withheld"],
        "immediate_needs": ["accommodation"],
        "narrative": "Met at a car wash",
        "classification": "official"
    })
}

/// A police force sharing incidents with a MASH, and an NGO.
async fn world() -> (TestApp, TestAgency, TestAgency, TestAgency) {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let ngo = app.agency("Birmingham NGO", "ngo", &[BIRMINGHAM]).await;
    share(&app, &police, &mash, &["reference", "area"]).await;
    (app, police, mash, ngo)
}

#[tokio::test]
async fn every_receipt_handed_out_checks_offline() {
    let (app, police, mash, ngo) = world().await;
    let vkey = verifier_key(&app).await;

    let created = app
        .post(
            "/incidents",
            &app.token(&police, &["practitioner"]),
            incident_body("WMP-1"),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    check_offline(&created.1["receipt"], &vkey);

    let mash_token = app.token(&mash, &["practitioner"]);
    let list = app.get("/notifications", &mash_token).await.1;
    let nid = list["items"][0]["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/notifications/{nid}"), &mash_token).await;
    assert_eq!(read.0, StatusCode::OK, "{}", read.1);
    let receipt = &read.1["receipt"];
    check_offline(receipt, &vkey);
    assert!(
        receipt["tree_size"].as_u64() > created.1["receipt"]["tree_size"].as_u64(),
        "the read is a later entry"
    );

    let ngo_token = app.token(&ngo, &["practitioner"]);
    let made = app.post("/referrals", &ngo_token, referral()).await;
    assert_eq!(made.0, StatusCode::CREATED, "{}", made.1);
    check_offline(&made.1["receipt"], &vkey);
    let id = made.1["id"].as_str().unwrap();
    let again = app.get(&format!("/referrals/{id}"), &ngo_token).await;
    assert_eq!(again.0, StatusCode::OK, "{}", again.1);
    check_offline(&again.1["receipt"], &vkey);

    // A changed leaf fails.
    let mut forged = receipt.clone();
    forged["leaf_hash"] = json!(hex::encode([7u8; 32]));
    let outcome = std::panic::catch_unwind(|| check_offline(&forged, &vkey));
    assert!(
        outcome.is_err(),
        "a receipt for another entry must not check"
    );
}

#[tokio::test]
async fn a_saved_receipt_catches_a_truncated_tail() {
    use crate::audit_checkpoints::cli_verify_with;
    let (app, police, mash, _) = world().await;
    let created = app
        .post(
            "/incidents",
            &app.token(&police, &["practitioner"]),
            incident_body("WMP-2"),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    let token = app.token(&mash, &["practitioner"]);
    let nid = app.get("/notifications", &token).await.1["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = app.get(&format!("/notifications/{nid}"), &token).await.1;
    // The recipient keeps the whole answer; the reporter keeps the receipt object.
    let answer = app.data_dir.path().join("notification-read.json");
    std::fs::write(&answer, read.to_string()).unwrap();
    let receipt = app.data_dir.path().join("incident-receipt.json");
    std::fs::write(&receipt, created.1["receipt"].to_string()).unwrap();
    for file in [&answer, &receipt] {
        let (code, out) = cli_verify_with(&app, file).await;
        assert_eq!(code, 0, "{out}");
    }
    // A receipt whose entry is not the log's is refused even while the log is whole.
    let mut other = created.1["receipt"].clone();
    other["leaf_hash"] = json!(hex::encode([9u8; 32]));
    let forged = app.data_dir.path().join("forged.json");
    std::fs::write(&forged, other.to_string()).unwrap();
    let (code, out) = cli_verify_with(&app, &forged).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit path does not lead"), "{out}");

    // The tail is cut off behind the triggers' back, down to the first entry.
    for sql in [
        "DELETE FROM audit_entries WHERE seq > 1",
        "DELETE FROM audit_entry_agencies WHERE seq > 1",
        "DELETE FROM audit_entry_subjects WHERE seq > 1",
        "DELETE FROM audit_tree_heads",
        "UPDATE audit_head SET tree_size = 1, \
         root_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 1), \
         frontier = (SELECT leaf_hash FROM audit_entries WHERE seq = 1)",
    ] {
        crate::audit_append_only::run(&app, sql, true)
            .await
            .unwrap();
    }
    let (code, out) = cli_verify_with(&app, &answer).await;
    assert_eq!(code, 1, "{out}");
    let name = answer.display().to_string();
    assert!(out.contains(&format!("checkpoint {name}:")), "{out}");
    let size = read["receipt"]["tree_size"].as_u64().unwrap();
    assert!(
        out.contains(&format!("fewer than the checkpoint's {size}")),
        "{out}"
    );
}
