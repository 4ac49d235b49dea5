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

#[tokio::test]
async fn stale_if_match_is_412() {
    let app = TestApp::spawn().await;
    let police = app.agency("Police", "police_force", &["E08000025"]).await;
    let token = app.token(&police, &["practitioner"]);
    let body = json!({
        "reference": "REF-1", "occurred_at": "2026-01-10T22:15:00Z", "area": "E08000025",
        "exploitation_types": ["criminal"], "classification": "official", "narrative": "first",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    });
    let created = app
        .client
        .post(format!("{}/incidents", app.api))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/incidents/{id}");
    let read = app.request(Method::GET, &path, &token, None).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");
    // Two editors read version 1; the first change lands, the second is refused.
    let first = app
        .patch_if(&path, &token, &etag, json!({"narrative": "first editor"}))
        .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(first.1["version"], 2);
    let second = app
        .patch_if(&path, &token, &etag, json!({"operation_name": "Op Second"}))
        .await;
    assert_problem(&second, 412);
    assert_eq!(second.1["type"], "urn:msht-hub:problem:precondition-failed");
    let now = app.get(&path, &token).await;
    assert_eq!(now.1["narrative"], "first editor");
    assert!(
        now.1.get("operation_name").is_none_or(|v| v.is_null()),
        "{}",
        now.1
    );
    // Without If-Match: 428; with the current ETag or `*`: applied.
    let r = app
        .send(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"narrative": "blind"})),
        )
        .await;
    assert_problem(&r, 428);
    let r = app
        .patch_if(
            &path,
            &token,
            "\"2\"",
            json!({"narrative": "second editor"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = app
        .patch_if(&path, &token, "*", json!({"narrative": "any"}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["version"], 4);
    let r = app.patch_if(&path, &token, "4", json!({})).await;
    assert_problem(&r, 400);
}

#[tokio::test]
async fn concurrent_changes_of_one_version_never_both_land() {
    let app = TestApp::spawn().await;
    let police = app.agency("Police", "police_force", &["E08000025"]).await;
    let token = app.token(&police, &["practitioner"]);
    let body = json!({
        "reference": "REF-1", "occurred_at": "2026-01-10T22:15:00Z", "area": "E08000025",
        "exploitation_types": ["criminal"], "classification": "official", "narrative": "n",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    });
    let r = app.post("/incidents", &token, body).await;
    let path = format!("/incidents/{}", r.1["id"].as_str().unwrap());
    let results = futures_util::future::join_all((0..8).map(|i| {
        let (app, path, token) = (&app, &path, &token);
        async move {
            app.patch_if(
                path,
                token,
                "\"1\"",
                json!({"narrative": format!("editor {i}")}),
            )
            .await
            .0
        }
    }))
    .await;
    let ok = results.iter().filter(|s| **s == StatusCode::OK).count();
    let stale = results
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((ok, stale), (1, 7), "{results:?}");
    assert_eq!(app.get(&path, &token).await.1["version"], 2);
}
