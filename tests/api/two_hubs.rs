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

/// Two hub processes' workers running continuously on one database, a lease of 2 s and a
/// receiver that takes 3 s over each answer: each send outlives its lease and is renewed, so
/// neither worker claims what the other is sending, each `webhook-id` arrives once, and every
/// delivery ends delivered after one attempt (no outcome moves a row back).
#[tokio::test]
async fn two_hubs_with_a_short_lease_and_a_slow_receiver_deliver_each_webhook_once() {
    const DELIVERIES: usize = 6;
    let opts = Options::local_delivery().with_env("MSHT_HUB__DELIVERY__LEASE_SECS", "2");
    let app = TestApp::spawn_with(opts).await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let hook = Receiver::start_slow(vec![], std::time::Duration::from_secs(3)).await;
    crate::delivery::subscribe_webhook(&app, &mash, &hook.url).await;
    let (_peer_api, peer, peer_handle) = app.spawn_peer().await;
    // The hubs' clock runs with real time, so leases run out as they would.
    let clock = app.clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            clock.advance(chrono::Duration::milliseconds(50));
        }
    });
    let mut ids = Vec::new();
    for _ in 0..DELIVERIES {
        ids.extend(crate::delivery::enqueue(&app, &mash).await);
    }
    assert_eq!(ids.len(), DELIVERIES);
    tokio::spawn(app.state.delivery.clone().run());
    tokio::spawn(peer.delivery.clone().run());

    let states = |app: &TestApp| {
        let db = app.state.db().clone();
        async move {
            db.read(|c| msht_hub::store::outbox::list(c, None, None, None, 100))
                .await
                .unwrap()
        }
    };
    let started = std::time::Instant::now();
    let mut ever_delivered = std::collections::HashSet::new();
    loop {
        let rows = states(&app).await;
        for d in &rows {
            let id = d.id.to_string();
            if d.state == msht_hub::domain::delivery::DeliveryState::Delivered {
                ever_delivered.insert(id);
            } else {
                assert!(
                    !ever_delivered.contains(&id),
                    "{id} went back to {:?}",
                    d.state
                );
            }
        }
        if ever_delivered.len() == DELIVERIES {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "not all delivered: {:?}",
            rows.iter().map(|d| d.state).collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Longer than a lease more: nothing is sent again, nothing moves back.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in hook.received() {
        *seen.entry(r.id).or_default() += 1;
    }
    assert_eq!(seen.len(), DELIVERIES, "{seen:?}");
    assert!(
        seen.values().all(|n| *n == 1),
        "each webhook-id once: {seen:?}"
    );
    for d in states(&app).await {
        assert_eq!(
            d.state,
            msht_hub::domain::delivery::DeliveryState::Delivered
        );
        assert_eq!(d.attempts, 1, "{}", d.id);
    }
    app.state.delivery.stop();
    peer.delivery.stop();
    ticker.abort();
    peer_handle.stop(true).await;
}
