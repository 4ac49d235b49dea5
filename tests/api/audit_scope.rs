//! Whose audit log an entry is in: a candidate a disclosure was withheld from sees nothing
//! of the record (not even that it exists), while the discloser's IG officer and the hub
//! auditor see the withheld decision; a governance change is in the log of every agency it
//! concerns; and the per-person report is about that person alone.
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestAgency, TestApp};
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

const PURPOSE: &str = "purpose=verify_lawfulness";

pub(crate) struct World {
    pub app: TestApp,
    pub police: TestAgency,
    pub mash: TestAgency,
    /// The children's partnership for the area: a statutory candidate for a child victim,
    /// with no agreement with the police, so every disclosure to it is withheld.
    pub children: TestAgency,
}

pub(crate) async fn world() -> World {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let children = app
        .agency(
            "Birmingham Children's Partnership",
            "children_safeguarding_partnership",
            &[BIRMINGHAM],
        )
        .await;
    let p = partnership(&app, "Birmingham MSHT", &[&police, &mash, &children]).await;
    let id = draft(
        &app,
        agreement_body(&p.id, &police, &mash, &["area", "victims[].age_band"]),
        &police,
    )
    .await;
    sign(&app, &id, &police).await;
    sign(&app, &id, &mash).await;
    World {
        app,
        police,
        mash,
        children,
    }
}

/// An incident about a child (V1) and an adult (V2) who declined consent; returns its id.
pub(crate) async fn report_incident(w: &World) -> String {
    let r = w
        .app
        .post(
            "/incidents",
            &w.app.token(&w.police, &["practitioner"]),
            json!({
                "reference": "WMP-2026-0101",
                "occurred_at": "2026-05-30T22:15:00Z",
                "area": BIRMINGHAM,
                "exploitation_types": ["criminal"],
                "classification": "official",
                "narrative": "Two people found working at a car wash",
                "victims": [
                    {"reference": "V1", "age": 15, "gender": "male", "nationality": "GB",
                     "consent_to_share": "not_required",
                     "consent_absent_reason": "would_prejudice_protection"},
                    {"reference": "V2", "age": 30, "gender": "female", "nationality": "GB",
                     "consent_to_share": "given"}
                ]
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["id"].as_str().unwrap().to_owned()
}

async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/audit/events?{PURPOSE}{query}&limit=200"), token)
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn withheld_agency_sees_nothing_in_the_audit_log() {
    let w = world().await;
    let app = &w.app;
    let id = report_incident(&w).await;

    // The children's partnership sees nothing of the incident anywhere.
    let ig = app.token(&w.children, &["ig_officer"]);
    let all = events(app, &ig, "").await;
    assert!(!all.iter().any(|e| e.to_string().contains(&id)), "{all:?}");
    // (Before any query of its own names the incident.)
    let export = app
        .request(
            Method::GET,
            &format!("/audit/export?format=jsonl&{PURPOSE}"),
            &ig,
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!export.contains(&id), "{export}");

    // The hub auditor and the police's IG officer see the withheld decision, naming the
    // children's partnership as the agency it was withheld from, never as a recipient.
    let auditor = app.operator_token(&["hub_auditor"]);
    for token in [auditor, app.token(&w.police, &["ig_officer"])] {
        let entries = events(app, &token, &format!("&record_id={id}")).await;
        let withheld: Vec<&Value> = entries
            .iter()
            .filter(|e| e["decision"] == "withheld")
            .collect();
        assert_eq!(withheld.len(), 1, "{entries:?}");
        assert_eq!(withheld[0]["withheld_from"], json!([w.children.id]));
        assert_eq!(withheld[0]["recipients"], json!([]));
        let shared = entries.iter().find(|e| e["decision"] == "shared").unwrap();
        assert_eq!(shared["recipients"], json!([w.mash.id]));
        // The discloser finds what it withheld from an agency by filtering on that agency.
        let from = events(
            app,
            &token,
            &format!("&record_id={id}&agency_id={}", w.children.id),
        )
        .await;
        assert_eq!(from.len(), 1, "{from:?}");
    }
    let seq = events(
        app,
        &app.operator_token(&["hub_auditor"]),
        &format!("&record_id={id}"),
    )
    .await
    .into_iter()
    .find(|e| e["decision"] == "withheld")
    .unwrap()["seq"]
        .as_i64()
        .unwrap();

    assert!(events(app, &ig, &format!("&record_id={id}"))
        .await
        .is_empty());
    assert!(
        events(app, &ig, &format!("&subject_ref=incident:{id}:victim:V1"))
            .await
            .is_empty()
    );
    assert_problem(
        &app.get(&format!("/audit/events/{seq}?{PURPOSE}"), &ig)
            .await,
        404,
    );
    let report = app
        .get(
            &format!("/reports/disclosures?{PURPOSE}&subject_ref=incident:{id}:victim:V1"),
            &ig,
        )
        .await;
    assert_eq!(report.0, StatusCode::OK, "{}", report.1);
    assert_eq!(report.1["items"], json!([]), "{}", report.1);
    let practitioner = app.token(&w.children, &["practitioner"]);
    let notes = app.get("/notifications", &practitioner).await;
    assert_eq!(notes.1["items"], json!([]), "{}", notes.1);
    assert_problem(
        &app.get(&format!("/incidents/{id}/routing"), &practitioner)
            .await,
        404,
    );
}

#[tokio::test]
async fn governance_change_visible_to_the_agencys_ig_officer() {
    let w = world().await;
    let app = &w.app;
    // The operator changes the MASH's areas and invites it to a partnership; the police
    // suspend the agreement naming it.
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", w.mash.id),
            &app.admin(),
            Some(json!({"areas": [BIRMINGHAM, "E08000026"]})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let f = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": "Regional forum", "areas": [BIRMINGHAM]}),
        )
        .await;
    assert_eq!(f.0, StatusCode::CREATED, "{}", f.1);
    let fid = f.1["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/partnerships/{fid}/members"),
            &app.admin(),
            json!({"agency_id": w.mash.id}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let agreements = app
        .get("/agreements", &app.token(&w.police, &["ig_officer"]))
        .await;
    let agreement = agreements.1["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/agreements/{agreement}/suspend"),
            &app.token(&w.police, &["ig_officer"]),
            json!({"reason": "breach under investigation"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    let ig = app.token(&w.mash, &["ig_officer"]);
    let seen = events(app, &ig, "&operation=governance").await;
    let concerning = |kind: &str, record: &str| {
        seen.iter().any(|e| {
            e["record_kind"] == kind
                && e["record_id"] == record
                && e["concerns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == w.mash.id.as_str())
        })
    };
    assert!(
        concerning("identity_provider", &w.mash.id),
        "identity provider: {seen:?}"
    );
    assert!(concerning("agency", &w.mash.id), "areas: {seen:?}");
    assert!(concerning("partnership", &fid), "invitation: {seen:?}");
    assert!(concerning("agreement", &agreement), "suspension: {seen:?}");
    // The children's partnership is concerned by none of them.
    let other = events(
        app,
        &app.token(&w.children, &["ig_officer"]),
        "&operation=governance",
    )
    .await;
    assert!(
        !other
            .iter()
            .any(|e| e["record_id"] == fid.as_str() || e["record_id"] == agreement.as_str()),
        "{other:?}"
    );
}

#[tokio::test]
async fn person_report_shows_only_that_persons_reference_and_consent() {
    let w = world().await;
    let app = &w.app;
    let id = report_incident(&w).await;
    let me = format!("incident:{id}:victim:V2");
    let report = app
        .get(
            &format!("/reports/disclosures?{PURPOSE}&subject_ref={me}"),
            &app.token(&w.police, &["ig_officer"]),
        )
        .await;
    assert_eq!(report.0, StatusCode::OK, "{}", report.1);
    let items = report.1["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{}", report.1);
    for e in items {
        assert_eq!(e["subject_refs"], json!([me]), "{e}");
        assert_eq!(e["consent"], "V2: given", "{e}");
        assert_eq!(e["redacted"], true, "{e}");
        assert!(!e.to_string().contains("V1"), "another person leaked: {e}");
    }
}

#[tokio::test]
async fn a_subscription_without_filters_makes_only_the_disclosers_partners_candidates() {
    let w = world().await;
    let app = &w.app;
    // An NGO with no agreement with the police subscribes to everything.
    let ngo = app.agency("Curious NGO", "ngo", &[BIRMINGHAM]).await;
    let r = app
        .post(
            "/subscriptions",
            &app.token(&ngo, &["practitioner"]),
            json!({"events": ["incident.notified", "incident.updated"], "filters": {},
                   "channel": {"type": "email", "addresses": ["duty@agency.example.org"]}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = report_incident(&w).await;
    // It is no candidate: no routing decision, no entry naming it, nothing in its log.
    let routing = app
        .get(
            &format!("/incidents/{id}/routing"),
            &app.token(&w.police, &["practitioner"]),
        )
        .await;
    assert_eq!(routing.0, StatusCode::OK, "{}", routing.1);
    assert!(!routing.1.to_string().contains(&ngo.id), "{}", routing.1);
    let entries = events(
        app,
        &app.operator_token(&["hub_auditor"]),
        &format!("&record_id={id}&agency_id={}", ngo.id),
    )
    .await;
    assert!(entries.is_empty(), "{entries:?}");
    let own = events(app, &app.token(&ngo, &["ig_officer"]), "").await;
    assert!(!own.iter().any(|e| e.to_string().contains(&id)), "{own:?}");
}
