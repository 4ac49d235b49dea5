//! Registering and changing agencies and their identity providers.
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, pointers, TestApp, AUDIENCE};

fn body() -> serde_json::Value {
    json!({"name": "Birmingham MASH", "kind": "mash", "areas": ["E08000025"],
           "contact_email": "mash@birmingham.example.org"})
}

#[tokio::test]
async fn hub_admin_registers_an_agency() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(Method::POST, "/agencies", &app.admin(), Some(body()))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let created: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(created["name"], "Birmingham MASH");
    assert_eq!(created["kind"], "mash");
    assert_eq!(created["areas"], json!(["E08000025"]));
    assert_eq!(created["first_responder"], false);
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/agencies/{id}"));
    let got = app.get(&format!("/agencies/{id}"), &app.admin()).await;
    assert_eq!(got.0, StatusCode::OK);
    assert_eq!(got.1, created);
    // Police forces are first responders by statute unless told otherwise.
    let police = app
        .post(
            "/agencies",
            &app.admin(),
            json!({"name": "Police", "kind": "police_force",
              "areas": ["E23000014"], "contact_email": "p@police.example.org"}),
        )
        .await;
    assert_eq!(police.1["first_responder"], true);
}

#[tokio::test]
async fn a_practitioner_cannot_register_agencies() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let r = app
        .post("/agencies", &app.token(&a, &["practitioner"]), body())
        .await;
    assert_problem(&r, 403);
    let list = app.get("/agencies", &app.admin()).await;
    assert_eq!(
        list.1["items"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn invalid_agencies_get_422_with_pointers() {
    let app = TestApp::spawn().await;
    let mut b = body();
    b["areas"] = json!(["E08000025", "Birmingham"]);
    assert_eq!(
        pointers(&app.post("/agencies", &app.admin(), b).await),
        vec!["/areas/1"]
    );
    let mut b = body();
    b["kind"] = json!("spaceship");
    assert_eq!(
        pointers(&app.post("/agencies", &app.admin(), b).await),
        vec!["/kind"]
    );
    let mut b = body();
    b.as_object_mut().unwrap().remove("name");
    assert_eq!(
        pointers(&app.post("/agencies", &app.admin(), b).await),
        vec!["/name"]
    );
    let mut b = body();
    b["contact_email"] = json!("not an address");
    b["name"] = json!("  ");
    let p = pointers(&app.post("/agencies", &app.admin(), b).await);
    assert_eq!(p, vec!["/name", "/contact_email"]);
    let mut b = body();
    b["areas"] = json!("E08000025");
    assert_eq!(
        pointers(&app.post("/agencies", &app.admin(), b).await),
        vec!["/areas"]
    );
    let mut b = body();
    b["colour"] = json!("red");
    assert_problem(&app.post("/agencies", &app.admin(), b).await, 422);
    let list = app.get("/agencies", &app.admin()).await;
    assert!(
        list.1["items"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn unreadable_bodies_are_problems() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(format!("{}/agencies", app.api))
        .bearer_auth(app.admin())
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let resp = app
        .client
        .post(format!("{}/agencies", app.api))
        .bearer_auth(app.admin())
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = "x".repeat(300_000);
    let resp = app
        .client
        .post(format!("{}/agencies", app.api))
        .bearer_auth(app.admin())
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn duplicate_names_conflict() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post("/agencies", &app.admin(), body()).await.0,
        StatusCode::CREATED
    );
    assert_problem(&app.post("/agencies", &app.admin(), body()).await, 409);
}

#[tokio::test]
async fn agencies_are_listed_with_a_cursor() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let mut b = body();
        b["name"] = json!(format!("Agency {i}"));
        assert_eq!(
            app.post("/agencies", &app.admin(), b).await.0,
            StatusCode::CREATED
        );
    }
    let first = app.get("/agencies?limit=2", &app.admin()).await;
    assert_eq!(first.1["items"].as_array().unwrap().len(), 2);
    let cursor = first.1["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/agencies?limit=2&cursor={cursor}"), &app.admin())
        .await;
    let third = app
        .get(
            &format!(
                "/agencies?limit=2&cursor={}",
                second.1["next_cursor"].as_str().unwrap()
            ),
            &app.admin(),
        )
        .await;
    assert_eq!(third.1["items"].as_array().unwrap().len(), 1);
    assert!(third.1["next_cursor"].is_null());
    let names: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p.1["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(names.len(), 5);
    assert_problem(&app.get("/agencies?cursor=%%%", &app.admin()).await, 400);
    assert_problem(&app.get("/agencies?limit=0", &app.admin()).await, 400);
    let mashes = app.get("/agencies?kind=mash", &app.admin()).await;
    assert_eq!(mashes.1["items"].as_array().unwrap().len(), 5);
    assert_problem(&app.get("/agencies?kind=castle", &app.admin()).await, 400);
}

#[tokio::test]
async fn unknown_agencies_are_404() {
    let app = TestApp::spawn().await;
    assert_problem(&app.get("/agencies/not-a-uuid", &app.admin()).await, 404);
    let missing = uuid::Uuid::new_v4();
    assert_problem(
        &app.get(&format!("/agencies/{missing}"), &app.admin()).await,
        404,
    );
    let r = app
        .send(
            Method::PUT,
            &format!("/agencies/{missing}/identity-provider"),
            &app.admin(),
            Some(json!({"issuer": "https://idp.example.org", "audience": "x",
                          "role_map": {"a": "practitioner"}})),
        )
        .await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn agency_admins_change_only_their_own_contact() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "mash", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000026"]).await;
    let admin_a = app.token(&a, &["agency_admin"]);
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", a.id),
            &admin_a,
            Some(json!({"contact_email": "new@a.example.org"})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["contact_email"], "new@a.example.org");
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", a.id),
            &admin_a,
            Some(json!({"areas": ["E08000026"]})),
        )
        .await;
    assert_problem(&r, 403);
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", b.id),
            &admin_a,
            Some(json!({"contact_email": "evil@a.example.org"})),
        )
        .await;
    assert_problem(&r, 403);
    let practitioner = app.token(&a, &["practitioner"]);
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", a.id),
            &practitioner,
            Some(json!({"contact_email": "p@a.example.org"})),
        )
        .await;
    assert_problem(&r, 403);
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", a.id),
            &app.admin(),
            Some(json!({"areas": ["E08000026", "E08000025"], "name": "Agency A2"})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["areas"], json!(["E08000025", "E08000026"]));
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", a.id),
            &app.admin(),
            Some(json!({"name": "Agency B"})),
        )
        .await;
    assert_problem(&r, 409);
}

#[tokio::test]
async fn one_issuer_speaks_for_one_agency() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "mash", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000026"]).await;
    let r = app
        .send(
            Method::PUT,
            &format!("/agencies/{}/identity-provider", b.id),
            &app.admin(),
            Some(json!({"issuer": a.issuer, "audience": AUDIENCE,
                          "role_map": {"practitioner": "practitioner"}})),
        )
        .await;
    assert_problem(&r, 409);
    let r = app
        .send(
            Method::PUT,
            &format!("/agencies/{}/identity-provider", b.id),
            &app.admin(),
            Some(json!({"issuer": "ftp://idp.example.org", "audience": "",
                          "roles_claim": "a..b", "role_map": {}})),
        )
        .await;
    let p = pointers(&r);
    for want in ["/issuer", "/audience", "/roles_claim", "/role_map"] {
        assert!(p.contains(&want.to_owned()), "{p:?}");
    }
}

#[tokio::test]
async fn an_operator_retrying_a_registration_with_its_key_registers_one_agency() {
    let app = TestApp::spawn().await;
    let post = |key: &'static str, body: serde_json::Value| {
        app.client
            .post(format!("{}/agencies", app.api))
            .bearer_auth(app.admin())
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = post("register-mash-1", body()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    let again = post("register-mash-1", body()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.headers()["location"].to_str().unwrap(),
        format!("/api/v1/agencies/{}", first["id"].as_str().unwrap())
    );
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let mut other = body();
    other["name"] = json!("Another MASH");
    let reused = post("register-mash-1", other).await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let list = app.get("/agencies", &app.admin()).await;
    let names: Vec<&str> = list.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .filter(|n| n.contains("MASH"))
        .collect();
    assert_eq!(names, ["Birmingham MASH"], "{}", list.1);
}
