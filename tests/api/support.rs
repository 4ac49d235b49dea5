//! Commissioned support: providers and services with money as decimal strings (a JSON number
//! is a 422), placements against capacity (409 when full unless the provider records an
//! exception) naming the service in the `support_offered` event, exact cost rounded once,
//! the commissioner's scope, placements as referral data under the agreements, and the
//! coverage report with small-number protection.
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, pointers, Options, TestAgency, TestApp};
use crate::sharing::{agreement_body, draft, partnership, sign, BIRMINGHAM};

struct World {
    app: TestApp,
    ngo: TestAgency,
    police: TestAgency,
    mash: TestAgency,
    adults: TestAgency,
    pcc: TestAgency,
    other_pcc: TestAgency,
    outsider: TestAgency,
}

/// An agreement in which `ngo` discloses referrals to `to` for support and safeguarding.
async fn agree(app: &TestApp, p: &str, ngo: &TestAgency, to: &TestAgency) {
    let mut body = agreement_body(p, ngo, to, &["area", "potential_victim.age_band", "status"]);
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

async fn world() -> World {
    world_with(Options::local_delivery()).await
}

async fn world_with(opts: Options) -> World {
    let app = TestApp::spawn_with(opts).await;
    let ngo = app.agency("Support NGO", "ngo", &[BIRMINGHAM]).await;
    let police = app
        .agency("West Midlands Police", "police_force", &[BIRMINGHAM])
        .await;
    let mash = app.agency("Birmingham MASH", "mash", &[BIRMINGHAM]).await;
    let adults = app
        .agency("Adults Board", "adults_safeguarding_board", &[BIRMINGHAM])
        .await;
    let pcc = app.agency("West Midlands PCC", "pcc", &[BIRMINGHAM]).await;
    let other_pcc = app.agency("Other PCC", "pcc", &["E08000026"]).await;
    let outsider = app.agency("Elsewhere NGO", "ngo", &["E08000026"]).await;
    let p = partnership(
        &app,
        "Birmingham MSHT",
        &[&ngo, &police, &mash, &adults, &pcc, &other_pcc],
    )
    .await;
    agree(&app, &p.id, &ngo, &police).await;
    agree(&app, &p.id, &ngo, &mash).await;
    World {
        app,
        ngo,
        police,
        mash,
        adults,
        pcc,
        other_pcc,
        outsider,
    }
}

fn commissioner(w: &World, a: &TestAgency) -> String {
    w.app.token(a, &["commissioner"])
}

fn practitioner(w: &World, a: &TestAgency) -> String {
    w.app.token(a, &["practitioner"])
}

async fn provider(w: &World, run_by: Option<&TestAgency>) -> String {
    let r = w
        .app
        .post(
            "/support/providers",
            &commissioner(w, &w.pcc),
            json!({"name": "Safe Haven Trust", "registration_number": "1098765",
                   "inspection": {"body": "CQC", "rating": "good"},
                   "areas": [BIRMINGHAM],
                   "safeguarding_contact": {"name": "Sam Lead", "email": "lead@haven.example.org"},
                   "agency_id": run_by.map(|a| a.id.clone())}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["id"].as_str().unwrap().to_owned()
}

fn service_body(
    w: &World,
    provider: &str,
    places: u32,
    amount: &str,
    per: &str,
    value: &str,
) -> Value {
    json!({
        "provider_id": provider, "name": format!("Crisis beds at {amount} per {per}"),
        "type": "place_of_safety", "stages": ["pre_nrm", "declined_nrm"],
        "areas": [BIRMINGHAM], "languages": ["Romanian"],
        "capacity": {"places": places, "unit": "beds"},
        "unit_cost": {"amount": amount, "currency": "GBP", "per": per, "vat": "exempt"},
        "contract": {"commissioner_agency_id": w.pcc.id, "funding_stream": "Victim services grant",
                     "starts": "2026-04-01", "ends": "2027-03-31", "value": value}
    })
}

async fn service(w: &World, body: Value) -> String {
    let r = w
        .app
        .post("/support/services", &commissioner(w, &w.pcc), body)
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["id"].as_str().unwrap().to_owned()
}

async fn refer(w: &World) -> String {
    let r = w
        .app
        .post(
            "/referrals",
            &practitioner(w, &w.ngo),
            json!({
                "area": BIRMINGHAM,
                "potential_victim": {"name": "Ana P", "date_of_birth": "1995-03-14",
                    "gender": "female", "nationality": "RO", "language": "Romanian",
                    "interpreter_needed": true},
                "nrm_consent": "given",
                "exploitation_types": ["labour"],
                "indicators": ["passport withheld"],
                "immediate_needs": ["accommodation"],
                "narrative": "Works long hours without pay",
                "classification": "official_sensitive"
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["id"].as_str().unwrap().to_owned()
}

async fn place(w: &World, by: &TestAgency, referral: &str, service: &str) -> (StatusCode, Value) {
    let started = w.app.clock.now().to_rfc3339();
    w.app
        .post(
            "/support/placements",
            &practitioner(w, by),
            json!({"referral_id": referral, "service_id": service, "started_at": started}),
        )
        .await
}

async fn end(w: &World, by: &TestAgency, placement: &str) -> Value {
    let r = w
        .app
        .post(
            &format!("/support/placements/{placement}/end"),
            &practitioner(w, by),
            json!({"ended_at": w.app.clock.now().to_rfc3339()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

async fn spend(w: &World, a: &TestAgency) -> Value {
    let r = w
        .app
        .get("/reports/support-spend", &commissioner(w, a))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

#[tokio::test]
async fn a_json_number_for_money_is_a_422_that_says_so() {
    let w = world().await;
    let p = provider(&w, None).await;
    let mut body = service_body(&w, &p, 2, "86.50", "night", "199508.00");
    body["unit_cost"]["amount"] = json!(86.5);
    let r = w
        .app
        .post("/support/services", &commissioner(&w, &w.pcc), body)
        .await;
    assert_eq!(pointers(&r), vec!["/unit_cost/amount"]);
    assert!(
        r.1.to_string().contains("not a JSON number"),
        "the 422 says why: {}",
        r.1
    );
    let mut body = service_body(&w, &p, 2, "86.50", "night", "199508.00");
    body["contract"]["value"] = json!(199508);
    let r = w
        .app
        .post("/support/services", &commissioner(&w, &w.pcc), body)
        .await;
    assert_eq!(pointers(&r), vec!["/contract/value"]);
    // Vocabulary and bounds are checked with pointers; nothing is stored.
    let mut body = service_body(&w, &p, 2, "86.50", "night", "199508.00");
    body["stages"] = json!(["pre_nrm", "somewhere"]);
    body["unit_cost"]["per"] = json!("fortnight");
    body["unit_cost"]["amount"] = json!("86.50505");
    let r = w
        .app
        .post("/support/services", &commissioner(&w, &w.pcc), body)
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(pointers(&r), vec!["/unit_cost/amount"], "{}", r.1);
    let mut body = service_body(&w, &p, 2, "86.50", "night", "199508.00");
    body["stages"] = json!(["pre_nrm", "somewhere"]);
    body["unit_cost"]["per"] = json!("fortnight");
    let r = w
        .app
        .post("/support/services", &commissioner(&w, &w.pcc), body)
        .await;
    assert_eq!(pointers(&r), vec!["/stages/1", "/unit_cost/per"], "{}", r.1);
    let listed = w
        .app
        .get("/support/services", &commissioner(&w, &w.pcc))
        .await;
    assert_eq!(listed.1, json!({"items": []}));
    let r = w
        .app
        .get(
            "/reports/support-coverage?area=Birmingham",
            &commissioner(&w, &w.pcc),
        )
        .await;
    assert_problem(&r, 400);
    // Strings are money; the answer carries them as strings too.
    let id = service(&w, service_body(&w, &p, 2, "86.5", "night", "199508")).await;
    let r = w
        .app
        .get(
            &format!("/support/services/{id}"),
            &commissioner(&w, &w.pcc),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["unit_cost"]["amount"], "86.50");
    assert_eq!(r.1["contract"]["value"], "199508.00");
    // Only commissioners record services.
    let r = w
        .app
        .post(
            "/support/services",
            &practitioner(&w, &w.pcc),
            service_body(&w, &p, 2, "86.50", "night", "1.00"),
        )
        .await;
    assert_problem(&r, 403);
}

#[tokio::test]
async fn a_full_service_refuses_placements_until_the_provider_records_an_exception() {
    let w = world().await;
    let p = provider(&w, Some(&w.ngo)).await;
    let s = service(&w, service_body(&w, &p, 1, "86.50", "night", "10000.00")).await;
    let (a, b, c) = (refer(&w).await, refer(&w).await, refer(&w).await);
    let first = place(&w, &w.police, &a, &s).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert_eq!(first.1["stage"], "pre_nrm");
    let full = place(&w, &w.ngo, &b, &s).await;
    assert_problem(&full, 409);
    assert_eq!(full.1["occupied"], 1, "{}", full.1);
    // Another agency's commissioner or staff cannot make room.
    let r = w
        .app
        .post(
            &format!("/support/services/{s}/capacity-exceptions"),
            &practitioner(&w, &w.adults),
            json!({"extra_places": 1, "reason": "winter pressure"}),
        )
        .await;
    assert_problem(&r, 404);
    // The provider (run by the NGO) records an exception for one more bed.
    let r = w
        .app
        .post(
            &format!("/support/services/{s}/capacity-exceptions"),
            &practitioner(&w, &w.ngo),
            json!({"extra_places": 1, "reason": "a sofa bed for a crisis night",
                   "ends_at": (w.app.clock.now() + Duration::days(2)).to_rfc3339()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // A retry with the same Idempotency-Key gets the first answer and places nobody twice.
    let body = json!({"referral_id": b, "service_id": s,
                      "started_at": w.app.clock.now().to_rfc3339()});
    let send = || {
        w.app
            .client
            .post(format!("{}/support/placements", w.app.api))
            .bearer_auth(practitioner(&w, &w.ngo))
            .header("Idempotency-Key", "place-b-1")
            .json(&body)
            .send()
    };
    let first_try = send().await.unwrap();
    assert_eq!(first_try.status(), StatusCode::CREATED);
    let second: Value = first_try.json().await.unwrap();
    let retry = send().await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(replayed["id"], second["id"]);
    assert_problem(&place(&w, &w.ngo, &c, &s).await, 409);
    // The referral's `support_offered` event names the service.
    let r = w
        .app
        .get(&format!("/referrals/{b}"), &practitioner(&w, &w.ngo))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let offered: Vec<&Value> = r.1["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "support_offered")
        .collect();
    assert_eq!(offered.len(), 1, "{}", r.1);
    assert_eq!(offered[0]["service_id"], s.as_str());
    // Once the exception lapses the service is full again at its own places.
    w.app.clock.advance(Duration::days(3));
    end(&w, &w.police, first.1["id"].as_str().unwrap()).await;
    assert_problem(&place(&w, &w.ngo, &c, &s).await, 409);
}

#[tokio::test]
async fn cost_is_exact_and_rounded_to_pence_only_at_the_end() {
    let w = world().await;
    let p = provider(&w, None).await;
    // A week of 10.00: one night is 1.428571...; seven one-night placements cost 1.43 each
    // when shown alone, but exactly 10.00 together.
    let weekly = service(
        &w,
        service_body(&w, &p, 5, "10.00", "week", "999999999999.99"),
    )
    .await;
    // An hour of 0.0125: half an hour is 0.00625, shown as 0.01; forty of them are 0.25.
    let hourly = service(&w, service_body(&w, &p, 5, "0.0125", "hour", "100.00")).await;
    let person = refer(&w).await;
    for _ in 0..7 {
        let (st, v) = place(&w, &w.police, &person, &weekly).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        w.app.clock.advance(Duration::days(1));
        let ended = end(&w, &w.police, v["id"].as_str().unwrap()).await;
        assert_eq!(ended["cost"], json!({"amount": "1.43", "currency": "GBP"}));
    }
    for _ in 0..40 {
        let (st, v) = place(&w, &w.police, &person, &hourly).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        w.app.clock.advance(Duration::minutes(30));
        let ended = end(&w, &w.police, v["id"].as_str().unwrap()).await;
        assert_eq!(ended["cost"]["amount"], "0.01");
    }
    let s = spend(&w, &w.pcc).await;
    let svc = |id: &str| {
        s["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(svc(&weekly)["spend"], "10.00", "{s}");
    assert_eq!(svc(&weekly)["placements"], 7);
    assert_eq!(svc(&hourly)["spend"], "0.25", "{s}");
    assert_eq!(s["spend"], "10.25", "{s}");
    let contract = |id: &str| {
        s["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["services"][0] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(contract(&weekly)["value"], "999999999999.99");
    assert_eq!(contract(&weekly)["remaining"], "999999999989.99");
    assert_eq!(contract(&hourly)["remaining"], "99.75");
    assert_eq!(s["value"], "1000000000099.99");
    assert_eq!(s["remaining"], "1000000000089.74");
    assert_eq!(s["areas"], json!([{"area": BIRMINGHAM, "spend": "10.25"}]));
    assert_eq!(s["stages"], json!([{"stage": "pre_nrm", "spend": "10.25"}]));
}

#[tokio::test]
async fn commissioners_see_only_their_contracts_and_placements_follow_the_agreements() {
    let w = world().await;
    let p = provider(&w, None).await;
    let s = service(&w, service_body(&w, &p, 3, "86.50", "night", "5000.00")).await;
    let person = refer(&w).await;
    let (st, placed) = place(&w, &w.police, &person, &s).await;
    assert_eq!(st, StatusCode::CREATED, "{placed}");
    let id = placed["id"].as_str().unwrap();
    w.app.clock.advance(Duration::days(2));

    // Another PCC's commissioner sees nothing of these contracts; their own does.
    let other = commissioner(&w, &w.other_pcc);
    let theirs = w.app.get("/support/services", &other).await;
    assert_eq!(theirs.1, json!({"items": []}), "{}", theirs.1);
    let mine = w
        .app
        .get("/support/services", &commissioner(&w, &w.pcc))
        .await;
    assert_eq!(mine.1["items"][0]["id"], s.as_str(), "{}", mine.1);
    assert_eq!(mine.1["items"][0]["occupied"], 1);
    assert_problem(
        &w.app.get(&format!("/support/services/{s}"), &other).await,
        404,
    );
    let theirs = spend(&w, &w.other_pcc).await;
    assert_eq!(theirs["contracts"], json!([]));
    assert_eq!(theirs["spend"], "0.00");
    let mut body = service_body(&w, &p, 1, "1.00", "night", "1.00");
    body["contract"]["commissioner_agency_id"] = json!(w.pcc.id);
    assert_problem(&w.app.post("/support/services", &other, body).await, 403);
    // Its own commissioner sees the spend so far (two nights at 86.50).
    let mine = spend(&w, &w.pcc).await;
    assert_eq!(mine["spend"], "173.00", "{mine}");
    assert_eq!(mine["contracts"][0]["remaining"], "4827.00");

    // The placement is referral data: the referrer and the placing police see it, the MASH
    // under its agreement, the adults' board (no agreement) does not.
    for a in [&w.ngo, &w.police, &w.mash] {
        let r = w
            .app
            .get(&format!("/support/placements/{id}"), &practitioner(&w, a))
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}: {}", a.name, r.1);
        assert_eq!(r.1["cost"]["amount"], "173.00");
    }
    for a in [&w.adults, &w.pcc] {
        let r = w
            .app
            .get(&format!("/support/placements/{id}"), &practitioner(&w, a))
            .await;
        assert_problem(&r, 404);
    }
    // Nor can an agency the referral was not sent to place the person.
    assert_problem(&place(&w, &w.adults, &person, &s).await, 404);
    // Nobody is placed on a closed referral.
    let closed = refer(&w).await;
    let r = w
        .app
        .post(
            &format!("/referrals/{closed}/events"),
            &practitioner(&w, &w.ngo),
            json!({"type": "closed"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_problem(&place(&w, &w.ngo, &closed, &s).await, 409);
    // The refusals are in the audit log.
    let r = w
        .app
        .get(
            &format!(
                "/audit/events?purpose=verify_lawfulness&record_id={id}&operation=access_denied"
            ),
            &w.app.operator_token(&["hub_auditor"]),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert!(r.1["items"].as_array().unwrap().len() >= 2, "{}", r.1);
}

#[tokio::test]
async fn the_coverage_report_shows_stages_capacity_and_people_without_support() {
    let w = world().await;
    let p = provider(&w, None).await;
    let s = service(&w, service_body(&w, &p, 4, "86.50", "night", "5000.00")).await;
    let supported = refer(&w).await;
    let waiting = refer(&w).await;
    assert_eq!(
        place(&w, &w.police, &supported, &s).await.0,
        StatusCode::CREATED
    );
    w.app.clock.advance(Duration::days(3));

    let report = |a: &TestAgency, roles: &'static [&'static str]| {
        let token = w.app.token(a, roles);
        let app = &w.app;
        async move {
            let r = app
                .get(
                    &format!("/reports/support-coverage?area={BIRMINGHAM}"),
                    &token,
                )
                .await;
            assert_eq!(r.0, StatusCode::OK, "{}", r.1);
            r.1
        }
    };
    let stage = |r: &Value, name: &str| {
        r["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == name)
            .unwrap()
            .clone()
    };
    // The referrer sees its own people by referral, with their days without support.
    let ngo = report(&w.ngo, &["practitioner"]).await;
    let pre = stage(&ngo, "pre_nrm");
    assert_eq!(pre["uncovered"], false);
    assert_eq!(pre["services"][0]["id"], s.as_str());
    assert_eq!(pre["services"][0]["capacity"]["places"], 4);
    assert_eq!(pre["services"][0]["occupied"], 1);
    assert_eq!(pre["services"][0]["available"], 3);
    assert_eq!(
        pre["without_support"]["people"],
        json!([{"referral_id": waiting, "since": pre["without_support"]["people"][0]["since"],
                "days_without_support": 3}])
    );
    assert_eq!(stage(&ngo, "post_cg")["uncovered"], true);
    assert!(ngo["uncovered_stages"]
        .as_array()
        .unwrap()
        .contains(&json!("child")));

    // The PCC holds no referral: it gets a protected count, suppressed while small.
    let pcc = report(&w.pcc, &["commissioner"]).await;
    let pre = stage(&pcc, "pre_nrm");
    assert_eq!(pre["without_support"]["people"], json!([]));
    assert_eq!(
        pre["without_support"]["elsewhere"],
        json!({"count": null, "suppressed": true})
    );
    assert_eq!(pcc["rule"], json!({"threshold": 7, "base": 5}));
    for _ in 0..8 {
        refer(&w).await;
    }
    let pcc = report(&w.pcc, &["commissioner"]).await;
    assert_eq!(
        stage(&pcc, "pre_nrm")["without_support"]["elsewhere"],
        json!({"count": 10, "suppressed": false}),
        "nine people round to ten"
    );

    // An agency outside the area's partnership and commissioning gets a 403.
    let r = w
        .app
        .get(
            &format!("/reports/support-coverage?area={BIRMINGHAM}"),
            &practitioner(&w, &w.outsider),
        )
        .await;
    assert_problem(&r, 403);
    println!("{}", serde_json::to_string_pretty(&ngo).unwrap());
}

#[tokio::test]
async fn the_small_number_rule_comes_from_configuration() {
    let w = world_with(
        Options::local_delivery()
            .with_env("MSHT_HUB__REPORTS__SMALL_NUMBER_THRESHOLD", "0")
            .with_env("MSHT_HUB__REPORTS__SMALL_NUMBER_BASE", "1"),
    )
    .await;
    let p = provider(&w, None).await;
    service(&w, service_body(&w, &p, 4, "86.50", "night", "5000.00")).await;
    refer(&w).await;
    let r = w
        .app
        .get(
            &format!("/reports/support-coverage?area={BIRMINGHAM}"),
            &commissioner(&w, &w.pcc),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["rule"], json!({"threshold": 0, "base": 1}));
    assert_eq!(
        r.1["stages"][0]["without_support"]["elsewhere"],
        json!({"count": 1, "suppressed": false})
    );
}

#[tokio::test]
async fn the_dev_seed_gives_the_demo_pcc_office_a_provider_and_two_services() {
    let app = TestApp::spawn_with(Options {
        dev: true,
        ..Options::default()
    })
    .await;
    app.clock.set(msht_hub::clock::Clock::system().now());
    let tok = |slug: &str, role: &str| {
        msht_hub::cli::dev_token(&app.settings, Some(slug), role, None, 600).unwrap()
    };
    let me = app.get("/me", &tok("pcc", "commissioner")).await;
    assert_eq!(
        me.1["agency_name"], "Demo West Midlands PCC Office",
        "{}",
        me.1
    );
    assert_eq!(me.1["roles"], json!(["commissioner"]));
    let spend = app
        .get("/reports/support-spend", &tok("pcc", "commissioner"))
        .await;
    assert_eq!(spend.0, StatusCode::OK, "{}", spend.1);
    assert_eq!(
        spend.1["services"].as_array().unwrap().len(),
        2,
        "{}",
        spend.1
    );
    assert_eq!(spend.1["value"], "242508.00");

    // A few demo referrals: one placed in crisis accommodation, the others waiting.
    let mut ids = Vec::new();
    for (name, consent) in [("Ana", "given"), ("Bogdan", "given"), ("Chloe", "declined")] {
        let r = app
            .post(
                "/referrals",
                &tok("ngo", "practitioner"),
                json!({
                    "area": BIRMINGHAM,
                    "potential_victim": {"name": name, "age": 30, "gender": "female",
                        "nationality": "RO", "language": "Romanian", "interpreter_needed": true},
                    "nrm_consent": consent,
                    "exploitation_types": ["labour"],
                    "indicators": ["passport withheld"],
                    "immediate_needs": ["accommodation"],
                    "narrative": "Demo referral",
                    "classification": "official"
                }),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        ids.push(r.1["id"].as_str().unwrap().to_owned());
    }
    let crisis = spend.1["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with("Crisis"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            "/support/placements",
            &tok("ngo", "practitioner"),
            json!({"referral_id": ids[0], "service_id": crisis,
                   "started_at": app.clock.now().to_rfc3339()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // (Dev tokens carry the wall clock's time, so the hub's clock stays put here.)
    let r = app
        .get(
            &format!("/reports/support-coverage?area={BIRMINGHAM}"),
            &tok("pcc", "commissioner"),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let pre = r.1["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "pre_nrm")
        .unwrap()
        .clone();
    assert_eq!(pre["services"][0]["occupied"], 1, "{}", r.1);
    assert_eq!(
        pre["without_support"]["elsewhere"],
        json!({"count": null, "suppressed": true})
    );
    assert!(r.1["uncovered_stages"]
        .as_array()
        .unwrap()
        .contains(&json!("awaiting_rg")));
    println!("{}", serde_json::to_string_pretty(&r.1).unwrap());
    let ngo = app
        .get(
            &format!("/reports/support-coverage?area={BIRMINGHAM}"),
            &tok("ngo", "practitioner"),
        )
        .await;
    assert_eq!(ngo.0, StatusCode::OK, "{}", ngo.1);
    println!("{}", serde_json::to_string_pretty(&ngo.1).unwrap());
}
