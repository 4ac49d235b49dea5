//! The HTTP edge before any handler: a token is checked before a body or query is read,
//! API answers are never cached, and a change of an incident names the version it changes.
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::audit::{all_events, auditor};
use crate::helpers::{assert_problem, TestApp};

/// `access_denied` entries of callers without a valid token.
async fn denied(app: &TestApp) -> usize {
    all_events(app, &auditor(app), "&operation=access_denied")
        .await
        .into_iter()
        .filter(|e| e["actor"]["subject"] == "unauthenticated")
        .count()
}

#[tokio::test]
async fn unauthenticated_bad_body_is_401() {
    let app = TestApp::spawn().await;
    // Not JSON at all, and without a token: the token is checked first.
    let r = app
        .client
        .post(format!("{}/incidents", app.api))
        .header("content-type", "text/plain")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(denied(&app).await, 1);
    // Malformed JSON with a bad token.
    let r = app
        .client
        .post(format!("{}/agreements", app.api))
        .bearer_auth("junk")
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(denied(&app).await, 2);
    // A bad query without a token.
    let r = app.get("/audit/events?limit=nope", "").await;
    assert_problem(&r, 401);
    assert_eq!(denied(&app).await, 3);
    // A wrong method is still 405 (the spec says which methods exist), and a public
    // endpoint needs no token.
    let r = app
        .request(Method::DELETE, "/incidents", "", Some(json!({})))
        .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.get("/healthz", "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn personal_data_responses_are_no_store() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let token = app.token(&a, &["practitioner"]);
    for (path, token) in [
        ("/me", token.as_str()),
        ("/incidents", token.as_str()),
        ("/notifications", token.as_str()),
        (&format!("/agencies/{}", a.id), token.as_str()),
        ("/me", ""),
        ("/incidents/nope", token.as_str()),
    ] {
        let r = app.request(Method::GET, path, token, None).await;
        assert_eq!(
            r.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("no-store".to_owned()),
            "{path} ({})",
            r.status()
        );
    }
    // The operations endpoints may be cached as their server says.
    let r = app.request(Method::GET, "/healthz", "", None).await;
    assert!(r.headers().get("cache-control").is_none());
}
