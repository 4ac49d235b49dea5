//! The threat picture: counts by period and dimension of the records whose disclosers allow
//! `strategic_analysis` to the reader's agency (the policy function decides), published with
//! small-number protection (suppression, rounding, separately rounded totals, secondary
//! suppression), stated in the response, logged as a consultation, as JSON or CSV.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::all_events;
use crate::helpers::{assert_problem, TestAgency, TestApp};
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

fn incident(n: usize, at: &str, types: &[&str], age: u32) -> Value {
    json!({
        "reference": format!("REF-{n}"),
        "occurred_at": at,
        "area": BIRMINGHAM,
        "exploitation_types": types,
        "classification": "official",
        "narrative": "Found at a car wash",
        "victims": [{"reference": "V1", "age": age, "consent_to_share": "given"}]
    })
}

async fn record(app: &TestApp, by: &TestAgency, n: usize, at: &str, types: &[&str]) {
    let r = app
        .post(
            "/incidents",
            &app.token(by, &["practitioner"]),
            incident(n, at, types, 30),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

async fn agree(
    app: &TestApp,
    p: &str,
    from: &TestAgency,
    to: &TestAgency,
    purposes: Value,
) -> String {
    let mut body = agreement_body(
        p,
        from,
        to,
        &[
            "occurred_at",
            "area",
            "exploitation_types",
            "victims[].age_band",
            "outcomes[].kind",
        ],
    );
    body["purposes"] = purposes;
    let id = draft(app, body, from).await;
    sign(app, &id, from).await;
    sign(app, &id, to).await;
    id
}

struct World {
    app: TestApp,
    police: TestAgency,
    other: TestAgency,
    council: TestAgency,
    agreement: String,
}

/// West Midlands Police lets the council's analysts count its incidents; another force
/// shares with the council for safeguarding only, so its incidents are not counted.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let other = app
        .agency("Staffordshire Police", "police_force", &["E07000197"])
        .await;
    let council = app
        .agency("Birmingham City Council", "local_authority", &[BIRMINGHAM])
        .await;
    let p = partnership(
        &app,
        "Birmingham MSHT partnership",
        &[&police, &other, &council],
    )
    .await;
    let agreement = agree(
        &app,
        &p.id,
        &police,
        &council,
        json!(["strategic_analysis"]),
    )
    .await;
    agree(&app, &p.id, &other, &council, json!(["safeguarding"])).await;
    let mut n = 0;
    for (count, at, types) in [
        (12, "2026-05-10T10:00:00Z", &["labour"][..]),
        (9, "2026-05-20T10:00:00Z", &["sexual"][..]),
        (8, "2026-06-01T08:00:00Z", &["labour"][..]),
        (3, "2026-06-01T08:30:00Z", &["criminal"][..]),
    ] {
        for _ in 0..count {
            n += 1;
            record(&app, &police, n, at, types).await;
        }
    }
    for _ in 0..10 {
        n += 1;
        record(&app, &other, n, "2026-05-15T10:00:00Z", &["labour"]).await;
    }
    World {
        app,
        police,
        other,
        council,
        agreement,
    }
}

const PATH: &str =
    "/reports/threat-picture?from=2026-05-01&to=2026-06-30&period=month&by=exploitation_type";

fn published(v: &Value, threshold: u64, base: u64, seen: &mut usize) {
    match v {
        Value::Object(o) if o.contains_key("suppressed") && o.contains_key("count") => {
            *seen += 1;
            match o["count"].as_u64() {
                None => assert_eq!(o["suppressed"], true, "{v}"),
                Some(n) => {
                    assert!(n == 0 || n > threshold, "{n} published");
                    assert_eq!(n % base, 0, "{n} is not a multiple of {base}");
                }
            }
        }
        Value::Object(o) => o.values().for_each(|x| published(x, threshold, base, seen)),
        Value::Array(a) => a.iter().for_each(|x| published(x, threshold, base, seen)),
        _ => {}
    }
}

#[actix_web::test]
async fn the_picture_counts_what_agreements_allow_and_protects_small_numbers() {
    let w = world().await;
    let app = &w.app;
    let analyst = app.token(&w.council, &["analyst"]);
    let r = app.get(PATH, &analyst).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let rep = &r.1;
    println!("{}", serde_json::to_string_pretty(rep).unwrap());

    assert_eq!(rep["periods"], json!(["2026-05", "2026-06"]));
    assert_eq!(rep["disclosure_control"]["threshold"], 7);
    assert_eq!(rep["disclosure_control"]["base"], 5);
    assert!(rep["disclosure_control"]["statement"]
        .as_str()
        .unwrap()
        .contains("second"));

    // Whose records: the council's own and West Midlands Police's incidents under the
    // agreement; Staffordshire's are left out because its agreement does not cover analysis.
    let covers = rep["covers"].as_array().unwrap();
    assert!(covers.iter().any(|c| c["agency_id"] == w.police.id
        && c["record_kind"] == "incident"
        && c["agreement"]["id"] == w.agreement.as_str()));
    assert!(covers
        .iter()
        .any(|c| c["agency_id"] == w.council.id && c["basis"] == "own"));
    assert!(
        !covers.iter().any(|c| c["agency_id"] == w.other.id),
        "{covers:?}"
    );
    let left = rep["excluded"].as_array().unwrap();
    assert!(
        left.iter().any(|e| e["agency_id"] == w.other.id
            && e["reasons"].to_string().contains("strategic_analysis")),
        "{left:?}"
    );

    let incidents = rep["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "incidents")
        .unwrap();
    // 32 incidents of West Midlands Police (Staffordshire's 10 are not counted), rounded.
    assert_eq!(incidents["total"]["count"], 30, "{incidents}");
    let row = |t: &str| {
        incidents["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"]["exploitation_type"] == t)
            .unwrap()
            .clone()
    };
    let criminal = row("criminal");
    assert_eq!(
        criminal["cells"][1],
        json!({"count": null, "suppressed": true})
    );
    assert_eq!(criminal["total"]["suppressed"], true);
    // June's total (11) is published, so a second June cell is suppressed with criminal's 3.
    assert_eq!(incidents["period_totals"][1]["count"], 10);
    assert_eq!(row("labour")["cells"][1]["suppressed"], true);
    assert!(incidents["secondarily_suppressed"].as_u64().unwrap() >= 1);

    let mut seen = 0;
    published(&rep["measures"], 7, 5, &mut seen);
    assert!(seen > 20, "{seen} counts checked");

    // The report is a consultation in the audit log, concerning the agencies counted.
    let ig = app.token(&w.police, &["ig_officer"]);
    let entries = all_events(app, &ig, "&operation=consultation").await;
    assert!(
        entries.iter().any(|e| e["record_kind"] == "report"
            && e["purpose"] == "strategic_analysis"
            && e["justification"]
                .as_str()
                .unwrap()
                .contains("threat picture")),
        "{entries:?}"
    );
}

#[actix_web::test]
async fn the_picture_comes_as_csv_and_only_to_analysts_and_ig_officers() {
    let w = world().await;
    let app = &w.app;
    let analyst = app.token(&w.council, &["analyst"]);
    for (path, accept) in [
        (format!("{PATH}&format=csv"), "application/json"),
        (PATH.to_owned(), "text/csv"),
    ] {
        let resp = app
            .client
            .get(format!("{}{path}", app.api))
            .bearer_auth(&analyst)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = resp.text().await.unwrap();
        assert!(
            text.starts_with("measure,period,exploitation_type,count,suppressed\n"),
            "{text}"
        );
        assert!(
            text.contains("incidents,2026-06,criminal,,true\n"),
            "{text}"
        );
        assert!(text.contains("incidents,total,total,30,false\n"), "{text}");
    }
    let ig = app.get(PATH, &app.token(&w.council, &["ig_officer"])).await;
    assert_eq!(ig.0, StatusCode::OK, "{}", ig.1);
    assert_problem(
        &app.get(PATH, &app.token(&w.council, &["practitioner"]))
            .await,
        403,
    );
    let bad = app
        .get(
            "/reports/threat-picture?from=2026-05-01&to=nope&by=colour",
            &analyst,
        )
        .await;
    assert_problem(&bad, 422);
    let long = app
        .get(
            "/reports/threat-picture?from=2020-01-01&to=2026-05-01&by=area",
            &analyst,
        )
        .await;
    assert_problem(&long, 422);

    // West Midlands Police's own analyst counts its own incidents without an agreement.
    let own = app.get(PATH, &app.token(&w.police, &["analyst"])).await;
    assert_eq!(own.0, StatusCode::OK, "{}", own.1);
}

#[actix_web::test]
async fn every_cut_is_offered_and_a_cut_the_agreement_does_not_cover_leaves_the_partner_out() {
    let w = world().await;
    let app = &w.app;
    const ALL: &str = "exploitation_type,threat,age_band,pathway,area,four_p,outcome_type";
    // The police's own analyst counts its own 32 incidents by every dimension at once.
    let own = app
        .get(
            &format!("/reports/threat-picture?from=2026-05-01&to=2026-06-30&by={ALL}"),
            &app.token(&w.police, &["analyst"]),
        )
        .await;
    assert_eq!(own.0, StatusCode::OK, "{}", own.1);
    assert_eq!(own.1["by"].as_array().unwrap().len(), 7);
    let incidents = &own.1["measures"][0];
    assert_eq!(incidents["measure"], "incidents");
    let labour = incidents["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"]["exploitation_type"] == "labour")
        .unwrap();
    assert_eq!(
        labour["key"],
        json!({"exploitation_type": "labour", "threat": "none", "age_band": "25-34",
               "pathway": "not_referred", "area": BIRMINGHAM, "four_p": "none",
               "outcome_type": "none"}),
        "{labour}"
    );
    // 12 in May (published as 10); June's 8 is hidden beside criminal's 3, and with it the
    // row total, which would give it away.
    assert_eq!(labour["cells"][0]["count"], 10, "{labour}");
    assert_eq!(labour["cells"][1]["suppressed"], true, "{labour}");
    assert_eq!(labour["total"]["suppressed"], true, "{labour}");
    let csv = app
        .request(
            reqwest::Method::GET,
            &format!("/reports/threat-picture?from=2026-05-01&to=2026-06-30&by={ALL}&format=csv"),
            &app.token(&w.police, &["analyst"]),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with(
            "measure,period,exploitation_type,threat,age_band,pathway,area,four_p,outcome_type,count,suppressed\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "incidents,2026-05,labour,none,25-34,not_referred,{BIRMINGHAM},none,none,10,false\n"
        )),
        "{csv}"
    );
    // The council's agreement with the police does not cover `threats`: cut by threat, the
    // police's incidents are left out, with the policy function's reason.
    let by_threat = app
        .get(
            "/reports/threat-picture?from=2026-05-01&to=2026-06-30&by=threat",
            &app.token(&w.council, &["analyst"]),
        )
        .await;
    assert_eq!(by_threat.0, StatusCode::OK, "{}", by_threat.1);
    assert!(
        by_threat.1["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["agency_id"] == w.police.id.as_str() && e["record_kind"] == "incident"),
        "{}",
        by_threat.1["excluded"]
    );
    assert_eq!(by_threat.1["measures"][0]["total"]["count"], 0);
}
