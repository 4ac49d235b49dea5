//! Escalation and partnership membership: an agency joins a partnership only by its own
//! `agency_admin`'s act, an invited agency is neither escalated to nor about, and an
//! escalation tells the lead who is late without ever being a read of the record (nor saying
//! a child is at risk unless the lead's agreement discloses the victim's age).
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, Options, TestAgency, TestApp};
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

const MASH_FIELDS: &[&str] = &["area", "victims[].reference", "victims[].age_band"];

struct World {
    app: TestApp,
    police: TestAgency,
    mash: TestAgency,
    /// Has an agreement with the police that shows victims' ages, but no subscription: the
    /// routing never sends it an incident.
    ngo: TestAgency,
    /// Has an agreement with the police that shows no victim's age.
    council: TestAgency,
}

async fn agree(app: &TestApp, p: &str, police: &TestAgency, to: &TestAgency, fields: &[&str]) {
    let id = draft(app, agreement_body(p, police, to, fields), police).await;
    sign(app, &id, police).await;
    sign(app, &id, to).await;
}

async fn world() -> World {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let ngo = app.agency("Rogue NGO", "ngo", &[BIRMINGHAM]).await;
    let council = app
        .agency("Birmingham City Council", "local_authority", &[BIRMINGHAM])
        .await;
    let p = partnership(&app, "Birmingham MSHT", &[&police, &mash, &ngo, &council]).await;
    agree(&app, &p.id, &police, &mash, MASH_FIELDS).await;
    agree(
        &app,
        &p.id,
        &police,
        &ngo,
        &["area", "exploitation_types", "victims[].age_band"],
    )
    .await;
    agree(&app, &p.id, &police, &council, &["area"]).await;
    World {
        app,
        police,
        mash,
        ngo,
        council,
    }
}

fn incident() -> Value {
    json!({
        "reference": "WMP-2026-0077",
        "occurred_at": "2026-05-30T22:15:00Z",
        "area": BIRMINGHAM,
        "exploitation_types": ["criminal"],
        "classification": "official",
        "narrative": "Found running drugs between Birmingham and Shrewsbury",
        "victims": [{"reference": "V1", "age": 15, "gender": "male", "nationality": "GB",
                     "consent_to_share": "not_required",
                     "consent_absent_reason": "would_prejudice_protection"}]
    })
}

/// `lead`'s agency_admin creates a forum it leads and invites `invited`; returns its id.
async fn forum(app: &TestApp, name: &str, lead: &TestAgency, invited: &TestAgency) -> String {
    let admin = app.token(lead, &["agency_admin"]);
    let f = app
        .post(
            "/partnerships",
            &admin,
            json!({"name": name, "areas": [BIRMINGHAM]}),
        )
        .await;
    assert_eq!(f.0, StatusCode::CREATED, "{}", f.1);
    let id = f.1["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/partnerships/{id}/members"),
            &admin,
            json!({"agency_id": invited.id}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    id
}

/// The police record an incident that the MASH lets go overdue; deadlines run.
async fn mash_lets_an_incident_go_overdue(w: &World) -> String {
    let app = &w.app;
    let r = app
        .post(
            "/incidents",
            &app.token(&w.police, &["practitioner"]),
            incident(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    app.clock.advance(Duration::hours(5));
    app.state.delivery.run_deadlines().await.unwrap();
    r.1["id"].as_str().unwrap().to_owned()
}

async fn notifications(app: &TestApp, agency: &TestAgency) -> Vec<Value> {
    let list = app
        .get("/notifications", &app.token(agency, &["practitioner"]))
        .await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    list.1["items"].as_array().unwrap().clone()
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&{query}"),
            &app.operator_token(&["hub_auditor"]),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn escalation_never_grants_a_read() {
    let w = world().await;
    let app = &w.app;
    let fid = forum(app, "Rogue forum", &w.ngo, &w.mash).await;
    let accept = format!("/partnerships/{fid}/members/{}/acceptance", w.mash.id);

    // Invited is not a member: the MASH's lapse does not reach the NGO.
    mash_lets_an_incident_go_overdue(&w).await;
    assert!(
        notifications(app, &w.ngo).await.is_empty(),
        "an invitation made the NGO the MASH's lead"
    );

    // Nobody but the MASH's own agency_admin accepts for it; each refusal is logged.
    let by_lead = app
        .post(&accept, &app.token(&w.ngo, &["agency_admin"]), json!({}))
        .await;
    assert_problem(&by_lead, 403);
    assert_problem(&app.post(&accept, &app.admin(), json!({})).await, 403);
    let denied = audit(
        app,
        "operation=access_denied&record_kind=partnership_membership",
    )
    .await;
    assert!(
        denied
            .iter()
            .any(|e| e["actor"]["agency_id"] == w.ngo.id.as_str()),
        "{denied:?}"
    );
    let p = app.get(&format!("/partnerships/{fid}"), &app.admin()).await;
    let mash = p.1["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["agency_id"] == w.mash.id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(mash["status"], "invited");

    // Once the MASH joins, its next lapse is escalated: the NGO learns who is late, and
    // reading the escalation is not a read of the incident.
    app.join(&fid, &w.mash).await;
    let incident_id = mash_lets_an_incident_go_overdue(&w).await;
    let items = notifications(app, &w.ngo).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let n = &items[0];
    assert_eq!(n["event"], "notification.overdue");
    assert_eq!(n["overdue_agency_id"], w.mash.id.as_str());
    assert!(n["overdue_notification_id"].is_string(), "{n}");
    let read = app
        .get(
            &format!("/notifications/{}", n["id"].as_str().unwrap()),
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(read.0, StatusCode::OK, "{}", read.1);
    assert!(read.1["record"].is_null(), "{}", read.1);
    assert!(read.1["agreement_id"].is_null(), "{}", read.1);
    assert!(read.1["receipt"].is_null(), "{}", read.1);
    assert_eq!(read.1["overdue_agency_id"], w.mash.id.as_str());
    assert!(!read.1.to_string().contains("age_band"), "{}", read.1);
    // The MASH's IG officer sees that its lapse was escalated.
    let mash_log = app
        .get(
            "/audit/events?purpose=self_monitoring&operation=governance&record_kind=notification",
            &app.token(&w.mash, &["ig_officer"]),
        )
        .await;
    assert!(
        mash_log.1["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["justification"].to_string().contains("escalated")),
        "{}",
        mash_log.1
    );
    let consulted = audit(
        app,
        &format!("operation=consultation&record_id={incident_id}"),
    )
    .await;
    assert!(
        !consulted
            .iter()
            .any(|e| e["actor"]["agency_id"] == w.ngo.id.as_str()),
        "the NGO consulted the incident: {consulted:?}"
    );
}

#[tokio::test]
async fn escalation_says_a_child_is_at_risk_only_where_the_leads_agreement_shows_age() {
    let w = world().await;
    let app = &w.app;
    for (name, lead) in [("NGO forum", &w.ngo), ("Council forum", &w.council)] {
        let fid = forum(app, name, lead, &w.mash).await;
        app.join(&fid, &w.mash).await;
    }
    mash_lets_an_incident_go_overdue(&w).await;
    let own = notifications(app, &w.mash).await;
    assert_eq!(own[0]["child_at_risk"], true, "{own:?}");
    // The NGO's agreement shows victims' age bands: it is told a child is at risk.
    let ngo = notifications(app, &w.ngo).await;
    assert_eq!(ngo.len(), 1, "{ngo:?}");
    assert_eq!(ngo[0]["child_at_risk"], true, "{ngo:?}");
    // The council's shows only the area: its escalation does not say so (and carries the
    // adult deadline).
    let council = notifications(app, &w.council).await;
    assert_eq!(council.len(), 1, "{council:?}");
    assert_eq!(council[0]["child_at_risk"], false, "{council:?}");
    let created: chrono::DateTime<chrono::Utc> =
        council[0]["created_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<chrono::Utc> =
        council[0]["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - created, Duration::hours(24));
}

#[tokio::test]
async fn an_invited_agency_declines_and_a_lead_named_by_the_operator_leads_once_it_accepts() {
    let w = world().await;
    let app = &w.app;
    let fid = forum(app, "Declined forum", &w.ngo, &w.mash).await;
    let decline = format!("/partnerships/{fid}/members/{}/decline", w.mash.id);
    let r = app
        .post(&decline, &app.token(&w.mash, &["agency_admin"]), json!({}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "declined");
    assert!(!r.1["members"].to_string().contains(&w.mash.id), "{}", r.1);
    // Declined again: there is no invitation (a logged 404).
    assert_problem(
        &app.post(&decline, &app.token(&w.mash, &["agency_admin"]), json!({}))
            .await,
        404,
    );

    // The operator names the council lead: until it accepts it cannot manage the forum.
    let f = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": "Operator forum", "areas": [BIRMINGHAM],
                   "lead_agency_id": w.council.id}),
        )
        .await;
    assert_eq!(f.0, StatusCode::CREATED, "{}", f.1);
    let fid = f.1["id"].as_str().unwrap().to_owned();
    assert_eq!(f.1["members"][0]["status"], "invited", "{}", f.1);
    let invite = |by: String| {
        let path = format!("/partnerships/{fid}/members");
        let body = json!({"agency_id": w.mash.id});
        async move { app.post(&path, &by, body).await }
    };
    assert_problem(&invite(app.token(&w.council, &["agency_admin"])).await, 403);
    app.join(&fid, &w.council).await;
    let r = invite(app.token(&w.council, &["agency_admin"])).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // A member cannot decline; accepting twice answers the same.
    assert_problem(
        &app.post(
            &format!("/partnerships/{fid}/members/{}/decline", w.council.id),
            &app.token(&w.council, &["agency_admin"]),
            json!({}),
        )
        .await,
        409,
    );
    app.join(&fid, &w.council).await;
}
