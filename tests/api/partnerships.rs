//! Partnerships, members and versioned terms of reference.
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_problem, pointers, TestApp};
use crate::sharing::{self, BIRMINGHAM};

#[tokio::test]
async fn an_agency_admin_creates_a_partnership_it_leads_and_manages() {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let ngo = app.agency("Birmingham NGO", "ngo", &[BIRMINGHAM]).await;
    let police_admin = app.token(&police, &["agency_admin"]);
    let r = app
        .post(
            "/partnerships",
            &police_admin,
            json!({"name": "Birmingham MSHT", "areas": [BIRMINGHAM]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["lead_agency_id"], police.id);
    assert_eq!(r.1["members"][0]["agency_id"], police.id);
    assert_eq!(r.1["current_terms"], json!(null));
    let id = r.1["id"].as_str().unwrap().to_owned();
    // Another agency's admin cannot lead it, nor add members to it.
    let r = app
        .post(
            "/partnerships",
            &app.token(&mash, &["agency_admin"]),
            json!({"name": "Hijack", "areas": [BIRMINGHAM], "lead_agency_id": police.id}),
        )
        .await;
    assert_problem(&r, 403);
    let r = app
        .post(
            &format!("/partnerships/{id}/members"),
            &app.token(&mash, &["agency_admin"]),
            json!({"agency_id": mash.id}),
        )
        .await;
    assert_problem(&r, 403);
    for m in [&mash, &ngo] {
        let r = app
            .post(
                &format!("/partnerships/{id}/members"),
                &police_admin,
                json!({"agency_id": m.id}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    let r = app
        .post(
            &format!("/partnerships/{id}/members"),
            &police_admin,
            json!({"agency_id": ngo.id}),
        )
        .await;
    assert_problem(&r, 409);
    let r = app
        .post(
            &format!("/partnerships/{id}/members"),
            &police_admin,
            json!({"agency_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(pointers(&r), ["/agency_id"]);

    // Terms of reference with each member's responsibilities and powers.
    let terms = json!({
        "purpose": "Tackle modern slavery in Birmingham together",
        "scope": "MSHT victims and suspects in Birmingham",
        "responsibilities": [
            {"agency_id": police.id, "text": "Investigate and record on PND", "powers": "PACE"},
            {"agency_id": mash.id, "text": "Safeguard children and adults at risk"}
        ],
        "review_date": "2027-06-01"
    });
    let r = app
        .post(
            &format!("/partnerships/{id}/terms"),
            &police_admin,
            terms.clone(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["version"], 1);
    assert_eq!(r.1["responsibilities"][0]["powers"], "PACE");
    let got = app
        .get(
            &format!("/partnerships/{id}/terms/1"),
            &app.token(&ngo, &["practitioner"]),
        )
        .await;
    assert_eq!(got.0, StatusCode::OK);
    assert_eq!(got.1["current"], true);
    assert_eq!(got.1["scope"], "MSHT victims and suspects in Birmingham");

    // Acceptance: an agency_admin of a member, for its own agency.
    let path = format!("/partnerships/{id}/terms/1/acceptances");
    let accept = |who: &crate::helpers::TestAgency, roles: &[&str]| {
        let token = app.token(who, roles);
        let (app, path) = (&app, path.clone());
        async move { app.post(&path, &token, json!({})).await }
    };
    assert_problem(&accept(&mash, &["ig_officer"]).await, 403);
    let outsider = app.agency("Coventry MASH", "mash", &["E08000026"]).await;
    assert_problem(&accept(&outsider, &["agency_admin"]).await, 403);
    let r = accept(&mash, &["agency_admin"]).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["agency_id"], mash.id);
    assert_eq!(
        accept(&mash, &["agency_admin"]).await.0,
        StatusCode::OK,
        "accepting twice changes nothing"
    );
    let p = app
        .get(
            &format!("/partnerships/{id}"),
            &app.token(&ngo, &["analyst"]),
        )
        .await;
    assert_eq!(p.1["current_terms"]["version"], 1);
    assert_eq!(p.1["current_terms"]["accepted_by"], json!([mash.id]));
    assert_eq!(
        p.1["current_terms"]["not_accepted_by"],
        json!([police.id, ngo.id])
    );
    assert_problem(
        &app.post(
            &format!("/partnerships/{id}/terms/9/acceptances"),
            &app.token(&mash, &["agency_admin"]),
            json!({}),
        )
        .await,
        404,
    );
    assert_problem(
        &app.get(&format!("/partnerships/{id}/terms/9"), &app.admin())
            .await,
        404,
    );
}

#[tokio::test]
async fn invalid_partnerships_and_terms_are_422() {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let outsider = app.agency("Coventry MASH", "mash", &["E08000026"]).await;
    let r = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": " ", "areas": ["Birmingham"]}),
        )
        .await;
    assert_eq!(pointers(&r), ["/name", "/areas/0"]);
    let r = app
        .post("/partnerships", &app.admin(),
              json!({"name": "P", "areas": [BIRMINGHAM], "lead_agency_id": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_eq!(pointers(&r), ["/lead_agency_id"]);
    let p = sharing::partnership(&app, "Birmingham MSHT", &[&police]).await;
    let r = app
        .post(
            "/partnerships",
            &app.admin(),
            json!({"name": "Birmingham MSHT", "areas": [BIRMINGHAM]}),
        )
        .await;
    assert_problem(&r, 409);
    let r = app
        .post(
            &format!("/partnerships/{}/terms", p.id),
            &app.admin(),
            json!({"purpose": "x", "scope": "y", "review_date": "2020-01-01",
                     "responsibilities": [{"agency_id": outsider.id, "text": "z"}]}),
        )
        .await;
    assert_eq!(pointers(&r), ["/review_date"]);
    let r = app
        .post(
            &format!("/partnerships/{}/terms", p.id),
            &app.admin(),
            json!({"purpose": "x", "scope": "y", "review_date": "2027-01-01",
                     "responsibilities": [{"agency_id": outsider.id, "text": "z"}]}),
        )
        .await;
    assert_eq!(pointers(&r), ["/responsibilities/0/agency_id"]);
    let r = app
        .get(&format!("/partnerships/{}", p.id), &app.admin())
        .await;
    assert_eq!(r.1["current_terms"]["version"], 1, "nothing was stored");
    assert_problem(
        &app.get(
            &format!("/partnerships/{}", uuid::Uuid::new_v4()),
            &app.admin(),
        )
        .await,
        404,
    );
    // A practitioner cannot create partnerships.
    let r = app
        .post(
            "/partnerships",
            &app.token(&police, &["practitioner"]),
            json!({"name": "Q", "areas": [BIRMINGHAM]}),
        )
        .await;
    assert_problem(&r, 403);
}

#[tokio::test]
async fn partnerships_are_listed_with_a_member_filter() {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    sharing::partnership(&app, "A", &[&police, &mash]).await;
    sharing::partnership(&app, "B", &[&police]).await;
    sharing::partnership(&app, "C", &[&police]).await;
    let token = app.token(&mash, &["analyst"]);
    let all = app.get("/partnerships?limit=2", &token).await;
    assert_eq!(all.1["items"].as_array().unwrap().len(), 2);
    let next = all.1["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/partnerships?limit=2&cursor={next}"), &token)
        .await;
    assert_eq!(rest.1["items"].as_array().unwrap().len(), 1);
    let mine = app
        .get(&format!("/partnerships?member={}", mash.id), &token)
        .await;
    assert_eq!(mine.1["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine.1["items"][0]["name"], "A");
    assert_eq!(
        mine.1["items"][0]["current_terms"]["not_accepted_by"],
        json!([])
    );
}
