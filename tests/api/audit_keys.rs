//! One audit signing key per deployment: a hub never generates a key once the log has heads
//! signed by one, refuses a key other than the one that signed them (unless that one is
//! listed as an earlier key), and refuses a key file others can read.
use msht_hub::app::Application;
use msht_hub::audit::heads::TreeHeadSigner;
use msht_hub::config::Settings;
use reqwest::StatusCode;

use crate::audit::auditor;
use crate::helpers::TestApp;

/// A hub with a signed tree head in its log.
async fn signed() -> TestApp {
    let app = TestApp::spawn().await;
    app.agency("Agency A", "police_force", &["E08000025"]).await;
    let head = app.get("/audit/tree-head", &auditor(&app)).await;
    assert_eq!(head.0, StatusCode::OK, "{}", head.1);
    app
}

/// Starts a hub with `settings` on the test's clock; the start-up error, if refused.
async fn start(app: &TestApp, settings: Settings) -> Result<(), String> {
    match Application::build(settings, app.clock.clone(), false).await {
        Ok(other) => {
            let (handle, state) = (other.handle(), other.state());
            tokio::spawn(other.run_until_stopped());
            Application::stop(&handle, &state).await;
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn a_second_host_without_the_shared_key_is_refused() {
    let app = signed().await;
    // Another host: the same database, its own data folder, no key configured.
    let host = tempfile::tempdir().unwrap();
    let mut settings = app.settings.clone();
    settings.data_dir = host.path().to_path_buf();
    settings.audit.signing_key_file = String::new();
    let err = start(&app, settings.clone()).await.unwrap_err();
    assert!(
        err.contains("signing key") && err.contains("tree heads"),
        "{err}"
    );
    assert!(!host.path().join("audit-signing-key.pem").exists());

    // With a key of its own, it is refused too: the heads are signed by another key.
    let own = host.path().join("own.pem");
    TreeHeadSigner::load_or_create(&own).unwrap();
    settings.audit.signing_key_file = own.display().to_string();
    let err = start(&app, settings.clone()).await.unwrap_err();
    assert!(err.contains("signed by key"), "{err}");

    // Listing the first key as an earlier one (a rotation) is accepted.
    let first = app.state.audit.signer.public_key();
    settings.audit.trusted_public_keys = vec![first];
    start(&app, settings).await.unwrap();

    // The shared key starts a second host.
    let mut shared = app.settings.clone();
    shared.data_dir = host.path().join("with-key");
    start(&app, shared).await.unwrap();
}

#[tokio::test]
async fn a_deleted_key_is_not_silently_replaced() {
    let app = signed().await;
    let key = app.settings.audit_key_path();
    std::fs::remove_file(&key).unwrap();
    let err = start(&app, app.settings.clone()).await.unwrap_err();
    assert!(err.contains("restore that key"), "{err}");
    assert!(!key.exists(), "a new key was generated");
}

#[cfg(unix)]
#[tokio::test]
async fn a_world_readable_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let key = app.settings.audit_key_path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = start(&app, app.settings.clone()).await.unwrap_err();
    assert!(err.contains("open to group or others"), "{err}");
    assert!(
        err.contains(&key.display().to_string()),
        "names the file: {err}"
    );
    // Readable by the group alone is refused as well.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = start(&app, app.settings.clone()).await.unwrap_err();
    assert!(err.contains("mode 640"), "{err}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    start(&app, app.settings.clone()).await.unwrap();
}

/// The text of `GET {api}{path}`.
async fn text_at(app: &TestApp, api: &str, path: &str) -> String {
    let r = app
        .client
        .get(format!("{api}{path}"))
        .bearer_auth(auditor(app))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_rotated_key_stays_listed_and_what_it_signed_still_verifies() {
    use msht_hub::audit::checkpoint;
    let app = signed().await;
    let old_note = text_at(&app, &app.api, "/audit/checkpoint").await;
    let old_vkey = text_at(&app, &app.api, "/audit/verifier-key").await;
    let listed = text_at(&app, &app.api, "/audit/verifier-keys").await;
    assert_eq!(listed, old_vkey, "one key before the rotation");

    // Rotate: a new key, the old one's public key listed as an earlier key.
    let new_key = app.data_dir.path().join("rotated.pem");
    TreeHeadSigner::load_or_create(&new_key).unwrap();
    let mut settings = app.settings.clone();
    settings.audit.signing_key_file = new_key.display().to_string();
    settings.audit.trusted_public_keys = vec![app.state.audit.signer.public_key()];
    settings.audit.checkpoint_origin = app.state.audit.origin.clone();
    Application::stop(&app.handle, &app.state).await;
    let rotated = Application::build(settings, app.clock.clone(), false)
        .await
        .unwrap();
    let api = format!("http://127.0.0.1:{}/api/v1", rotated.port());
    let (handle, state) = (rotated.handle(), rotated.state());
    tokio::spawn(rotated.run_until_stopped());

    let listed = text_at(&app, &api, "/audit/verifier-keys").await;
    let lines: Vec<&str> = listed.lines().collect();
    let current = text_at(&app, &api, "/audit/verifier-key").await;
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(lines[0], current.trim_end(), "the current key first");
    assert_ne!(lines[0], old_vkey.trim_end());
    assert_eq!(
        lines[1],
        old_vkey.trim_end(),
        "the earlier key stays listed"
    );
    // The checkpoint held from before verifies with the listed earlier key, not the new one.
    checkpoint::verify(&old_note, lines[1]).unwrap();
    assert!(checkpoint::verify(&old_note, lines[0]).is_err());
    let new_note = text_at(&app, &api, "/audit/checkpoint").await;
    checkpoint::verify(&new_note, lines[0]).unwrap();
    Application::stop(&handle, &state).await;
}
