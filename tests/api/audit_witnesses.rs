//! Witnessing: two hubs witness each other's logs over the C2SP tlog-witness protocol and
//! reach their quorum; each serves its checkpoint with the other's cosignature, checked here
//! from the C2SP cosignature text alone. The witness refuses what it must (a stale old size
//! with 409 and its size, an inconsistent checkpoint with 422, an unknown log with 404, a
//! checkpoint not signed by the log's key with 403). A hub whose log was rolled back behind
//! a witnessed checkpoint (a restored older database) refuses writes at start, whether the
//! kept checkpoint or the witness tells it.
use actix_web::dev::ServerHandle;
use actix_web::web;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use msht_hub::app::{AppState, Application};
use msht_hub::audit::heads::{SignedTreeHead, TreeHeadSigner};
use msht_hub::audit::{checkpoint, cosign};
use msht_hub::config::{FollowedLog, Settings, WitnessEndpoint};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::audit::auditor;
use crate::helpers::TestApp;

/// A hub started on settings of its own, beside its `TestApp` (issuers, data folder).
struct Running {
    base: String,
    api: String,
    state: web::Data<AppState>,
    handle: ServerHandle,
}

impl Running {
    async fn stop(self) {
        Application::stop(&self.handle, &self.state).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(app: &TestApp, settings: Settings) -> Running {
    let built = Application::build(settings, app.clock.clone(), false)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", built.port());
    let (handle, state) = (built.handle(), built.state());
    tokio::spawn(built.run_until_stopped());
    Running {
        api: format!("{base}/api/v1"),
        base,
        state,
        handle,
    }
}

/// One side of a pair: its test app, settings and the keys others know it by.
struct Side {
    app: TestApp,
    settings: Settings,
    origin: String,
    witness_name: String,
    witness_key: VerifyingKey,
    log_vkey: String,
    witness_vkey: String,
}

fn side(app: TestApp, name: &str) -> Side {
    let origin = format!("{name}.test/audit");
    let witness_name = format!("{name}.test/witness");
    let key = TreeHeadSigner::load_or_create(&app.data_dir.path().join("witness-key.pem"))
        .unwrap()
        .verifying_key();
    let mut settings = app.settings.clone();
    settings.http.bind = format!("127.0.0.1:{}", free_port());
    settings.audit.checkpoint_origin = origin.clone();
    settings.audit.witness_interval_secs = 0;
    settings.audit.witness_allow_private_networks = true;
    settings.audit.witness_allow_insecure_http = true;
    settings.witness.enabled = true;
    settings.witness.name = witness_name.clone();
    Side {
        log_vkey: checkpoint::verifier_key(&origin, &app.state.audit.signer.verifying_key()),
        witness_vkey: cosign::verifier_key(&witness_name, &key),
        witness_key: key,
        origin,
        witness_name,
        settings,
        app,
    }
}

/// `a` is witnessed by `b` (quorum 1), and `b` follows `a`'s log.
fn witnessed_by(a: &mut Side, b: &mut Side) {
    a.settings.audit.witnesses = vec![WitnessEndpoint {
        name: b.witness_name.clone(),
        url: format!("http://{}/api/v1/witness", b.settings.http.bind),
        verifier_key: b.witness_vkey.clone(),
    }];
    a.settings.audit.witness_quorum = 1;
    b.settings.witness.logs.push(FollowedLog {
        origin: a.origin.clone(),
        verifier_key: a.log_vkey.clone(),
    });
}

/// Two hubs with a few entries each, stopped, and their sides.
async fn pair() -> (Side, Side) {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn().await;
    a.agency("Agency A", "police_force", &["E08000025"]).await;
    b.agency("Agency B", "mash", &["E08000025"]).await;
    Application::stop(&a.handle, &a.state).await;
    Application::stop(&b.handle, &b.state).await;
    (side(a, "hub-a"), side(b, "hub-b"))
}

async fn text(side: &Side, url: &str) -> (StatusCode, String) {
    let r = side
        .app
        .client
        .get(url)
        .bearer_auth(auditor(&side.app))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn add_agency(side: &Side, hub: &Running, name: &str) -> (StatusCode, Value) {
    let r = side
        .app
        .client
        .post(format!("{}/agencies", hub.api))
        .bearer_auth(side.app.admin())
        .json(&json!({"name": name, "kind": "ngo", "areas": ["E08000025"],
                      "first_responder": false, "contact_email": "duty@example.org"}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn readyz(side: &Side, hub: &Running) -> (StatusCode, Value) {
    let r = side
        .app
        .client
        .get(format!("{}/readyz", hub.base))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn add_checkpoint(
    side: &Side,
    witness: &Running,
    body: String,
) -> (StatusCode, String, String) {
    let r = side
        .app
        .client
        .post(format!("{}/witness/add-checkpoint", witness.api))
        .body(body)
        .send()
        .await
        .unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), ct, r.text().await.unwrap())
}

/// Checks the cosignature line of `witness` on the checkpoint `note` by the C2SP texts.
fn check_cosignature(note: &str, name: &str, key: &VerifyingKey) {
    let split = note.find("\n\n").unwrap() + 1;
    let body = &note[..split];
    let line = note[split + 1..]
        .lines()
        .find(|l| l.starts_with(&format!("\u{2014} {name} ")))
        .unwrap_or_else(|| panic!("no cosignature of {name}: {note}"));
    let raw = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x04");
    h.update(key.as_bytes());
    assert_eq!(&raw[..4], &h.finalize()[..4], "key id");
    let time = u64::from_be_bytes(raw[4..12].try_into().unwrap());
    let msg = format!("cosignature/v1\ntime {time}\n{body}");
    key.verify(msg.as_bytes(), &Signature::from_slice(&raw[12..]).unwrap())
        .expect("the cosignature verifies");
}

#[tokio::test]
async fn two_hubs_witness_each_other_and_reach_their_quorum() {
    let (mut a, mut b) = pair().await;
    witnessed_by(&mut a, &mut b);
    witnessed_by(&mut b, &mut a);
    let ha = start(&a.app, a.settings.clone()).await;
    let hb = start(&b.app, b.settings.clone()).await;

    ha.state.witnessing.round().await.unwrap();
    hb.state.witnessing.round().await.unwrap();
    for (side, hub, other) in [(&a, &ha, &b), (&b, &hb, &a)] {
        let (status, ready) = readyz(side, hub).await;
        assert_eq!(status, StatusCode::OK, "{ready}");
        let w = &ready["witnessing"];
        assert_eq!(w["quorum"], 1);
        assert!(w["log_size"].as_u64().unwrap() > 0, "{ready}");
        assert_eq!(w["witnessed_size"], w["log_size"], "{ready}");
        assert_eq!(w["lag"], 0, "{ready}");
        assert_eq!(w["witnesses"][0]["name"], other.witness_name.as_str());
        assert_eq!(w["witnesses"][0]["error"], Value::Null, "{ready}");
        let size = w["log_size"].as_u64().unwrap();
        let (status, note) =
            text(side, &format!("{}/audit/checkpoints?size={size}", hub.api)).await;
        assert_eq!(status, StatusCode::OK, "{note}");
        checkpoint::verify(&note, &side.log_vkey).unwrap();
        check_cosignature(&note, &other.witness_name, &other.witness_key);
        println!("{note}");
    }

    // The log grows: the witness takes the consistency proof from the size it cosigned.
    let before = ha.state.witnessing.status().log_size;
    assert_eq!(
        add_agency(&a, &ha, "Agency A2").await.0,
        StatusCode::CREATED
    );
    ha.state.witnessing.round().await.unwrap();
    let now = ha.state.witnessing.status();
    assert!(now.log_size > before);
    assert_eq!(now.witnesses[0].size, now.log_size, "{now:?}");
    assert_eq!(now.witnessed_size, now.log_size);
    let (_, metrics) = text(&a, &format!("{}/metrics", ha.base)).await;
    assert!(
        metrics.contains("msht_hub_audit_witness_lag_entries{witness=\"hub-b.test/witness\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("msht_hub_audit_unwitnessed_entries 0"),
        "{metrics}"
    );

    // The witness refuses what it must.
    let size = now.log_size;
    let (_, note) = text(&a, &format!("{}/audit/checkpoints?size={size}", ha.api)).await;
    let signed_only = note.lines().take(5).collect::<Vec<_>>().join("\n") + "\n";
    let (status, ct, body) = add_checkpoint(&a, &hb, format!("old 1\n\n{signed_only}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(ct, "text/x.tlog.size");
    assert_eq!(body, format!("{size}\n"));
    // The same size again is cosigned again (same root, empty proof).
    let (status, _, body) = add_checkpoint(&a, &hb, format!("old {size}\n\n{signed_only}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("\u{2014} hub-b.test/witness "), "{body}");

    // A fork signed with the log's own key: another root one entry later.
    let key = TreeHeadSigner::load(&a.settings.audit_key_path())
        .unwrap()
        .unwrap();
    let forged = SignedTreeHead {
        tree_size: size + 1,
        root_hash: [5u8; 32],
        timestamp: a.app.clock.now(),
        key_id: String::new(),
        signature: Vec::new(),
    };
    let fork = checkpoint::signed(&a.origin, key.signing_key(), &forged).unwrap();
    let proof = STANDARD.encode([6u8; 32]);
    let (status, _, body) = add_checkpoint(&a, &hb, format!("old {size}\n{proof}\n\n{fork}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Unknown log: 404; not signed by the followed key: 403; old above new: 400.
    let stranger = checkpoint::signed("nobody.test/audit", key.signing_key(), &forged).unwrap();
    let (status, _, _) = add_checkpoint(&a, &hb, format!("old 0\n\n{stranger}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let unsigned = checkpoint::signed(&a.origin, &other_key, &forged).unwrap();
    let (status, _, _) = add_checkpoint(&a, &hb, format!("old {size}\n\n{unsigned}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = add_checkpoint(&a, &hb, format!("old {}\n\n{fork}", size + 2)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The witness still holds the size it cosigned: the hub's next round goes through.
    assert_eq!(
        add_agency(&a, &ha, "Agency A3").await.0,
        StatusCode::CREATED
    );
    ha.state.witnessing.round().await.unwrap();
    let after = ha.state.witnessing.status();
    assert_eq!(after.witnesses[0].size, after.log_size, "{after:?}");
    assert!(after.log_size > size);
    ha.stop().await;
    hb.stop().await;
}

/// `msht-hub audit verify` on the side's database and data folder, with its settings file.
async fn cli_verify(side: &Side) -> (i32, String) {
    let url = side.settings.effective_database_url();
    let dir = side.app.data_dir.path().to_path_buf();
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
        )
    })
    .await
    .unwrap()
}

/// Cuts the hub's log (stopped) back to its first entry, as restoring an older database
/// would, cosignatures included.
async fn roll_back(side: &Side) {
    for sql in [
        "DELETE FROM audit_entries WHERE seq > 1",
        "DELETE FROM audit_entry_agencies WHERE seq > 1",
        "DELETE FROM audit_entry_subjects WHERE seq > 1",
        "DELETE FROM audit_tree_heads",
        "DELETE FROM audit_cosignatures",
        "UPDATE audit_head SET tree_size = 1, \
         root_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 1), \
         frontier = (SELECT leaf_hash FROM audit_entries WHERE seq = 1)",
    ] {
        crate::audit_append_only::run(&side.app, sql, true)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_restored_older_database_is_refused_writes_at_start() {
    let (mut a, mut b) = pair().await;
    witnessed_by(&mut a, &mut b);
    let ha = start(&a.app, a.settings.clone()).await;
    let hb = start(&b.app, b.settings.clone()).await;
    ha.state.witnessing.round().await.unwrap();
    assert_eq!(
        add_agency(&a, &ha, "Agency A2").await.0,
        StatusCode::CREATED
    );
    ha.state.witnessing.round().await.unwrap();
    let witnessed = ha.state.witnessing.status().witnessed_size;
    assert!(witnessed > 1);
    let kept = a.settings.witnessed_checkpoint_path();
    let held = std::fs::read_to_string(&kept).unwrap();
    assert!(
        held.starts_with(&format!("{}\n{witnessed}\n", a.origin)),
        "{held}"
    );
    assert!(held.contains("\u{2014} hub-b.test/witness "), "{held}");
    ha.stop().await;

    roll_back(&a).await;
    // The kept witnessed checkpoint says so at start.
    let ha = start(&a.app, a.settings.clone()).await;
    let (status, problem) = add_agency(&a, &ha, "Agency A3").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(
        problem["type"],
        "urn:msht-hub:problem:audit-log-rolled-back"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("rolled back"),
        "{problem}"
    );
    let (status, ready) = readyz(&a, &ha).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "audit_log_rolled_back");
    let detail = ready["detail"].as_str().unwrap();
    assert!(detail.contains("witnessed checkpoint kept in"), "{detail}");
    assert!(
        detail.contains(&format!("fewer than the checkpoint's {witnessed}")),
        "{detail}"
    );
    let (code, out) = crate::audit_checkpoints::cli_verify_with(&a.app, &kept).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("checkpoint {}:", kept.display())),
        "{out}"
    );
    // `audit verify` holds the log to the kept checkpoint without being told of it.
    let (code, out) = cli_verify(&a).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("checkpoint {}:", kept.display())),
        "{out}"
    );
    ha.stop().await;

    // Without the kept file, the witness's 409 at start says so.
    std::fs::remove_file(&kept).unwrap();
    let mut settings = a.settings.clone();
    settings.audit.witness_interval_secs = 3600;
    let ha = start(&a.app, settings).await;
    let mut ready = Value::Null;
    for _ in 0..100 {
        let r = readyz(&a, &ha).await;
        ready = r.1;
        if r.0 == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready["status"], "audit_log_rolled_back", "{ready}");
    assert!(
        ready["detail"].as_str().unwrap().contains(&format!(
            "witness hub-b.test/witness has cosigned a checkpoint of {witnessed} entries"
        )),
        "{ready}"
    );
    assert_eq!(
        add_agency(&a, &ha, "Agency A4").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    ha.stop().await;
    hb.stop().await;
}

#[tokio::test]
async fn a_rewritten_log_the_witness_cannot_follow_is_refused_writes() {
    let (mut a, mut b) = pair().await;
    witnessed_by(&mut a, &mut b);
    let hb = start(&b.app, b.settings.clone()).await;
    let ha = start(&a.app, a.settings.clone()).await;
    assert_eq!(
        add_agency(&a, &ha, "Agency A2").await.0,
        StatusCode::CREATED
    );
    ha.state.witnessing.round().await.unwrap();
    let witnessed = ha.state.witnessing.status().witnessed_size;
    ha.stop().await;

    // The log is cut and grown again past the witnessed size with other entries, its kept
    // checkpoint lost: the log is longer than what the witness cosigned, but not its future.
    roll_back(&a).await;
    std::fs::remove_file(a.settings.witnessed_checkpoint_path()).unwrap();
    let mut unwitnessed = a.settings.clone();
    unwitnessed.audit.witnesses.clear();
    unwitnessed.audit.witness_quorum = 0;
    let ha = start(&a.app, unwitnessed).await;
    for i in 0..witnessed + 1 {
        let name = format!("Other agency {i}");
        assert_eq!(add_agency(&a, &ha, &name).await.0, StatusCode::CREATED);
    }
    ha.stop().await;

    let ha = start(&a.app, a.settings.clone()).await;
    ha.state.witnessing.round().await.unwrap();
    let (status, ready) = readyz(&a, &ha).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert!(
        ready["detail"].as_str().unwrap().contains(&format!(
            "refused the consistency proof from the {witnessed} entries"
        )),
        "{ready}"
    );
    assert_eq!(
        add_agency(&a, &ha, "Agency A9").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    ha.stop().await;
    hb.stop().await;
}
