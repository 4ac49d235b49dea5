//! Signed tree heads as C2SP checkpoints: the latest one and any stored size, as signed
//! notes that verify with the hub's served verifier key, checked here from the C2SP
//! signed-note and tlog-checkpoint texts alone.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::audit::auditor;
use crate::helpers::TestApp;

async fn text(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.api))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// Checks `note` against `vkey` by the signed-note rules; returns the checkpoint lines.
pub fn open(note: &str, vkey: &str) -> Vec<String> {
    let mut parts = vkey.splitn(3, '+');
    let (name, id_hex, key) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let key = STANDARD.decode(key).unwrap();
    assert_eq!(key[0], 1, "Ed25519");
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(&key);
    assert_eq!(hex::encode(&h.finalize()[..4]), id_hex, "key id");
    let vk = VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();

    let split = note.find("\n\n").expect("blank line before signatures") + 1;
    let (body, sigs) = (&note[..split], &note[split + 1..]);
    let line = sigs.lines().next().unwrap();
    let rest = line.strip_prefix("\u{2014} ").expect("signature line");
    let (signer, b64) = rest.split_once(' ').unwrap();
    assert_eq!(signer, name);
    let sig = STANDARD.decode(b64).unwrap();
    assert_eq!(hex::encode(&sig[..4]), id_hex);
    let sig = Signature::from_slice(&sig[4..]).unwrap();
    vk.verify(body.as_bytes(), &sig)
        .expect("signature verifies");
    body.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn checkpoints_are_signed_notes_that_verify_with_the_served_verifier_key() {
    let app = TestApp::spawn().await;
    let token = auditor(&app);
    app.agency("Agency A", "police_force", &["E08000025"]).await;
    let (status, ct, vkey) = text(&app, "/audit/verifier-key", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let vkey = vkey.trim_end().to_owned();

    let (status, ct, note) = text(&app, "/audit/checkpoint", &token).await;
    assert_eq!(status, StatusCode::OK, "{note}");
    assert!(ct.starts_with("text/plain"), "{ct}");
    let lines = open(&note, &vkey);
    let head = app.get("/audit/tree-head", &token).await.1;
    assert_eq!(lines[0], vkey.split('+').next().unwrap(), "origin line");
    assert!(lines[0].ends_with("/audit"), "{}", lines[0]);
    assert_eq!(lines[1], head["tree_size"].to_string());
    let root = hex::decode(head["root_hash"].as_str().unwrap()).unwrap();
    assert_eq!(STANDARD.decode(&lines[2]).unwrap(), root);
    println!("{vkey}\n{note}");

    // The same head by size; a size never signed is 404; a tampered note fails.
    let size = lines[1].clone();
    let (status, _, again) = text(&app, &format!("/audit/checkpoints?size={size}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, note);
    let (status, _, _) = text(&app, "/audit/checkpoints?size=999999", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = text(&app, "/audit/checkpoints", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = note.replacen(&format!("\n{size}\n"), "\n1\n", 1);
    let r = std::panic::catch_unwind(|| open(&forged, &vkey));
    assert!(r.is_err(), "a changed size must not verify");
    let (status, _, _) = text(&app, "/audit/checkpoint", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// `msht-hub audit verify --checkpoint FILE` against the test hub's database.
pub async fn cli_verify_with(app: &TestApp, checkpoint: &std::path::Path) -> (i32, String) {
    let url = app.settings.effective_database_url();
    let dir = app.data_dir.path().to_path_buf();
    let checkpoint = checkpoint.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_msht-hub"))
            .args(["audit", "verify", "--database-url", &url, "--data-dir"])
            .arg(&dir)
            .arg("--checkpoint")
            .arg(&checkpoint)
            .env_remove("MSHT_HUB__DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_truncated_or_rewritten_log_fails_against_a_held_checkpoint() {
    use crate::audit::{append, disclosure};
    use msht_hub::domain::audit::Decision;

    let app = TestApp::spawn().await;
    let token = auditor(&app);
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let entries = (0..3)
        .map(|i| disclosure(&app, &a, &[&b], &[&format!("p-{i}")], Decision::Shared))
        .collect();
    append(&app, entries).await;
    let (_, _, note) = text(&app, "/audit/checkpoint", &token).await;
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let held = app.data_dir.path().join("held-checkpoint.txt");
    std::fs::write(&held, &note).unwrap();
    let (code, out) = cli_verify_with(&app, &held).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("audit log OK:"), "{out}");

    // The tail is cut off (the head rewound to one entry, behind the triggers' back).
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
    let (code, out) = cli_verify_with(&app, &held).await;
    assert_eq!(code, 1, "{out}");
    let name = held.display().to_string();
    assert!(out.contains(&format!("checkpoint {name}:")), "{out}");
    assert!(
        out.contains(&format!("fewer than the checkpoint's {size}")),
        "{out}"
    );

    // New entries grow the log past the checkpoint again: it no longer produces its root.
    let entries = (0..size + 2)
        .map(|i| disclosure(&app, &a, &[&b], &[&format!("q-{i}")], Decision::Shared))
        .collect();
    append(&app, entries).await;
    let (code, out) = cli_verify_with(&app, &held).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("checkpoint {name}:")), "{out}");
    assert!(out.contains("inconsistent"), "{out}");
}
