//! Data-sharing agreements through the API: signatures, dates, terms of reference,
//! amendments, suspension and termination, all seen through the policy dry run.
use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, pointers, TestAgency, TestApp};
use crate::sharing::{self, agreement_body, check, draft, partnership, sign};

const FIELDS: &[&str] = &["area", "exploitation_types", "victims[].age_band"];

async fn two(app: &TestApp) -> (TestAgency, TestAgency) {
    let police = app
        .agency("West Midlands Police", "police_force", &["E08000025"])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &["E08000025"]).await;
    (police, mash)
}

#[tokio::test]
async fn an_agreement_becomes_active_only_after_the_last_signature() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let ngo = app.agency("Birmingham NGO", "ngo", &["E08000025"]).await;
    let p = partnership(&app, "Birmingham MSHT partnership", &[&police, &mash, &ngo]).await;
    let mut body = agreement_body(&p.id, &police, &mash, FIELDS);
    body["parties"].as_array_mut().unwrap().push(json!({
        "agency_id": ngo.id, "role": "recipient",
        "lawful_basis": {"regime": "uk_gdpr", "condition": "art6_1f_legitimate_interests"}}));
    let id = draft(&app, body, &police).await;

    let before = check(&app, &police, &mash, json!({})).await;
    assert_eq!(before["decision"], "deny");
    let reasons: Vec<&str> = before["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for a in [&police, &mash, &ngo] {
        assert!(
            reasons.contains(&format!("not signed by agency {}", a.id).as_str()),
            "{reasons:?}"
        );
    }
    assert_eq!(sign(&app, &id, &police).await["status"], "draft");
    let after_two = sign(&app, &id, &mash).await;
    assert_eq!(after_two["status"], "draft");
    assert_eq!(after_two["in_force_version"], json!(null));
    let pending = check(&app, &police, &mash, json!({})).await;
    assert_eq!(pending["decision"], "deny");
    assert_eq!(
        pending["reasons"],
        json!([format!("not signed by agency {}", ngo.id)])
    );
    assert_eq!(pending["reason_details"][0]["code"], "not_signed");

    let done = sign(&app, &id, &ngo).await;
    assert_eq!(done["status"], "active", "{done}");
    assert_eq!(done["in_force_version"], 1);
    assert_eq!(done["signatures"].as_array().unwrap().len(), 3);
    let permit = check(&app, &police, &mash, json!({})).await;
    assert_eq!(permit["decision"], "permit", "{permit}");
    assert_eq!(permit["agreement_id"], id);
    assert_eq!(permit["agreement_version"], 1);
    assert_eq!(
        permit["fields"],
        json!(["area", "exploitation_types", "victims[].age_band"])
    );
    assert_eq!(permit["retention_days"], 365);
    assert_eq!(permit["lawful_basis"]["condition"], "sch8_safeguarding");
    assert_eq!(
        permit["recipient_lawful_basis"]["special_category"],
        "art9_2g_sch1_para18"
    );
    assert_eq!(permit["reasons"], json!([]));
    // Signing twice is a conflict; the NGO receives no incident fields, so it is denied.
    let again = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &app.token(&mash, &["ig_officer"]),
            json!({"version": 1}),
        )
        .await;
    assert_problem(&again, 409);
    let to_ngo = check(&app, &police, &ngo, json!({})).await;
    assert_eq!(to_ngo["reason_details"][0]["code"], "no_data_items");
}

#[tokio::test]
async fn moving_the_clock_past_expiry_turns_a_permit_into_a_deny() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let (_, id) = sharing::share(&app, &police, &mash, FIELDS).await;
    assert_eq!(
        check(&app, &police, &mash, json!({})).await["decision"],
        "permit"
    );
    // The agreement runs until 2027-01-31 (exclusive); the test clock starts 2026-06-01.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-01-30T23:59:59Z")
            .unwrap()
            .into(),
    );
    assert_eq!(
        check(&app, &police, &mash, json!({})).await["decision"],
        "permit"
    );
    app.clock.advance(Duration::seconds(1));
    let denied = check(&app, &police, &mash, json!({})).await;
    assert_eq!(denied["decision"], "deny");
    assert_eq!(denied["reasons"], json!(["expired on 2027-01-31"]));
    assert_eq!(denied["reason_details"][0]["code"], "expired");
    let a = app
        .get(
            &format!("/agreements/{id}"),
            &app.token(&police, &["ig_officer"]),
        )
        .await;
    assert_eq!(a.1["status"], "expired");
    assert_eq!(a.1["in_force_version"], json!(null));
    // `at` asks about another time without moving the clock.
    let past = check(&app, &police, &mash, json!({"at": "2026-07-01T00:00:00Z"})).await;
    assert_eq!(past["decision"], "permit");
    // An expired version can no longer be signed: amend it instead.
    let late = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &app.token(&mash, &["ig_officer"]),
            json!({"version": 1}),
        )
        .await;
    assert_problem(&late, 409);
}

#[tokio::test]
async fn a_new_terms_version_turns_permits_into_denies_until_reaccepted() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let (p, _) = sharing::share(&app, &police, &mash, FIELDS).await;
    assert_eq!(
        check(&app, &police, &mash, json!({})).await["decision"],
        "permit"
    );
    let v2 = sharing::publish_terms(&app, &p.id).await;
    assert_eq!(v2, 2);
    let denied = check(&app, &police, &mash, json!({})).await;
    assert_eq!(denied["decision"], "deny");
    assert_eq!(
        denied["reasons"],
        json!([
            format!(
                "terms of reference version 2 not accepted by agency {}",
                police.id
            ),
            format!(
                "terms of reference version 2 not accepted by agency {}",
                mash.id
            )
        ])
    );
    sharing::accept_terms(&app, &p.id, 2, &police).await;
    let half = check(&app, &police, &mash, json!({})).await;
    assert_eq!(
        half["reasons"],
        json!([format!(
            "terms of reference version 2 not accepted by agency {}",
            mash.id
        )])
    );
    // Version 1 can no longer be accepted: it has been replaced.
    let stale = app
        .post(
            &format!("/partnerships/{}/terms/1/acceptances", p.id),
            &app.token(&mash, &["agency_admin"]),
            json!({}),
        )
        .await;
    assert_problem(&stale, 409);
    sharing::accept_terms(&app, &p.id, 2, &mash).await;
    assert_eq!(
        check(&app, &police, &mash, json!({})).await["decision"],
        "permit"
    );
}

#[tokio::test]
async fn an_ig_officer_of_a_non_party_cannot_sign() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let other = app.agency("Solihull MASH", "mash", &["E08000029"]).await;
    let p = partnership(
        &app,
        "Birmingham MSHT partnership",
        &[&police, &mash, &other],
    )
    .await;
    let id = draft(&app, agreement_body(&p.id, &police, &mash, FIELDS), &police).await;
    let r = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &app.token(&other, &["ig_officer"]),
            json!({"version": 1}),
        )
        .await;
    assert_problem(&r, 403);
    // A party's practitioner (not an IG officer) cannot sign either.
    let r = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &app.token(&mash, &["practitioner"]),
            json!({"version": 1}),
        )
        .await;
    assert_problem(&r, 403);
    // Nor suspend, terminate or amend; and the agreement is invisible to the non-party.
    for action in ["suspend", "terminate"] {
        let r = app
            .post(
                &format!("/agreements/{id}/{action}"),
                &app.token(&other, &["ig_officer"]),
                json!({"reason": "curious"}),
            )
            .await;
        assert_problem(&r, 403);
    }
    let r = amend(
        &app,
        &id,
        &app.token(&other, &["ig_officer"]),
        Some("*"),
        agreement_body(&p.id, &police, &mash, FIELDS),
    )
    .await;
    assert_problem(&r, 403);
    assert_problem(
        &app.get(
            &format!("/agreements/{id}"),
            &app.token(&other, &["ig_officer"]),
        )
        .await,
        404,
    );
    let a = app
        .get(
            &format!("/agreements/{id}"),
            &app.token(&police, &["ig_officer"]),
        )
        .await;
    assert_eq!(a.1["signatures"], json!([]), "nothing was signed");
}

#[tokio::test]
async fn invalid_agreements_are_422_with_pointers_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let outsider = app.agency("Coventry MASH", "mash", &["E08000026"]).await;
    let p = partnership(&app, "Birmingham MSHT partnership", &[&police, &mash]).await;
    let ig = app.token(&police, &["ig_officer"]);
    let base = agreement_body(&p.id, &police, &mash, FIELDS);

    let mut b = base.clone();
    b["expires_at"] = json!("2026-05-01");
    assert_eq!(
        pointers(&app.post("/agreements", &ig, b).await),
        ["/expires_at"]
    );

    let mut b = base.clone();
    b["parties"][1]["agency_id"] = json!(uuid::Uuid::new_v4().to_string());
    b["data_items"][0]["recipient_agency_id"] = b["parties"][1]["agency_id"].clone();
    assert_eq!(
        pointers(&app.post("/agreements", &ig, b).await),
        ["/parties/1/agency_id"]
    );

    let mut b = base.clone();
    b["parties"][1]["agency_id"] = json!(outsider.id);
    b["data_items"][0]["recipient_agency_id"] = json!(outsider.id);
    let r = app.post("/agreements", &ig, b).await;
    assert_eq!(pointers(&r), ["/parties/1/agency_id"]);
    assert!(
        r.1["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not a member"),
        "{}",
        r.1
    );

    let mut b = base.clone();
    b["data_items"][0]["fields"] = json!(["area", "victims[].shoe_size", "victims[].safe_address"]);
    let r = app.post("/agreements", &ig, b).await;
    assert_eq!(
        pointers(&r),
        ["/data_items/0/fields/1", "/data_items/0/fields/2"]
    );
    assert!(
        r.1["errors"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("never disclosed"),
        "{}",
        r.1
    );

    let mut b = base.clone();
    b["purposes"] = json!(["safeguarding", "gossip"]);
    assert_eq!(
        pointers(&app.post("/agreements", &ig, b).await),
        ["/purposes/1"]
    );

    let mut b = base.clone();
    b["parties"][0]["lawful_basis"] = json!({"regime": "uk_gdpr", "condition": "sch8_justice"});
    b["max_classification"] = json!("secret");
    b["retention_days"] = json!(0);
    b["review_date"] = json!("2027-03-01");
    let p4 = pointers(&app.post("/agreements", &ig, b).await);
    assert_eq!(
        p4,
        [
            "/parties/0/lawful_basis/condition",
            "/max_classification",
            "/review_date",
            "/retention_days"
        ]
    );

    let mut b = base.clone();
    b["partnership_id"] = json!(uuid::Uuid::new_v4().to_string());
    let r = app.post("/agreements", &ig, b).await;
    assert!(pointers(&r).contains(&"/partnership_id".to_owned()));

    let mut b = base.clone();
    b["colour"] = json!("red");
    assert_problem(&app.post("/agreements", &ig, b).await, 422);

    let list = app
        .get("/agreements", &app.operator_token(&["hub_auditor"]))
        .await;
    assert_eq!(list.1["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn an_amendment_needs_new_signatures_and_the_old_version_stays_readable() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let (p, id) = sharing::share(&app, &police, &mash, FIELDS).await;
    let mut body = agreement_body(
        &p.id,
        &police,
        &mash,
        &[
            "area",
            "exploitation_types",
            "victims[].age_band",
            "narrative",
        ],
    );
    body.as_object_mut().unwrap().remove("partnership_id");
    let token = app.token(&mash, &["ig_officer"]);
    // Without If-Match the amendment is a 428; naming a version that is not current, a 412.
    assert_problem(&amend(&app, &id, &token, None, body.clone()).await, 428);
    assert_problem(
        &amend(&app, &id, &token, Some("\"7\""), body.clone()).await,
        412,
    );
    let read = app
        .request(Method::GET, &format!("/agreements/{id}"), &token, None)
        .await;
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(tag, "\"1\"");
    let r = amend(&app, &id, &token, Some(&tag), body.clone()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["version"], 2);
    // A second editor who read version 1 too is refused: nothing is lost silently.
    assert_problem(&amend(&app, &id, &token, Some(&tag), body).await, 412);
    assert_eq!(r.1["status"], "draft");
    assert_eq!(r.1["in_force_version"], 1);
    // Version 1 keeps governing while version 2 collects signatures.
    let narrative = json!({"fields": ["area", "narrative"]});
    let c = check(&app, &police, &mash, narrative.clone()).await;
    assert_eq!(c["decision"], "deny");
    assert_eq!(c["candidates"].as_array().unwrap().len(), 2);
    let c = check(&app, &police, &mash, json!({"fields": ["area"]})).await;
    assert_eq!(
        (c["decision"].as_str(), c["agreement_version"].as_i64()),
        (Some("permit"), Some(1))
    );
    // Signing names the version: an out-of-date one is refused.
    let stale = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &app.token(&police, &["ig_officer"]),
            json!({"version": 1}),
        )
        .await;
    assert_problem(&stale, 409);
    let r = app
        .post(
            &format!("/agreements/{id}/signatures"),
            &app.token(&police, &["ig_officer"]),
            json!({"version": 2}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let signed = sign(&app, &id, &mash).await;
    assert_eq!(signed["status"], "active");
    assert_eq!(signed["in_force_version"], 2);
    let c = check(&app, &police, &mash, narrative).await;
    assert_eq!(
        (c["decision"].as_str(), c["agreement_version"].as_i64()),
        (Some("permit"), Some(2))
    );
    let old = app
        .get(
            &format!("/agreements/{id}?version=1"),
            &app.token(&police, &["ig_officer"]),
        )
        .await;
    assert_eq!(old.0, StatusCode::OK);
    assert_eq!(old.1["version"], 1);
    assert_eq!(old.1["status"], "superseded");
    assert_eq!(
        old.1["data_items"][0]["fields"].as_array().unwrap().len(),
        3
    );
    let versions: Vec<_> = signed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].clone())
        .collect();
    assert_eq!(versions, [json!("superseded"), json!("active")]);
    assert_problem(
        &app.get(
            &format!("/agreements/{id}?version=3"),
            &app.token(&police, &["ig_officer"]),
        )
        .await,
        404,
    );
}

#[tokio::test]
async fn suspension_resumption_and_termination() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let (_, id) = sharing::share(&app, &police, &mash, FIELDS).await;
    let mash_ig = app.token(&mash, &["ig_officer"]);
    let police_ig = app.token(&police, &["ig_officer"]);
    let r = app
        .post(&format!("/agreements/{id}/suspend"), &mash_ig, json!({}))
        .await;
    assert_eq!(pointers(&r), ["/reason"]);
    let r = app
        .post(
            &format!("/agreements/{id}/suspend"),
            &mash_ig,
            json!({"reason": "suspected breach at the MASH"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "suspended");
    assert_eq!(r.1["suspension"]["agency_id"], mash.id);
    let c = check(&app, &police, &mash, json!({})).await;
    assert_eq!(
        c["reasons"],
        json!(["suspended: suspected breach at the MASH"])
    );
    let r = app
        .post(
            &format!("/agreements/{id}/suspend"),
            &police_ig,
            json!({"reason": "again"}),
        )
        .await;
    assert_problem(&r, 409);
    // Only the suspending agency lifts it.
    assert_problem(
        &app.post(&format!("/agreements/{id}/resume"), &police_ig, json!({}))
            .await,
        403,
    );
    let r = app
        .send(
            reqwest::Method::POST,
            &format!("/agreements/{id}/resume"),
            &mash_ig,
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "active");
    assert_eq!(
        check(&app, &police, &mash, json!({})).await["decision"],
        "permit"
    );
    app.clock.advance(Duration::days(1));
    let (police_ig, mash_ig) = (
        app.token(&police, &["ig_officer"]),
        app.token(&mash, &["ig_officer"]),
    );
    let r = app
        .post(
            &format!("/agreements/{id}/terminate"),
            &police_ig,
            json!({"reason": "partnership wound up"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "terminated");
    let c = check(&app, &police, &mash, json!({})).await;
    assert_eq!(c["reasons"], json!(["terminated: partnership wound up"]));
    for action in ["suspend", "terminate"] {
        let r = app
            .post(
                &format!("/agreements/{id}/{action}"),
                &mash_ig,
                json!({"reason": "x"}),
            )
            .await;
        assert_problem(&r, 409);
    }
    assert_problem(
        &app.post(
            &format!("/agreements/{id}/signatures"),
            &mash_ig,
            json!({"version": 1}),
        )
        .await,
        409,
    );
}

#[tokio::test]
async fn the_dry_run_gives_every_reason() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let stranger = app.agency("Somewhere NGO", "ngo", &["E08000025"]).await;
    sharing::share(&app, &police, &mash, FIELDS).await;
    let c = check(
        &app,
        &police,
        &mash,
        json!({"purpose": "strategic_analysis", "classification": "official_sensitive",
               "fields": ["area", "narrative", "victims[].name", "victims[].safe_address"]}),
    )
    .await;
    assert_eq!(c["decision"], "deny");
    let codes: Vec<&str> = c["reason_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "unknown_field",
            "field_never_disclosed",
            "purpose_not_covered",
            "field_not_allowed"
        ]
    );
    assert!(c["reasons"].as_array().unwrap().contains(&json!(
        "field victims[].name does not exist in incident records"
    )));
    assert!(c["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("purpose strategic_analysis not covered")));
    let none = check(&app, &police, &stranger, json!({})).await;
    assert_eq!(
        none["reasons"],
        json!([format!(
            "no agreement between agency {} and agency {}",
            police.id, stranger.id
        )])
    );
    let back = check(&app, &police, &mash, json!({"consent_withdrawn": true})).await;
    assert_eq!(back["reasons"], json!(["consent withdrawn"]));
    // An IG officer checks only their own agency's disclosures; the hub's auditor any.
    let body = json!({"discloser_agency_id": police.id, "recipient_agency_id": mash.id,
                      "record_kind": "incident", "purpose": "safeguarding", "classification": "official"});
    assert_problem(
        &app.post(
            "/agreements/check",
            &app.token(&stranger, &["ig_officer"]),
            body.clone(),
        )
        .await,
        403,
    );
    assert_problem(
        &app.post(
            "/agreements/check",
            &app.token(&police, &["practitioner"]),
            body.clone(),
        )
        .await,
        403,
    );
    let r = app
        .post(
            "/agreements/check",
            &app.operator_token(&["hub_auditor"]),
            body.clone(),
        )
        .await;
    assert_eq!(r.1["decision"], "permit");
    let mut bad = body.clone();
    bad["purpose"] = json!("gossip");
    bad["recipient_agency_id"] = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(
        pointers(&app.post("/agreements/check", &app.admin(), bad).await),
        ["/purpose"]
    );
    let mut unknown = body;
    unknown["recipient_agency_id"] = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(
        pointers(&app.post("/agreements/check", &app.admin(), unknown).await),
        ["/recipient_agency_id"]
    );
}

#[tokio::test]
async fn agreements_are_listed_by_party_status_and_what_falls_due() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let ngo = app.agency("Birmingham NGO", "ngo", &["E08000025"]).await;
    let (p, active) = sharing::share(&app, &police, &mash, FIELDS).await;
    let mut body = agreement_body(&p.id, &police, &mash, FIELDS);
    body["title"] = json!("Short pilot");
    body["expires_at"] = json!("2026-06-20");
    body["review_date"] = json!("2026-06-10");
    let pilot = draft(&app, body, &police).await;

    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let police_ig = app.token(&police, &["ig_officer"]);
    let all = app.get("/agreements", &police_ig).await;
    assert_eq!(ids(&all.1), [active.clone(), pilot.clone()]);
    assert_eq!(
        ids(&app.get("/agreements?status=draft", &police_ig).await.1),
        std::slice::from_ref(&pilot)
    );
    assert_eq!(
        ids(&app.get("/agreements?status=active", &police_ig).await.1),
        std::slice::from_ref(&active)
    );
    assert_eq!(
        ids(&app
            .get("/agreements?due_within_days=30", &police_ig)
            .await
            .1),
        std::slice::from_ref(&pilot)
    );
    assert_eq!(
        ids(&app
            .get("/agreements?due_within_days=365", &police_ig)
            .await
            .1)
        .len(),
        2
    );
    assert_eq!(
        ids(&app
            .get(&format!("/agreements?partnership_id={}", p.id), &police_ig)
            .await
            .1)
        .len(),
        2
    );
    assert_eq!(
        ids(&app
            .get(&format!("/agreements?agency_id={}", mash.id), &police_ig)
            .await
            .1)
        .len(),
        2
    );
    let page = app.get("/agreements?limit=1", &police_ig).await;
    assert_eq!(ids(&page.1), std::slice::from_ref(&active));
    let next = page.1["next_cursor"].as_str().unwrap();
    assert_eq!(
        ids(&app
            .get(&format!("/agreements?limit=1&cursor={next}"), &police_ig)
            .await
            .1),
        std::slice::from_ref(&pilot)
    );
    // A review date that has passed still needs attention; an expired agreement no longer.
    app.clock.advance(Duration::days(12));
    let police_ig = app.token(&police, &["ig_officer"]);
    assert_eq!(
        ids(&app.get("/agreements?due_within_days=0", &police_ig).await.1),
        std::slice::from_ref(&pilot)
    );
    app.clock.advance(Duration::days(10));
    let police_ig = app.token(&police, &["ig_officer"]);
    assert_eq!(
        ids(&app.get("/agreements?due_within_days=0", &police_ig).await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&app.get("/agreements?status=expired", &police_ig).await.1),
        Vec::<String>::new(),
        "a draft does not expire into `expired`"
    );
    // Scope: a non-party sees nothing; the hub auditor sees all.
    assert!(ids(&app
        .get("/agreements", &app.token(&ngo, &["ig_officer"]))
        .await
        .1)
    .is_empty());
    assert!(ids(&app
        .get(
            &format!("/agreements?agency_id={}", police.id),
            &app.token(&ngo, &["ig_officer"])
        )
        .await
        .1)
    .is_empty());
    assert_eq!(
        ids(&app
            .get("/agreements", &app.operator_token(&["hub_auditor"]))
            .await
            .1)
        .len(),
        2
    );
    assert_problem(&app.get("/agreements?status=lovely", &police_ig).await, 400);
    assert_problem(
        &app.get("/agreements?due_within_days=-1", &police_ig).await,
        400,
    );
}

#[tokio::test]
async fn dev_mode_seeds_a_partnership_and_an_active_agreement() {
    let app = TestApp::spawn_with(crate::helpers::Options {
        dev: true,
        ..Default::default()
    })
    .await;
    // dev-token mints with the wall clock, as it does on the command line.
    app.clock.set(msht_hub::clock::Clock::system().now());
    let token = |slug: &str, role: &str| {
        msht_hub::cli::dev_token(&app.settings, Some(slug), role, None, 600).unwrap()
    };
    let r = app.get("/agreements", &token("mash", "ig_officer")).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let items = r.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.1);
    assert_eq!(items[0]["status"], "active", "{}", items[0]);
    assert_eq!(items[0]["parties"].as_array().unwrap().len(), 6);
    // Every demo agency (the PCC office too) joined the demo partnership by its own
    // acceptance.
    let ps = app.get("/partnerships", &token("mash", "ig_officer")).await;
    let members = ps.1["items"][0]["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 7, "{}", ps.1);
    assert!(members.iter().all(|m| m["status"] == "member"), "{}", ps.1);
    let me = app.get("/me", &token("police", "ig_officer")).await;
    let mash = app.get("/me", &token("mash", "ig_officer")).await;
    let body = json!({"discloser_agency_id": me.1["agency_id"], "recipient_agency_id": mash.1["agency_id"],
                      "record_kind": "incident", "purpose": "safeguarding", "classification": "official"});
    let c = app
        .post("/agreements/check", &token("police", "ig_officer"), body)
        .await;
    assert_eq!(c.1["decision"], "permit", "{}", c.1);
    assert!(!c.1["fields"]
        .as_array()
        .unwrap()
        .contains(&json!("victims[].safe_address")));
}

#[tokio::test]
async fn a_signature_names_the_version_it_signs() {
    let app = TestApp::spawn().await;
    let (police, mash) = two(&app).await;
    let p = partnership(&app, "Birmingham MSHT partnership", &[&police, &mash]).await;
    let id = draft(&app, agreement_body(&p.id, &police, &mash, FIELDS), &police).await;
    let ig = app.token(&police, &["ig_officer"]);
    let path = format!("/agreements/{id}/signatures");
    // No version, in an empty body or with none at all: a 422 pointing at `/version`.
    let r = app.post(&path, &ig, json!({})).await;
    assert_problem(&r, 422);
    assert_eq!(pointers(&r), vec!["/version"]);
    let r = app.request(reqwest::Method::POST, &path, &ig, None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A version that is not the latest: 409.
    assert_problem(&app.post(&path, &ig, json!({"version": 2})).await, 409);
    // Nothing was signed.
    let a = app.get(&format!("/agreements/{id}"), &ig).await;
    assert_eq!(a.1["status"], "draft");
    assert_eq!(a.1["signatures"], json!([]), "{}", a.1);
    let r = app.post(&path, &ig, json!({"version": 1})).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

/// `POST /agreements/{id}/versions` with `If-Match` (when given).
async fn amend(
    app: &TestApp,
    id: &str,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .post(format!("{}/agreements/{id}/versions", app.api))
        .bearer_auth(token)
        .json(&body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}
