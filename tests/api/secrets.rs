//! Webhook secrets at rest: the stored column holds a sealed value, never the secret, and a
//! secret an older hub stored in the clear is sealed at start; deliveries still verify with
//! the secret the agency was given. SSRF refusals name no address.
use diesel::prelude::*;
use msht_hub::store::schema::subscriptions as s;
use serde_json::{json, Value};

use crate::delivery::{enqueue, subscribe_webhook, verify_all};
use crate::helpers::{pointers, Options, TestApp};
use crate::receiver::Receiver;

async fn stored_secret(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.state
        .db()
        .read(move |c| {
            Ok(s::table
                .find(id)
                .select(s::secret)
                .first::<Option<String>>(c)?)
        })
        .await
        .unwrap()
        .unwrap()
}

fn assert_sealed(stored: &str, secret: &str) {
    let body = secret.strip_prefix("whsec_").unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains(body), "the secret is not stored");
}

#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_and_deliveries_still_verify() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![]).await;
    let sub = subscribe_webhook(&app, &a, &receiver.url).await;
    let secret = sub["secret"].as_str().unwrap().to_owned();
    assert_sealed(
        &stored_secret(&app, sub["id"].as_str().unwrap()).await,
        &secret,
    );
    enqueue(&app, &a).await;
    assert_eq!(app.drain().await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    verify_all(&got, &secret);
    assert!(app.data_dir.path().join("webhook-secret-key").exists());
}

#[tokio::test]
async fn secrets_stored_in_the_clear_are_sealed_at_start() {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let receiver = Receiver::start(vec![]).await;
    let sub = subscribe_webhook(&app, &a, &receiver.url).await;
    let id = sub["id"].as_str().unwrap().to_owned();
    let secret = sub["secret"].as_str().unwrap().to_owned();
    // As an older hub stored it.
    let (i, v) = (id.clone(), secret.clone());
    app.state
        .db()
        .write(move |c| {
            diesel::update(s::table.find(i))
                .set(s::secret.eq(Some(v)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(stored_secret(&app, &id).await, secret);
    let app = app.restart(false).await;
    assert_sealed(&stored_secret(&app, &id).await, &secret);
    enqueue(&app, &a).await;
    assert_eq!(app.drain().await, 1);
    verify_all(&receiver.received(), &secret);
}

#[tokio::test]
async fn an_ssrf_refusal_names_no_address_and_special_ranges_are_refused() {
    let app = TestApp::spawn().await;
    let a = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    let token = app.token(&a, &["practitioner"]);
    let subscribe = |url: &str| {
        app.post(
            "/subscriptions",
            &token,
            json!({"events": ["incident.notified"], "channel": {"type": "webhook", "url": url}}),
        )
    };
    // A name that resolves to loopback: refused, and the answer does not say where it led.
    let r = subscribe("https://localhost/hook").await;
    assert_eq!(pointers(&r), vec!["/channel/url"]);
    let text = r.1.to_string();
    assert!(text.contains("not allowed"), "{text}");
    assert!(
        !text.contains("127.0.0.1") && !text.contains("::1"),
        "{text}"
    );
    for url in [
        "https://[2002:7f00:1::1]/hook",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "https://[fec0::1]/hook",
        "https://[64:ff9b:1::a00:1]/hook",
        "https://[100::1]/hook",
        "https://192.88.99.1/hook",
    ] {
        let r: (reqwest::StatusCode, Value) = subscribe(url).await;
        assert_eq!(pointers(&r), vec!["/channel/url"], "{url}");
    }
}
