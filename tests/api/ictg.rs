//! ICTG monitoring: every child referred to an ICTG service, from an incident (a child victim
//! with `ictg_referral`) and from a child's referral, listed to the agencies that hold or
//! were told of the child with when referred, when allocated and the NRM status (only where
//! disclosed); the ICTG service records allocations; overdue allocations are escalated once
//! to the ICTG service and the children's partnership when the clock passes the deadline.
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::all_events;
use crate::helpers::{assert_problem, pointers, Options, TestAgency, TestApp};
use crate::receiver::Receiver;
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

struct World {
    app: TestApp,
    police: TestAgency,
    ngo: TestAgency,
    children: TestAgency,
    ictg: TestAgency,
    stranger: TestAgency,
    ictg_hook: Receiver,
}

async fn agree(
    app: &TestApp,
    p: &str,
    from: &TestAgency,
    to: &TestAgency,
    kind: &str,
    fields: &[&str],
) {
    let mut body = agreement_body(p, from, to, fields);
    if kind == "referral" {
        body["purposes"] = json!(["safeguarding", "nrm_referral", "victim_support"]);
        body["parties"][0]["lawful_basis"] = json!({"regime": "uk_gdpr",
            "condition": "art6_1f_legitimate_interests", "special_category": "art9_2g_sch1_para18"});
        body["data_items"][0]["record_kind"] = json!("referral");
    }
    let id = draft(app, body, from).await;
    sign(app, &id, from).await;
    let a = sign(app, &id, to).await;
    assert_eq!(a["status"], "active", "{a}");
}

async fn world() -> World {
    let app = TestApp::spawn_with(Options::local_delivery()).await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let ngo = app.agency("Midlands NGO", "ngo", &[BIRMINGHAM]).await;
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
    let stranger = app.agency("Another NGO", "ngo", &[BIRMINGHAM]).await;
    let p = partnership(
        &app,
        "Birmingham MSHT",
        &[&police, &ngo, &children, &ictg, &stranger],
    )
    .await;
    let incident_fields = ["area", "victims[].age_band", "victims[].ictg_referral"];
    agree(&app, &p.id, &police, &ictg, "incident", &incident_fields).await;
    agree(
        &app,
        &p.id,
        &police,
        &children,
        "incident",
        &["area", "victims[].age_band", "victims[].nrm_status"],
    )
    .await;
    for to in [&ictg, &children] {
        agree(
            &app,
            &p.id,
            &ngo,
            to,
            "referral",
            &["area", "potential_victim.age_band", "status"],
        )
        .await;
    }
    let ictg_hook = Receiver::start(vec![]).await;
    let r = app
        .post(
            "/subscriptions",
            &app.token(&ictg, &["practitioner"]),
            json!({"events": ["notification.overdue"], "channel": {"type": "webhook", "url": ictg_hook.url}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    World {
        app,
        police,
        ngo,
        children,
        ictg,
        stranger,
        ictg_hook,
    }
}

fn incident() -> Value {
    json!({
        "reference": "WMP-0042",
        "occurred_at": "2026-05-30T22:00:00Z",
        "area": BIRMINGHAM,
        "exploitation_types": ["criminal"],
        "threats": ["county_lines"],
        "classification": "official",
        "narrative": "Two found at a trap house",
        "victims": [
            {"reference": "V1", "age": 30, "consent_to_share": "given"},
            {"reference": "V2", "age": 15, "consent_to_share": "not_required",
             "consent_absent_reason": "would_prejudice_protection", "ictg_referral": true,
             "nrm_status": "rg_pending"}
        ]
    })
}

fn referral() -> Value {
    json!({
        "area": BIRMINGHAM,
        "potential_victim": {"name": "Child A", "date_of_birth": "2011-02-10"},
        "nrm_consent": "not_required",
        "exploitation_types": ["sexual"],
        "narrative": "Disclosed at a drop-in",
        "classification": "official_sensitive"
    })
}

async fn children_of(app: &TestApp, a: &TestAgency, query: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/ictg/children{query}"),
            &app.token(a, &["practitioner"]),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["items"].as_array().unwrap().clone()
}

async fn allocate(
    app: &TestApp,
    by: &TestAgency,
    id: &str,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .post(format!("{}/incidents/{id}/ictg-allocations", app.api))
        .bearer_auth(app.token(by, &["practitioner"]))
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn children_referred_to_the_ictg_service_are_monitored_and_overdue_allocations_escalated() {
    let w = world().await;
    let app = &w.app;
    let r = app
        .post(
            "/incidents",
            &app.token(&w.police, &["practitioner"]),
            incident(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let incident_id = r.1["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/referrals",
            &app.token(&w.ngo, &["practitioner"]),
            referral(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let referral_id = r.1["id"].as_str().unwrap().to_owned();

    // The ICTG service sees both children (the adult victim is not one), awaiting allocation,
    // due one working day after it was told; the incident's NRM status is not disclosed to it.
    let items = children_of(app, &w.ictg, "").await;
    assert_eq!(items.len(), 2, "{items:?}");
    let inc = items
        .iter()
        .find(|c| c["record_kind"] == "incident")
        .unwrap();
    assert_eq!(inc["record_id"], incident_id.as_str());
    assert_eq!(inc["victim"], 1);
    assert_eq!(inc["state"], "awaiting_allocation");
    assert_eq!(inc["referred_at"], "2026-06-01T09:00:00Z");
    assert_eq!(inc["allocation_due_at"], "2026-06-02T09:00:00Z");
    assert!(
        inc["nrm_status"].is_null() && inc["nrm_status_withheld"] == true,
        "{inc}"
    );
    let refl = items
        .iter()
        .find(|c| c["record_kind"] == "referral")
        .unwrap();
    assert_eq!(refl["record_id"], referral_id.as_str());
    assert_eq!(refl["nrm_status"], "not_submitted");
    // The children's partnership sees the incident's NRM status; the police see only their
    // own child; an agency told of neither sees nothing.
    let seen = children_of(app, &w.children, "?record_kind=incident").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["nrm_status"], "rg_pending");
    let own = children_of(app, &w.police, "").await;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["nrm_status"], "rg_pending");
    assert!(children_of(app, &w.stranger, "").await.is_empty());
    assert_problem(
        &app.get(
            "/ictg/children?state=late",
            &app.token(&w.ictg, &["practitioner"]),
        )
        .await,
        422,
    );

    // Bad allocations are 422s naming the field; only the ICTG service records one.
    let bad = allocate(
        app,
        &w.ictg,
        &incident_id,
        None,
        json!({"victim": 0, "ictg_role": "direct_worker"}),
    )
    .await;
    assert_eq!(
        pointers(&(bad.0, bad.1.clone())),
        vec!["/victim"],
        "{}",
        bad.1
    );
    let bad = allocate(
        app,
        &w.ictg,
        &incident_id,
        None,
        json!({"victim": 7, "ictg_role": "direct_worker"}),
    )
    .await;
    assert_eq!(pointers(&bad), vec!["/victim"]);
    let bad = allocate(
        app,
        &w.ictg,
        &incident_id,
        None,
        json!({"ictg_role": "aunt", "colour": 1}),
    )
    .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.1);
    let bad = allocate(
        app,
        &w.ictg,
        &incident_id,
        None,
        json!({"ictg_role": "aunt"}),
    )
    .await;
    let mut ptrs = pointers(&bad);
    ptrs.sort();
    assert_eq!(ptrs, vec!["/ictg_role", "/victim"]);
    let bad = allocate(
        app,
        &w.ictg,
        &incident_id,
        None,
        json!({"victim": 1, "ictg_role": "direct_worker", "allocated_at": "2026-07-01T09:00:00Z"}),
    )
    .await;
    assert_eq!(pointers(&bad), vec!["/allocated_at"]);
    assert_problem(
        &allocate(
            app,
            &w.children,
            &incident_id,
            None,
            json!({"victim": 1, "ictg_role": "direct_worker"}),
        )
        .await,
        403,
    );
    assert_problem(
        &allocate(
            app,
            &w.stranger,
            &incident_id,
            None,
            json!({"victim": 1, "ictg_role": "direct_worker"}),
        )
        .await,
        404,
    );
    let denied = all_events(
        app,
        &app.operator_token(&["hub_auditor"]),
        "&operation=access_denied&record_kind=incident",
    )
    .await;
    assert_eq!(denied.len(), 2, "{denied:?}");

    // Past the deadline (Wednesday), the deadline check escalates both children once, to the
    // ICTG service and the children's partnership.
    app.clock.advance(Duration::days(2));
    assert_eq!(children_of(app, &w.ictg, "?state=overdue").await.len(), 2);
    // (Unacknowledged notifications are escalated too; the ICTG escalations are counted below.)
    assert!(app.state.delivery.run_deadlines().await.unwrap() >= 2);
    assert_eq!(app.state.delivery.run_deadlines().await.unwrap(), 0, "once");
    let gov = all_events(
        app,
        &app.operator_token(&["hub_auditor"]),
        "&operation=governance",
    )
    .await;
    let escalations: Vec<&Value> = gov
        .iter()
        .filter(|e| {
            e["justification"]
                .as_str()
                .unwrap_or("")
                .contains("ICTG guardian")
        })
        .collect();
    assert_eq!(escalations.len(), 2, "{gov:?}");
    for e in &escalations {
        let to = e["recipients"].to_string();
        assert!(
            to.contains(&w.ictg.id) && to.contains(&w.children.id),
            "{e}"
        );
    }
    app.drain().await;
    let mut heard: Vec<String> = w
        .ictg_hook
        .received()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| {
            b["type"] == "notification.overdue" && b["data"]["deadline"] == "ictg_allocation"
        })
        .map(|b| b["data"]["record_kind"].as_str().unwrap().to_owned())
        .collect();
    heard.sort();
    assert_eq!(heard, vec!["incident", "referral"]);
    let listed = children_of(app, &w.ictg, "?state=overdue").await;
    assert!(
        listed.iter().all(|c| c["escalated_at"].is_string()),
        "{listed:?}"
    );

    // The ICTG service records the allocation, once (a retry with its key answers the same).
    let body =
        json!({"victim": 1, "ictg_role": "direct_worker", "allocated_at": "2026-06-02T15:00:00Z"});
    let first = allocate(app, &w.ictg, &incident_id, Some("alloc-1"), body.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let again = allocate(app, &w.ictg, &incident_id, Some("alloc-1"), body.clone()).await;
    assert_eq!(again, first);
    assert_problem(&allocate(app, &w.ictg, &incident_id, None, body).await, 409);
    // A child's referral records its allocation as a referral event.
    let e = app
        .post(
            &format!("/referrals/{referral_id}/events"),
            &app.token(&w.ictg, &["practitioner"]),
            json!({"type": "ictg_allocated", "ictg_role": "regional_practice_coordinator"}),
        )
        .await;
    assert_eq!(e.0, StatusCode::CREATED, "{}", e.1);
    let items = children_of(app, &w.children, "").await;
    assert!(items.iter().all(|c| c["state"] == "allocated"), "{items:?}");
    let inc = items
        .iter()
        .find(|c| c["record_kind"] == "incident")
        .unwrap();
    assert_eq!(inc["allocated_at"], "2026-06-02T15:00:00Z");
    assert_eq!(inc["ictg_role"], "direct_worker");
    let refl = items
        .iter()
        .find(|c| c["record_kind"] == "referral")
        .unwrap();
    assert_eq!(refl["ictg_role"], "regional_practice_coordinator");
    let collected = all_events(
        app,
        &app.operator_token(&["hub_auditor"]),
        "&operation=collection&record_kind=incident",
    )
    .await;
    assert!(
        collected.iter().any(|e| e["justification"]
            .as_str()
            .unwrap_or("")
            .contains("ICTG guardian allocated")),
        "{collected:?}"
    );
    let _ = &w.ngo;
}

/// The deadline runs from the ICTG service's first notification: a child whose incident was
/// changed (and routed again) shortly before the deadline is still escalated once it passes.
#[tokio::test]
async fn an_incident_changed_before_the_deadline_is_still_escalated_from_its_first_notification() {
    let w = world().await;
    let app = &w.app;
    let token = app.token(&w.police, &["practitioner"]);
    let r = app.post("/incidents", &token, incident()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = r.1["id"].as_str().unwrap().to_owned();
    // Due Tuesday 09:00; changed Tuesday 08:00, which decides its routing again.
    app.clock.advance(Duration::hours(23));
    let p = app
        .patch_if(
            &format!("/incidents/{id}"),
            &app.token(&w.police, &["practitioner"]),
            "\"1\"",
            json!({"narrative": "Seen again at the address"}),
        )
        .await;
    assert_eq!(p.0, StatusCode::OK, "{}", p.1);
    let items = children_of(app, &w.ictg, "").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["referred_at"], "2026-06-01T09:00:00Z");
    // Tuesday 10:00: an hour overdue, and less than a day since the change.
    app.clock.advance(Duration::hours(2));
    assert!(app.state.delivery.run_deadlines().await.unwrap() >= 1);
    let gov = all_events(
        app,
        &app.operator_token(&["hub_auditor"]),
        "&operation=governance",
    )
    .await;
    let escalated = gov
        .iter()
        .filter(|e| {
            e["record_id"] == id.as_str()
                && e["justification"]
                    .as_str()
                    .unwrap_or("")
                    .contains("ICTG guardian")
        })
        .count();
    assert_eq!(escalated, 1, "{gov:?}");
}
