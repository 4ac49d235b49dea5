//! The IG console's pages and the use cases they call: several values per audit filter
//! (decision and actor matched inside the canonical body on both backends), the person
//! report about one reference, and disclosures counted per agreement in the officer's scope.
use msht_hub::domain::audit::{Decision, Operation};
use msht_hub::domain::audit_query::{AuditPurpose, EventFilter};
use msht_hub::domain::role::{Role, RoleSet};
use msht_hub::identity::Principal;
use msht_hub::usecase::agreements::{self, ListFilter};
use msht_hub::usecase::audit::{self, Consult};

use crate::audit_scope::{report_incident, world};
use crate::helpers::{TestAgency, TestApp};

mod over_http;
mod signed_in;

fn officer(agency: &TestAgency, subject: &str) -> Principal {
    let mut roles = RoleSet::empty();
    roles.insert(Role::IgOfficer);
    Principal {
        issuer: agency.issuer.clone(),
        subject: subject.to_owned(),
        agency_id: Some(agency.id.parse().unwrap()),
        roles,
        client_id: None,
    }
}

fn consult() -> Consult {
    Consult {
        purpose: AuditPurpose::SelfMonitoring,
        justification: Some("IG console".into()),
    }
}

async fn search(app: &TestApp, p: &Principal, filter: EventFilter) -> Vec<audit_entry::Shown> {
    audit::events(&app.state.hub, p.clone(), consult(), filter, 0, 500)
        .await
        .unwrap()
        .into_iter()
        .map(audit_entry::Shown::from)
        .collect()
}

mod audit_entry {
    use msht_hub::audit::LoggedEntry;
    use msht_hub::domain::audit::{Decision, Operation};

    /// What a test looks at in an entry.
    #[derive(Debug)]
    pub struct Shown {
        pub seq: i64,
        pub operation: Operation,
        pub decision: Option<Decision>,
        pub actor: String,
        pub purpose: Option<String>,
        pub reasons: Vec<String>,
    }

    impl From<LoggedEntry> for Shown {
        fn from(l: LoggedEntry) -> Self {
            Shown {
                seq: l.seq,
                operation: l.entry.operation,
                decision: l.entry.decision,
                actor: l.entry.actor.subject,
                purpose: l.entry.purpose,
                reasons: l.entry.reasons,
            }
        }
    }
}

#[tokio::test]
async fn console_filters_take_several_values_and_match_decision_and_actor() {
    let w = world().await;
    let id = report_incident(&w).await;
    let app = &w.app;
    let ig = officer(&w.police, "ig-1");
    let record = |f: EventFilter| EventFilter {
        record_ids: vec![id.clone()],
        ..f
    };

    let withheld = search(
        app,
        &ig,
        record(EventFilter {
            operations: vec![Operation::Disclosure],
            decisions: vec![Decision::Withheld],
            ..EventFilter::default()
        }),
    )
    .await;
    assert_eq!(withheld.len(), 1, "{withheld:?}");
    assert_eq!(withheld[0].decision, Some(Decision::Withheld));

    let both = search(
        app,
        &ig,
        record(EventFilter {
            decisions: vec![Decision::Withheld, Decision::Shared],
            ..EventFilter::default()
        }),
    )
    .await;
    assert_eq!(both.len(), 2, "{both:?}");

    let by_reporter = search(
        app,
        &ig,
        record(EventFilter {
            actors: vec!["user-1".into(), "someone-else".into()],
            operations: vec![Operation::Collection, Operation::Disclosure],
            ..EventFilter::default()
        }),
    )
    .await;
    assert!(by_reporter.len() >= 3, "{by_reporter:?}");
    assert!(by_reporter.iter().all(|e| e.actor == "user-1"));
    assert!(by_reporter
        .iter()
        .any(|e| e.operation == Operation::Collection));
    let nobody = search(
        app,
        &ig,
        record(EventFilter {
            actors: vec!["nobody".into()],
            ..EventFilter::default()
        }),
    )
    .await;
    assert!(nobody.is_empty(), "{nobody:?}");

    // Every search was logged as a consultation with its purpose and filters.
    let logged = search(
        app,
        &ig,
        EventFilter {
            operations: vec![Operation::Consultation],
            actors: vec!["ig-1".into()],
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(logged.len(), 4, "{logged:?}");
    assert!(logged
        .iter()
        .all(|e| e.purpose.as_deref() == Some("self_monitoring")));
    assert!(
        logged[0]
            .reasons
            .iter()
            .any(|r| r.contains("operation=disclosure") && r.contains("decision=withheld")),
        "{:?}",
        logged[0]
    );
}

#[tokio::test]
async fn the_person_report_covers_collections_disclosures_and_consultations_of_one_person() {
    let w = world().await;
    let id = report_incident(&w).await;
    let app = &w.app;
    let ig = officer(&w.police, "ig-1");
    let person = format!("incident:{id}:victim:V2");
    let (first, as_of) = audit::person_report(
        &app.state.hub,
        ig.clone(),
        consult(),
        person.clone(),
        0,
        100,
    )
    .await
    .unwrap();
    let ops: Vec<Operation> = first.iter().map(|l| l.entry.operation).collect();
    assert!(ops.contains(&Operation::Collection), "{ops:?}");
    assert!(ops.contains(&Operation::Disclosure), "{ops:?}");
    assert!(first.iter().all(|l| l.entry.subject_refs.contains(&person)));
    assert!(as_of.tree_size >= first.last().unwrap().seq as u64);
    // The report itself is a consultation about the person, in the next report.
    let (second, _) = audit::person_report(&app.state.hub, ig, consult(), person.clone(), 0, 100)
        .await
        .unwrap();
    let consultation = second
        .iter()
        .find(|l| l.entry.operation == Operation::Consultation)
        .expect("the first report is not in the second");
    assert_eq!(consultation.entry.subject_refs, vec![person]);
    assert_eq!(
        consultation.entry.purpose.as_deref(),
        Some("self_monitoring")
    );
}

#[tokio::test]
async fn disclosures_are_counted_per_agreement_and_a_non_party_is_refused() {
    let w = world().await;
    report_incident(&w).await;
    let app = &w.app;
    let ig = officer(&w.police, "ig-1");
    let found = agreements::find(&app.state.hub, ig.clone(), ListFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let agreement = found[0].agreement.id;
    let (_, counts) = audit::agreement_disclosures(&app.state.hub, ig, consult(), agreement)
        .await
        .unwrap();
    let mash: msht_hub::domain::ids::AgencyId = w.mash.id.parse().unwrap();
    assert_eq!(counts.shared, 1, "{counts:?}");
    assert_eq!(counts.by_recipient.get(&mash), Some(&1));
    assert_eq!(counts.withheld, 0, "the children's partnership is no party");

    let outsider = officer(&w.children, "ig-9");
    let refused =
        audit::agreement_disclosures(&app.state.hub, outsider, consult(), agreement).await;
    assert!(matches!(
        refused.as_ref().map_err(|e| e.answer()),
        Err(msht_hub::error::AppError::NotFound)
    ));
    let denied = search(
        app,
        &officer(&w.children, "ig-9"),
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
async fn an_export_covers_every_page_up_to_the_signed_head_it_was_cut_against() {
    use futures_util::StreamExt;

    let w = world().await;
    let app = &w.app;
    let ig = officer(&w.police, "ig-1");
    // More consultations than one export page holds.
    let n = audit::EXPORT_PAGE as usize + 20;
    // Concurrent searches share the writer's group commits.
    let searches = (0..n).map(|_| {
        audit::events(
            &app.state.hub,
            ig.clone(),
            consult(),
            EventFilter::default(),
            0,
            1,
        )
    });
    for r in futures_util::future::join_all(searches).await {
        r.unwrap();
    }
    let filter = EventFilter {
        operations: vec![Operation::Consultation],
        actors: vec!["ig-1".into()],
        ..EventFilter::default()
    };
    let (export, head) = audit::export_signed(
        &app.state.hub,
        ig.clone(),
        consult(),
        filter,
        "jsonl",
        &app.state.audit,
    )
    .await
    .unwrap();
    assert_eq!(head.tree_size, export.upto as u64);
    head.check_signature(&app.state.audit.trusted).unwrap();
    let pages: Vec<_> = export.pages.collect().await;
    assert!(pages.len() >= 2, "one page only");
    let entries: Vec<_> = pages.into_iter().flat_map(|p| p.unwrap()).collect();
    assert_eq!(entries.len(), n, "the export left entries out");
    assert!(entries.iter().all(|l| l.seq as u64 <= head.tree_size));
}

#[tokio::test]
async fn console_pages_without_a_session_send_the_browser_to_sign_in() {
    let app = TestApp::spawn().await;
    for path in [
        "/console/audit?operation=disclosure",
        "/console/audit/export?format=csv",
        "/console/audit/entries/1",
        "/console/verify",
        "/console/agreements",
        "/console/people?ref=p-1",
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{path}");
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            to.starts_with("/console/sign-in?next=/console/"),
            "{path}: {to}"
        );
    }
}
