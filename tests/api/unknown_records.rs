//! A read or change of an agency, partnership or terms version that does not exist answers
//! 404 and, like every refusal after authentication, leaves one `access_denied` entry naming
//! the caller; partnership listings carry each partnership's current terms.
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};
use crate::refusals::denials_about;
use crate::sharing::{partnership, BIRMINGHAM};

/// Asserts `r` is a 404 and that one `access_denied` entry about `record_id` exists, by an
/// actor of `agency` (`Value::Null` for the hub operator).
async fn logged_404(
    app: &TestApp,
    what: &str,
    r: (StatusCode, Value),
    record_id: &str,
    agency: Value,
) {
    assert_problem(&r, 404);
    let denials = denials_about(app, record_id).await;
    assert_eq!(denials.len(), 1, "{what}: {denials:?}");
    assert_eq!(
        denials[0]["actor"]["agency_id"], agency,
        "{what}: {}",
        denials[0]
    );
    assert_eq!(denials[0]["decision"], "denied", "{what}: {}", denials[0]);
}

#[tokio::test]
async fn unknown_agencies_partnerships_and_terms_are_logged_404s() {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let p = partnership(&app, "Birmingham MSHT", &[&police, &mash]).await;
    let staff = app.token(&mash, &["practitioner"]);

    let missing = uuid::Uuid::new_v4().to_string();
    let r = app.get(&format!("/agencies/{missing}"), &staff).await;
    logged_404(&app, "agency read", r, &missing, json!(mash.id)).await;

    let missing = uuid::Uuid::new_v4().to_string();
    let r = app
        .send(
            Method::PUT,
            &format!("/agencies/{missing}/identity-provider"),
            &app.admin(),
            Some(json!({"issuer": "https://idp.example.org", "audience": "x",
                          "role_map": {"a": "practitioner"}})),
        )
        .await;
    logged_404(&app, "identity provider", r, &missing, Value::Null).await;

    let missing = uuid::Uuid::new_v4().to_string();
    let r = app.get(&format!("/partnerships/{missing}"), &staff).await;
    logged_404(&app, "partnership read", r, &missing, json!(mash.id)).await;

    let terms = format!("{}/terms/9", p.id);
    let r = app.get(&format!("/partnerships/{terms}"), &staff).await;
    logged_404(&app, "terms read", r, &terms, json!(mash.id)).await;

    // What exists reads as before, unlogged; the listing carries the current terms.
    let r = app.get(&format!("/agencies/{}", police.id), &staff).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert!(denials_about(&app, &police.id).await.is_empty());
    let list = app
        .get(&format!("/partnerships?member={}", mash.id), &staff)
        .await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    let items = list.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.1);
    assert_eq!(items[0]["id"], p.id.as_str());
    assert_eq!(items[0]["current_terms"]["version"], p.terms_version);
    assert_eq!(items[0]["current_terms"]["not_accepted_by"], json!([]));
    let one = app.get(&format!("/partnerships/{}", p.id), &staff).await;
    assert_eq!(
        one.1, items[0],
        "a listed partnership reads as it does alone"
    );
}
