//! Data minimisation per person: an adult who declined consent, is not an adult at risk and
//! has no Schedule 8 condition recorded is disclosed without identifying fields, whatever
//! an agreement allows; the disclosure's audit entry says which basis applied to each person.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::auditor;
use crate::helpers::TestApp;
use crate::sharing::{share, BIRMINGHAM};

const VICTIM_FIELDS: &[&str] = &[
    "area",
    "victims[].reference",
    "victims[].age",
    "victims[].date_of_birth",
    "victims[].age_band",
    "victims[].gender",
    "victims[].nationality",
    "victims[].needs",
    "victims[].consent_to_share",
    "victims[].adult_at_risk",
    "victims[].schedule_8_condition",
];

fn victim(reference: &str, consent: &str) -> Value {
    json!({"reference": reference, "date_of_birth": "1990-04-02", "gender": "female",
           "nationality": "AL", "needs": ["accommodation"], "consent_to_share": consent})
}

#[tokio::test]
async fn declined_adult_shared_without_identifying_fields() {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    share(&app, &police, &mash, VICTIM_FIELDS).await;
    let mut with_reason = victim("V-SCH8", "declined");
    with_reason["schedule_8_condition"] = json!("protecting_vital_interests");
    let mut at_risk = victim("V-RISK", "declined");
    at_risk["adult_at_risk"] = json!(true);
    let body = json!({
        "reference": "WMP-1", "occurred_at": "2026-05-30T22:15:00Z", "area": BIRMINGHAM,
        "exploitation_types": ["labour"], "classification": "official",
        "narrative": "Car wash", "victims": [
            victim("V-DECLINED", "declined"), with_reason, at_risk, victim("V-GIVEN", "given")
        ]
    });
    let r = app
        .post("/incidents", &app.token(&police, &["practitioner"]), body)
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = r.1["id"].as_str().unwrap().to_owned();
    let mash_token = app.token(&mash, &["practitioner"]);
    let list = app.get("/notifications", &mash_token).await;
    let n = list.1["items"][0]["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/notifications/{n}"), &mash_token).await;
    assert_eq!(read.0, StatusCode::OK, "{}", read.1);
    let victims = read.1["record"]["victims"].as_array().unwrap().clone();
    assert_eq!(victims.len(), 4, "{victims:?}");
    // The declined adult: who they are is withheld, what they need is not.
    let declined = &victims[0];
    for f in ["reference", "age", "date_of_birth", "gender", "nationality"] {
        assert!(declined.get(f).is_none(), "{f} disclosed: {declined}");
    }
    assert_eq!(declined["age_band"], "35-49");
    assert_eq!(declined["needs"], json!(["accommodation"]));
    assert!(!read.1.to_string().contains("V-DECLINED"), "{}", read.1);
    // A Schedule 8 condition, an adult at risk, consent: shared as the agreement allows.
    for (v, reference) in victims[1..].iter().zip(["V-SCH8", "V-RISK", "V-GIVEN"]) {
        assert_eq!(v["reference"], reference, "{v}");
        assert_eq!(v["nationality"], "AL", "{v}");
        assert_eq!(v["date_of_birth"], "1990-04-02", "{v}");
    }
    assert_eq!(
        victims[1]["schedule_8_condition"],
        "protecting_vital_interests"
    );
    // The audit entries of the disclosure and of the read say which basis applied.
    let log = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&record_id={id}"),
            &auditor(&app),
        )
        .await;
    let entries: Vec<&Value> = log.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["decision"] == "shared"
                || (e["operation"] == "consultation" && e["actor"]["agency_id"] == mash.id.as_str())
        })
        .collect();
    assert_eq!(entries.len(), 2, "{}", log.1);
    for e in entries {
        let consent = e["consent"].as_str().unwrap();
        assert!(
            consent.contains("V-DECLINED: declined; declined, not an adult at risk, no Schedule 8 condition recorded: shared without identifying fields"),
            "{consent}"
        );
        assert!(
            consent.contains("V-SCH8: declined; declined; shared under Schedule 8 condition protecting_vital_interests"),
            "{consent}"
        );
        assert!(
            consent.contains("V-RISK: declined; declined; an adult at risk"),
            "{consent}"
        );
        assert!(
            consent.contains("V-GIVEN: given; shared on consent"),
            "{consent}"
        );
    }
}

#[tokio::test]
async fn a_schedule_8_condition_needs_consent_not_given_and_a_known_name() {
    let app = TestApp::spawn().await;
    let police = app.agency("Police", "police_force", &[BIRMINGHAM]).await;
    let mut given = victim("V1", "given");
    given["schedule_8_condition"] = json!("legal_claims");
    let mut unknown = victim("V2", "declined");
    unknown["schedule_8_condition"] = json!("because");
    let body = json!({
        "reference": "WMP-1", "occurred_at": "2026-05-30T22:15:00Z", "area": BIRMINGHAM,
        "exploitation_types": ["labour"], "classification": "official",
        "narrative": "n", "victims": [given, unknown]
    });
    let r = app
        .post("/incidents", &app.token(&police, &["practitioner"]), body)
        .await;
    assert_eq!(
        crate::helpers::pointers(&r),
        vec![
            "/victims/0/schedule_8_condition",
            "/victims/1/schedule_8_condition"
        ]
    );
}
