//! NGO referrals through the NRM pathway: the pathway rules (child, adult who consents, adult
//! who declines), routing to exactly the right recipients through the policy function, the
//! Duty to Notify passing on nothing identifying (projections, webhook bodies, e-mails and
//! the audit log's data items), idempotent retries, the lifecycle's transition table and
//! who may record what, signed webhooks to the NGO for every step, consent withdrawal, and
//! working-day deadlines with overdue listing and escalation.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use msht_hub::delivery::webhook;
use msht_hub::domain::projection::paths_present;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, pointers, Options, TestAgency, TestApp};
use crate::receiver::Receiver;
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

const COVENTRY: &str = "E08000026";
const NAME: &str = "Ana Popescu";
const ADULT_DOB: &str = "1995-03-14";
const CHILD_DOB: &str = "2011-02-10";
const CONTACT: &str = "07700 900461";
const NARRATIVE: &str = "Met at the Soho Road car wash; her passport is held by the boss";
/// Strings that identify the person: none may leave the hub on the Duty to Notify pathway.
const IDENTIFYING: &[&str] = &[NAME, "Popescu", ADULT_DOB, CONTACT, "900461", "Soho Road"];

const ALL_FIELDS: &[&str] = &[
    "area",
    "potential_victim.name",
    "potential_victim.age",
    "potential_victim.date_of_birth",
    "potential_victim.age_band",
    "potential_victim.age_disputed",
    "potential_victim.is_child",
    "potential_victim.gender",
    "potential_victim.nationality",
    "potential_victim.language",
    "potential_victim.interpreter_needed",
    "potential_victim.contact",
    "nrm_consent",
    "pathway",
    "exploitation_types",
    "indicators",
    "immediate_needs",
    "narrative",
    "classification",
    "status",
];
const ICTG_FIELDS: &[&str] = &[
    "area",
    "potential_victim.name",
    "potential_victim.age_band",
    "potential_victim.language",
    "potential_victim.interpreter_needed",
    "immediate_needs",
    "status",
];
const DTN_WITHHELD: &[&str] = &[
    "potential_victim.name",
    "potential_victim.date_of_birth",
    "potential_victim.contact",
    "potential_victim.age",
    "narrative",
];

fn referral(dob: &str, consent: &str) -> Value {
    json!({
        "reference": "NGO-CASE-0193",
        "area": BIRMINGHAM,
        "potential_victim": {
            "name": NAME, "date_of_birth": dob, "gender": "female", "nationality": "RO",
            "language": "Romanian", "interpreter_needed": true, "contact": CONTACT
        },
        "nrm_consent": consent,
        "exploitation_types": ["labour", "domestic_servitude"],
        "indicators": ["passport withheld", "works long hours without pay"],
        "immediate_needs": ["accommodation", "interpreter"],
        "narrative": NARRATIVE,
        "classification": "official_sensitive"
    })
}

struct World {
    app: TestApp,
    ngo: TestAgency,
    police: TestAgency,
    mash: TestAgency,
    children: TestAgency,
    ictg: TestAgency,
    adults: TestAgency,
    coventry_police: TestAgency,
    ngo_hook: Receiver,
    ngo_secret: String,
    police_hook: Receiver,
}

/// An agreement in which `ngo` discloses `fields` of referrals to `to`.
async fn agree(app: &TestApp, p: &str, ngo: &TestAgency, to: &TestAgency, fields: &[&str]) {
    let mut body = agreement_body(p, ngo, to, fields);
    body["title"] = json!("NGO referrals");
    body["purposes"] = json!(["safeguarding", "nrm_referral", "victim_support"]);
    body["parties"][0]["lawful_basis"] = json!({"regime": "uk_gdpr",
        "condition": "art6_1f_legitimate_interests", "special_category": "art9_2g_sch1_para18"});
    body["data_items"][0]["record_kind"] = json!("referral");
    let id = draft(app, body, ngo).await;
    sign(app, &id, ngo).await;
    let a = sign(app, &id, to).await;
    assert_eq!(a["status"], "active", "{a}");
}

async fn subscribe(app: &TestApp, a: &TestAgency, events: &[&str], url: &str) -> String {
    let r = app
        .post(
            "/subscriptions",
            &app.token(a, &["practitioner"]),
            json!({"events": events, "channel": {"type": "webhook", "url": url}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["secret"].as_str().unwrap().to_owned()
}

async fn world() -> World {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let ngo = app
        .agency("Midlands Anti-Slavery NGO", "ngo", &[BIRMINGHAM])
        .await;
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
    let adults = app
        .agency(
            "Birmingham Safeguarding Adults Board",
            "adults_safeguarding_board",
            &[BIRMINGHAM],
        )
        .await;
    let coventry_police = app
        .agency("Coventry Police", "police_force", &[COVENTRY])
        .await;
    let p = partnership(
        &app,
        "Birmingham MSHT",
        &[
            &ngo,
            &police,
            &mash,
            &children,
            &ictg,
            &adults,
            &coventry_police,
        ],
    )
    .await;
    // Even where an agreement allows every field, the Duty to Notify passes on none that
    // identify the person; the adults' board and another area's police have agreements but
    // are not recipients of a Birmingham referral.
    for to in [&police, &mash, &children, &adults, &coventry_police] {
        agree(&app, &p.id, &ngo, to, ALL_FIELDS).await;
    }
    agree(&app, &p.id, &ngo, &ictg, ICTG_FIELDS).await;
    let ngo_hook = Receiver::start(vec![]).await;
    let police_hook = Receiver::start(vec![]).await;
    let ngo_secret = subscribe(
        &app,
        &ngo,
        &["referral.status_changed", "notification.overdue"],
        &ngo_hook.url,
    )
    .await;
    subscribe(
        &app,
        &police,
        &["referral.received", "consent.withdrawn"],
        &police_hook.url,
    )
    .await;
    World {
        app,
        ngo,
        police,
        mash,
        children,
        ictg,
        adults,
        coventry_police,
        ngo_hook,
        ngo_secret,
        police_hook,
    }
}

async fn refer(w: &World, body: Value) -> (StatusCode, Value) {
    w.app
        .post("/referrals", &w.app.token(&w.ngo, &["practitioner"]), body)
        .await
}

/// `GET /referrals?overdue=true` for the NGO.
async fn overdue(w: &World) -> Vec<Value> {
    let r = w
        .app
        .get(
            "/referrals?overdue=true",
            &w.app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["items"].as_array().unwrap().clone()
}

async fn event(w: &World, by: &TestAgency, id: &str, body: Value) -> (StatusCode, Value) {
    w.app
        .post(
            &format!("/referrals/{id}/events"),
            &w.app.token(by, &["practitioner"]),
            body,
        )
        .await
}

/// Posts with an `Idempotency-Key`; returns the status, body and whether it was a replay.
async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value, bool) {
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
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap(), replayed)
}

/// `{agency id: routing item}` of a create response.
fn routing(body: &Value) -> BTreeMap<String, Value> {
    body["routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["agency_id"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

fn ids(agencies: &[&TestAgency]) -> BTreeSet<String> {
    agencies.iter().map(|a| a.id.clone()).collect()
}

/// The one notification of `agency` with `event`.
async fn notification(app: &TestApp, agency: &TestAgency, event: &str) -> Value {
    let list = app
        .get("/notifications", &app.token(agency, &["practitioner"]))
        .await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    let found: Vec<&Value> = list.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == event)
        .collect();
    assert_eq!(found.len(), 1, "{} has {}", agency.name, list.1);
    found[0].clone()
}

/// Reads the record of `agency`'s `referral.received` notification.
async fn read_referral(app: &TestApp, agency: &TestAgency) -> (StatusCode, Value) {
    let n = notification(app, agency, "referral.received").await;
    app.get(
        &format!("/notifications/{}", n["id"].as_str().unwrap()),
        &app.token(agency, &["practitioner"]),
    )
    .await
}

/// Everything that left the hub by webhook or e-mail so far.
fn everything_sent(app: &TestApp, hooks: &[&Receiver]) -> Vec<String> {
    let mut out: Vec<String> = hooks
        .iter()
        .flat_map(|h| h.received())
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect();
    // Undo quoted-printable soft line breaks, so nothing hides across a wrapped line.
    out.extend(app.mails().into_iter().map(|m| m.replace("=\n", "")));
    out
}

fn assert_anonymous(what: &str, text: &str) {
    for s in IDENTIFYING {
        assert!(!text.contains(s), "{s} left the hub in {what}: {text}");
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_child_is_referred_without_consent_to_police_mash_childrens_partnership_and_ictg() {
    let w = world().await;
    let app = &w.app;
    let r = refer(&w, referral(CHILD_DOB, "not_required")).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["pathway"], "nrm");
    assert_eq!(r.1["status"], "submitted");
    assert_eq!(r.1["is_child"], true);
    assert_eq!(r.1["support_route"]["kind"], "children_services");
    assert_eq!(r.1["warnings"], json!([]));
    // Working Together: acknowledged within one working day (Monday 10:00 BST -> Tuesday).
    assert_eq!(r.1["acknowledgement_due_at"], "2026-06-02T09:00:00Z");
    let routed = routing(&r.1);
    assert_eq!(
        routed.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&[&w.police, &w.mash, &w.children, &w.ictg]),
        "exactly the police, MASH, children's partnership and ICTG service: {}",
        r.1
    );
    for (agency, route, purpose) in [
        (&w.police, "police", "nrm_referral"),
        (&w.mash, "mash", "safeguarding"),
        (&w.children, "children_partnership", "safeguarding"),
        (&w.ictg, "ictg", "safeguarding"),
    ] {
        let item = &routed[&agency.id];
        assert_eq!(item["decision"], "notified", "{}: {item}", agency.name);
        assert_eq!(item["route"], route);
        assert_eq!(item["purpose"], purpose);
    }
    assert!(
        !r.1.to_string().contains(NAME),
        "no personal details: {}",
        r.1
    );
    // The adults' board and another area's police hear nothing, agreement or not.
    for outsider in [&w.adults, &w.coventry_police] {
        let list = app
            .get("/notifications", &app.token(outsider, &["practitioner"]))
            .await;
        assert!(list.1["items"].as_array().unwrap().is_empty(), "{}", list.1);
    }
    // A child's referral is disclosed in full where the agreement allows (NRM pathway) and
    // only the ICTG service's fields to it.
    let police = read_referral(app, &w.police).await;
    assert_eq!(police.0, StatusCode::OK, "{}", police.1);
    assert_eq!(police.1["record"]["potential_victim"]["name"], NAME);
    assert_eq!(police.1["record"]["potential_victim"]["is_child"], true);
    assert!(
        police.1["record"].get("reference").is_none(),
        "the NGO's own reference"
    );
    let ictg = read_referral(app, &w.ictg).await;
    let allowed: BTreeSet<&str> = ICTG_FIELDS.iter().copied().collect();
    for p in paths_present(&ictg.1["record"]) {
        assert!(
            allowed.contains(p.as_str()),
            "{p} outside the ICTG's fields"
        );
    }
    assert_eq!(ictg.1["record"]["potential_victim"]["age_band"], "13-15");
    // The ICTG service records its allocation; a child's consent cannot be "withdrawn".
    let id = r.1["id"].as_str().unwrap();
    let e = event(&w, &w.ictg, id, json!({"type": "ictg_allocated"})).await;
    assert_eq!(pointers(&e), vec!["/ictg_role"]);
    let e = event(
        &w,
        &w.ictg,
        id,
        json!({"type": "ictg_allocated", "ictg_role": "direct_worker"}),
    )
    .await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    assert_eq!(e.1["status"], "submitted");
    let e = event(&w, &w.ngo, id, json!({"type": "consent_withdrawn"})).await;
    assert_problem(&e, 409);
    assert!(!e.1["allowed_events"]
        .as_array()
        .unwrap()
        .contains(&json!("consent_withdrawn")));
}

#[tokio::test]
async fn an_adult_who_consents_goes_to_the_police_and_mash_on_the_nrm_pathway() {
    let w = world().await;
    let app = &w.app;
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["pathway"], "nrm");
    assert_eq!(r.1["is_child"], false);
    assert_eq!(r.1["support_route"]["kind"], "nrm_support");
    let routed = routing(&r.1);
    assert_eq!(
        routed.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&[&w.police, &w.mash])
    );
    assert_eq!(routed[&w.police.id]["route"], "police");
    assert_eq!(routed[&w.mash.id]["route"], "mash");
    assert_eq!(
        routed[&w.police.id]["fields"].as_array().unwrap().len(),
        ALL_FIELDS.len(),
        "with consent the agreement decides"
    );
    let police = read_referral(app, &w.police).await;
    assert_eq!(police.0, StatusCode::OK, "{}", police.1);
    let rec = &police.1["record"];
    assert_eq!(rec["potential_victim"]["name"], NAME);
    assert_eq!(rec["potential_victim"]["contact"], CONTACT);
    assert_eq!(rec["potential_victim"]["age"], 31);
    assert_eq!(rec["pathway"], "nrm");
    assert_eq!(rec["status"], "submitted");
    // The read is a consultation with the consent state and the recipient's lawful basis.
    let auditor = app.operator_token(&["hub_auditor"]);
    let id = r.1["id"].as_str().unwrap();
    let log = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&record_id={id}&operation=consultation"),
            &auditor,
        )
        .await;
    let items = log.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", log.1);
    assert!(log.1.to_string().contains("informed consent"), "{}", log.1);
    assert!(items[0]["lawful_basis"].is_object(), "{}", items[0]);
    // The NGO reads its whole record with status, events and routing.
    let own = app
        .get(
            &format!("/referrals/{id}"),
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(own.0, StatusCode::OK, "{}", own.1);
    assert_eq!(own.1["potential_victim"]["name"], NAME);
    assert_eq!(own.1["reference"], "NGO-CASE-0193");
    assert_eq!(own.1["status"], "submitted");
    assert_eq!(own.1["events"], json!([]));
    assert_eq!(own.1["routing"].as_array().unwrap().len(), 2);
    assert_eq!(own.1["overdue"], false);
    assert_eq!(
        own.1["deadlines"]["acknowledgements"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_adult_who_declines_gets_an_anonymous_duty_to_notify_and_a_support_route() {
    let w = world().await;
    let app = &w.app;
    // `not_required` is only for children.
    let bad = refer(&w, referral(ADULT_DOB, "not_required")).await;
    assert_eq!(pointers(&bad), vec!["/nrm_consent"]);

    let r = refer(&w, referral(ADULT_DOB, "declined")).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["pathway"], "duty_to_notify");
    assert_eq!(r.1["support_route"]["kind"], "local_support");
    let id = r.1["id"].as_str().unwrap().to_owned();
    let routed = routing(&r.1);
    assert_eq!(
        routed.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&[&w.police, &w.mash])
    );
    for item in routed.values() {
        assert_eq!(item["decision"], "notified", "{item}");
        for f in DTN_WITHHELD {
            assert!(
                !item["fields"].as_array().unwrap().contains(&json!(f)),
                "{f} in {item}"
            );
        }
    }
    // Projections: nothing identifying, although the agreements allow every field.
    for agency in [&w.police, &w.mash] {
        let read = read_referral(app, agency).await;
        assert_eq!(read.0, StatusCode::OK, "{}", read.1);
        let rec = &read.1["record"];
        for p in paths_present(rec) {
            assert!(!DTN_WITHHELD.contains(&p.as_str()), "{p} disclosed: {rec}");
        }
        assert_anonymous("a projection", &rec.to_string());
        assert_eq!(rec["pathway"], "duty_to_notify");
        assert_eq!(rec["potential_victim"]["age_band"], "25-34");
        assert_eq!(rec["potential_victim"]["nationality"], "RO");
    }
    // The police record the Duty to Notify; an NRM submission is not on this pathway.
    let e = event(&w, &w.police, &id, json!({"type": "nrm_submitted"})).await;
    assert_problem(&e, 409);
    let e = event(&w, &w.police, &id, json!({"type": "dtn_submitted"})).await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    assert_eq!(e.1["status"], "dtn_submitted");
    let e = event(
        &w,
        &w.ngo,
        &id,
        json!({"type": "support_offered",
                                            "note": "Outreach support agreed"}),
    )
    .await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    // Webhook bodies (police, NGO) and e-mails (the MASH has no subscription).
    app.drain().await;
    let sent = everything_sent(app, &[&w.police_hook, &w.ngo_hook]);
    assert_eq!(w.police_hook.received().len(), 1, "referral.received");
    assert_eq!(w.ngo_hook.received().len(), 2, "two status changes");
    assert!(sent.len() >= 4, "{sent:?}");
    for s in &sent {
        assert_anonymous("a webhook or e-mail", s);
    }
    // The audit log's disclosures name only the anonymised data items and the consent state.
    let auditor = app.operator_token(&["hub_auditor"]);
    let log = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&record_id={id}&operation=disclosure"),
            &auditor,
        )
        .await;
    let items = log.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", log.1);
    for item in items {
        assert_eq!(item["decision"], "shared");
        for f in DTN_WITHHELD {
            assert!(
                !item["data_items"].as_array().unwrap().contains(&json!(f)),
                "{f}: {item}"
            );
        }
        assert!(
            item["consent"].as_str().unwrap().starts_with("declined"),
            "{item}"
        );
        assert!(item["lawful_basis"].is_object(), "{item}");
    }
    // The NGO keeps its own full record.
    let own = app
        .get(
            &format!("/referrals/{id}"),
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(own.1["potential_victim"]["contact"], CONTACT);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_result_and_creates_nothing() {
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.ngo, &["practitioner"]);
    let body = referral(ADULT_DOB, "given");
    let first = post_keyed(app, "/referrals", &token, "case-0193-attempt", body.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert!(!first.2);
    // The same body with its keys in another order is the same request.
    let mut reordered = serde_json::Map::new();
    for (k, v) in body.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let retry = post_keyed(
        app,
        "/referrals",
        &token,
        "case-0193-attempt",
        Value::Object(reordered),
    )
    .await;
    assert_eq!(retry.0, StatusCode::CREATED, "{}", retry.1);
    assert!(retry.2, "marked as a replay");
    assert_eq!(retry.1, first.1, "the first result");
    let list = app.get("/referrals", &token).await;
    assert_eq!(list.1["items"].as_array().unwrap().len(), 1, "{}", list.1);
    let police = app
        .get("/notifications", &app.token(&w.police, &["practitioner"]))
        .await;
    assert_eq!(police.1["items"].as_array().unwrap().len(), 1);
    app.drain().await;
    assert_eq!(w.police_hook.received().len(), 1, "told once");

    // The same key with another body is refused, and nothing is created.
    let mut other = referral(ADULT_DOB, "given");
    other["narrative"] = json!("A different person");
    let conflict = post_keyed(
        app,
        "/referrals",
        &token,
        "case-0193-attempt",
        other.clone(),
    )
    .await;
    assert_eq!(
        conflict.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        conflict.1
    );
    assert!(conflict.1["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
    assert_eq!(
        app.get("/referrals", &token).await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A new key is a new referral; a bad key is a 400.
    let second = post_keyed(app, "/referrals", &token, "case-0194", other).await;
    assert_eq!(second.0, StatusCode::CREATED);
    assert_ne!(second.1["id"], first.1["id"]);
    let bad = post_keyed(app, "/referrals", &token, "with space", body).await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);

    // Events too: a retried acknowledgement is the first result, not a 409.
    let id = first.1["id"].as_str().unwrap();
    let police = app.token(&w.police, &["practitioner"]);
    let path = format!("/referrals/{id}/events");
    let ack = json!({"type": "acknowledged"});
    let a1 = post_keyed(app, &path, &police, "ack-1", ack.clone()).await;
    assert_eq!(a1.0, StatusCode::CREATED, "{}", a1.1);
    let a2 = post_keyed(app, &path, &police, "ack-1", ack.clone()).await;
    assert_eq!((a2.0, a2.2), (StatusCode::CREATED, true));
    assert_eq!(a2.1, a1.1);
    let a3 = post_keyed(app, &path, &police, "ack-2", ack).await;
    assert_problem(&(a3.0, a3.1), 409);
}

#[tokio::test]
async fn invalid_transitions_are_409_and_only_first_responders_submit_to_the_nrm() {
    let w = world().await;
    let app = &w.app;
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    let id = r.1["id"].as_str().unwrap().to_owned();

    let e = event(&w, &w.police, &id, json!({"type": "rg_positive"})).await;
    assert_problem(&e, 409);
    assert_eq!(e.1["referral_status"], "submitted");
    assert_eq!(
        e.1["allowed_events"],
        json!([
            "acknowledged",
            "accepted",
            "declined",
            "nrm_submitted",
            "support_offered",
            "consent_withdrawn",
            "closed"
        ])
    );
    assert!(e.1["detail"].as_str().unwrap().contains("rg_positive"));
    for bad in [
        json!({"type": "dtn_submitted"}),
        json!({"type": "cg_positive"}),
        json!({"type": "reconsideration_requested"}),
        json!({"type": "ictg_allocated", "ictg_role": "direct_worker"}),
    ] {
        assert_problem(&event(&w, &w.police, &id, bad).await, 409);
    }
    // Shape and rule errors are 422.
    assert_eq!(
        pointers(&event(&w, &w.police, &id, json!({"type": "declined"})).await),
        vec!["/reason"]
    );
    assert_eq!(
        pointers(&event(&w, &w.police, &id, json!({"type": "escalated"})).await),
        vec!["/type"]
    );
    // Who may record what: the NGO does not accept its own referral; an agency the
    // referral was not sent to cannot even see it.
    assert_problem(
        &event(&w, &w.ngo, &id, json!({"type": "accepted"})).await,
        403,
    );
    assert_problem(
        &event(&w, &w.coventry_police, &id, json!({"type": "acknowledged"})).await,
        404,
    );
    let e = event(
        &w,
        &w.police,
        &id,
        json!({"type": "accepted", "note": "DC Shah"}),
    )
    .await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    assert_eq!(e.1["status"], "accepted");
    assert_eq!(e.1["previous_status"], "submitted");

    // The MASH is not a first responder: it may not submit to the NRM, and the refusal is
    // logged.
    let e = event(&w, &w.mash, &id, json!({"type": "nrm_submitted"})).await;
    assert_problem(&e, 403);
    assert!(
        e.1["detail"].as_str().unwrap().contains("first responder"),
        "{}",
        e.1
    );
    let auditor = app.operator_token(&["hub_auditor"]);
    let log = app
        .get(
            &format!(
                "/audit/events?purpose=self_monitoring&record_id={id}&operation=access_denied"
            ),
            &auditor,
        )
        .await;
    assert!(log.1.to_string().contains("first responder"), "{}", log.1);
    let e = event(&w, &w.police, &id, json!({"type": "nrm_submitted"})).await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    assert_eq!(e.1["status"], "rg_pending");
    // A decision is awaited: the NGO cannot close it now; only the submitter records it.
    assert_problem(
        &event(&w, &w.ngo, &id, json!({"type": "closed"})).await,
        409,
    );
    assert_problem(
        &event(&w, &w.mash, &id, json!({"type": "rg_positive"})).await,
        403,
    );
    for (t, status) in [
        ("rg_positive", "rg_positive"),
        ("cg_positive", "cg_positive"),
    ] {
        let e = event(&w, &w.police, &id, json!({"type": t})).await;
        assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
        assert_eq!(e.1["status"], status);
    }
    let e = event(&w, &w.ngo, &id, json!({"type": "closed"})).await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    assert_eq!(e.1["allowed_events"], json!([]));
    let e = event(&w, &w.ngo, &id, json!({"type": "support_offered"})).await;
    assert_problem(&e, 409);
    assert_eq!(e.1["allowed_events"], json!([]));

    // A designated NGO first responder may submit its own referral to the NRM, and then
    // records the decisions it receives.
    let designated = app.agency("Designated NGO", "ngo", &[BIRMINGHAM]).await;
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", designated.id),
            &app.admin(),
            Some(json!({"first_responder": true})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = app
        .post(
            "/referrals",
            &app.token(&designated, &["practitioner"]),
            referral(ADULT_DOB, "given"),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let own = r.1["id"].as_str().unwrap();
    for (t, status) in [
        ("nrm_submitted", "rg_pending"),
        ("rg_positive", "rg_positive"),
    ] {
        let e = event(&w, &designated, own, json!({"type": t})).await;
        assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
        assert_eq!(e.1["status"], status);
    }
    // Without a subscription, it is told of each step by e-mail, with no personal details.
    app.drain().await;
    let mails: Vec<String> = everything_sent(app, &[])
        .into_iter()
        .filter(|m| m.contains(&format!("/referrals/{own}")))
        .collect();
    assert_eq!(mails.len(), 2, "one e-mail per event");
    for m in &mails {
        assert!(m.contains("referral.status_changed"), "{m}");
        assert_anonymous("an e-mail", m);
    }
}

#[tokio::test]
async fn the_ngo_receives_a_signed_webhook_for_each_status_change() {
    let w = world().await;
    let app = &w.app;
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    let id = r.1["id"].as_str().unwrap().to_owned();
    let steps = [
        (&w.police, json!({"type": "acknowledged"}), "acknowledged"),
        (&w.mash, json!({"type": "acknowledged"}), "acknowledged"),
        (&w.police, json!({"type": "accepted"}), "accepted"),
        (&w.police, json!({"type": "nrm_submitted"}), "rg_pending"),
        (&w.police, json!({"type": "rg_negative"}), "rg_negative"),
        (
            &w.ngo,
            json!({"type": "reconsideration_requested", "reason": "new evidence"}),
            "rg_reconsideration",
        ),
        (&w.police, json!({"type": "rg_positive"}), "rg_positive"),
        (&w.mash, json!({"type": "support_offered"}), "rg_positive"),
        (&w.police, json!({"type": "cg_positive"}), "cg_positive"),
        (&w.ngo, json!({"type": "closed"}), "closed"),
    ];
    for (by, body, status) in &steps {
        let e = event(&w, by, &id, body.clone()).await;
        assert_eq!(e.0, StatusCode::CREATED, "{body}: {}", e.1);
        assert_eq!(e.1["status"], *status);
    }
    app.drain().await;
    let got = w.ngo_hook.received();
    assert_eq!(got.len(), steps.len(), "one webhook per event");
    let key = webhook::secret_key(&w.ngo_secret).unwrap();
    let mut statuses = Vec::new();
    let mut got: Vec<(i64, &crate::receiver::Received)> = got
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            (b["data"]["seq"].as_i64().unwrap(), r)
        })
        .collect();
    got.sort_by_key(|(seq, _)| *seq);
    for (_, r) in got {
        assert!(
            webhook::verify(&key, &r.id, r.timestamp, &r.body, &r.signature),
            "bad signature"
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["type"], "referral.status_changed");
        assert_eq!(body["data"]["referral_id"], id.as_str());
        assert_anonymous("a status webhook", &body.to_string());
        statuses.push((
            body["data"]["event"].as_str().unwrap().to_owned(),
            body["data"]["status"].as_str().unwrap().to_owned(),
        ));
    }
    let want: Vec<(String, String)> = steps
        .iter()
        .map(|(_, b, s)| (b["type"].as_str().unwrap().to_owned(), (*s).to_owned()))
        .collect();
    assert_eq!(statuses, want);
    // The referral shows its history.
    let own = app
        .get(
            &format!("/referrals/{id}"),
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    let events = own.1["events"].as_array().unwrap();
    assert_eq!(events.len(), steps.len());
    assert_eq!(events[5]["reason"], "new evidence");
    assert_eq!(events[1]["agency_id"], w.mash.id.as_str());
    assert_eq!(own.1["nrm_submitted_by_agency_id"], w.police.id.as_str());
    // Both recipients' acknowledgements were recorded against their notifications.
    for a in own.1["deadlines"]["acknowledgements"].as_array().unwrap() {
        assert!(a["acknowledged_at"].is_string(), "{a}");
    }
    // An NGO without a webhook subscription is told by e-mail, without personal details.
    let _ = (&w.children, &w.ictg);
}

#[tokio::test]
async fn consent_withdrawal_stops_disclosure_and_tells_the_recipients() {
    let w = world().await;
    let app = &w.app;
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    let id = r.1["id"].as_str().unwrap().to_owned();
    assert_eq!(read_referral(app, &w.police).await.0, StatusCode::OK);
    let e = event(
        &w,
        &w.ngo,
        &id,
        json!({"type": "consent_withdrawn", "note": "She no longer wants to be referred"}),
    )
    .await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    assert_eq!(e.1["status"], "withdrawn");
    assert_eq!(e.1["allowed_events"], json!(["support_offered", "closed"]));
    // The policy function sees it: no recipient reads the person's details any more.
    for agency in [&w.police, &w.mash] {
        let read = read_referral(app, agency).await;
        assert_problem(&read, 403);
        assert!(
            read.1["detail"]
                .as_str()
                .unwrap()
                .contains("consent withdrawn"),
            "{}",
            read.1
        );
        // Each recipient is told, and that notice carries nothing about the person.
        let n = notification(app, agency, "consent.withdrawn").await;
        assert_eq!(n["referral_id"], id.as_str());
        let read = app
            .get(
                &format!("/notifications/{}", n["id"].as_str().unwrap()),
                &app.token(agency, &["practitioner"]),
            )
            .await;
        assert_problem(&read, 403);
    }
    // Recipients cannot move it on; the NGO can still record support and close it.
    assert_problem(
        &event(&w, &w.police, &id, json!({"type": "nrm_submitted"})).await,
        409,
    );
    app.drain().await;
    let police_got: Vec<Value> = w
        .police_hook
        .received()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    // Both wait in the outbox and are delivered concurrently: compare them as a set.
    let mut types: Vec<&str> = police_got
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, vec!["consent.withdrawn", "referral.received"]);
    let consent = police_got
        .iter()
        .find(|b| b["type"] == "consent.withdrawn")
        .unwrap();
    assert_eq!(consent["data"]["referral_id"], id.as_str());
    assert_anonymous("a consent webhook", &consent.to_string());
    // The log shows the withdrawal, the refusals and the consent state.
    let auditor = app.operator_token(&["hub_auditor"]);
    let log = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&record_id={id}"),
            &auditor,
        )
        .await;
    let items = log.1["items"].as_array().unwrap();
    let denied: Vec<&Value> = items
        .iter()
        .filter(|i| i["operation"] == "access_denied")
        .collect();
    assert!(denied.len() >= 2, "{}", log.1);
    assert!(denied
        .iter()
        .all(|d| d.to_string().contains("consent withdrawn")));
    assert!(items
        .iter()
        .any(|i| i["operation"] == "governance" && i.to_string().contains("withdrawn")));
}

#[tokio::test]
async fn deadlines_count_working_days_and_overdue_referrals_are_listed_and_escalated() {
    let w = world().await;
    let app = &w.app;
    // A forum led by the local authority, of which the police and the MASH are members.
    let lead = app
        .agency("Birmingham City Council", "local_authority", &[BIRMINGHAM])
        .await;
    let forum = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": "Strategic MSHT forum", "areas": [BIRMINGHAM],
                   "lead_agency_id": lead.id}),
        )
        .await;
    assert_eq!(forum.0, StatusCode::CREATED, "{}", forum.1);
    for m in [&w.police, &w.mash] {
        let r = app
            .post(
                &format!("/partnerships/{}/members", forum.1["id"].as_str().unwrap()),
                &app.admin(),
                json!({"agency_id": m.id}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    // Each joins by its own act.
    for m in [&lead, &w.police, &w.mash] {
        app.join(forum.1["id"].as_str().unwrap(), m).await;
    }
    // Friday 16:00 BST: acknowledgement is due on Monday at the same time.
    app.clock.set(at("2026-06-05T15:00:00Z"));
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["acknowledgement_due_at"], "2026-06-08T15:00:00Z");
    let id = r.1["id"].as_str().unwrap().to_owned();
    app.clock.set(at("2026-06-07T12:00:00Z"));
    assert!(overdue(&w).await.is_empty(), "the weekend does not count");
    assert_eq!(app.state.delivery.run_deadlines().await.unwrap(), 0);
    app.clock.set(at("2026-06-08T15:30:00Z"));
    let items = overdue(&w).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["overdue_deadlines"]["acknowledgement"], true);
    // The MASH acknowledges its notification: that is its acknowledgement of the referral.
    let n = notification(app, &w.mash, "referral.received").await;
    let ack = app
        .post(
            &format!("/notifications/{}/acknowledge", n["id"].as_str().unwrap()),
            &app.token(&w.mash, &["practitioner"]),
            json!({}),
        )
        .await;
    assert_eq!(ack.0, StatusCode::OK, "{}", ack.1);
    let own = app
        .get(
            &format!("/referrals/{id}"),
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(own.1["status"], "acknowledged");
    assert_eq!(own.1["events"][0]["agency_id"], w.mash.id.as_str());
    assert_eq!(own.1["overdue"], true, "the police have not acknowledged");
    // The police's lapse escalates once to the forum's lead; the NGO is told too.
    assert_eq!(app.state.delivery.run_deadlines().await.unwrap(), 1);
    assert_eq!(app.state.delivery.run_deadlines().await.unwrap(), 0, "once");
    let lead_n = notification(app, &lead, "notification.overdue").await;
    assert_eq!(lead_n["referral_id"], id.as_str());
    let r = app
        .post(
            &format!(
                "/notifications/{}/acknowledge",
                lead_n["id"].as_str().unwrap()
            ),
            &app.token(&lead, &["practitioner"]),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    // NRM submission on Monday: the reasonable grounds decision is due five working days on.
    for t in ["acknowledged", "nrm_submitted"] {
        let e = event(&w, &w.police, &id, json!({"type": t})).await;
        assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    }
    assert!(overdue(&w).await.is_empty());
    let own = app
        .get(
            &format!("/referrals/{id}"),
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(
        own.1["deadlines"]["reasonable_grounds_due_at"],
        "2026-06-15T15:30:00Z"
    );
    app.clock.set(at("2026-06-15T15:00:00Z"));
    assert!(overdue(&w).await.is_empty());
    app.clock.set(at("2026-06-15T16:00:00Z"));
    let items = overdue(&w).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["overdue_deadlines"]["reasonable_grounds"], true);
    assert_eq!(app.state.delivery.run_deadlines().await.unwrap(), 1);
    assert_eq!(app.state.delivery.run_deadlines().await.unwrap(), 0, "once");
    let lead_list = app
        .get("/notifications", &app.token(&lead, &["practitioner"]))
        .await;
    assert_eq!(
        lead_list.1["items"].as_array().unwrap().len(),
        2,
        "{}",
        lead_list.1
    );
    // The NGO heard about both lapses by webhook.
    app.drain().await;
    // Both wait in the outbox and are delivered concurrently, so compare them as a set.
    let mut deadlines: Vec<String> = w
        .ngo_hook
        .received()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| b["type"] == "notification.overdue")
        .map(|b| b["data"]["deadline"].as_str().unwrap().to_owned())
        .collect();
    deadlines.sort();
    assert_eq!(deadlines, vec!["acknowledgement", "reasonable_grounds"]);
}

#[tokio::test]
async fn only_ngos_refer_and_only_the_referrer_reads_the_referral() {
    let w = world().await;
    let app = &w.app;
    let r = app
        .post(
            "/referrals",
            &app.token(&w.police, &["practitioner"]),
            referral(ADULT_DOB, "given"),
        )
        .await;
    assert_problem(&r, 403);
    assert_problem(
        &app.post(
            "/referrals",
            &app.token(&w.ngo, &["analyst"]),
            referral(ADULT_DOB, "given"),
        )
        .await,
        403,
    );
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    let id = r.1["id"].as_str().unwrap().to_owned();
    assert_eq!(r.1["routing"].as_array().unwrap().len(), 2, "{}", r.1);
    // Recipients read through their notifications; the referral itself is the NGO's.
    for other in [&w.police, &w.coventry_police] {
        assert_problem(
            &app.get(
                &format!("/referrals/{id}"),
                &app.token(other, &["practitioner"]),
            )
            .await,
            404,
        );
        let list = app
            .get("/referrals", &app.token(other, &["practitioner"]))
            .await;
        assert_eq!(list.1["items"], json!([]));
    }
    let list = app
        .get("/referrals", &app.token(&w.ngo, &["practitioner"]))
        .await;
    assert_eq!(list.0, StatusCode::OK);
    let item = &list.1["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert!(
        !item.to_string().contains(NAME),
        "no personal details in the list"
    );
    let filtered = app
        .get(
            "/referrals?status=closed",
            &app.token(&w.ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(filtered.1["items"], json!([]));
    // A referral nobody may receive says so.
    let elsewhere = {
        let mut b = referral(ADULT_DOB, "given");
        b["area"] = json!("E08000027");
        refer(&w, b).await
    };
    assert_eq!(elsewhere.0, StatusCode::CREATED);
    assert_eq!(elsewhere.1["routing"], json!([]));
    assert_eq!(elsewhere.1["warnings"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn duty_to_notify_carries_no_free_text() {
    let w = world().await;
    let app = &w.app;
    let mut body = referral(ADULT_DOB, "declined");
    body["indicators"] = json!(["kept at 14 Albert Street by Marius", "passport withheld"]);
    let r = refer(&w, body).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["pathway"], "duty_to_notify");
    let id = r.1["id"].as_str().unwrap().to_owned();
    // What the anonymous Duty to Notify return carries, and nothing else.
    let dtn_return: BTreeSet<&str> = [
        "area",
        "potential_victim.age_band",
        "potential_victim.is_child",
        "potential_victim.gender",
        "potential_victim.nationality",
        "nrm_consent",
        "pathway",
        "exploitation_types",
        "classification",
        "status",
    ]
    .into_iter()
    .collect();
    for item in routing(&r.1).values() {
        for f in item["fields"].as_array().unwrap() {
            assert!(dtn_return.contains(f.as_str().unwrap()), "{f} in {item}");
        }
    }
    let free_text = ["Albert Street", "Marius", "passport withheld", "Romanian"];
    for agency in [&w.police, &w.mash] {
        let read = read_referral(app, agency).await;
        assert_eq!(read.0, StatusCode::OK, "{}", read.1);
        let rec = &read.1["record"];
        for p in paths_present(rec) {
            assert!(dtn_return.contains(p.as_str()), "{p} disclosed: {rec}");
        }
        for s in free_text {
            assert!(!rec.to_string().contains(s), "{s} disclosed: {rec}");
        }
    }
    app.drain().await;
    for sent in everything_sent(app, &[&w.police_hook, &w.ngo_hook]) {
        for s in free_text {
            assert!(!sent.contains(s), "{s} sent: {sent}");
        }
    }
    let log = app
        .get(
            &format!("/audit/events?purpose=self_monitoring&record_id={id}"),
            &app.operator_token(&["hub_auditor"]),
        )
        .await;
    for item in log.1["items"].as_array().unwrap() {
        if item["operation"] == "disclosure" || item["operation"] == "consultation" {
            for f in item["data_items"].as_array().unwrap() {
                assert!(dtn_return.contains(f.as_str().unwrap()), "{f}: {item}");
            }
        }
        for s in free_text {
            assert!(!item.to_string().contains(s), "{s} in the log: {item}");
        }
    }
}

#[tokio::test]
async fn acknowledging_and_recording_acknowledged_race_without_deadlock() {
    // Two hub processes on one database: one acknowledges the police's notification while
    // the other records the police's `acknowledged` event. Both lock the referral first,
    // then its notifications, so neither waits on the other in the opposite order.
    let w = world().await;
    let app = &w.app;
    let (peer, _state, _handle) = app.spawn_peer().await;
    let token = app.token(&w.police, &["practitioner"]);
    for round in 0..6 {
        let r = refer(&w, referral(ADULT_DOB, "given")).await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let id = r.1["id"].as_str().unwrap().to_owned();
        let list = app.get("/notifications?limit=200", &token).await;
        let n = list.1["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["referral_id"] == id.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let ack = app
            .client
            .post(format!("{}/notifications/{n}/acknowledge", app.api))
            .bearer_auth(&token)
            .send();
        let event = app
            .client
            .post(format!("{peer}/referrals/{id}/events"))
            .bearer_auth(&token)
            .json(&json!({"type": "acknowledged"}))
            .send();
        let (ack, event) = tokio::join!(ack, event);
        let (ack, event) = (ack.unwrap().status(), event.unwrap().status());
        assert_eq!(ack, StatusCode::OK, "round {round}");
        assert!(
            event == StatusCode::CREATED || event == StatusCode::CONFLICT,
            "round {round}: {event}"
        );
        let own = app
            .get(
                &format!("/referrals/{id}"),
                &app.token(&w.ngo, &["practitioner"]),
            )
            .await;
        let acks = own.1["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "acknowledged")
            .count();
        assert_eq!(acks, 1, "round {round}: {}", own.1);
    }
}

#[tokio::test]
async fn acknowledging_a_notification_locks_the_referral_before_the_notification() {
    // PostgreSQL only: SQLite has one database write lock and no row locks to order.
    if !crate::helpers::on_postgres() {
        return;
    }
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.police, &["practitioner"]);
    let r = refer(&w, referral(ADULT_DOB, "given")).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = r.1["id"].as_str().unwrap().to_owned();
    let n = notification(app, &w.police, "referral.received").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another process is recording an event on the referral: it holds the referral's row.
    let url = app.settings.database_url.clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (id2, n2) = (id.clone(), n.clone());
    let other = std::thread::spawn(move || {
        let mut c = diesel::PgConnection::establish(&url).unwrap();
        c.batch_execute(&format!(
            "BEGIN; SELECT id FROM referrals WHERE id = '{id2}' FOR UPDATE;"
        ))
        .unwrap();
        held_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        // ... and then touches the notification, as recording `acknowledged` does.
        let touched = c.batch_execute(&format!(
            "SET LOCAL lock_timeout = '3s'; \
             UPDATE notifications SET acknowledged_by = acknowledged_by WHERE id = '{n2}';"
        ));
        let _ = c.batch_execute(if touched.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        });
        touched.is_ok()
    });
    held_rx.recv().unwrap();
    let ack = app
        .client
        .post(format!("{}/notifications/{n}/acknowledge", app.api))
        .bearer_auth(&token)
        .send();
    let ack = tokio::spawn(ack);
    // The acknowledgement is waiting by now; the other process must still reach the
    // notification (the hub waits on the referral, holding nothing the other needs).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    go_tx.send(()).unwrap();
    let touched = tokio::task::spawn_blocking(move || other.join().unwrap())
        .await
        .unwrap();
    assert!(touched, "the notification was locked before the referral");
    let ack = ack.await.unwrap().unwrap();
    assert_eq!(ack.status(), StatusCode::OK);
}
