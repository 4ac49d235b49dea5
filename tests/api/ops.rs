//! Operations endpoints, request ids, metrics and the shape of routing errors.
use reqwest::StatusCode;

use crate::helpers::{assert_problem, TestApp};

#[tokio::test]
async fn health_readiness_and_spec() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz", "").await;
    assert_eq!(r.0, StatusCode::OK);
    assert_eq!(r.1["status"], "ok");
    let r = app.get("/readyz", "").await;
    assert_eq!(r.0, StatusCode::OK);
    assert_eq!(r.1["status"], "ready");
    let spec = app
        .client
        .get(format!("{}/api-spec/openapi.yaml", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.status(), StatusCode::OK);
    assert!(spec.text().await.unwrap().starts_with("openapi: 3.1"));
}

#[tokio::test]
async fn probes_and_metrics_are_at_the_root_where_operators_look() {
    let app = TestApp::spawn().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{path}");
    }
    let r = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    // Spawning the test hub registered agencies through the writer: its batches are counted.
    let batches = gauge(&text, "msht_hub_db_write_batches_total").unwrap_or(0);
    assert!(batches >= 1, "{text}");
    assert!(text.contains("msht_hub_db_write_intents_total"), "{text}");
    // The gauge counts intents off as the writer takes them: once the hub's own background
    // writes (delivery worker, scheduler) have been taken, a scrape reads 0. A counter that
    // leaked would never get back there.
    let mut queued = gauge(&text, "msht_hub_db_write_queued");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while queued != Some(0) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let text = app.metrics(false).await;
        queued = gauge(&text, "msht_hub_db_write_queued");
    }
    assert_eq!(queued, Some(0), "{text}");
}

/// The value of an unlabelled gauge or counter in a Prometheus scrape.
fn gauge(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.get("/me", "").await;
    app.get(&format!("/agencies/{}", uuid::Uuid::new_v4()), &app.admin())
        .await;
    let text = app.metrics(true).await;
    assert!(
        text.contains(
            r#"msht_hub_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/agencies/{id}",status="404""#),
        "{text}"
    );
    assert!(text.contains("msht_hub_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn request_ids_are_kept_or_made() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(format!("{}/healthz", app.api))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "abc-123");
    let r = app
        .client
        .get(format!("{}/healthz", app.api))
        .header("x-request-id", "bad id\u{7f}")
        .send()
        .await;
    if let Ok(r) = r {
        assert_ne!(r.headers().get("x-request-id").unwrap(), "bad id\u{7f}");
    }
    let r = app
        .client
        .get(format!("{}/healthz", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap().len(), 36);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = TestApp::spawn().await;
    assert_problem(&app.get("/no-such-thing", "").await, 404);
    let r = app
        .client
        .get(format!("{}/elsewhere", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let r = app
        .client
        .delete(format!("{}/agencies", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers().get("allow").unwrap(), "POST, GET");
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    // Dev issuer routes exist only with --dev.
    let r = app
        .client
        .get(format!("{}/dev-issuer/police/jwks", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
