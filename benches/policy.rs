//! How long one policy decision takes: the pure function (`domain::policy::decide`) over
//! 10 candidate agreements between the two agencies, and the whole use case
//! (`usecase::policy::decide`: load the candidates from SQLite, then decide), as incidents and
//! referrals call it inside their transaction.
//!
//! Run: `cargo bench --bench policy`. Each candidate agreement has 2 versions and 3 parties,
//! with 36 incident fields allowed for the recipient; 19 versions are live and weighed, and
//! only the last agreement's permits. Requests ask for all 36 fields, or for "everything
//! allowed", or are denied by every candidate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use msht_hub::config::DatabaseSettings;
use msht_hub::domain::agency::{Agency, AgencyKind, GssCode};
use msht_hub::domain::agreement::{
    Agreement, AgreementTerms, AgreementVersion, DataItems, Party, PartyRole, Signature,
};
use msht_hub::domain::fields::{self, RecordKind};
use msht_hub::domain::ids::{AgencyId, AgreementId, PartnershipId};
use msht_hub::domain::partnership::{
    Acceptance, Member, MemberStatus, Partnership, Signer, Terms, TermsContent, TermsHistory,
};
use msht_hub::domain::policy::{
    decide, evaluate, AgreementView, DisclosureRequest, PolicyDecision,
};
use msht_hub::domain::sharing::{Classification, Condition, PartyLawfulBasis, Purpose, Regime};
use msht_hub::store::{agencies, agreements, partnerships, Db};

const CANDIDATES: usize = 10;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn signer(a: AgencyId) -> Signer {
    Signer {
        agency_id: Some(a),
        issuer: "https://idp.bench".into(),
        subject: "ig".into(),
    }
}

/// Candidate `i` between `a` (discloser) and `b` (recipient) with a third party `c`. In every
/// candidate but the last, version 2 lacks `b`'s signature (so version 1 still governs) and
/// version 1 does not cover safeguarding: both versions are weighed and both deny. In the
/// last, version 2 is signed by all and supersedes version 1: the one permit.
fn agreement(i: usize, a: AgencyId, b: AgencyId, c: AgencyId, p: PartnershipId) -> Agreement {
    let basis =
        PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Sch8Safeguarding, None).unwrap();
    let all: Vec<String> = fields::fields(RecordKind::Incident)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let last = i + 1 == CANDIDATES;
    let all_purposes = vec![
        Purpose::Safeguarding,
        Purpose::Investigation,
        Purpose::VictimSupport,
    ];
    let v1_purposes = if last {
        all_purposes.clone()
    } else {
        vec![Purpose::Investigation]
    };
    let terms = |title: String, purposes: Vec<Purpose>| AgreementTerms {
        title,
        purposes,
        parties: [
            (a, PartyRole::Discloser),
            (b, PartyRole::Recipient),
            (c, PartyRole::Both),
        ]
        .into_iter()
        .map(|(agency_id, role)| Party {
            agency_id,
            role,
            lawful_basis: basis,
            contact: None,
        })
        .collect(),
        data_items: vec![
            DataItems {
                recipient: c,
                record_kind: RecordKind::Referral,
                fields: vec!["area".into()],
            },
            DataItems {
                recipient: b,
                record_kind: RecordKind::Incident,
                fields: all.clone(),
            },
        ],
        max_classification: Classification::OfficialSensitive,
        handling_conditions: None,
        effective_from: t("2026-01-01T00:00:00Z"),
        expires_at: t("2027-12-31T00:00:00Z"),
        review_date: t("2027-06-01T00:00:00Z").date_naive(),
        retention_days: 365,
        procedures: None,
        other_organisations: Vec::new(),
        special_category_data: false,
        criminal_offence_data: false,
    };
    let sigs = |v: i32, who: &[AgencyId]| {
        who.iter()
            .map(|g| Signature {
                agency_id: *g,
                signed_at: t("2026-01-02T00:00:00Z") + chrono::Duration::days(i64::from(v)),
                signed_by: signer(*g),
            })
            .collect()
    };
    let current: Vec<AgencyId> = if last { vec![a, b, c] } else { vec![a, c] };
    Agreement {
        id: AgreementId::new(),
        partnership_id: p,
        created_at: t("2026-01-01T00:00:00Z"),
        versions: vec![
            AgreementVersion {
                version: 1,
                terms: terms(format!("Agreement {i} v1"), v1_purposes),
                created_at: t("2026-01-01T00:00:00Z"),
                created_by: signer(a),
                signatures: sigs(1, &[a, b, c]),
            },
            AgreementVersion {
                version: 2,
                terms: terms(format!("Agreement {i} v2"), all_purposes),
                created_at: t("2026-02-01T00:00:00Z"),
                created_by: signer(a),
                signatures: sigs(40, &current),
            },
        ],
        suspensions: Vec::new(),
        termination: None,
    }
}

fn time(label: &str, mut f: impl FnMut()) {
    // Warm up, then run for about a second.
    for _ in 0..200 {
        f();
    }
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    println!(
        "{label:<62} {:>9.2} us/decision  ({:>9.0} decisions/s)",
        per * 1e6,
        1.0 / per
    );
}

fn main() {
    let (a, b, c) = (AgencyId::new(), AgencyId::new(), AgencyId::new());
    let p = PartnershipId::new();
    let terms = TermsHistory {
        versions: vec![
            (1, t("2025-12-01T00:00:00Z")),
            (2, t("2026-03-01T00:00:00Z")),
        ],
        acceptances: [a, b, c]
            .iter()
            .flat_map(|g| {
                [
                    (1, *g, t("2025-12-02T00:00:00Z")),
                    (2, *g, t("2026-03-02T00:00:00Z")),
                ]
            })
            .collect(),
    };
    let views: Vec<AgreementView> = (0..CANDIDATES)
        .map(|i| AgreementView {
            agreement: agreement(i, a, b, c, p),
            terms: terms.clone(),
        })
        .collect();
    let all: Vec<String> = fields::fields(RecordKind::Incident)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let at = t("2026-06-01T09:00:00Z");
    let req = |fields: Option<&'static [String]>| DisclosureRequest {
        discloser: a,
        recipient: b,
        record_kind: RecordKind::Incident,
        purpose: Purpose::Safeguarding,
        classification: Classification::Official,
        requested_fields: fields,
        at,
        consent_withdrawn: false,
        withheld: &[],
        subjects: &[],
    };
    let all: &'static [String] = Box::leak(all.into_boxed_slice());
    assert!(
        matches!(decide(&req(Some(all)), &views), PolicyDecision::Permit(ref p) if p.fields.len() == fields::fields(RecordKind::Incident).len())
    );
    let weighed = evaluate(&req(Some(all)), &views);
    assert_eq!(weighed.len(), 2 * CANDIDATES - 1);
    assert_eq!(weighed.iter().filter(|o| o.outcome.is_ok()).count(), 1);
    let mut denied = req(Some(all));
    denied.purpose = Purpose::StrategicAnalysis;
    assert!(!decide(&denied, &views).is_permit());

    println!("policy decision, {CANDIDATES} candidate agreements x 2 versions, 36 incident fields");
    time(
        "domain::policy::decide, 36 fields requested, permit",
        || {
            black_box(decide(black_box(&req(Some(all))), black_box(&views)));
        },
    );
    time("domain::policy::decide, everything allowed, permit", || {
        black_box(decide(black_box(&req(None)), black_box(&views)));
    });
    time(
        "domain::policy::decide, 36 fields requested, deny (every reason)",
        || {
            black_box(decide(black_box(&denied), black_box(&views)));
        },
    );

    let one = views.get(CANDIDATES - 1..).unwrap();
    time(
        "domain::policy::decide, 1 candidate agreement, 36 fields, permit",
        || {
            black_box(decide(black_box(&req(Some(all))), black_box(one)));
        },
    );

    // The use case over a real SQLite database: load the candidates, then decide.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let settings = DatabaseSettings {
        pool_size: 2,
        connection_timeout_ms: 5000,
        busy_timeout_ms: 5000,
        sqlite_synchronous: msht_hub::store::Synchronous::Full,
        checkpoint_interval_ms: 250,
    };
    let db = Db::open(&url, &settings).unwrap();
    let now = at;
    db.write_blocking(move |conn| {
        for (id, name) in [(a, "A"), (b, "B"), (c, "C")] {
            agencies::insert(
                conn,
                &Agency {
                    id,
                    name: format!("Bench agency {name}"),
                    kind: AgencyKind::Mash,
                    areas: vec![GssCode::parse("E08000025").unwrap()],
                    first_responder: false,
                    contact_email: "bench@example.org".into(),
                    created_at: now,
                    updated_at: now,
                },
            )?;
        }
        partnerships::insert(
            conn,
            &Partnership {
                id: p,
                name: "Bench partnership".into(),
                areas: vec![GssCode::parse("E08000025").unwrap()],
                lead_agency_id: Some(a),
                members: [a, b, c]
                    .iter()
                    .map(|g| Member {
                        agency_id: *g,
                        joined_at: now,
                        status: MemberStatus::Member,
                    })
                    .collect(),
                created_at: now,
                updated_at: now,
            },
        )?;
        for (version, published_at) in &terms.versions {
            partnerships::insert_terms(
                conn,
                &Terms {
                    partnership_id: p,
                    version: *version,
                    content: TermsContent {
                        purpose: "bench".into(),
                        scope: "bench".into(),
                        responsibilities: Vec::new(),
                        review_date: t("2027-01-01T00:00:00Z").date_naive(),
                    },
                    published_at: *published_at,
                    published_by: signer(a),
                },
            )?;
        }
        for (version, agency, accepted_at) in &terms.acceptances {
            partnerships::insert_acceptance(
                conn,
                p,
                &Acceptance {
                    version: *version,
                    agency_id: *agency,
                    accepted_at: *accepted_at,
                    accepted_by: signer(*agency),
                },
            )?;
        }
        for v in &views {
            agreements::insert(conn, &v.agreement)?;
        }
        Ok(())
    })
    .unwrap();
    let check = db
        .read_blocking(|conn| msht_hub::usecase::policy::decide(conn, &req(Some(all))))
        .unwrap();
    assert!(check.is_permit(), "{check:?}");
    time(
        "usecase::policy::decide on SQLite (load + decide), permit",
        || {
            let d =
                db.read_blocking(|conn| msht_hub::usecase::policy::decide(conn, &req(Some(all))));
            black_box(d.unwrap());
        },
    );
}
