//! The policy epoch: every governance change moves it (so routing plans and their cache made
//! before it are stale), a disclosure does not, and the next incident after a change is routed
//! under the change, not under what the cache held.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::sharing::{share, BIRMINGHAM};

fn epoch(app: &TestApp) -> i64 {
    app.state
        .db()
        .read_blocking(msht_hub::store::epoch::current)
        .unwrap()
}

fn incident() -> Value {
    json!({
        "reference": "EPOCH-1", "occurred_at": "2026-01-10T22:15:00Z", "area": BIRMINGHAM,
        "exploitation_types": ["labour"], "threats": [], "classification": "official",
        "narrative": "Epoch test",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    })
}

fn mash_decision(body: &Value, mash: &str) -> String {
    body["routing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agency_id"] == mash)
        .map(|r| r["decision"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn governance_moves_the_epoch_and_the_next_plan_sees_the_change() {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let (_, agreement) = share(&app, &police, &mash, &["area"]).await;
    let officer = app.token(&police, &["practitioner"]);

    let before = epoch(&app);
    let r = app.post("/incidents", &officer, incident()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(mash_decision(&r.1, &mash.id), "notified");
    assert_eq!(
        epoch(&app),
        before,
        "a disclosure is not a governance change"
    );

    let r = app
        .post(
            &format!("/agreements/{agreement}/suspend"),
            &app.token(&police, &["ig_officer"]),
            json!({"reason": "breach under review"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert!(epoch(&app) > before, "a suspension moves the epoch");

    let r = app.post("/incidents", &officer, incident()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(
        mash_decision(&r.1, &mash.id),
        "withheld",
        "the cached agreement views of the earlier epoch were not used: {}",
        r.1
    );
}
