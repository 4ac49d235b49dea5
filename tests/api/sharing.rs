//! Fixtures for tests that need agencies able to share: a partnership whose members have
//! accepted its terms of reference, and agreements between them, drafted and signed through
//! the API. Other test modules (incidents, referrals) use these too.
#![allow(dead_code)]
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{TestAgency, TestApp};

pub const BIRMINGHAM: &str = "E08000025";

/// A partnership with members whose current terms every member has accepted.
pub struct Partnership {
    pub id: String,
    pub terms_version: i64,
}

/// Creates a partnership (by the hub operator) with `members`, publishes terms version 1
/// and has every member's `agency_admin` accept it.
pub async fn partnership(app: &TestApp, name: &str, members: &[&TestAgency]) -> Partnership {
    let r = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": name, "areas": [BIRMINGHAM]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = r.1["id"].as_str().unwrap().to_owned();
    for m in members {
        let r = app
            .post(
                &format!("/partnerships/{id}/members"),
                &app.admin(),
                json!({"agency_id": m.id}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    let version = publish_terms(app, &id).await;
    for m in members {
        accept_terms(app, &id, version, m).await;
    }
    Partnership {
        id,
        terms_version: version,
    }
}

/// Publishes a new version of the terms (by the hub operator); returns its number.
pub async fn publish_terms(app: &TestApp, partnership: &str) -> i64 {
    let r = app
        .post(
            &format!("/partnerships/{partnership}/terms"),
            &app.admin(),
            json!({"purpose": "Tackle modern slavery in Birmingham together",
                   "scope": "Victims and suspects of MSHT in the West Midlands",
                   "responsibilities": [], "review_date": "2027-06-01"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["version"].as_i64().unwrap()
}

pub async fn accept_terms(app: &TestApp, partnership: &str, version: i64, agency: &TestAgency) {
    let r = app
        .post(
            &format!("/partnerships/{partnership}/terms/{version}/acceptances"),
            &app.token(agency, &["agency_admin"]),
            json!({}),
        )
        .await;
    assert!(
        r.0 == StatusCode::CREATED || r.0 == StatusCode::OK,
        "{}",
        r.1
    );
}

/// The body of an agreement in which `discloser` shares `fields` of incidents with
/// `recipient` for safeguarding and investigation, from 2026-06-01 to 2027-01-31.
pub fn agreement_body(
    partnership: &str,
    discloser: &TestAgency,
    recipient: &TestAgency,
    fields: &[&str],
) -> Value {
    json!({
        "partnership_id": partnership,
        "title": "Birmingham MSHT information sharing",
        "purposes": ["safeguarding", "investigation"],
        "parties": [
            {"agency_id": discloser.id, "role": "discloser",
             "lawful_basis": {"regime": "dpa2018_part3", "condition": "sch8_safeguarding"}},
            {"agency_id": recipient.id, "role": "recipient",
             "lawful_basis": {"regime": "uk_gdpr", "condition": "art6_1e_public_task",
                              "special_category": "art9_2g_sch1_para18"}}
        ],
        "data_items": [
            {"recipient_agency_id": recipient.id, "record_kind": "incident", "fields": fields}
        ],
        "max_classification": "official_sensitive",
        "handling_conditions": "Do not forward outside the MASH",
        "effective_from": "2026-06-01",
        "expires_at": "2027-01-31",
        "review_date": "2026-12-01",
        "retention_days": 365,
        "procedures": {
            "subject_access": "Each controller answers SARs for its own records",
            "breach": "Tell the other party's IG officer",
            "breach_notification_hours": 24,
            "termination": "Each party deletes what it received",
            "on_termination": "delete"
        }
    })
}

/// Drafts an agreement (by the discloser's IG officer); returns its id.
pub async fn draft(app: &TestApp, body: Value, by: &TestAgency) -> String {
    let r = app
        .post("/agreements", &app.token(by, &["ig_officer"]), body)
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["status"], "draft");
    r.1["id"].as_str().unwrap().to_owned()
}

/// Signs the latest version for `agency` (naming it); returns the agreement as answered.
pub async fn sign(app: &TestApp, id: &str, agency: &TestAgency) -> Value {
    let token = app.token(agency, &["ig_officer"]);
    let a = app.get(&format!("/agreements/{id}"), &token).await;
    assert_eq!(a.0, StatusCode::OK, "{}", a.1);
    let r = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &token,
            json!({"version": a.1["version"]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1
}

/// A partnership of the two agencies and a signed, active agreement in which `discloser`
/// shares `fields` of incidents with `recipient`. Returns (partnership, agreement id).
pub async fn share(
    app: &TestApp,
    discloser: &TestAgency,
    recipient: &TestAgency,
    fields: &[&str],
) -> (Partnership, String) {
    let name = format!("Partnership {}", &discloser.id[..8]);
    let p = partnership(app, &name, &[discloser, recipient]).await;
    let id = draft(
        app,
        agreement_body(&p.id, discloser, recipient, fields),
        discloser,
    )
    .await;
    sign(app, &id, discloser).await;
    let a = sign(app, &id, recipient).await;
    assert_eq!(a["status"], "active", "{a}");
    (p, id)
}

/// `POST /agreements/check` by the discloser's IG officer for an official incident.
pub async fn check(
    app: &TestApp,
    discloser: &TestAgency,
    recipient: &TestAgency,
    extra: Value,
) -> Value {
    let mut body = json!({
        "discloser_agency_id": discloser.id, "recipient_agency_id": recipient.id,
        "record_kind": "incident", "purpose": "safeguarding", "classification": "official"
    });
    if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = app
        .post(
            "/agreements/check",
            &app.token(discloser, &["ig_officer"]),
            body,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}
