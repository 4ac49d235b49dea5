//! Learning records: a partnership's record of an investigation or operation with lessons by
//! theme and recommendations (owner agency, due date, status, closed only with evidence),
//! open and overdue lists per partnership, for members only (refusals logged), every write
//! audited, and creates idempotent.
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::all_events;
use crate::helpers::{assert_problem, pointers, TestAgency, TestApp};
use crate::sharing::{partnership, BIRMINGHAM};

struct World {
    app: TestApp,
    police: TestAgency,
    council: TestAgency,
    outsider: TestAgency,
    partnership: String,
    incident: String,
    outsiders_incident: String,
}

async fn record_incident(app: &TestApp, by: &TestAgency) -> String {
    let r = app
        .post(
            "/incidents",
            &app.token(by, &["practitioner"]),
            json!({
                "reference": "OP-LANTERN-1",
                "occurred_at": "2026-05-20T10:00:00Z",
                "area": BIRMINGHAM,
                "exploitation_types": ["labour"],
                "classification": "official",
                "narrative": "Car wash workers found in a flat above it",
                "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["id"].as_str().unwrap().to_owned()
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let council = app
        .agency("Birmingham City Council", "local_authority", &[BIRMINGHAM])
        .await;
    let outsider = app.agency("Elsewhere NGO", "ngo", &[BIRMINGHAM]).await;
    let p = partnership(&app, "Birmingham MSHT", &[&police, &council]).await;
    let incident = record_incident(&app, &police).await;
    let outsiders_incident = record_incident(&app, &outsider).await;
    World {
        app,
        police,
        council,
        outsider,
        partnership: p.id,
        incident,
        outsiders_incident,
    }
}

fn body(w: &World) -> Value {
    json!({
        "subject": "operation",
        "title": "Operation Lantern debrief",
        "reference": "OP-LANTERN",
        "incident_ids": [w.incident],
        "exploitation_types": ["labour"],
        "threats": ["foreign_national_suspect"],
        "lessons": [
            {"theme": "interpreting", "worked": "Romanian interpreters booked before the warrant"},
            {"theme": "financial_investigation", "did_not_work": "Financial investigator joined after arrests"}
        ],
        "recommendations": [
            {"text": "Financial investigator at the first planning meeting", "owner_agency_id": w.police.id, "due_on": "2026-07-01"},
            {"text": "Emergency accommodation protocol for labour victims", "owner_agency_id": w.council.id, "due_on": "2026-06-10"}
        ]
    })
}

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(format!("{}{}", app.api, path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn learning_records_and_their_recommendations_are_for_the_partnerships_members() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/partnerships/{}/learning-records", w.partnership);
    let police = app.token(&w.police, &["practitioner"]);
    let council = app.token(&w.council, &["practitioner"]);
    let outsider = app.token(&w.outsider, &["practitioner"]);

    let r = post_keyed(app, &path, &police, "lantern-1", body(&w)).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let again = post_keyed(app, &path, &police, "lantern-1", body(&w)).await;
    assert_eq!(again, r, "a retry answers the first record");
    let record = r.1;
    let id = record["id"].as_str().unwrap().to_owned();
    assert_eq!(record["lessons"][1]["theme"], "financial_investigation");
    let recs = record["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs
        .iter()
        .all(|r| r["status"] == "open" && r["overdue"] == false));
    let council_rec = recs
        .iter()
        .find(|r| r["owner_agency_id"] == w.council.id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app.get(&path, &council).await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    assert_eq!(list.1["items"].as_array().unwrap().len(), 1);
    let analyst = app
        .get(
            &format!("/learning-records/{id}"),
            &app.token(&w.council, &["analyst"]),
        )
        .await;
    assert_eq!(analyst.0, StatusCode::OK, "{}", analyst.1);

    // Bad input names its fields and records nothing; an outsider owns nothing here, and
    // another agency's incident cannot be linked.
    let mut bad = body(&w);
    bad["recommendations"][0]["owner_agency_id"] = json!(w.outsider.id);
    bad["incident_ids"] = json!([w.outsiders_incident]);
    let r = app.post(&path, &police, bad).await;
    assert_eq!(
        pointers(&r),
        vec!["/incident_ids/0", "/recommendations/0/owner_agency_id"]
    );
    let r = app
        .post(&path, &police, json!({"subject": "operation", "title": ""}))
        .await;
    assert_eq!(pointers(&r), vec!["/title"]);
    assert_eq!(
        app.get(&path, &police).await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Outsiders are refused, and each refusal is logged.
    assert_problem(&app.get(&path, &outsider).await, 403);
    assert_problem(&app.post(&path, &outsider, body(&w)).await, 403);
    assert_problem(
        &app.get(&format!("/learning-records/{id}"), &outsider).await,
        404,
    );
    let status = format!("/learning-recommendations/{council_rec}/status");
    assert_problem(
        &app.post(&status, &outsider, json!({"status": "in_progress"}))
            .await,
        404,
    );
    let auditor = app.operator_token(&["hub_auditor"]);
    let denied = all_events(app, &auditor, "&operation=access_denied").await;
    let by_outsider = denied
        .iter()
        .filter(|e| e["actor"]["agency_id"] == w.outsider.id.as_str())
        .count();
    assert_eq!(by_outsider, 4, "{denied:?}");

    // Past the council's due date its recommendation is overdue; only the council moves it on,
    // and closes it only with evidence.
    let open = format!("/partnerships/{}/recommendations", w.partnership);
    assert!(
        app.get(&format!("{open}?status=overdue"), &council).await.1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.clock.advance(Duration::days(10));
    // (Tokens are issued afresh by the moved clock.)
    let police = app.token(&w.police, &["practitioner"]);
    let council = app.token(&w.council, &["practitioner"]);
    let auditor = app.operator_token(&["hub_auditor"]);
    let overdue = app.get(&format!("{open}?status=overdue"), &police).await;
    let items = overdue.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", overdue.1);
    assert_eq!(items[0]["id"], council_rec.as_str());
    assert_eq!(items[0]["overdue"], true);
    assert_problem(&app.get(&format!("{open}?status=late"), &police).await, 422);
    assert_problem(
        &app.post(&status, &police, json!({"status": "in_progress"}))
            .await,
        403,
    );
    let r = app
        .post(&status, &council, json!({"status": "closed"}))
        .await;
    assert_eq!(pointers(&r), vec!["/evidence"]);
    let r = app
        .post(&status, &council, json!({"status": "in_progress"}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "in_progress");
    let r = app
        .post(
            &status,
            &council,
            json!({"status": "closed", "evidence": "Protocol agreed at the June board, minute 7"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "closed");
    assert_eq!(r.1["closed_by_agency_id"], w.council.id.as_str());
    assert_eq!(r.1["overdue"], false);
    assert_problem(
        &app.post(&status, &council, json!({"status": "open"})).await,
        409,
    );
    let open_now = app.get(&open, &police).await.1;
    assert_eq!(open_now["items"].as_array().unwrap().len(), 1, "{open_now}");
    assert!(
        app.get(&format!("{open}?status=overdue"), &police).await.1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get(&format!("{open}?status=closed"), &police).await.1["items"][0]["evidence"],
        "Protocol agreed at the June board, minute 7"
    );

    // A member adds a recommendation later (once per Idempotency-Key); an outsider cannot.
    let add = format!("/learning-records/{id}/recommendations");
    let more = json!({"text": "Share the debrief with the ICTG service", "owner_agency_id": w.council.id, "due_on": "2026-09-01"});
    let r = post_keyed(app, &add, &police, "lantern-rec-3", more.clone()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["status"], "open");
    assert_eq!(
        post_keyed(app, &add, &police, "lantern-rec-3", more.clone()).await,
        r
    );
    let bad = app
        .post(
            &add,
            &police,
            json!({"text": "x", "owner_agency_id": w.outsider.id, "due_on": "2026-01-01"}),
        )
        .await;
    let mut ptrs = pointers(&bad);
    ptrs.sort();
    assert_eq!(ptrs, vec!["/due_on"], "{}", bad.1);
    let bad = app
        .post(
            &add,
            &police,
            json!({"text": "x", "owner_agency_id": w.outsider.id, "due_on": "2026-09-01"}),
        )
        .await;
    assert_eq!(pointers(&bad), vec!["/owner_agency_id"]);
    let outsider = app.token(&w.outsider, &["practitioner"]);
    assert_problem(&app.post(&add, &outsider, more).await, 404);
    let full = app.get(&format!("/learning-records/{id}"), &police).await;
    assert_eq!(
        full.1["recommendations"].as_array().unwrap().len(),
        3,
        "{}",
        full.1
    );

    // Every write is audited.
    let made = all_events(
        app,
        &auditor,
        "&operation=collection&record_kind=learning_record",
    )
    .await;
    assert_eq!(made.len(), 1, "{made:?}");
    let moved = all_events(
        app,
        &auditor,
        "&operation=alteration&record_kind=learning_recommendation",
    )
    .await;
    assert_eq!(moved.len(), 2, "{moved:?}");
}
