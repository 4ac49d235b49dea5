//! Every refusal after authentication leaves an `access_denied` entry, whatever resource it is
//! about and whether the refused action would have written or only read: agreements,
//! partnerships, terms, agencies, subscriptions, deliveries, acknowledgements, routing views,
//! incidents, referrals, notifications and the audit log itself. The refused work is rolled
//! back; the entry is appended on its own.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, Options, TestAgency, TestApp};
use crate::receiver::Receiver;
use crate::sharing::{share, BIRMINGHAM};

/// The `access_denied` entries about `record_id`, as the hub auditor sees them.
pub async fn denials_about(app: &TestApp, record_id: &str) -> Vec<Value> {
    let auditor = app.operator_token(&["hub_auditor"]);
    let r = app
        .get(
            &format!(
                "/audit/events?purpose=self_monitoring&operation=access_denied&record_id={record_id}"
            ),
            &auditor,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["items"].as_array().unwrap().clone()
}

/// Asserts `r` answered `status` and that exactly one more `access_denied` entry about
/// `record_id` exists than `before`, naming the caller's agency as actor.
async fn refused(
    app: &TestApp,
    what: &str,
    r: (StatusCode, Value),
    status: u16,
    record_id: &str,
    before: usize,
    by: &TestAgency,
) {
    assert_problem(&r, status);
    let after = denials_about(app, record_id).await;
    assert_eq!(
        after.len(),
        before + 1,
        "{what}: one access_denied entry about {record_id} expected, got {after:?}"
    );
    let last = after.iter().max_by_key(|e| e["seq"].as_i64()).unwrap();
    assert_eq!(last["actor"]["agency_id"], by.id.as_str(), "{what}: {last}");
    assert_eq!(last["decision"], "denied", "{what}: {last}");
}

fn incident() -> Value {
    json!({
        "reference": "REF-1", "occurred_at": "2026-01-10T22:15:00Z", "area": BIRMINGHAM,
        "exploitation_types": ["criminal"], "threats": ["county_lines"],
        "classification": "official", "narrative": "Refusal test",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    })
}

#[tokio::test]
async fn every_refused_action_is_logged_as_access_denied() {
    // One principal is refused many times within a minute here: a budget that logs each.
    let app = TestApp::spawn_with(
        Options::local_delivery().with_env("MSHT_HUB__AUDIT__DENIALS_PER_SOURCE_PER_MINUTE", "100"),
    )
    .await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let ngo = app.agency("Outside NGO", "ngo", &[BIRMINGHAM]).await;
    let (p, agreement) = share(&app, &police, &mash, &["area", "victims[].age_band"]).await;
    let hook = Receiver::start(vec![]).await;
    let sub = app
        .post(
            "/subscriptions",
            &app.token(&mash, &["practitioner"]),
            json!({"events": ["incident.notified"], "filters": {"areas": [BIRMINGHAM]},
                   "channel": {"type": "webhook", "url": hook.url}}),
        )
        .await;
    assert_eq!(sub.0, StatusCode::CREATED, "{}", sub.1);
    let sub = sub.1["id"].as_str().unwrap().to_owned();
    let created = app
        .post(
            "/incidents",
            &app.token(&police, &["practitioner"]),
            incident(),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    let incident_id = created.1["id"].as_str().unwrap().to_owned();
    let notes = app
        .get("/notifications", &app.token(&mash, &["practitioner"]))
        .await;
    let nid = notes.1["items"][0]["id"].as_str().unwrap().to_owned();
    let deliveries = app.get("/deliveries", &app.admin()).await;
    let delivery = deliveries.1["items"][0]["id"].as_str().unwrap().to_owned();

    let ngo_ig = app.token(&ngo, &["ig_officer"]);
    let ngo_admin = app.token(&ngo, &["agency_admin"]);
    let ngo_staff = app.token(&ngo, &["practitioner"]);

    // Agreements: a change by someone not party to it (403), a read (404).
    let n = denials_about(&app, &agreement).await.len();
    let r = app
        .post(
            &format!("/agreements/{agreement}/suspend"),
            &ngo_ig,
            json!({"reason": "not ours"}),
        )
        .await;
    refused(&app, "agreement change", r, 403, &agreement, n, &ngo).await;
    let r = app.get(&format!("/agreements/{agreement}"), &ngo_ig).await;
    refused(&app, "agreement read", r, 404, &agreement, n + 1, &ngo).await;
    let still = app
        .get(&format!("/agreements/{agreement}"), &app.admin())
        .await;
    assert_eq!(
        still.1["status"], "active",
        "the refused suspension changed nothing"
    );

    // Partnerships and their terms.
    let n = denials_about(&app, &p.id).await.len();
    let r = app
        .post(
            &format!("/partnerships/{}/members", p.id),
            &ngo_admin,
            json!({"agency_id": ngo.id}),
        )
        .await;
    refused(&app, "partnership member", r, 403, &p.id, n, &ngo).await;
    let terms = format!("{}/terms/{}", p.id, p.terms_version);
    let n = denials_about(&app, &terms).await.len();
    let r = app
        .post(
            &format!(
                "/partnerships/{}/terms/{}/acceptances",
                p.id, p.terms_version
            ),
            &ngo_admin,
            json!({}),
        )
        .await;
    refused(&app, "terms acceptance", r, 403, &terms, n, &ngo).await;

    // Agencies: another agency's record.
    let n = denials_about(&app, &police.id).await.len();
    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/agencies/{}", police.id),
            &ngo_admin,
            Some(json!({"contact_email": "x@example.org"})),
        )
        .await;
    refused(&app, "agency change", r, 403, &police.id, n, &ngo).await;

    // Subscriptions and deliveries of another agency.
    let n = denials_about(&app, &sub).await.len();
    let r = app.get(&format!("/subscriptions/{sub}"), &ngo_staff).await;
    refused(&app, "subscription read", r, 404, &sub, n, &ngo).await;
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/subscriptions/{sub}"),
            &ngo_staff,
            None,
        )
        .await;
    refused(&app, "subscription delete", r, 404, &sub, n + 1, &ngo).await;
    let n = denials_about(&app, &delivery).await.len();
    let r = app
        .post(
            &format!("/deliveries/{delivery}/retry"),
            &ngo_admin,
            json!({}),
        )
        .await;
    refused(&app, "delivery retry", r, 404, &delivery, n, &ngo).await;

    // Incidents, their routing view, notifications and acknowledgements.
    let n = denials_about(&app, &incident_id).await.len();
    let r = app
        .get(&format!("/incidents/{incident_id}"), &ngo_staff)
        .await;
    refused(&app, "incident read", r, 404, &incident_id, n, &ngo).await;
    let r = app
        .get(&format!("/incidents/{incident_id}/routing"), &ngo_staff)
        .await;
    refused(&app, "routing view", r, 404, &incident_id, n + 1, &ngo).await;
    let r = app
        .patch_if(
            &format!("/incidents/{incident_id}"),
            &ngo_staff,
            "*",
            json!({"narrative": "changed"}),
        )
        .await;
    refused(&app, "incident change", r, 404, &incident_id, n + 2, &ngo).await;
    let n = denials_about(&app, &nid).await.len();
    let r = app.get(&format!("/notifications/{nid}"), &ngo_staff).await;
    refused(&app, "notification read", r, 404, &nid, n, &ngo).await;
    let r = app
        .post(
            &format!("/notifications/{nid}/acknowledge"),
            &ngo_staff,
            json!({}),
        )
        .await;
    refused(&app, "acknowledgement", r, 404, &nid, n + 1, &ngo).await;

    // Referrals: another agency's (or no) referral.
    let referral = uuid::Uuid::now_v7().to_string();
    let r = app.get(&format!("/referrals/{referral}"), &ngo_staff).await;
    refused(&app, "referral read", r, 404, &referral, 0, &ngo).await;

    // The audit log: an entry that involves neither the caller's agency as actor nor as
    // recipient (the incident's collection entry is the reporting police force's).
    let auditor = app.operator_token(&["hub_auditor"]);
    let log = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&record_id={incident_id}&operation=collection"),
            &auditor,
        )
        .await;
    let seq = log.1["items"][0]["seq"].as_i64().unwrap().to_string();
    let n = denials_about(&app, &seq).await.len();
    let r = app
        .get(
            &format!("/audit/events/{seq}?purpose=self_monitoring"),
            &ngo_ig,
        )
        .await;
    refused(&app, "audit entry", r, 404, &seq, n, &ngo).await;
}
