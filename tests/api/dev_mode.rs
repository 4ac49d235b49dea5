//! `serve --dev`: demo agencies and local dev issuers whose tokens go through the same
//! validation as any agency's.
use reqwest::StatusCode;

use crate::helpers::{Options, TestApp};

#[tokio::test]
async fn dev_tokens_work_through_discovery() {
    let app = TestApp::spawn_with(Options {
        dev: true,
        ..Options::default()
    })
    .await;
    // dev-token mints with the wall clock, as it does on the command line.
    app.clock.set(msht_hub::clock::Clock::system().now());
    let token =
        msht_hub::cli::dev_token(&app.settings, Some("police"), "practitioner", None, 600).unwrap();
    let r = app.get("/me", &token).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["agency_name"], "Demo West Midlands Police");
    assert_eq!(r.1["roles"], serde_json::json!(["practitioner"]));
    let admin = msht_hub::cli::dev_token(&app.settings, None, "hub_admin", None, 600).unwrap();
    let r = app.get("/agencies", &admin).await;
    assert_eq!(r.0, StatusCode::OK);
    let kinds: Vec<&str> = r.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    for k in [
        "police_force",
        "mash",
        "children_safeguarding_partnership",
        "adults_safeguarding_board",
        "ictg_service",
        "ngo",
    ] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    // The discovery document is clearly marked.
    let d: serde_json::Value = app
        .client
        .get(format!(
            "{}/dev-issuer/police/.well-known/openid-configuration",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(d["msht_hub_dev_issuer"]
        .as_str()
        .unwrap()
        .contains("DEVELOPMENT"));
    // An agency role needs an agency; an operator role refuses one.
    assert!(msht_hub::cli::dev_token(&app.settings, None, "practitioner", None, 600).is_err());
    assert!(
        msht_hub::cli::dev_token(&app.settings, Some("police"), "hub_admin", None, 600).is_err()
    );
    // A police token cannot pass as the MASH: the issuer decides the agency.
    let mash = msht_hub::cli::dev_token(
        &app.settings,
        Some("Demo Birmingham MASH"),
        "practitioner",
        None,
        600,
    )
    .unwrap();
    let r = app.get("/me", &mash).await;
    assert_eq!(r.1["agency_name"], "Demo Birmingham MASH");
}

#[tokio::test]
async fn a_dev_database_is_refused_without_dev() {
    let app = TestApp::spawn_with(Options {
        dev: true,
        ..Options::default()
    })
    .await;
    msht_hub::app::Application::stop(&app.handle, &app.state).await;
    // Served without --dev, the demo agencies' dev issuers and the signed demo agreement
    // would keep working: the hub refuses to start, naming the cause.
    let plain =
        msht_hub::app::Application::build(app.settings.clone(), app.clock.clone(), false).await;
    match plain {
        Ok(_) => panic!("a database seeded by serve --dev was served without --dev"),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("serve --dev"), "{msg}");
            assert!(msg.contains("/dev-issuer/police"), "{msg}");
        }
    }
    // With --dev it still starts.
    let dev =
        msht_hub::app::Application::build(app.settings.clone(), app.clock.clone(), true).await;
    assert!(dev.is_ok());
}
