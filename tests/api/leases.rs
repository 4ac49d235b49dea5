//! Owned delivery leases: a claim carries a token and only its holder records the outcome (a
//! late outcome of an expired claim changes nothing), an operator's retry refuses a delivery
//! that is being sent, and a claim left by a process that died is sent again once its short
//! lease runs out.
use chrono::Duration;
use msht_hub::domain::delivery::DeliveryState;
use msht_hub::domain::ids::DeliveryId;
use msht_hub::store::outbox::{self, Outcome, OutcomeKind};
use reqwest::StatusCode;
use serde_json::json;

use crate::delivery::{enqueue, subscribe_webhook};
use crate::helpers::{assert_problem, Options, TestApp};
use crate::receiver::Receiver;

/// Claims what is due as a worker would, under `token`; returns the claimed ids.
async fn claim(app: &TestApp, token: &str) -> Vec<String> {
    let now = app.clock.now();
    let lease = app.settings.delivery.lease_secs;
    let token = token.to_owned();
    let db = app.state.db();
    let t = token.clone();
    let ids = db
        .write(move |c| outbox::lease_due(c, now, lease, 100, &t))
        .await
        .unwrap();
    let claims = db
        .read(move |c| outbox::claimed(c, &ids, &token))
        .await
        .unwrap();
    claims
        .into_iter()
        .map(|c| c.delivery.id.to_string())
        .collect()
}

fn delivered(id: &str, token: &str, at: chrono::DateTime<chrono::Utc>) -> Outcome {
    Outcome {
        id: id.parse().unwrap(),
        token: token.to_owned(),
        at,
        kind: OutcomeKind::Attempted {
            state: DeliveryState::Delivered,
            attempts: 1,
            next_attempt_at: None,
            status: Some(200),
            error: None,
            disable: None,
        },
    }
}

async fn record(app: &TestApp, outcome: Outcome) -> bool {
    let applied = app
        .state
        .db()
        .write(move |c| outbox::record_all(c, &[outcome]))
        .await
        .unwrap();
    applied == vec![true]
}

async fn state_of(app: &TestApp, id: &str) -> DeliveryState {
    let id: DeliveryId = id.parse().unwrap();
    app.state
        .db()
        .read(move |c| outbox::get(c, None, id))
        .await
        .unwrap()
        .unwrap()
        .state
}

#[tokio::test]
async fn only_the_holder_of_a_claim_records_its_outcome() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    subscribe_webhook(&app, &a, "http://127.0.0.1:9/hook").await;
    let ids = enqueue(&app, &a).await;
    assert_eq!(claim(&app, "first").await, ids);
    assert!(claim(&app, "second").await.is_empty(), "leased");
    // The first claim's lease runs out; another worker claims the delivery and delivers it.
    app.clock
        .advance(Duration::seconds(app.settings.delivery.lease_secs + 1));
    assert_eq!(claim(&app, "second").await, ids);
    let now = app.clock.now();
    assert!(record(&app, delivered(&ids[0], "second", now)).await);
    assert_eq!(state_of(&app, &ids[0]).await, DeliveryState::Delivered);
    // The first worker's late outcome (a failure to retry) changes nothing.
    let late = Outcome {
        kind: OutcomeKind::Attempted {
            state: DeliveryState::Pending,
            attempts: 1,
            next_attempt_at: Some(now),
            status: Some(503),
            error: Some("endpoint answered 503".into()),
            disable: None,
        },
        ..delivered(&ids[0], "first", now)
    };
    assert!(!record(&app, late).await, "not the holder");
    assert_eq!(state_of(&app, &ids[0]).await, DeliveryState::Delivered);
    assert!(
        !record(&app, delivered(&ids[0], "second", now)).await,
        "a claim is recorded once"
    );
}

#[tokio::test]
async fn retry_refuses_a_delivery_that_is_being_sent() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    subscribe_webhook(&app, &a, "http://127.0.0.1:9/hook").await;
    let ids = enqueue(&app, &a).await;
    assert_eq!(claim(&app, "sending").await, ids);
    let r = app
        .post(
            &format!("/deliveries/{}/retry", ids[0]),
            &app.admin(),
            json!({}),
        )
        .await;
    assert_problem(&r, 409);
    assert!(
        r.1["detail"].as_str().unwrap().contains("being sent"),
        "{}",
        r.1
    );
    // The claim still holds: the retry did not unlock it.
    assert!(claim(&app, "other").await.is_empty());
    app.clock
        .advance(Duration::seconds(app.settings.delivery.lease_secs + 1));
    let r = app
        .post(
            &format!("/deliveries/{}/retry", ids[0]),
            &app.admin(),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["state"], "pending");
}

#[tokio::test]
async fn a_claim_left_by_a_dead_process_is_sent_again_once_its_short_lease_runs_out() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let lease = app.settings.delivery.lease_secs;
    let poll_ms = i64::try_from(app.settings.delivery.poll_interval_ms).unwrap();
    assert!(
        lease * 1000 + poll_ms <= 15_000,
        "a dead claim comes back within 15 s (lease {lease} s, poll {poll_ms} ms)"
    );
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![]).await;
    subscribe_webhook(&app, &a, &receiver.url).await;
    let ids = enqueue(&app, &a).await;
    // A process claimed it and died (no outcome, no renewal).
    assert_eq!(claim(&app, "dead-process").await, ids);
    assert_eq!(app.drain().await, 0, "not while its lease runs");
    app.clock.advance(Duration::seconds(lease - 1));
    assert_eq!(app.drain().await, 0, "not before the lease has run out");
    app.clock.advance(Duration::seconds(2));
    assert_eq!(app.drain().await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, ids[0]);
    assert_eq!(state_of(&app, &ids[0]).await, DeliveryState::Delivered);
}

#[tokio::test]
async fn a_batch_of_outcomes_records_only_the_claims_still_held() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    subscribe_webhook(&app, &a, "http://127.0.0.1:9/hook").await;
    let mut ids = enqueue(&app, &a).await;
    ids.extend(enqueue(&app, &a).await);
    assert_eq!(claim(&app, "a").await.len(), 2);
    app.clock
        .advance(Duration::seconds(app.settings.delivery.lease_secs + 1));
    assert_eq!(claim(&app, "b").await.len(), 2);
    let now = app.clock.now();
    let retry = Outcome {
        kind: OutcomeKind::Attempted {
            state: DeliveryState::Pending,
            attempts: 1,
            next_attempt_at: Some(now + Duration::minutes(5)),
            status: Some(503),
            error: Some("endpoint answered 503".into()),
            disable: None,
        },
        ..delivered(&ids[1], "b", now)
    };
    let batch = vec![
        delivered(&ids[0], "b", now),
        delivered(&ids[1], "a", now),
        retry,
    ];
    let applied = app
        .state
        .db()
        .write(move |c| outbox::record_all(c, &batch))
        .await
        .unwrap();
    assert_eq!(applied, vec![true, false, true]);
    assert_eq!(state_of(&app, &ids[0]).await, DeliveryState::Delivered);
    let id: DeliveryId = ids[1].parse().unwrap();
    let d = app
        .state
        .db()
        .read(move |c| outbox::get(c, None, id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!((d.attempts, d.last_status), (1, Some(503)));
    assert_eq!(d.next_attempt_at, now + Duration::minutes(5));
    // Released: due again in five minutes, for whoever claims it then.
    app.clock.advance(Duration::minutes(6));
    assert_eq!(claim(&app, "c").await, vec![ids[1].clone()]);
}
