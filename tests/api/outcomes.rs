//! Outcomes on an incident: typed and validated, recorded by the reporting agency or a
//! partner an agreement lets record them, audited as alterations, routed to partners as
//! `incident.outcome_recorded`; the old `recorded_on_pnd` and `nca_disruption_outcomes`
//! become migrated outcomes and stay readable as derived values.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::all_events;
use crate::helpers::{assert_problem, pointers, TestAgency, TestApp};
use crate::sharing::{share, BIRMINGHAM};

pub fn incident_body(reference: &str) -> Value {
    json!({
        "reference": reference,
        "occurred_at": "2026-05-30T22:15:00Z",
        "area": BIRMINGHAM,
        "exploitation_types": ["labour"],
        "threats": ["foreign_national_suspect"],
        "classification": "official",
        "recorded_on_pnd": true,
        "nca_disruption_outcomes": ["two vans seized"],
        "narrative": "Workers found at a car wash",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    })
}

struct World {
    app: TestApp,
    police: TestAgency,
    mash: TestAgency,
    incident: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    share(
        &app,
        &police,
        &mash,
        &["area", "outcomes[].kind", "outcomes[].date"],
    )
    .await;
    let r = app
        .post(
            "/incidents",
            &app.token(&police, &["practitioner"]),
            incident_body("WMP-1"),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let incident = r.1["id"].as_str().unwrap().to_owned();
    World {
        app,
        police,
        mash,
        incident,
    }
}

fn disruption() -> Value {
    json!({"kind": "disruption", "date": "2026-05-31", "tactic": "business",
           "impact": "major", "rationale": "Car wash closed by licensing", "ocg_reference": "OCG-12"})
}

#[actix_web::test]
async fn the_reporter_records_typed_outcomes_and_the_old_fields_are_derived() {
    let w = world().await;
    let (app, token) = (&w.app, w.app.token(&w.police, &["practitioner"]));
    let path = format!("/incidents/{}/outcomes", w.incident);

    let r = app.get(&format!("/incidents/{}", w.incident), &token).await;
    let migrated = r.1["outcomes"].as_array().unwrap();
    assert_eq!(migrated.len(), 2, "{}", r.1);
    assert!(migrated.iter().all(|o| o["migrated"] == true));
    assert_eq!(migrated[0]["kind"], "disruption");
    assert_eq!(migrated[0]["description"], "two vans seized");
    assert_eq!(migrated[1]["kind"], "pnd_recorded");
    assert_eq!(r.1["recorded_on_pnd"], true);
    assert_eq!(r.1["nca_disruption_outcomes"], json!(["two vans seized"]));

    let bad = app
        .post(
            &path,
            &token,
            json!({"kind": "disruption", "date": "2026-05-31",
              "tactic": "magic", "impact": "major", "cps_decision": "charge"}),
        )
        .await;
    assert_eq!(
        pointers(&bad),
        vec!["/tactic", "/cps_decision", "/rationale"]
    );

    let r = app.post(&path, &token, disruption()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["tactic"], "business");
    assert_eq!(r.1["agency_id"], w.police.id);
    assert_eq!(r.1["four_p"], "pursue");
    assert_eq!(r.1["incident_version"], 2);
    let routing = r.1["routing"].as_array().unwrap();
    assert!(routing
        .iter()
        .any(|d| d["agency_id"] == w.mash.id && d["decision"] == "notified"));

    let charge = json!({"kind": "charge", "date": "2026-06-01", "cps_decision": "charge",
                        "offences": ["msa2015_s1", "msa2015_s2"], "reference": "CPS-77"});
    let r = app.post(&path, &token, charge).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);

    let r = app.get(&format!("/incidents/{}", w.incident), &token).await;
    let kinds: Vec<&str> = r.1["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["disruption", "pnd_recorded", "disruption", "charge"]
    );
    assert_eq!(
        r.1["nca_disruption_outcomes"],
        json!(["two vans seized", "business (major)"])
    );
    assert_eq!(r.1["version"], 3);

    // A change of the incident keeps its outcomes.
    let r = app
        .patch_if(
            &format!("/incidents/{}", w.incident),
            &token,
            "\"3\"",
            json!({"narrative": "Workers found at two car washes"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["outcomes"].as_array().unwrap().len(), 4, "{}", r.1);

    // The MASH was told of each outcome, and sees only the fields its agreement allows.
    let mash = app.token(&w.mash, &["practitioner"]);
    let n = app.get("/notifications", &mash).await;
    let events: Vec<&str> = n.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "incident.outcome_recorded")
            .count(),
        2,
        "{events:?}"
    );
    let last = n.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["event"] == "incident.outcome_recorded")
        .unwrap();
    let read = app
        .get(
            &format!("/notifications/{}", last["id"].as_str().unwrap()),
            &mash,
        )
        .await;
    assert_eq!(read.0, StatusCode::OK, "{}", read.1);
    let o = &read.1["record"]["outcomes"][0];
    assert!(
        o.get("kind").is_some() && o.get("rationale").is_none(),
        "{}",
        read.1
    );

    // Each outcome is an audited alteration naming the outcome fields.
    let ig = app.token(&w.police, &["ig_officer"]);
    let entries = all_events(
        app,
        &ig,
        &format!("&record_id={}&operation=alteration", w.incident),
    )
    .await;
    let outcome_entries: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            e["justification"]
                .as_str()
                .unwrap_or("")
                .contains("outcome recorded")
        })
        .collect();
    assert_eq!(outcome_entries.len(), 2, "{entries:?}");
    assert!(outcome_entries.iter().all(|e| e["data_items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d == "outcomes[].kind")));
}

#[actix_web::test]
async fn partners_record_outcomes_only_where_an_agreement_lets_them() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/incidents/{}/outcomes", w.incident);
    let mash = app.token(&w.mash, &["practitioner"]);

    // The agreement covers investigation: a charge may be recorded, a disruption may not.
    let charge = json!({"kind": "charge", "date": "2026-06-01", "cps_decision": "advice",
                        "reference": "CPS-EA-3"});
    let r = app.post(&path, &mash, charge).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["recorded_by_agency_id"], w.mash.id);
    assert!(
        r.1.get("routing").is_none(),
        "a partner never sees the routing: {}",
        r.1
    );
    assert_problem(&app.post(&path, &mash, disruption()).await, 403);

    // An agency never told of the incident does not learn it exists.
    let other = app.agency("Walsall MASH", "mash", &["E08000030"]).await;
    let r = app
        .post(&path, &app.token(&other, &["practitioner"]), disruption())
        .await;
    assert_problem(&r, 404);
    let r = app
        .post(&path, &app.token(&w.police, &["analyst"]), disruption())
        .await;
    assert_problem(&r, 403);

    let r = app
        .get(
            &format!("/incidents/{}", w.incident),
            &app.token(&w.police, &["practitioner"]),
        )
        .await;
    let last = r.1["outcomes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "charge");
    assert_eq!(last["recorded_by_agency_id"], w.mash.id);
}

#[actix_web::test]
async fn a_retried_outcome_with_its_idempotency_key_is_recorded_once() {
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.police, &["practitioner"]);
    let path = format!("/incidents/{}/outcomes", w.incident);
    let send = |body: Value| {
        app.client
            .post(format!("{}{path}", app.api))
            .bearer_auth(&token)
            .header("idempotency-key", "outcome-1")
            .json(&body)
            .send()
    };
    let first = send(disruption()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(disruption()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let other = send(json!({"kind": "pnd_recorded", "date": "2026-05-31", "reference": "PND-9"}))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get(&format!("/incidents/{}", w.incident), &token).await;
    assert_eq!(r.1["outcomes"].as_array().unwrap().len(), 3, "{}", r.1);
    assert_eq!(r.1["version"], 2);
}
