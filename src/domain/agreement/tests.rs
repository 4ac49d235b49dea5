use chrono::Duration;

use super::*;
use crate::domain::sharing::{Condition, Regime};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn signer(a: AgencyId) -> Signer {
    Signer {
        agency_id: Some(a),
        issuer: "https://idp".into(),
        subject: "s".into(),
    }
}

fn version(
    n: i32,
    parties: &[AgencyId],
    created: DateTime<Utc>,
    from: DateTime<Utc>,
) -> AgreementVersion {
    let basis =
        PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Sch8Safeguarding, None).unwrap();
    AgreementVersion {
        version: n,
        terms: AgreementTerms {
            title: format!("v{n}"),
            purposes: vec![Purpose::Safeguarding],
            parties: parties
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
            expires_at: from + Duration::days(365),
            review_date: (from + Duration::days(180)).date_naive(),
            retention_days: 30,
            procedures: None,
            other_organisations: vec![],
            special_category_data: false,
            criminal_offence_data: false,
        },
        created_at: created,
        created_by: signer(parties[0]),
        signatures: vec![],
    }
}

fn sign(v: &mut AgreementVersion, a: AgencyId, at: DateTime<Utc>) {
    v.signatures.push(Signature {
        agency_id: a,
        signed_at: at,
        signed_by: signer(a),
    });
}

#[test]
fn status_follows_signatures_dates_suspension_and_termination() {
    let (a, b) = (AgencyId::new(), AgencyId::new());
    let start = t("2026-06-01T00:00:00Z");
    let mut v1 = version(1, &[a, b], start, start + Duration::days(1));
    sign(&mut v1, a, start + Duration::hours(1));
    let mut ag = Agreement {
        id: AgreementId::new(),
        partnership_id: PartnershipId::new(),
        created_at: start,
        versions: vec![v1],
        suspensions: vec![],
        termination: None,
    };
    let v = |ag: &Agreement| ag.versions[0].clone();
    assert_eq!(ag.status(&v(&ag), start + Duration::days(2)), Status::Draft);
    sign(&mut ag.versions[0], b, start + Duration::hours(2));
    assert_eq!(
        ag.status(&v(&ag), start + Duration::hours(1)),
        Status::Draft,
        "signature later"
    );
    assert_eq!(
        ag.status(&v(&ag), start + Duration::hours(3)),
        Status::NotYetEffective
    );
    assert_eq!(
        ag.status(&v(&ag), start + Duration::days(2)),
        Status::Active
    );
    assert_eq!(
        ag.status(&v(&ag), start + Duration::days(366)),
        Status::Expired
    );
    ag.suspensions.push(Suspension {
        suspended_at: start + Duration::days(10),
        suspended_by: signer(a),
        reason: "breach".into(),
        lifted: Some(Lifted {
            at: start + Duration::days(20),
            by: signer(a),
            note: None,
        }),
    });
    assert_eq!(
        ag.status(&v(&ag), start + Duration::days(15)),
        Status::Suspended
    );
    assert_eq!(
        ag.status(&v(&ag), start + Duration::days(25)),
        Status::Active
    );
    ag.termination = Some(Termination {
        at: start + Duration::days(30),
        by: signer(b),
        reason: "x".into(),
    });
    assert_eq!(
        ag.status(&v(&ag), start + Duration::days(29)),
        Status::Active
    );
    assert_eq!(
        ag.status(&v(&ag), start + Duration::days(31)),
        Status::Terminated
    );
    assert!(ag.in_force(start + Duration::days(31)).is_none());
}

#[test]
fn an_amendment_supersedes_only_once_signed_and_in_effect() {
    let (a, b) = (AgencyId::new(), AgencyId::new());
    let start = t("2026-06-01T00:00:00Z");
    let mut v1 = version(1, &[a, b], start, start);
    sign(&mut v1, a, start);
    sign(&mut v1, b, start);
    let day = |n: i64| start + Duration::days(n);
    let mut v2 = version(2, &[a, b], day(10), day(30));
    sign(&mut v2, a, day(11));
    let mut ag = Agreement {
        id: AgreementId::new(),
        partnership_id: PartnershipId::new(),
        created_at: start,
        versions: vec![v1, v2],
        suspensions: vec![],
        termination: None,
    };
    assert_eq!(ag.in_force(day(12)).map(|v| v.version), Some(1));
    assert_eq!(ag.status(&ag.versions[1].clone(), day(12)), Status::Draft);
    sign(&mut ag.versions[1], b, day(13));
    // Signed, but effective only from day 30: version 1 still governs.
    assert_eq!(ag.in_force(day(14)).map(|v| v.version), Some(1));
    assert_eq!(
        ag.status(&ag.versions[1].clone(), day(14)),
        Status::NotYetEffective
    );
    assert_eq!(ag.in_force(day(31)).map(|v| v.version), Some(2));
    assert_eq!(
        ag.status(&ag.versions[0].clone(), day(31)),
        Status::Superseded
    );
    assert_eq!(ag.live_versions(day(31)).len(), 1);
    // An unsigned draft is overtaken as soon as a newer version exists.
    let v3 = version(3, &[a, b], day(40), day(40));
    let v4 = version(4, &[a, b], day(41), day(41));
    ag.versions.push(v3);
    ag.versions.push(v4);
    assert_eq!(
        ag.status(&ag.versions[2].clone(), day(42)),
        Status::Superseded
    );
    assert_eq!(ag.status(&ag.versions[3].clone(), day(42)), Status::Draft);
    assert_eq!(ag.in_force(day(42)).map(|v| v.version), Some(2));
}

#[test]
fn dates_are_checked() {
    let from = t("2026-06-01T00:00:00Z");
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert!(check_dates(from, from + Duration::days(10), d("2026-06-05")).is_empty());
    assert_eq!(check_dates(from, from, d("2026-06-05"))[0].0, "/expires_at");
    assert_eq!(
        check_dates(from, from + Duration::days(10), d("2026-06-11"))[0].0,
        "/review_date"
    );
    assert_eq!(
        check_dates(from, from + Duration::days(10), d("2026-05-11"))[0].0,
        "/review_date"
    );
}
