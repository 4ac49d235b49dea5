//! The console's pages over HTTP with a signed-in session in the request, as the console's
//! session middleware leaves it: a test server mounts the console with a layer that puts a
//! `ConsoleSession` and a `Principal` into each request's extensions.
use actix_web::dev::Service;
use actix_web::{web, App, HttpMessage, HttpServer};
use msht_hub::app::AppState;
use msht_hub::domain::audit::Operation;
use msht_hub::domain::audit_query::EventFilter;
use msht_hub::http::console::context::ConsoleSession;
use msht_hub::identity::Principal;
use reqwest::StatusCode;
use serde_json::json;

use super::{officer, search};
use crate::audit_scope::{report_incident, world};
use crate::helpers::TestAgency;

/// A console server whose every request is signed in as `principal` with `purpose`.
pub(super) fn console_as(
    state: web::Data<AppState>,
    principal: Principal,
    purpose: Option<&str>,
) -> String {
    let session = ConsoleSession {
        id: uuid::Uuid::new_v4(),
        csrf_token: "csrf-test-token".into(),
        purpose: purpose.map(str::to_owned),
        display_name: format!("{} (test)", principal.subject),
    };
    let server = HttpServer::new(move || {
        let (session, principal) = (session.clone(), principal.clone());
        App::new()
            .app_data(state.clone())
            .wrap_fn(move |req, srv| {
                req.extensions_mut().insert(session.clone());
                req.extensions_mut().insert(principal.clone());
                srv.call(req)
            })
            .configure(msht_hub::http::console::routes::configure)
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    format!("http://{addr}")
}

async fn page(base: &str, path: &str) -> (StatusCode, String) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn practitioner(agency: &TestAgency) -> Principal {
    let mut p = officer(agency, "worker-1");
    p.roles = msht_hub::domain::role::RoleSet::empty();
    p.roles.insert(msht_hub::domain::role::Role::Practitioner);
    p
}

#[tokio::test]
async fn a_practitioner_is_refused_the_console_and_the_refusal_is_logged() {
    let w = world().await;
    let base = console_as(
        w.app.state.clone(),
        practitioner(&w.police),
        Some("verify_lawfulness"),
    );
    for path in ["/console/audit", "/console/agreements", "/console/verify"] {
        let (status, body) = page(&base, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("ig_officer or hub_auditor"), "{body}");
    }
    let denied = search(
        &w.app,
        &officer(&w.police, "ig-1"),
        EventFilter {
            operations: vec![Operation::AccessDenied],
            actors: vec!["worker-1".into()],
            ..EventFilter::default()
        },
    )
    .await;
    assert!(!denied.is_empty(), "the refusal was not logged");
}

#[tokio::test]
async fn the_purpose_is_asked_once_then_every_search_is_logged_with_it() {
    let w = world().await;
    let id = report_incident(&w).await;
    let state = w.app.state.clone();
    let ig = officer(&w.police, "ig-1");

    let asking = console_as(state.clone(), ig.clone(), None);
    let (status, body) = page(&asking, "/console/audit?operation=disclosure").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"action="/console/purpose""#), "{body}");
    assert!(body.contains("csrf-test-token"));

    let base = console_as(state, ig.clone(), Some("integrity_security"));
    let (status, body) = page(
        &base,
        &format!(
            "/console/audit?operation=disclosure&operation=collection&agency=Birmingham+MASH&record={id}&search=1"
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("user-1 (West Midlands Police)"), "{body}");
    assert!(body.contains("<td>Birmingham MASH</td>"), "{body}");
    assert!(!body.contains(&w.mash.id), "an agency id is shown");

    let logged = search(
        &w.app,
        &ig,
        EventFilter {
            operations: vec![Operation::Consultation],
            actors: vec!["ig-1".into()],
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].purpose.as_deref(), Some("integrity_security"));
    assert!(logged[0]
        .reasons
        .iter()
        .any(|r| r.contains("operation=disclosure|collection")));

    // Bad values answer the form with the fields marked, and nothing is searched.
    let (status, body) = page(&base, "/console/audit?agency=Nowhere&from=soon").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("no agency is called `Nowhere`"), "{body}");
    assert_eq!(body.matches("field--error").count(), 2, "{body}");
}

#[tokio::test]
async fn another_agencys_entry_is_not_found_and_logged_while_ones_own_shows_its_proof() {
    let w = world().await;
    let id = report_incident(&w).await;
    let state = w.app.state.clone();
    let police = officer(&w.police, "ig-1");
    let own = search(
        &w.app,
        &police,
        EventFilter {
            record_ids: vec![id.clone()],
            operations: vec![Operation::Disclosure],
            ..EventFilter::default()
        },
    )
    .await;
    let shared = own
        .iter()
        .find(|e| e.decision == Some(msht_hub::domain::audit::Decision::Shared))
        .unwrap();
    let withheld = own
        .iter()
        .find(|e| e.decision == Some(msht_hub::domain::audit::Decision::Withheld))
        .unwrap();

    let base = console_as(state.clone(), police, Some("verify_lawfulness"));
    let (status, body) = page(&base, &format!("/console/audit/entries/{}", shared.seq)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(r#"<span class="status--ok">checked</span>"#),
        "{body}"
    );
    assert!(!body.contains("status--bad"), "{body}");
    assert!(body.contains("West Midlands Police"));

    // The children's partnership was withheld from: the entry is not in its scope.
    let outsider = officer(&w.children, "ig-9");
    let theirs = console_as(state, outsider.clone(), Some("verify_lawfulness"));
    let (status, body) = page(&theirs, &format!("/console/audit/entries/{}", withheld.seq)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains(&id));
    let denied = search(
        &w.app,
        &outsider,
        EventFilter {
            operations: vec![Operation::AccessDenied],
            actors: vec!["ig-9".into()],
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(denied.len(), 1, "{denied:?}");
}

#[tokio::test]
async fn the_export_carries_every_matching_entry_and_the_signed_head() {
    let w = world().await;
    let id = report_incident(&w).await;
    let base = console_as(
        w.app.state.clone(),
        officer(&w.police, "ig-1"),
        Some("verify_lawfulness"),
    );
    let r = reqwest::get(format!(
        "{base}/console/audit/export?format=jsonl&record={id}&operation=disclosure&operation=collection"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let size: u64 = r.headers()["audit-tree-size"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(r.headers().contains_key("audit-tree-head-signature"));
    let body = r.text().await.unwrap();
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 3, "{body}");
    assert!(lines.iter().all(|l| l["record_id"] == json!(id)));
    assert!(lines.iter().all(|l| l["seq"].as_u64().unwrap() <= size));
    // The head it names is stored and served as a checkpoint of that size.
    let checkpoint = w
        .app
        .client
        .get(format!("{}/audit/checkpoints?size={size}", w.app.api))
        .bearer_auth(w.app.token(&w.police, &["ig_officer"]))
        .send()
        .await
        .unwrap();
    assert_eq!(checkpoint.status(), StatusCode::OK);

    let csv = reqwest::get(format!(
        "{base}/console/audit/export?format=csv&record={id}"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(csv.starts_with("seq,leaf_index,operation"), "{csv}");
    let (status, body) = page(&base, "/console/audit/export?format=xml").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn the_person_report_shows_one_person_and_no_other_reference() {
    let w = world().await;
    let id = report_incident(&w).await;
    let base = console_as(
        w.app.state.clone(),
        officer(&w.police, "ig-1"),
        Some("verify_lawfulness"),
    );
    let person = format!("incident:{id}:victim:V2");
    let (status, body) = page(
        &base,
        &format!("/console/people?ref={}", person.replace(':', "%3A")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&person));
    assert!(body.contains("collection"), "{body}");
    assert!(body.contains("<td>Birmingham MASH</td>"), "{body}");
    assert!(
        !body.contains("V1"),
        "the other victim's reference is shown: {body}"
    );
    let (status, _) = page(&base, "/console/people?ref=").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn agreements_are_listed_by_name_and_suspended_and_resumed_from_the_page() {
    let w = world().await;
    report_incident(&w).await;
    let ig = officer(&w.police, "ig-1");
    let base = console_as(w.app.state.clone(), ig.clone(), Some("verify_lawfulness"));
    let (status, body) = page(&base, "/console/agreements").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<td>Birmingham MASH</td>"), "{body}");
    assert!(body.contains("active"));
    let found =
        msht_hub::usecase::agreements::find(&w.app.state.hub, ig.clone(), Default::default(), 10)
            .await
            .unwrap();
    let id = found[0].agreement.id.to_string();

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |action: &str, form: Vec<(&'static str, &'static str)>| {
        client
            .post(format!("{base}/console/agreements/{id}/{action}"))
            .form(&form)
            .send()
    };
    // A suspension needs a reason: the field is marked.
    let r = post(
        "suspend",
        vec![("csrf_token", "csrf-test-token"), ("reason", " ")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("Give the reason for suspending"), "{body}");
    assert!(body.contains("field--error"));
    // Without the session's form token nothing happens.
    let r = post(
        "suspend",
        vec![("csrf_token", "wrong"), ("reason", "breach")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        "suspend",
        vec![
            ("csrf_token", "csrf-test-token"),
            ("reason", "a reported breach"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, body) = page(&base, "/console/agreements?done=suspend").await;
    assert!(body.contains("a reported breach"), "{body}");
    assert!(body.contains(&format!("/console/agreements/{id}/resume")));

    // The MASH's officer did not suspend it: resuming is refused with a message.
    let mash = console_as(
        w.app.state.clone(),
        officer(&w.mash, "ig-2"),
        Some("verify_lawfulness"),
    );
    let r = client
        .post(format!("{mash}/console/agreements/{id}/resume"))
        .form(&[("csrf_token", "csrf-test-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("Refused:"));

    let r = post("resume", vec![("csrf_token", "csrf-test-token")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Disclosures under it: a table and an inline SVG chart with its text alternative.
    let (status, body) = page(&base, &format!("/console/agreements/{id}/disclosures")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<svg"), "{body}");
    assert!(body.contains("1 shared, 0 withheld"), "{body}");
    assert!(!body.contains("style="));
    // The children's partnership is no party: not found.
    let theirs = console_as(
        w.app.state.clone(),
        officer(&w.children, "ig-9"),
        Some("verify_lawfulness"),
    );
    let (status, _) = page(&theirs, &format!("/console/agreements/{id}/disclosures")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn verify_shows_the_signed_head_its_checkpoint_and_a_run() {
    let w = world().await;
    let base = console_as(
        w.app.state.clone(),
        officer(&w.police, "ig-1"),
        Some("integrity_security"),
    );
    let (status, body) = page(&base, "/console/verify").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("No verification has run"), "{body}");
    assert!(body.contains("No witnesses are configured"));
    assert!(
        body.contains("\u{2014} "),
        "no checkpoint signature line: {body}"
    );
    let (status, body) = page(&base, "/console/verify?run=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("The log verified"), "{body}");
}
