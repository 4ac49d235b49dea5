//! The audit trail as its readers meet it: who may read what, that every query states its
//! purpose and is itself logged, refused requests, governance entries, the disclosure
//! report, exports and signed tree heads. Tampering, proofs and concurrency are in
//! `audit_integrity`.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Duration;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use msht_hub::audit::{self, Receipt};
use msht_hub::domain::audit::{Actor, AgreementRef, Decision, LawfulBasis, NewEntry, Operation};
use msht_hub::domain::ids::AgencyId;
use msht_hub::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{assert_problem, pointers, TestAgency, TestApp};
use crate::rfc9162;

pub fn auditor(app: &TestApp) -> String {
    app.operator_token(&["hub_auditor"])
}

pub fn agency_id(a: &TestAgency) -> AgencyId {
    a.id.parse().unwrap()
}

/// An actor of `agency` with one role.
pub fn actor(agency: Option<&TestAgency>, subject: &str, role: Role) -> Actor {
    Actor {
        agency_id: agency.map(agency_id),
        issuer: agency
            .map(|a| a.issuer.clone())
            .unwrap_or_else(|| "urn:test".into()),
        subject: subject.to_owned(),
        roles: vec![role],
    }
}

/// A disclosure by `from` to `to` about `people`.
pub fn disclosure(
    app: &TestApp,
    from: &TestAgency,
    to: &[&TestAgency],
    people: &[&str],
    decision: Decision,
) -> NewEntry {
    let mut e = NewEntry::new(
        Operation::Disclosure,
        actor(Some(from), "practitioner-1", Role::Practitioner),
        app.clock.now(),
    )
    .record("incident", uuid::Uuid::now_v7())
    .purpose("safeguarding")
    .justification("child at risk of exploitation")
    .recipients(to.iter().map(|a| agency_id(a)).collect())
    .data_items(vec!["area".into(), "victims[].age_band".into()])
    .decision(decision, vec!["agreement permits".into()]);
    e.subject_refs = people.iter().map(|p| (*p).to_owned()).collect();
    e.agreement = Some(AgreementRef {
        id: "agr-1".into(),
        version: 2,
    });
    e.lawful_basis = Some(LawfulBasis {
        regime: "dpa2018_part3".into(),
        condition: "sch8_safeguarding".into(),
        special_category: None,
    });
    e.consent = Some("not_required".into());
    e.classification = Some("official_sensitive".into());
    e.retention_days = Some(365);
    e
}

/// Appends entries through the library, as a use case would, in one transaction.
pub async fn append(app: &TestApp, entries: Vec<NewEntry>) -> Vec<Receipt> {
    app.state
        .db()
        .write(move |c| audit::append_all(c, &entries))
        .await
        .unwrap()
}

/// Every entry `token` may see (this logs one consultation per page).
pub async fn all_events(app: &TestApp, token: &str, filters: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/audit/events?purpose=integrity_security&limit=200{filters}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&path, token).await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        out.extend(r.1["items"].as_array().unwrap().iter().cloned());
        match r.1["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn seqs(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn every_audit_query_states_a_purpose_and_is_itself_logged() {
    let app = TestApp::spawn().await;
    let token = auditor(&app);
    for bad in ["", "&purpose=curiosity"] {
        let r = app
            .get(&format!("/audit/events?limit=5{bad}"), &token)
            .await;
        assert_eq!(pointers(&r), vec!["/purpose"], "{bad}");
    }
    let r = app.get("/audit/events/1", &token).await;
    assert_eq!(pointers(&r), vec!["/purpose"]);
    assert_eq!(
        pointers(&app.get("/audit/verify", &token).await),
        vec!["/purpose"]
    );
    let r = app.get("/audit/export?format=csv", &token).await;
    assert_eq!(pointers(&r), vec!["/purpose"]);
    let r = app
        .get("/reports/disclosures?purpose=verify_lawfulness", &token)
        .await;
    assert_eq!(pointers(&r), vec!["/subject_ref"]);
    let r = app
        .get(
            "/audit/events?purpose=self_monitoring&operation=gossip&agency_id=x&from=yesterday",
            &token,
        )
        .await;
    assert_eq!(pointers(&r), vec!["/operation", "/agency_id", "/from"]);
    let r = app
        .get("/audit/events?purpose=self_monitoring&agencyid=x", &token)
        .await;
    assert_problem(&r, 400);

    let r = app
        .get(
            "/audit/events?purpose=criminal_proceedings&justification=Op%20Kestrel%20disclosure%20schedule",
            &token,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let logged = all_events(&app, &token, "&operation=consultation").await;
    let first = &logged[0];
    assert_eq!(first["operation"], "consultation");
    assert_eq!(first["purpose"], "criminal_proceedings");
    assert_eq!(first["justification"], "Op Kestrel disclosure schedule");
    assert_eq!(first["actor"]["subject"], "operator-user");
    assert_eq!(first["actor"]["roles"], json!(["hub_auditor"]));
    assert_eq!(first["record_kind"], "audit_log");
    assert_eq!(first["decision"], "allowed");
    // The failed (422) queries were not queries: nothing else was logged before it.
    assert_eq!(first["seq"], 1);
}

#[tokio::test]
async fn events_filter_and_page_with_a_cursor() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let c = app.agency("Agency C", "ngo", &["E08000025"]).await;
    let mut entries = vec![
        disclosure(&app, &a, &[&b], &["p-1"], Decision::Shared),
        disclosure(&app, &a, &[&c], &["p-2"], Decision::Withheld),
    ];
    app.clock.advance(Duration::hours(1));
    entries.push(disclosure(&app, &b, &[&c], &["p-1"], Decision::Shared));
    let receipts = append(&app, entries).await;
    let token = auditor(&app);

    let all = all_events(&app, &token, "").await;
    assert_eq!(seqs(&all), (1..=all.len() as i64).collect::<Vec<_>>());
    let mut paged = Vec::new();
    let mut path = "/audit/events?purpose=self_monitoring&limit=2".to_owned();
    loop {
        let r = app.get(&path, &token).await;
        let items = r.1["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        paged.extend(seqs(items));
        match r.1["next_cursor"].as_str() {
            Some(c) => path = format!("/audit/events?purpose=self_monitoring&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(&paged[..all.len()], &seqs(&all)[..]);

    let with = |f: &str| format!("&{f}");
    let d = all_events(&app, &token, &with("operation=disclosure")).await;
    assert_eq!(seqs(&d), receipts.iter().map(|r| r.seq).collect::<Vec<_>>());
    let first = &d[0];
    assert_eq!(first["actor"]["agency_id"], a.id);
    assert_eq!(first["recipients"], json!([b.id]));
    assert_eq!(first["agreement_id"], "agr-1");
    assert_eq!(first["agreement_version"], 2);
    assert_eq!(first["lawful_basis"]["condition"], "sch8_safeguarding");
    assert_eq!(first["subject_refs"], json!(["p-1"]));
    assert_eq!(first["decision"], "shared");
    assert_eq!(first["retention_days"], 365);
    assert_eq!(first["receipt"]["tree_size"], receipts[0].tree_size);
    assert_eq!(first["receipt"]["root_hash"], receipts[0].root_hash);
    let leaf = rfc9162::leaf_hash(first["canonical"].as_str().unwrap().as_bytes());
    assert_eq!(first["leaf_hash"], hex::encode(leaf));

    let about_p1 = all_events(&app, &token, &with("subject_ref=p-1&operation=disclosure")).await;
    assert_eq!(about_p1.len(), 2);
    // The agency's own registration concerns it too; its disclosures are these two.
    let involving_c = all_events(
        &app,
        &token,
        &with(&format!("agency_id={}&operation=disclosure", c.id)),
    )
    .await;
    assert_eq!(seqs(&involving_c), vec![receipts[1].seq, receipts[2].seq]);
    let record = first["record_id"].as_str().unwrap();
    assert_eq!(
        all_events(&app, &token, &with(&format!("record_id={record}")))
            .await
            .len(),
        1
    );
    let later = all_events(
        &app,
        &token,
        &with("operation=disclosure&from=2026-06-01T09:30:00Z&to=2026-06-01T11:00:00Z"),
    )
    .await;
    assert_eq!(seqs(&later), vec![receipts[2].seq]);
    let r = app
        .get("/audit/events?purpose=self_monitoring&from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z", &token)
        .await;
    assert_eq!(pointers(&r), vec!["/to"]);
}

#[tokio::test]
async fn an_ig_officer_sees_only_its_agency_and_a_reach_beyond_is_logged_as_denied() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let c = app.agency("Agency C", "ngo", &["E08000025"]).await;
    let receipts = append(
        &app,
        vec![
            disclosure(&app, &b, &[&c], &["p-9"], Decision::Shared), // only B (and C)
            disclosure(&app, &b, &[&a], &["p-8"], Decision::Shared), // A is recipient
            disclosure(&app, &a, &[&c], &["p-7"], Decision::Withheld), // A is actor
        ],
    )
    .await;
    let (only_b, to_a, by_a) = (receipts[0].seq, receipts[1].seq, receipts[2].seq);
    let ig_a = app.token_as(&a, "ig-a", &["ig_officer"]);

    let seen = seqs(&all_events(&app, &ig_a, "").await);
    assert!(seen.contains(&to_a) && seen.contains(&by_a), "{seen:?}");
    assert!(!seen.contains(&only_b), "{seen:?}");
    // Naming agency B as a filter narrows A's scope; it does not widen it.
    let with_b = seqs(&all_events(&app, &ig_a, &format!("&agency_id={}", b.id)).await);
    assert_eq!(with_b, vec![to_a]);

    let r = app
        .get(
            &format!("/audit/events/{only_b}?purpose=verify_lawfulness"),
            &ig_a,
        )
        .await;
    assert_problem(&r, 404);
    let missing = app
        .get("/audit/events/999999?purpose=verify_lawfulness", &ig_a)
        .await;
    assert_problem(&missing, 404);
    assert_eq!(r.1, missing.1, "out of scope looks exactly like absent");
    let ok = app
        .get(
            &format!("/audit/events/{to_a}?purpose=verify_lawfulness"),
            &ig_a,
        )
        .await;
    assert_eq!(ok.0, StatusCode::OK);
    assert_eq!(ok.1["seq"], to_a);

    let denied = all_events(&app, &auditor(&app), "&operation=access_denied").await;
    let only_b_id = only_b.to_string();
    let attempt = denied
        .iter()
        .find(|e| e["record_id"].as_str() == Some(only_b_id.as_str()))
        .expect("the attempt is logged");
    assert_eq!(attempt["actor"]["agency_id"], a.id);
    assert_eq!(attempt["actor"]["subject"], "ig-a");
    assert_eq!(attempt["record_kind"], "audit_event");
    assert_eq!(attempt["purpose"], "verify_lawfulness");
    assert_eq!(attempt["decision"], "denied");
    // ... and the IG officer of A sees its own denied attempt, but still not B's entry.
    let own = seqs(&all_events(&app, &ig_a, "&operation=access_denied").await);
    assert!(own.contains(&attempt["seq"].as_i64().unwrap()));

    // The export and the disclosure report keep the same scope.
    let export = app
        .request(
            Method::GET,
            "/audit/export?format=jsonl&purpose=verify_lawfulness",
            &ig_a,
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    let exported: Vec<i64> = export
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(exported.contains(&to_a) && !exported.contains(&only_b));
    let report = app
        .get(
            "/reports/disclosures?purpose=verify_lawfulness&subject_ref=p-9",
            &ig_a,
        )
        .await;
    assert_eq!(report.0, StatusCode::OK);
    assert_eq!(report.1["items"], json!([]));

    // Other roles of the agency cannot read the log at all.
    let practitioner = app.token(&a, &["practitioner"]);
    assert_problem(
        &app.get("/audit/events?purpose=verify_lawfulness", &practitioner)
            .await,
        403,
    );
}

#[tokio::test]
async fn refused_tokens_and_roles_are_logged_without_token_content_and_floods_are_summarised() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let secret_looking = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ2aWN0aW0tbmFtZSJ9.c2VjcmV0";
    assert_eq!(
        app.get("/me", secret_looking).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/agencies", "").await.0, StatusCode::UNAUTHORIZED);
    let practitioner = app.token_as(&a, "pc-42", &["practitioner"]);
    assert_problem(
        &app.get("/audit/verify?purpose=self_monitoring", &practitioner)
            .await,
        403,
    );

    let denied = all_events(&app, &auditor(&app), "&operation=access_denied").await;
    assert_eq!(denied.len(), 3, "{denied:#?}");
    let bad_token = &denied[0];
    assert_eq!(bad_token["record_id"], "GET /api/v1/me");
    assert_eq!(bad_token["actor"]["subject"], "unauthenticated");
    assert_eq!(bad_token["actor"]["agency_id"], Value::Null);
    assert!(bad_token["reasons"][0]
        .as_str()
        .unwrap()
        .starts_with("authentication failed: "));
    for e in &denied {
        let text = e.to_string();
        assert!(
            !text.contains(secret_looking) && !text.contains("victim-name"),
            "{text}"
        );
    }
    assert!(denied[1]["reasons"][0]
        .as_str()
        .unwrap()
        .ends_with("no_token"));
    let role = &denied[2];
    assert_eq!(role["actor"]["agency_id"], a.id);
    assert_eq!(role["actor"]["subject"], "pc-42");
    assert_eq!(role["record_id"], "GET /api/v1/audit/verify");
    assert_eq!(
        role["reasons"][0],
        "this action needs the hub_auditor or ig_officer role"
    );

    // A flood of bad tokens from one client: 10 a minute are logged one by one (two
    // already were), the rest are counted in one summary entry once the minute is over.
    for i in 0..30 {
        assert_eq!(
            app.get("/me", &format!("junk-{i}")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let auth_failures = |items: &[Value]| {
        items
            .iter()
            .filter(|e| {
                e["reasons"][0]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("authentication failed")
            })
            .count()
    };
    let denied = all_events(&app, &auditor(&app), "&operation=access_denied").await;
    assert_eq!(auth_failures(&denied), 10);
    app.clock.advance(Duration::seconds(61));
    assert_eq!(
        app.get("/me", "junk-late").await.0,
        StatusCode::UNAUTHORIZED
    );
    let denied = all_events(&app, &auditor(&app), "&operation=access_denied").await;
    assert_eq!(auth_failures(&denied), 11);
    let summary = denied
        .iter()
        .find(|e| e["record_kind"] == "refused_requests")
        .expect("a summary entry");
    assert!(
        summary["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("22 refused request(s) from 1 source(s)"),
        "{summary}"
    );
    assert_eq!(summary["actor"]["issuer"], "urn:msht-hub:system");
}

#[tokio::test]
async fn agency_changes_are_governance_entries() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let r = app
        .send(
            Method::PATCH,
            &format!("/agencies/{}", a.id),
            &app.token(&a, &["agency_admin"]),
            Some(json!({"contact_email": "new@agency.example.org"})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let g = all_events(&app, &auditor(&app), "&operation=governance").await;
    let summary: Vec<(String, String, String)> = g
        .iter()
        .map(|e| {
            (
                e["record_kind"].as_str().unwrap().to_owned(),
                e["reasons"][0].as_str().unwrap().to_owned(),
                e["actor"]["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "agency".into(),
                "agency registered".into(),
                "operator-user".into()
            ),
            (
                "identity_provider".into(),
                "identity provider registered".into(),
                "operator-user".into()
            ),
            ("agency".into(), "agency changed".into(), "user-1".into()),
        ]
    );
    assert!(g.iter().all(|e| e["record_id"] == a.id));
    assert_eq!(g[2]["data_items"], json!(["contact_email"]));
    assert_eq!(g[2]["actor"]["agency_id"], a.id);
    assert_eq!(g[2]["actor"]["roles"], json!(["agency_admin"]));
}

#[tokio::test]
async fn the_disclosure_report_lists_every_disclosure_about_a_person() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let c = app.agency("Agency C", "ngo", &["E08000025"]).await;
    let mut consulted = disclosure(&app, &b, &[], &["p-1"], Decision::Allowed);
    consulted.operation = Operation::Consultation;
    let r = append(
        &app,
        vec![
            disclosure(&app, &a, &[&b], &["p-1", "p-3"], Decision::Shared),
            disclosure(&app, &a, &[&c], &["p-1"], Decision::Withheld),
            disclosure(&app, &a, &[&b], &["p-2"], Decision::Shared),
            consulted,
        ],
    )
    .await;
    let token = auditor(&app);
    let report = app
        .get(
            "/reports/disclosures?purpose=verify_lawfulness&subject_ref=p-1",
            &token,
        )
        .await;
    assert_eq!(report.0, StatusCode::OK, "{}", report.1);
    assert_eq!(report.1["subject_ref"], "p-1");
    let items = report.1["items"].as_array().unwrap();
    assert_eq!(seqs(items), vec![r[0].seq, r[1].seq]);
    assert_eq!(items[1]["decision"], "withheld");
    assert_eq!(items[1]["recipients"], json!([c.id]));
    assert!(report.1["tree_size"].as_u64().unwrap() >= r[3].seq as u64);

    let ig_b = app.token(&b, &["ig_officer"]);
    let for_b = app
        .get(
            "/reports/disclosures?purpose=verify_lawfulness&subject_ref=p-1",
            &ig_b,
        )
        .await;
    assert_eq!(seqs(for_b.1["items"].as_array().unwrap()), vec![r[0].seq]);

    let logged = all_events(&app, &token, "&operation=consultation&subject_ref=p-1").await;
    let reports: Vec<&Value> = logged
        .iter()
        .filter(|e| e["record_kind"] == "disclosure_report")
        .collect();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[1]["actor"]["agency_id"], b.id);
    assert_eq!(reports[1]["purpose"], "verify_lawfulness");
}

#[tokio::test]
async fn exports_stream_csv_and_json_lines() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let mut tricky = disclosure(&app, &a, &[&b], &["p-1"], Decision::Shared);
    tricky.justification = Some("=HYPERLINK(\"http://evil\"), said \"x\"\nnext line".into());
    let mut entries = vec![tricky];
    for i in 0..1200 {
        entries.push(disclosure(
            &app,
            &a,
            &[&b],
            &[&format!("p-{i}")],
            Decision::Shared,
        ));
    }
    append(&app, entries).await;
    let token = auditor(&app);

    let resp = app
        .request(
            Method::GET,
            "/audit/export?format=jsonl&purpose=integrity_security",
            &token,
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/jsonl");
    assert!(
        resp.headers().get("content-length").is_none(),
        "streamed, not sized"
    );
    let text = resp.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The whole log as it was when the export was asked for (4 governance entries and the
    // disclosures; the export's own consultation entry comes after), in order, verifiable.
    assert_eq!(seqs(&lines), (1..=1205).collect::<Vec<_>>());
    for l in &lines {
        let leaf = rfc9162::leaf_hash(l["canonical"].as_str().unwrap().as_bytes());
        assert_eq!(l["leaf_hash"], hex::encode(leaf));
    }

    let resp = app
        .request(
            Method::GET,
            "/audit/export?format=csv&purpose=integrity_security&operation=disclosure",
            &token,
            None,
        )
        .await;
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("seq,leaf_index,operation,occurred_at,"));
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\"), said \"\"x\"\"\nnext line\""),
        "{}",
        &csv[..800]
    );
    assert_eq!(csv.matches(",disclosure,").count(), 1201);

    let r = app
        .get(
            "/audit/export?format=xml&purpose=integrity_security",
            &token,
        )
        .await;
    assert_eq!(pointers(&r), vec!["/format"]);
}

#[tokio::test]
async fn tree_heads_are_signed_and_a_receipt_checks_against_a_later_head() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let receipt = append(
        &app,
        vec![disclosure(&app, &a, &[&b], &["p-1"], Decision::Shared)],
    )
    .await
    .remove(0);
    append(
        &app,
        vec![disclosure(&app, &b, &[&a], &["p-2"], Decision::Shared); 9],
    )
    .await;

    // Any hub role may fetch the head and proofs: a recipient checks its receipt.
    let token = app.token(&b, &["practitioner"]);
    let head = app.get("/audit/tree-head", &token).await.1;
    let size = head["tree_size"].as_u64().unwrap();
    assert!(size >= receipt.tree_size + 9);
    let der = STANDARD
        .decode(head["public_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(head["key_id"], hex::encode(Sha256::digest(&der)));
    let key = VerifyingKey::from_public_key_der(&der).unwrap();
    let root = rfc9162::hash_from_hex(head["root_hash"].as_str().unwrap()).unwrap();
    let ts = chrono::DateTime::parse_from_rfc3339(head["timestamp"].as_str().unwrap()).unwrap();
    let mut signed = Vec::new();
    signed.extend_from_slice(&(ts.timestamp_millis() as u64).to_be_bytes());
    signed.extend_from_slice(&size.to_be_bytes());
    signed.push(32);
    signed.extend_from_slice(&root);
    signed.extend_from_slice(&[0, 0]);
    let sig = Signature::from_slice(
        &STANDARD
            .decode(head["signature"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    key.verify(&signed, &sig)
        .expect("the head's signature verifies");
    // Unchanged log: the same stored head comes back.
    assert_eq!(app.get("/audit/tree-head", &token).await.1, head);

    // The receipt's tree is a prefix of the signed one ...
    let first_root = rfc9162::hash_from_hex(&receipt.root_hash).unwrap();
    let c = app
        .get(
            &format!(
                "/audit/proofs/consistency?first={}&second={size}",
                receipt.tree_size
            ),
            &token,
        )
        .await
        .1;
    let proof: Vec<_> = c["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| rfc9162::hash_from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    assert!(rfc9162::verify_consistency(
        receipt.tree_size,
        size,
        &first_root,
        &root,
        &proof
    ));
    // ... and the entry is in the receipt's tree.
    let i = app
        .get(
            &format!(
                "/audit/proofs/inclusion?seq={}&tree_size={}",
                receipt.seq, receipt.tree_size
            ),
            &token,
        )
        .await
        .1;
    let path: Vec<_> = i["audit_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| rfc9162::hash_from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf = rfc9162::hash_from_hex(i["leaf_hash"].as_str().unwrap()).unwrap();
    assert!(rfc9162::verify_inclusion(
        &leaf,
        receipt.leaf_index,
        receipt.tree_size,
        &path,
        &first_root
    ));

    let r = app
        .get(
            &format!("/audit/proofs/inclusion?seq=1&tree_size={}", size + 5),
            &token,
        )
        .await;
    assert_eq!(pointers(&r), vec!["/tree_size"]);
    let r = app.get("/audit/proofs/consistency?first=0", &token).await;
    assert_eq!(pointers(&r), vec!["/first"]);
}
