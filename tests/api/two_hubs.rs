//! Two hub processes on one database: incidents driven through both at once leave one
//! gapless audit log that verifies, and the two delivery workers deliver each notification
//! exactly once.
use std::collections::HashMap;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Options, TestApp};
use crate::receiver::Receiver;
use crate::sharing::{share, BIRMINGHAM};

const PER_HUB: usize = 24;

fn incident(i: usize) -> Value {
    json!({
        "reference": format!("TWO-{i}"), "occurred_at": "2026-01-10T22:15:00Z",
        "area": BIRMINGHAM, "exploitation_types": ["labour"], "threats": [],
        "classification": "official", "narrative": "Two hubs",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    })
}

async fn post(client: &reqwest::Client, api: &str, token: &str, body: Value) -> Value {
    let r = client
        .post(format!("{api}/incidents"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

#[tokio::test]
async fn two_hubs_on_one_database_keep_one_gapless_log_and_deliver_once() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    share(&app, &police, &mash, &["area", "victims[].age_band"]).await;
    let hook = Receiver::start(vec![]).await;
    let sub = app
        .post(
            "/subscriptions",
            &app.token(&mash, &["practitioner"]),
            json!({"events": ["incident.notified"], "filters": {"areas": [BIRMINGHAM]},
                   "channel": {"type": "webhook", "url": hook.url}}),
        )
        .await;
    assert_eq!(sub.0, StatusCode::CREATED, "{}", sub.1);
    let (peer_api, peer, peer_handle) = app.spawn_peer().await;

    let token = app.token(&police, &["practitioner"]);
    let posts = (0..2 * PER_HUB).map(|i| {
        let api = if i % 2 == 0 { &app.api } else { &peer_api };
        post(&app.client, api, &token, incident(i))
    });
    let created = join_all(posts).await;
    assert_eq!(created.len(), 2 * PER_HUB);

    // Both workers drain the one outbox at the same time.
    let drain = |state: actix_web::web::Data<msht_hub::app::AppState>| async move {
        let mut total = 0;
        loop {
            let n = state.delivery.run_due().await.unwrap();
            if n == 0 {
                return total;
            }
            total += n;
        }
    };
    let (a, b) = tokio::join!(drain(app.state.clone()), drain(peer.clone()));
    assert_eq!(
        a + b,
        2 * PER_HUB,
        "each queued delivery is sent by one worker"
    );

    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in hook.received() {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let id = body["data"]["notification_id"].as_str().unwrap().to_owned();
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), 2 * PER_HUB, "one webhook per notification");
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");

    // One log, gapless, that verifies from either hub.
    let auditor = app.operator_token(&["hub_auditor"]);
    for api in [&app.api, &peer_api] {
        let r = app
            .client
            .get(format!("{api}/audit/verify?purpose=integrity_security"))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap();
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["entries_checked"], report["tree_size"], "{report}");
    }
    let mut seqs = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/audit/events?purpose=self_monitoring&limit=200{cursor}"),
                &auditor,
            )
            .await;
        assert_eq!(page.0, StatusCode::OK, "{}", page.1);
        for e in page.1["items"].as_array().unwrap() {
            seqs.push(e["seq"].as_i64().unwrap());
        }
        match page.1["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "seq runs 1..n without a gap or a repeat");
    // Each incident left its collection entry and its disclosure entry.
    assert!(seqs.len() >= 4 * PER_HUB, "{} entries", seqs.len());
    peer_handle.stop(true).await;
}
