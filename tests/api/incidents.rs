//! MSHT incidents: validation, routing to statutory recipients and subscribers through the
//! policy function, projection onto each agreement's allow-list, thin signed webhooks, e-mail
//! without personal data, scoping, re-checks at read time and re-routing on change.
use std::collections::BTreeSet;

use chrono::Duration;
use msht_hub::domain::projection::paths_present;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, pointers, Options, TestAgency, TestApp};
use crate::receiver::Receiver;
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

const SAFE_ADDRESS: &str = "12 Secret Road";

fn incident(age: u32) -> Value {
    json!({
        "reference": "WMP-2026-0042",
        "occurred_at": "2026-05-30T22:15:00Z",
        "area": BIRMINGHAM,
        "postcode_district": "B6",
        "exploitation_types": ["criminal", "sexual"],
        "threats": ["county_lines", "child_sexual_exploitation"],
        "four_p": ["protect", "pursue"],
        "classification": "official_sensitive",
        "handling_code": "C",
        "handling_conditions": "Not to be shared with the family",
        "grading": {"source": "2", "intelligence": "B", "handling": "C"},
        "operation_name": "Op Lantern",
        "recorded_on_pnd": true,
        "estimated_criminal_proceeds_gbp": "12500.50",
        "narrative": "Found running drugs between Birmingham and Shrewsbury",
        "victims": [{
            "reference": "V1", "age": age, "gender": "male", "nationality": "GB",
            "needs": ["accommodation"], "consent_to_share": "not_required",
            "consent_absent_reason": "would_prejudice_protection",
            "safe_address": SAFE_ADDRESS
        }],
        "suspects": [{"role": "line holder", "nationality": "GB", "foreign_national": false}]
    })
}

const MASH_FIELDS: &[&str] = &[
    "reference",
    "occurred_at",
    "area",
    "exploitation_types",
    "threats",
    "classification",
    "handling_code",
    "handling_conditions",
    "narrative",
    "victims[].reference",
    "victims[].age_band",
    "victims[].is_child",
    "victims[].needs",
    "victims[].gender",
];
const NGO_FIELDS: &[&str] = &["area", "exploitation_types", "victims[].age_band"];

struct World {
    app: TestApp,
    police: TestAgency,
    mash: TestAgency,
    children: TestAgency,
    ictg: TestAgency,
    ngo_with: TestAgency,
    ngo_without: TestAgency,
    hook_with: Receiver,
    hook_without: Receiver,
}

async fn agree(app: &TestApp, p: &str, police: &TestAgency, to: &TestAgency, fields: &[&str]) {
    let id = draft(app, agreement_body(p, police, to, fields), police).await;
    sign(app, &id, police).await;
    sign(app, &id, to).await;
}

async fn subscribe(app: &TestApp, a: &TestAgency, url: &str) {
    let r = app
        .post(
            "/subscriptions",
            &app.token(a, &["practitioner"]),
            json!({
                "events": ["incident.notified", "incident.updated"],
                "filters": {"areas": [BIRMINGHAM]},
                "channel": {"type": "webhook", "url": url}
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

async fn world() -> World {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
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
    let ictg = app
        .agency("ICTG West Midlands", "ictg_service", &[BIRMINGHAM])
        .await;
    let ngo_with = app.agency("NGO With Agreement", "ngo", &[BIRMINGHAM]).await;
    let ngo_without = app
        .agency("NGO Without Agreement", "ngo", &[BIRMINGHAM])
        .await;
    let p = partnership(
        &app,
        "Birmingham MSHT",
        &[&police, &mash, &children, &ictg, &ngo_with, &ngo_without],
    )
    .await;
    agree(&app, &p.id, &police, &mash, MASH_FIELDS).await;
    agree(&app, &p.id, &police, &children, MASH_FIELDS).await;
    agree(
        &app,
        &p.id,
        &police,
        &ictg,
        &[
            "area",
            "victims[].reference",
            "victims[].age_band",
            "victims[].needs",
        ],
    )
    .await;
    agree(&app, &p.id, &police, &ngo_with, NGO_FIELDS).await;
    let hook_with = Receiver::start(vec![]).await;
    let hook_without = Receiver::start(vec![]).await;
    subscribe(&app, &ngo_with, &hook_with.url).await;
    subscribe(&app, &ngo_without, &hook_without.url).await;
    World {
        app,
        police,
        mash,
        children,
        ictg,
        ngo_with,
        ngo_without,
        hook_with,
        hook_without,
    }
}

fn routing_of<'a>(body: &'a Value, agency: &TestAgency) -> &'a Value {
    body["routing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agency_id"] == agency.id.as_str())
        .unwrap_or(&Value::Null)
}

fn assert_within(value: &Value, allowed: &[&str]) {
    let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
    for p in paths_present(value) {
        assert!(
            allowed.contains(p.as_str()),
            "field {p} is outside the allow list: {value}"
        );
    }
    assert!(
        !value.to_string().contains(SAFE_ADDRESS),
        "safe address leaked: {value}"
    );
}

async fn notification_of(app: &TestApp, agency: &TestAgency) -> Value {
    let list = app
        .get("/notifications", &app.token(agency, &["practitioner"]))
        .await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    let items = list.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.1);
    items[0].clone()
}

#[tokio::test]
async fn a_child_victim_reaches_the_right_partners_with_only_their_fields() {
    let w = world().await;
    let app = &w.app;
    let r = app
        .post(
            "/incidents",
            &app.token(&w.police, &["practitioner"]),
            incident(15),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = r.1["id"].as_str().unwrap().to_owned();
    for a in [&w.mash, &w.children, &w.ictg, &w.ngo_with] {
        assert_eq!(
            routing_of(&r.1, a)["decision"],
            "notified",
            "{}: {}",
            a.name,
            r.1
        );
    }
    // A subscriber with no agreement with the reporter is not a candidate at all: a
    // subscription asks for the discloser's partners' records, not every record in the hub.
    assert_eq!(routing_of(&r.1, &w.ngo_without), &Value::Null, "{}", r.1);
    assert_eq!(routing_of(&r.1, &w.mash)["route"], "mash");
    assert_eq!(routing_of(&r.1, &w.ictg)["route"], "ictg");
    assert_eq!(r.1["routing"].as_array().unwrap().len(), 4);
    // The reporting agency sees every decision.
    let routing = app
        .get(
            &format!("/incidents/{id}/routing"),
            &app.token(&w.police, &["practitioner"]),
        )
        .await;
    assert_eq!(routing.1["items"].as_array().unwrap().len(), 4);

    // Each recipient reads only what its agreement allows.
    for (agency, allowed) in [(&w.mash, MASH_FIELDS), (&w.ngo_with, NGO_FIELDS)] {
        let n = notification_of(app, agency).await;
        assert_eq!(n["incident_id"], id.as_str());
        assert_eq!(n["event"], "incident.notified");
        let read = app
            .get(
                &format!("/notifications/{}", n["id"].as_str().unwrap()),
                &app.token(agency, &["practitioner"]),
            )
            .await;
        assert_eq!(read.0, StatusCode::OK, "{}", read.1);
        assert_within(&read.1["record"], allowed);
        assert!(
            read.1["receipt"]["tree_size"].as_u64().unwrap()
                > read.1["receipt"]["leaf_index"].as_u64().unwrap()
        );
        assert!(read.1["agreement_id"].is_string());
    }
    let ngo_read = notification_of(app, &w.ngo_with).await;
    let ngo_record = app
        .get(
            &format!("/notifications/{}", ngo_read["id"].as_str().unwrap()),
            &app.token(&w.ngo_with, &["practitioner"]),
        )
        .await;
    assert_eq!(ngo_record.1["record"]["victims"][0]["age_band"], "13-15");
    assert!(ngo_record.1["record"].get("narrative").is_none());

    // Webhooks: the NGO with an agreement gets a thin, signed body within its fields; the
    // other gets nothing. The MASH has no subscription and is told by e-mail.
    app.drain().await;
    let got = w.hook_with.received();
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    let mut data = body["data"].clone();
    for k in ["notification_id", "incident_id", "classification"] {
        data.as_object_mut().unwrap().remove(k);
    }
    assert_within(&data, NGO_FIELDS);
    assert!(w.hook_without.received().is_empty());
    let mails = app.mails();
    assert_eq!(mails.len(), 3, "MASH, children's partnership, ICTG");
    for m in &mails {
        assert!(
            !m.contains(SAFE_ADDRESS)
                && !m.contains("Shrewsbury")
                && !m.contains("Op Lantern")
                && !m.contains("WMP-2026"),
            "{m}"
        );
    }
}

#[tokio::test]
async fn other_agencies_get_404_and_the_attempt_is_logged() {
    let w = world().await;
    let app = &w.app;
    let r = app
        .post(
            "/incidents",
            &app.token(&w.police, &["practitioner"]),
            incident(15),
        )
        .await;
    let id = r.1["id"].as_str().unwrap().to_owned();
    let outsider = app.token(&w.ngo_without, &["practitioner"]);
    assert_problem(&app.get(&format!("/incidents/{id}"), &outsider).await, 404);
    assert_problem(
        &app.get(&format!("/incidents/{id}/routing"), &outsider)
            .await,
        404,
    );
    let mash_n = notification_of(app, &w.mash).await;
    let nid = mash_n["id"].as_str().unwrap();
    assert_problem(
        &app.get(&format!("/notifications/{nid}"), &outsider).await,
        404,
    );
    assert_problem(
        &app.post(
            &format!("/notifications/{nid}/acknowledge"),
            &outsider,
            json!({}),
        )
        .await,
        404,
    );
    let auditor = app.operator_token(&["hub_auditor"]);
    for record in [&id, &nid.to_owned()] {
        let log = app.get(&format!("/audit/events?purpose=self_monitoring&record_id={record}&operation=access_denied"), &auditor).await;
        assert_eq!(log.0, StatusCode::OK, "{}", log.1);
        assert!(
            !log.1["items"].as_array().unwrap().is_empty(),
            "no access_denied for {record}: {}",
            log.1
        );
    }
    // The reporter reads its own record in full, and that is a consultation.
    let own = app
        .get(
            &format!("/incidents/{id}"),
            &app.token(&w.police, &["practitioner"]),
        )
        .await;
    assert_eq!(own.0, StatusCode::OK);
    assert_eq!(own.1["victims"][0]["safe_address"], SAFE_ADDRESS);
    assert_eq!(own.1["estimated_criminal_proceeds_gbp"], "12500.50");
    assert_eq!(own.1["victims"][0]["is_child"], true);
}

#[tokio::test]
async fn an_expired_agreement_stops_reads_and_acknowledgement_is_recorded() {
    let w = world().await;
    let app = &w.app;
    app.post(
        "/incidents",
        &app.token(&w.police, &["practitioner"]),
        incident(15),
    )
    .await;
    let n = notification_of(app, &w.mash).await;
    let nid = n["id"].as_str().unwrap().to_owned();
    let token = app.token(&w.mash, &["practitioner"]);
    let ack = app
        .post(
            &format!("/notifications/{nid}/acknowledge"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(ack.0, StatusCode::OK, "{}", ack.1);
    assert!(ack.1["acknowledged_at"].is_string());
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-02-15T09:00:00Z")
            .unwrap()
            .into(),
    );
    let token = app.token(&w.mash, &["practitioner"]);
    let r = app.get(&format!("/notifications/{nid}"), &token).await;
    assert_problem(&r, 403);
    assert!(
        r.1["detail"].as_str().unwrap().contains("expired"),
        "{}",
        r.1
    );
}

#[tokio::test]
async fn overdue_notifications_are_listed() {
    let w = world().await;
    let app = &w.app;
    app.post(
        "/incidents",
        &app.token(&w.police, &["practitioner"]),
        incident(15),
    )
    .await;
    let token = app.token(&w.mash, &["practitioner"]);
    assert!(
        app.get("/notifications?overdue=true", &token).await.1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.clock.advance(Duration::hours(5));
    let token = app.token(&w.mash, &["practitioner"]);
    let overdue = app.get("/notifications?overdue=true", &token).await;
    assert_eq!(
        overdue.1["items"].as_array().unwrap().len(),
        1,
        "a child at risk: 4 hours"
    );
    assert_eq!(overdue.1["items"][0]["overdue"], true);
}

#[tokio::test]
async fn a_change_re_routes_updates_to_existing_recipients() {
    let w = world().await;
    let app = &w.app;
    let r = app
        .post(
            "/incidents",
            &app.token(&w.police, &["practitioner"]),
            incident(15),
        )
        .await;
    let id = r.1["id"].as_str().unwrap().to_owned();
    let p = app
        .patch_if(
            &format!("/incidents/{id}"),
            &app.token(&w.police, &["practitioner"]),
            "\"1\"",
            json!({"narrative": "Updated after a second visit", "threats": ["county_lines"]}),
        )
        .await;
    assert_eq!(p.0, StatusCode::OK, "{}", p.1);
    assert_eq!(p.1["version"], 2);
    assert_eq!(p.1["narrative"], "Updated after a second visit");
    let list = app
        .get("/notifications", &app.token(&w.mash, &["practitioner"]))
        .await;
    let events: Vec<&str> = list.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["incident.notified", "incident.updated"]);
    // Another agency cannot change it.
    let r = app
        .patch_if(
            &format!("/incidents/{id}"),
            &app.token(&w.ngo_with, &["practitioner"]),
            "*",
            json!({"narrative": "x"}),
        )
        .await;
    assert_problem(&r, 404);
    let bad = app
        .patch_if(
            &format!("/incidents/{id}"),
            &app.token(&w.police, &["practitioner"]),
            "*",
            json!({"area": "nowhere"}),
        )
        .await;
    assert_eq!(pointers(&bad), vec!["/area"]);
}

#[tokio::test]
async fn invalid_incidents_get_422_and_nothing_is_stored() {
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.police, &["practitioner"]);
    let mut b = incident(15);
    b.as_object_mut().unwrap().remove("reference");
    b["area"] = json!("Birmingham");
    b["estimated_criminal_proceeds_gbp"] = json!(12500.5);
    b["exploitation_types"] = json!(["arson"]);
    b["victims"][0]
        .as_object_mut()
        .unwrap()
        .remove("consent_to_share");
    b["handling_conditions"] = Value::Null;
    let p = pointers(&app.post("/incidents", &token, b).await);
    for want in [
        "/reference",
        "/area",
        "/exploitation_types/0",
        "/handling_conditions",
        "/estimated_criminal_proceeds_gbp",
        "/victims/0/consent_to_share",
    ] {
        assert!(p.contains(&want.to_owned()), "{want} missing from {p:?}");
    }
    assert!(app.get("/incidents", &token).await.1["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // Only practitioners record incidents.
    assert_problem(
        &app.post(
            "/incidents",
            &app.token(&w.police, &["analyst"]),
            incident(15),
        )
        .await,
        403,
    );
    let _ = (&w.children, &w.ictg);
}

#[tokio::test]
async fn overdue_notifications_escalate_once_to_the_lead_agency() {
    let w = world().await;
    let app = &w.app;
    // A forum led by the police, of which the MASH is a member.
    let forum = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": "Strategic MSHT forum",
              "areas": [BIRMINGHAM], "lead_agency_id": w.police.id}),
        )
        .await;
    assert_eq!(forum.0, StatusCode::CREATED, "{}", forum.1);
    let fid = forum.1["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/partnerships/{fid}/members"),
            &app.admin(),
            json!({"agency_id": w.mash.id}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // Each joins by its own act.
    app.join(fid, &w.police).await;
    app.join(fid, &w.mash).await;
    app.post(
        "/incidents",
        &app.token(&w.police, &["practitioner"]),
        incident(15),
    )
    .await;
    // The children's partnership acknowledges in time; the MASH and the ICTG service do not.
    let n = notification_of(app, &w.children).await;
    let r = app
        .post(
            &format!("/notifications/{}/acknowledge", n["id"].as_str().unwrap()),
            &app.token(&w.children, &["practitioner"]),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK);
    assert_eq!(
        app.state.delivery.run_deadlines().await.unwrap(),
        0,
        "nothing is due yet"
    );
    app.clock.advance(Duration::hours(5));
    // The MASH and the ICTG service are overdue (and the NGO); only the MASH is in the
    // police-led forum, so only its lapse reaches the police.
    let escalated = app.state.delivery.run_deadlines().await.unwrap();
    assert_eq!(escalated, 3);
    assert_eq!(
        app.state.delivery.run_deadlines().await.unwrap(),
        0,
        "escalated once"
    );
    let police = app
        .get("/notifications", &app.token(&w.police, &["practitioner"]))
        .await;
    let items = police.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", police.1);
    assert_eq!(items[0]["event"], "notification.overdue");
    let _ = &w.ictg;
}

/// An answered incident's routing as (agency, decision) pairs, in agency order.
fn decisions(incident: &Value) -> Vec<(String, String)> {
    let mut d: Vec<_> = incident["routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["agency_id"].to_string(), r["decision"].to_string()))
        .collect();
    d.sort();
    d
}

/// Posts `body` to `/incidents` with an `Idempotency-Key`: status, body, replayed.
async fn post_incident_keyed(
    app: &TestApp,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let resp = app
        .client
        .post(format!("{}/incidents", app.api))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, resp.json().await.unwrap(), replayed)
}

#[tokio::test]
async fn a_retry_taken_into_the_same_write_batch_as_its_first_request_is_answered_as_a_replay() {
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.police, &["practitioner"]);
    let body = incident(15);
    let db = app.state.db().clone();
    // Hold the writer, so that both requests queue and are taken as one batch: the first's
    // incident and decisions still wait for the batch's flush when the retry looks them up.
    let blocker = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|_| {
                std::thread::sleep(std::time::Duration::from_millis(1500));
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let queued = async {
        let stats = db.writer_stats();
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1300);
        while stats.queued.load(std::sync::atomic::Ordering::SeqCst) < 2
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        stats.queued.load(std::sync::atomic::Ordering::SeqCst)
    };
    let (a, b, queued) = tokio::join!(
        post_incident_keyed(app, &token, "wmp-0042-batch", &body),
        post_incident_keyed(app, &token, "wmp-0042-batch", &body),
        queued
    );
    blocker.await.unwrap().unwrap();
    assert!(queued >= 2, "both requests waited for the writer together");
    assert_eq!(
        (a.0, b.0),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{} {}",
        a.1,
        b.1
    );
    assert!(a.2 != b.2, "exactly one is a replay: {} {}", a.2, b.2);
    assert_eq!(a.1["id"], b.1["id"]);
    assert_eq!(a.1["narrative"], b.1["narrative"]);
    assert_eq!(
        decisions(&a.1),
        decisions(&b.1),
        "the replay shows the same decisions"
    );
    assert!(!a.1["routing"].as_array().unwrap().is_empty(), "{}", a.1);
    let list = app.get("/incidents", &token).await;
    assert_eq!(list.1["items"].as_array().unwrap().len(), 1, "{}", list.1);
}

#[tokio::test]
async fn a_retried_incident_with_the_same_key_is_recorded_and_notified_once() {
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.police, &["practitioner"]);
    let body = incident(15);
    let first = post_incident_keyed(app, &token, "wmp-0042-try", &body).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert!(!first.2);
    let retry = post_incident_keyed(app, &token, "wmp-0042-try", &body).await;
    assert_eq!(retry.0, StatusCode::CREATED, "{}", retry.1);
    assert!(retry.2, "marked as a replay");
    assert_eq!(retry.1["id"], first.1["id"]);
    assert_eq!(
        retry.1["narrative"], first.1["narrative"],
        "the whole incident again"
    );
    assert_eq!(decisions(&retry.1), decisions(&first.1));

    let list = app.get("/incidents", &token).await;
    assert_eq!(list.1["items"].as_array().unwrap().len(), 1, "{}", list.1);
    let mash = app
        .get("/notifications", &app.token(&w.mash, &["practitioner"]))
        .await;
    assert_eq!(mash.1["items"].as_array().unwrap().len(), 1, "{}", mash.1);
    app.drain().await;
    assert_eq!(
        w.hook_with.received().len(),
        1,
        "the subscriber is told once"
    );

    // The same key with another body is the documented 422, and records nothing.
    let mut other = incident(15);
    other["narrative"] = json!("Another incident altogether");
    let conflict = post_incident_keyed(app, &token, "wmp-0042-try", &other).await;
    assert_problem(&(conflict.0, conflict.1.clone()), 422);
    assert_eq!(conflict.1["type"], "urn:msht-hub:problem:validation");
    assert!(conflict.1["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
    let list = app.get("/incidents", &token).await;
    assert_eq!(list.1["items"].as_array().unwrap().len(), 1);
    // Another key is another incident.
    let second = post_incident_keyed(app, &token, "wmp-0043", &other).await;
    assert_eq!(second.0, StatusCode::CREATED, "{}", second.1);
    assert_ne!(second.1["id"], first.1["id"]);
}
