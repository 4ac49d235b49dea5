//! Subscriptions, the SSRF rules for webhook URLs, and the durable outbox: signed webhooks
//! with retries, `Retry-After`, 410, parking and operator retry, e-mail without personal data,
//! and delivery after a restart.
use chrono::Duration;
use msht_hub::delivery::webhook;
use msht_hub::domain::ids::AgencyId;
use msht_hub::domain::msht::EventType;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, pointers, Options, TestAgency, TestApp};
use crate::receiver::Receiver;

pub async fn subscribe_webhook(app: &TestApp, agency: &TestAgency, url: &str) -> Value {
    let r = app
        .post(
            "/subscriptions",
            &app.token(agency, &["practitioner"]),
            json!({
                "events": ["incident.notified", "incident.updated"],
                "filters": {"areas": ["E08000025"], "victim_age": "any"},
                "channel": {"type": "webhook", "url": url}
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1
}

/// Queues one event for `agency` the way the use cases do, inside a transaction.
pub async fn enqueue(app: &TestApp, agency: &TestAgency) -> Vec<String> {
    let id: AgencyId = agency.id.parse().unwrap();
    let now = app.clock.now();
    app.state
        .db()
        .write(move |c| {
            msht_hub::usecase::notify::enqueue(
                c,
                id,
                EventType::IncidentNotified,
                json!({"notification_id": "n-123", "incident_id": "i-1"}),
                "official_sensitive",
                now,
            )
        })
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.to_string())
        .collect()
}

pub fn verify_all(received: &[crate::receiver::Received], secret: &str) {
    let key = webhook::secret_key(secret).unwrap();
    for r in received {
        assert!(
            webhook::verify(&key, &r.id, r.timestamp, &r.body, &r.signature),
            "bad signature on {}",
            r.id
        );
    }
}

#[tokio::test]
async fn webhook_urls_follow_the_ssrf_rules() {
    let app = TestApp::spawn().await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let token = app.token(&a, &["practitioner"]);
    for (url, why) in [
        ("http://hooks.example.org/x", "plain http"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.8/hook", "private"),
        ("https://169.254.169.254/latest", "link-local metadata"),
        ("https://[::1]/hook", "IPv6 loopback"),
        ("https://user:pw@hooks.example.org/x", "credentials"),
    ] {
        let r = app
            .post(
                "/subscriptions",
                &token,
                json!({"events": ["incident.notified"],
                  "channel": {"type": "webhook", "url": url}}),
            )
            .await;
        assert_eq!(pointers(&r), vec!["/channel/url"], "{why}");
    }
    let list = app.get("/subscriptions", &token).await;
    assert!(
        list.1["items"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
    // Explicitly allowed by configuration, loopback over http is accepted.
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let created = subscribe_webhook(&app, &a, "http://127.0.0.1:9/hook").await;
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = created["id"].as_str().unwrap();
    let got = app
        .get(
            &format!("/subscriptions/{id}"),
            &app.token(&a, &["practitioner"]),
        )
        .await;
    assert_eq!(got.0, StatusCode::OK);
    assert!(
        got.1.get("secret").is_none(),
        "the secret is shown once only"
    );
}

#[tokio::test]
async fn subscriptions_are_scoped_to_their_agency() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Agency A", "mash", &["E08000025"]).await;
    let b = app.agency("Agency B", "ngo", &["E08000025"]).await;
    let sub = subscribe_webhook(&app, &a, "http://127.0.0.1:9/hook").await;
    let id = sub["id"].as_str().unwrap();
    let tb = app.token(&b, &["agency_admin"]);
    assert_problem(&app.get(&format!("/subscriptions/{id}"), &tb).await, 404);
    let r = app
        .send(Method::DELETE, &format!("/subscriptions/{id}"), &tb, None)
        .await;
    assert_problem(&r, 404);
    assert!(app.get("/subscriptions", &tb).await.1["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_problem(
        &app.get("/subscriptions", &app.token(&a, &["analyst"]))
            .await,
        403,
    );
    let r = app
        .send(
            Method::DELETE,
            &format!("/subscriptions/{id}"),
            &app.token(&a, &["agency_admin"]),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::NO_CONTENT);
    let bad = app
        .post(
            "/subscriptions",
            &app.token(&a, &["practitioner"]),
            json!({"events": ["nope"],
              "filters": {"threats": ["arson"]}, "channel": {"type": "pigeon"}}),
        )
        .await;
    assert_eq!(
        pointers(&bad),
        vec!["/events/0", "/filters/threats/0", "/channel/type"]
    );
}

#[tokio::test]
async fn a_failing_endpoint_gets_one_webhook_id_three_attempts_one_delivery() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![(500, None), (500, None)]).await;
    let sub = subscribe_webhook(&app, &a, &receiver.url).await;
    let ids = enqueue(&app, &a).await;
    assert_eq!(ids.len(), 1);
    assert_eq!(app.drain().await, 1);
    // Not due again until the backoff has passed.
    assert_eq!(app.drain().await, 0);
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(5));
        app.drain().await;
    }
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|r| r.id == ids[0]),
        "one webhook-id across retries"
    );
    verify_all(&got, sub["secret"].as_str().unwrap());
    let body: Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(body["type"], "incident.notified");
    assert_eq!(body["data"]["notification_id"], "n-123");
    let admin = app.admin();
    let d = app.get("/deliveries?state=delivered", &admin).await;
    let items = d.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["attempts"], 3);
    assert_eq!(items[0]["id"], ids[0].as_str());
    app.clock.advance(Duration::hours(1));
    assert_eq!(
        app.drain().await,
        0,
        "a delivered message is not sent again"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![(429, Some("120"))]).await;
    subscribe_webhook(&app, &a, &receiver.url).await;
    enqueue(&app, &a).await;
    app.drain().await;
    app.clock.advance(Duration::seconds(110));
    app.drain().await;
    assert_eq!(receiver.received().len(), 1, "not before Retry-After");
    app.clock.advance(Duration::seconds(15));
    app.drain().await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn gone_disables_the_subscription() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![(410, None)]).await;
    let sub = subscribe_webhook(&app, &a, &receiver.url).await;
    enqueue(&app, &a).await;
    app.drain().await;
    let id = sub["id"].as_str().unwrap();
    let got = app
        .get(
            &format!("/subscriptions/{id}"),
            &app.token(&a, &["practitioner"]),
        )
        .await;
    assert_eq!(got.1["active"], false);
    assert!(got.1["disabled_reason"].as_str().unwrap().contains("410"));
    // What comes next goes to the agency's contact address, not to the gone endpoint.
    enqueue(&app, &a).await;
    app.clock.advance(Duration::hours(1));
    app.drain().await;
    assert_eq!(receiver.received().len(), 1, "nothing more after 410");
    let all = app.get("/deliveries", &app.admin()).await;
    let channels: Vec<(&str, &str)> = all.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["channel"].as_str().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        channels,
        vec![("webhook", "cancelled"), ("email", "delivered")]
    );
}

#[tokio::test]
async fn old_failures_park_and_an_operator_retries_them() {
    let opts = Options::local_delivery().with_env("MSHT_HUB__DELIVERY__MAX_AGE_SECS", "600");
    let app = TestApp::spawn_with(opts).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![(503, None); 30]).await;
    subscribe_webhook(&app, &a, &receiver.url).await;
    let ids = enqueue(&app, &a).await;
    for _ in 0..12 {
        app.drain().await;
        app.clock.advance(Duration::minutes(2));
    }
    let parked = app.get("/deliveries?state=parked", &app.admin()).await;
    let items = parked.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", parked.1);
    assert!(items[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("older than"));
    let attempts_before = receiver.received().len();
    // Another agency's admin cannot see or retry it; a practitioner cannot either.
    let b = app.agency("Agency B", "ngo", &["E08000025"]).await;
    let r = app
        .post(
            &format!("/deliveries/{}/retry", ids[0]),
            &app.token(&b, &["agency_admin"]),
            json!({}),
        )
        .await;
    assert_problem(&r, 404);
    let r = app
        .post(
            &format!("/deliveries/{}/retry", ids[0]),
            &app.token(&a, &["practitioner"]),
            json!({}),
        )
        .await;
    assert_problem(&r, 403);
    let r = app
        .post(
            &format!("/deliveries/{}/retry", ids[0]),
            &app.token(&a, &["agency_admin"]),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["state"], "pending");
    app.drain().await;
    assert_eq!(receiver.received().len(), attempts_before + 1);
    assert_eq!(
        receiver.received().last().unwrap().id,
        ids[0],
        "same webhook-id after retry"
    );
}

#[tokio::test]
async fn email_carries_no_personal_data() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    // No subscription: the agency's contact address is told.
    enqueue(&app, &a).await;
    assert_eq!(app.drain().await, 1);
    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    let text = &mails[0];
    assert!(text.contains("team@agency.example.org"));
    assert!(text.contains("n-123"));
    assert!(text.contains("OFFICIAL-SENSITIVE"));
    assert!(!text.contains("i-1"), "only the notification id");
}

#[tokio::test]
async fn a_delivery_survives_a_restart_between_commit_and_delivery() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![]).await;
    subscribe_webhook(&app, &a, &receiver.url).await;
    let ids = enqueue(&app, &a).await;
    // Stopped before any worker ran; a new process with its worker running picks it up.
    let app = app.restart(true).await;
    for _ in 0..100 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, ids[0]);
    let d = app.get("/deliveries?state=delivered", &app.admin()).await;
    assert_eq!(d.1["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
#[ignore = "needs a real SMTP server; .ci/run starts one"]
async fn interop_smtp_mail_reaches_a_real_server() {
    let url = std::env::var("MSHT_HUB_TEST_SMTP_URL").expect("MSHT_HUB_TEST_SMTP_URL");
    let maildir = std::env::var("MSHT_HUB_TEST_SMTP_MAILDIR").expect("MSHT_HUB_TEST_SMTP_MAILDIR");
    let before = std::fs::read_dir(format!("{maildir}/new"))
        .map(|d| d.count())
        .unwrap_or(0);
    let app =
        TestApp::spawn_with(Options::local_delivery().with_env("MSHT_HUB__MAIL__SMTP_URL", &url))
            .await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    enqueue(&app, &a).await;
    assert_eq!(app.drain().await, 1);
    let d = app.get("/deliveries?state=delivered", &app.admin()).await;
    assert_eq!(d.1["items"].as_array().unwrap().len(), 1, "{}", d.1);
    let files: Vec<_> = std::fs::read_dir(format!("{maildir}/new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), before + 1);
    let newest = files
        .iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    let text = std::fs::read_to_string(newest).unwrap();
    assert!(text.contains("n-123"));
    assert!(!text.contains("i-1"));
}
