//! Rendering the console's pages from page data built here: names instead of ids, fields
//! marked, due agreements marked, the chart present and CSP-clean, other people's
//! references absent.
use std::collections::BTreeMap;

use askama::Template;
use chrono::{DateTime, Duration, Utc};

use super::agreements::{AgreementCard, AgreementsPage};
use super::audit::{parse, AuditPage, ResultRow};
use super::disclosures::{month_chart, DisclosuresPage};
use super::entry::EntryPage;
use super::people::{PeoplePage, ReportRow};
use super::{purpose_choices, Names, Params, PurposeForm};
use crate::audit::heads::SignedTreeHead;
use crate::audit::merkle;
use crate::audit::proofs::Inclusion;
use crate::audit::{LoggedEntry, Receipt};
use crate::domain::agreement::{
    Agreement, AgreementTerms, AgreementVersion, Party, PartyRole, Signature,
};
use crate::domain::audit::{Actor, AgreementRef, Decision, NewEntry, Operation};
use crate::domain::ids::{AgencyId, AgreementId, PartnershipId};
use crate::domain::partnership::{Signer, TermsHistory};
use crate::domain::policy::AgreementView;
use crate::domain::role::Role;
use crate::domain::sharing::{Classification, Condition, PartyLawfulBasis, Purpose, Regime};
use crate::http::console::page::Chrome;
use crate::usecase::audit::{proof_holds, tally, EntryEvidence};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn chrome(title: &str) -> Chrome {
    Chrome {
        title: title.to_owned(),
        section: "audit",
        signed_in_as: "Officer One".to_owned(),
        nonce: "n0nce".to_owned(),
        csrf_token: "tok-123".to_owned(),
    }
}

struct World {
    police: AgencyId,
    council: AgencyId,
    names: Names,
}

fn world() -> World {
    let (police, council) = (AgencyId::new(), AgencyId::new());
    let mut m = BTreeMap::new();
    m.insert(police, "Northshire Police".to_owned());
    m.insert(council, "Northshire Council".to_owned());
    World {
        police,
        council,
        names: Names(m),
    }
}

fn logged(seq: i64, entry: NewEntry) -> LoggedEntry {
    let body = format!("{{\"seq\":{seq}}}");
    let leaf_hash = merkle::leaf_hash(body.as_bytes());
    LoggedEntry {
        seq,
        entry,
        body,
        leaf_hash,
        receipt: Receipt {
            seq,
            leaf_index: u64::try_from(seq - 1).unwrap(),
            tree_size: u64::try_from(seq).unwrap(),
            root_hash: hex::encode(leaf_hash),
        },
    }
}

fn disclosure(w: &World, at: &str, agreement: &AgreementId, subjects: &[&str]) -> NewEntry {
    let actor = Actor {
        agency_id: Some(w.police),
        issuer: "https://idp.police".into(),
        subject: "officer-7".into(),
        roles: vec![Role::Practitioner],
    };
    let mut e = NewEntry::new(Operation::Disclosure, actor, t(at))
        .record("incident", "inc-1")
        .purpose("safeguarding")
        .recipients(vec![w.council])
        .decision(Decision::Shared, Vec::new());
    e.subject_refs = subjects.iter().map(|s| (*s).to_owned()).collect();
    e.data_items = vec!["summary".into()];
    e.agreement = Some(AgreementRef {
        id: agreement.to_string(),
        version: 2,
    });
    e.consent = Some(
        subjects
            .iter()
            .map(|s| format!("{}: given", s.rsplit(':').next().unwrap_or(s)))
            .collect::<Vec<_>>()
            .join("; "),
    );
    e
}

fn withheld(w: &World, at: &str, reasons: &[&str]) -> NewEntry {
    let actor = Actor {
        agency_id: Some(w.police),
        issuer: "https://idp.police".into(),
        subject: "officer-7".into(),
        roles: vec![Role::Practitioner],
    };
    let mut e = NewEntry::new(Operation::Disclosure, actor, t(at))
        .purpose("safeguarding")
        .decision(
            Decision::Withheld,
            reasons.iter().map(|r| (*r).to_owned()).collect(),
        );
    e.withheld_from = vec![w.council];
    e
}

fn agreement(w: &World, review_in_days: i64, now: DateTime<Utc>) -> AgreementView {
    let basis =
        PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Sch8Safeguarding, None).unwrap();
    let signer = Signer {
        agency_id: Some(w.police),
        issuer: "https://idp.police".into(),
        subject: "ig-1".into(),
    };
    let from = now - Duration::days(10);
    let v = AgreementVersion {
        version: 1,
        terms: AgreementTerms {
            title: "Northshire safeguarding".into(),
            purposes: vec![Purpose::Safeguarding],
            parties: [w.police, w.council]
                .iter()
                .map(|a| Party {
                    agency_id: *a,
                    role: PartyRole::Both,
                    lawful_basis: basis,
                    contact: None,
                })
                .collect(),
            data_items: vec![],
            max_classification: Classification::Official,
            handling_conditions: None,
            effective_from: from,
            expires_at: now + Duration::days(365),
            review_date: (now + Duration::days(review_in_days)).date_naive(),
            retention_days: 30,
            procedures: None,
            other_organisations: vec![],
            special_category_data: false,
            criminal_offence_data: false,
        },
        created_at: from,
        created_by: signer.clone(),
        signatures: [w.police, w.council]
            .iter()
            .map(|a| Signature {
                agency_id: *a,
                signed_at: from,
                signed_by: signer.clone(),
            })
            .collect(),
    };
    AgreementView {
        agreement: Agreement {
            id: AgreementId::new(),
            partnership_id: PartnershipId::new(),
            created_at: from - Duration::days(1),
            versions: vec![v],
            suspensions: vec![],
            termination: None,
        },
        terms: TermsHistory::default(),
    }
}

#[test]
fn the_purpose_form_posts_every_purpose_with_the_session_token() {
    let html = PurposeForm {
        chrome: chrome("Audit search"),
        next: "/console/audit?operation=disclosure".into(),
        purposes: purpose_choices(),
    }
    .render()
    .unwrap();
    assert!(html.contains(r#"action="/console/purpose""#));
    assert!(html.contains(r#"name="csrf_token" value="tok-123""#));
    assert!(html.contains(r#"name="next" value="/console/audit?operation=disclosure""#));
    assert_eq!(html.matches(r#"type="radio""#).count(), 4);
    assert!(html.contains(r#"<html lang="en-GB">"#));
}

#[test]
fn search_results_show_agencies_and_actors_by_name_and_bad_fields_are_marked() {
    let w = world();
    let a = AgreementId::new();
    let rows = vec![ResultRow::new(
        &logged(3, disclosure(&w, "2026-06-01T10:00:00Z", &a, &["p-1"])),
        &w.names,
    )];
    let (_, _, form) = parse(&Params::parse("operation=disclosure"), &w.names);
    let html = AuditPage {
        chrome: chrome("Audit search"),
        form,
        searched: true,
        rows,
        purpose: "verify_lawfulness".into(),
        next_page: Some("/console/audit?operation=disclosure&after=3".into()),
        export_csv: "/console/audit/export?format=csv&operation=disclosure".into(),
        export_jsonl: "/console/audit/export?format=jsonl&operation=disclosure".into(),
    }
    .render()
    .unwrap();
    assert!(html.contains("officer-7 (Northshire Police)"));
    assert!(html.contains("<td>Northshire Council</td>"));
    assert!(
        !html.contains(&w.council.to_string()),
        "an agency id is shown"
    );
    assert!(html.contains(r#"<option value="disclosure" selected>"#));
    assert!(
        html.contains("export?format=csv&#38;operation=disclosure"),
        "{html}"
    );
    assert!(html.contains(r#"<th scope="col">Seq</th>"#));

    let (_, _, form) = parse(&Params::parse("agency=Nowhere&to=soon"), &w.names);
    let html = AuditPage {
        chrome: chrome("Audit search"),
        form,
        searched: false,
        rows: vec![],
        purpose: "verify_lawfulness".into(),
        next_page: None,
        export_csv: String::new(),
        export_jsonl: String::new(),
    }
    .render()
    .unwrap();
    assert!(html.contains("There is a problem with the search"));
    assert!(html.contains("no agency is called `Nowhere`"));
    assert_eq!(html.matches("field--error").count(), 2, "{html}");
    // Every input has a label.
    for id in [
        "operation",
        "agency",
        "decision",
        "record-1",
        "person-1",
        "actor-1",
        "from",
        "to",
    ] {
        assert!(
            html.contains(&format!(r#"for="{id}""#)),
            "no label for {id}"
        );
    }
}

#[test]
fn an_entry_shows_names_its_checked_proof_and_the_signed_head() {
    let w = world();
    let a = AgreementId::new();
    let entry = logged(1, disclosure(&w, "2026-06-01T10:00:00Z", &a, &["p-1"]));
    let head = SignedTreeHead {
        tree_size: 1,
        root_hash: entry.leaf_hash,
        timestamp: t("2026-06-01T10:00:01Z"),
        key_id: "key-1".into(),
        signature: vec![7; 64],
    };
    let proof = Inclusion {
        leaf_index: 0,
        tree_size: 1,
        leaf_hash: entry.leaf_hash,
        root_hash: entry.leaf_hash,
        audit_path: vec![],
    };
    assert!(proof_holds(&entry, &proof, &head));
    let mut wrong = head.clone();
    wrong.root_hash = [0; 32];
    assert!(!proof_holds(&entry, &proof, &wrong));
    let ev = EntryEvidence {
        included: true,
        signature: Err("signed by unknown key key-1".into()),
        entry,
        head,
        proof,
    };
    let html = EntryPage::new(chrome("Audit entry 1"), &ev, &w.names)
        .render()
        .unwrap();
    assert!(html.contains(r#"<span class="status--ok">checked</span>"#));
    assert!(html.contains("failed: signed by unknown key key-1"));
    assert!(html.contains("<td>Northshire Council</td>"));
    assert!(!html.contains(&w.council.to_string()));
    assert!(html.contains(r#"href="/console/people?ref=p-1""#));
    assert!(html.contains(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        [7u8; 64]
    )));
}

#[test]
fn agreements_due_within_30_days_are_marked_and_forms_carry_the_token() {
    let w = world();
    let now = t("2026-06-01T00:00:00Z");
    let due = agreement(&w, 20, now);
    let later = agreement(&w, 90, now);
    let cards: Vec<AgreementCard> = [&due, &later]
        .iter()
        .map(|v| AgreementCard::new(v, &w.names, now, 30).unwrap())
        .collect();
    assert!(cards[0].due_soon);
    assert!(!cards[1].due_soon);
    let html = AgreementsPage {
        chrome: chrome("Agreements"),
        agreements: cards,
        message: String::new(),
        refused: false,
        due_days: 30,
        today: "2026-06-01".into(),
    }
    .render()
    .unwrap();
    assert_eq!(html.matches("due for review or expiry").count(), 1);
    assert!(html.contains("<td>Northshire Police</td>"));
    assert!(!html.contains(&w.police.to_string()));
    assert!(html.contains("dpa2018_part3"));
    assert!(html.contains(&format!(
        r#"action="/console/agreements/{}/suspend""#,
        due.agreement.id
    )));
    assert!(html.contains(r#"name="csrf_token" value="tok-123""#));
    assert!(html.contains("signed 2026-05-22"));
}

#[test]
fn disclosures_are_counted_by_recipient_purpose_month_and_reason() {
    let w = world();
    let now = t("2026-06-01T00:00:00Z");
    let view = agreement(&w, 90, now);
    let id = view.agreement.id;
    let other = AgreementId::new();
    let entries = vec![
        logged(1, disclosure(&w, "2026-05-30T10:00:00Z", &id, &["p-1"])),
        logged(2, disclosure(&w, "2026-06-02T10:00:00Z", &id, &["p-2"])),
        logged(3, disclosure(&w, "2026-06-02T11:00:00Z", &other, &["p-3"])),
        logged(
            4,
            withheld(
                &w,
                "2026-06-03T10:00:00Z",
                &["no agreement covers the purpose"],
            ),
        ),
    ];
    let c = tally(&view.agreement, &entries);
    assert_eq!(
        c.shared, 2,
        "the other agreement's disclosure is not counted"
    );
    assert_eq!(c.withheld, 1);
    assert_eq!(c.by_recipient.get(&w.council), Some(&2));
    assert_eq!(c.by_purpose.get("safeguarding"), Some(&2));
    assert_eq!(c.by_month.get("2026-05").map(|m| m.shared), Some(1));
    assert_eq!(c.by_month.get("2026-06").map(|m| m.withheld), Some(1));
    assert_eq!(
        c.withheld_by_reason.get("no agreement covers the purpose"),
        Some(&1)
    );
    let html = DisclosuresPage::new(chrome("Disclosures"), id.to_string(), &c, &w.names)
        .render()
        .unwrap();
    assert!(html.contains("<svg"), "no inline chart");
    assert!(html.contains("<title id=\"chart-title\">"));
    assert!(
        html.contains("2026-06: 1 shared, 1 withheld"),
        "no text alternative"
    );
    assert!(
        !html.contains("style="),
        "a style attribute a strict CSP blocks"
    );
    assert!(
        !html.contains("<style"),
        "a style element a strict CSP blocks"
    );
    assert!(html.contains("<td>Northshire Council</td><td>2</td>"));
}

#[test]
fn the_chart_escapes_its_labels_and_says_when_there_is_nothing() {
    let empty = month_chart(&[]);
    assert!(empty.contains("No disclosures are recorded"));
    let odd = month_chart(&[(
        "<b>".into(),
        crate::usecase::audit::MonthCount {
            shared: 1,
            withheld: 0,
        },
    )]);
    assert!(!odd.contains("<b>"));
    assert!(odd.contains("&lt;b&gt;"));
}

#[test]
fn a_person_report_never_shows_other_peoples_references() {
    let w = world();
    let a = AgreementId::new();
    let me = "incident:i1:victim:V-1";
    let entry = logged(
        5,
        disclosure(
            &w,
            "2026-06-01T10:00:00Z",
            &a,
            &[me, "incident:i1:victim:V-2"],
        ),
    );
    let rows = vec![ReportRow::new(&entry, me, &w.names)];
    assert_eq!(rows[0].consent, "V-1: given");
    let html = PeoplePage {
        chrome: chrome("Person report"),
        reference: me.into(),
        error: String::new(),
        searched: true,
        rows,
        tree_size: 5,
        root_hash: "ab".into(),
        next_page: None,
        made_at: "2026-06-02 00:00:00 UTC".into(),
    }
    .render()
    .unwrap();
    assert!(html.contains(me));
    assert!(!html.contains("V-2"), "another person's reference is shown");
    assert!(html.contains("<td>Northshire Council</td>"));
    assert!(html.contains(&format!("{a} version 2")));
    assert!(html.contains("<td>summary</td>"));
}
