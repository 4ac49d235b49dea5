//! Examples of the policy function, then its properties over generated agreements.
use chrono::Duration;
use uuid::Uuid;

use super::*;
use crate::domain::agreement::DataItems;
use crate::domain::agreement::{
    AgreementTerms, Lifted, Party, PartyRole, Signature, Suspension, Termination,
};
use crate::domain::ids::{AgreementId, PartnershipId};
use crate::domain::partnership::Signer;
use crate::domain::sharing::{Condition, PartyLawfulBasis, Regime};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn day(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

fn agency(i: usize) -> AgencyId {
    AgencyId(Uuid::from_u128(0xA000 + i as u128))
}

fn signer(a: AgencyId) -> Signer {
    Signer {
        agency_id: Some(a),
        issuer: "https://idp.example".into(),
        subject: "ig".into(),
    }
}

fn basis() -> PartyLawfulBasis {
    PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Sch8Safeguarding, None).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// An agreement between agencies 0 (discloser) and 1 (recipient), signed on day 0, in force
/// from day 0 to day 100, with terms version 1 accepted by both.
fn simple() -> AgreementView {
    let (a, b) = (agency(0), agency(1));
    let terms = AgreementTerms {
        title: "Birmingham safeguarding".into(),
        purposes: vec![Purpose::Safeguarding],
        parties: vec![
            Party {
                agency_id: a,
                role: PartyRole::Discloser,
                lawful_basis: basis(),
                contact: None,
            },
            Party {
                agency_id: b,
                role: PartyRole::Recipient,
                lawful_basis: PartyLawfulBasis::new(
                    Regime::UkGdpr,
                    Condition::Art6_1ePublicTask,
                    None,
                )
                .unwrap(),
                contact: None,
            },
        ],
        data_items: vec![DataItems {
            recipient: b,
            record_kind: RecordKind::Incident,
            fields: strings(&["area", "victims[].age_band", "exploitation_types"]),
        }],
        max_classification: Classification::Official,
        handling_conditions: None,
        effective_from: day(0),
        expires_at: day(100),
        review_date: day(50).date_naive(),
        retention_days: 90,
        procedures: None,
        other_organisations: vec![],
        special_category_data: false,
        criminal_offence_data: false,
    };
    let v1 = AgreementVersion {
        version: 1,
        terms,
        created_at: day(-1),
        created_by: signer(a),
        signatures: vec![
            Signature {
                agency_id: a,
                signed_at: day(-1),
                signed_by: signer(a),
            },
            Signature {
                agency_id: b,
                signed_at: day(0),
                signed_by: signer(b),
            },
        ],
    };
    AgreementView {
        agreement: Agreement {
            id: AgreementId(Uuid::from_u128(1)),
            partnership_id: PartnershipId(Uuid::from_u128(2)),
            created_at: day(-1),
            versions: vec![v1],
            suspensions: vec![],
            termination: None,
        },
        terms: TermsHistory {
            versions: vec![(1, day(-10))],
            acceptances: vec![(1, a, day(-9)), (1, b, day(-9))],
        },
    }
}

fn request(at: DateTime<Utc>) -> DisclosureRequest<'static> {
    DisclosureRequest {
        discloser: agency(0),
        recipient: agency(1),
        record_kind: RecordKind::Incident,
        purpose: Purpose::Safeguarding,
        classification: Classification::Official,
        requested_fields: None,
        at,
        consent_withdrawn: false,
        withheld: &[],
        subjects: &[],
    }
}

fn deny_codes(d: &PolicyDecision) -> Vec<&'static str> {
    match d {
        PolicyDecision::Deny(r) => r.iter().map(DenyReason::code).collect(),
        PolicyDecision::Permit(p) => panic!("unexpected permit {p:?}"),
    }
}

#[test]
fn a_signed_agreement_in_date_permits_its_fields() {
    let d = decide(&request(day(10)), &[simple()]);
    let PolicyDecision::Permit(p) = d else {
        panic!("{d:?}")
    };
    assert_eq!(p.agreement.version, 1);
    assert_eq!(p.agreement.id, AgreementId(Uuid::from_u128(1)).to_string());
    // Catalogue order.
    assert_eq!(
        p.fields,
        strings(&["area", "exploitation_types", "victims[].age_band"])
    );
    assert_eq!(p.retention_days, 90);
    assert_eq!(p.lawful_basis.regime, "dpa2018_part3");
    assert_eq!(p.recipient_lawful_basis.condition, "art6_1e_public_task");
}

#[test]
fn withheld_fields_never_appear_in_a_permit_whatever_the_agreement_allows() {
    let withheld = ["victims[].age_band", "area"];
    let req = DisclosureRequest {
        withheld: &withheld,
        ..request(day(10))
    };
    let d = decide(&req, &[simple()]);
    let PolicyDecision::Permit(p) = d else {
        panic!("{d:?}")
    };
    assert_eq!(p.fields, strings(&["exploitation_types"]));
}

#[test]
fn every_reason_is_given() {
    let f = strings(&[
        "area",
        "narrative",
        "victims[].name",
        "victims[].safe_address",
    ]);
    let mut req = request(day(150));
    req.requested_fields = Some(&f);
    req.purpose = Purpose::Investigation;
    req.classification = Classification::OfficialSensitive;
    req.consent_withdrawn = true;
    let mut view = simple();
    view.terms.versions.push((2, day(120)));
    let d = decide(&req, &[view]);
    assert_eq!(
        deny_codes(&d),
        [
            "consent_withdrawn",
            "unknown_field",
            "field_never_disclosed",
            "expired",
            "terms_not_accepted",
            "terms_not_accepted",
            "classification_above_maximum",
            "purpose_not_covered",
            "field_not_allowed",
        ]
    );
    let text = d.reasons();
    assert!(
        text.contains(&"expired on 2026-09-09".to_owned()),
        "{text:?}"
    );
    assert!(text.contains(&format!(
        "terms of reference version 2 not accepted by agency {}",
        agency(1)
    )));
    assert!(
        text.contains(&"classification official_sensitive above the maximum official".to_owned())
    );
    assert!(text.contains(&"purpose investigation not covered".to_owned()));
    assert!(text.contains(&"field narrative not allowed for this recipient".to_owned()));
    assert!(text.contains(&"field victims[].name does not exist in incident records".to_owned()));
    assert!(text.contains(&"field victims[].safe_address is never disclosed".to_owned()));
    assert!(text.contains(&"consent withdrawn".to_owned()));
}

#[test]
fn no_agreement_wrong_direction_and_same_agency() {
    let d = decide(&request(day(10)), &[]);
    assert_eq!(deny_codes(&d), ["no_agreement"]);
    assert_eq!(
        d.reasons(),
        [format!(
            "no agreement between agency {} and agency {}",
            agency(0),
            agency(1)
        )]
    );
    let mut back = request(day(10));
    back.discloser = agency(1);
    back.recipient = agency(0);
    assert_eq!(
        deny_codes(&decide(&back, &[simple()])),
        ["not_a_discloser", "not_a_recipient", "no_data_items"]
    );
    let mut same = request(day(10));
    same.recipient = agency(0);
    assert_eq!(deny_codes(&decide(&same, &[simple()])), ["same_agency"]);
}

#[test]
fn unsigned_suspended_terminated_and_early() {
    let mut view = simple();
    view.agreement.versions[0].signatures.pop();
    assert_eq!(
        deny_codes(&decide(&request(day(10)), &[view])),
        ["not_signed"]
    );
    assert!(
        decide(&request(day(10)), &[simple()]).is_permit(),
        "the fixture permits"
    );
    let mut view = simple();
    view.agreement.suspensions.push(Suspension {
        suspended_at: day(5),
        suspended_by: signer(agency(1)),
        reason: "data breach under review".into(),
        lifted: Some(Lifted {
            at: day(20),
            by: signer(agency(1)),
            note: None,
        }),
    });
    let d = decide(&request(day(10)), std::slice::from_ref(&view));
    assert_eq!(d.reasons(), ["suspended: data breach under review"]);
    assert!(decide(&request(day(20)), &[view]).is_permit());
    let mut view = simple();
    view.agreement.termination = Some(Termination {
        at: day(30),
        by: signer(agency(0)),
        reason: "partnership ended".into(),
    });
    assert!(decide(&request(day(29)), std::slice::from_ref(&view)).is_permit());
    assert_eq!(
        decide(&request(day(30)), &[view]).reasons(),
        ["terminated: partnership ended"]
    );
    let early = decide(&request(day(0) - Duration::hours(1)), &[simple()]);
    assert_eq!(
        early.reasons(),
        [
            "not signed by agency ".to_owned() + &agency(1).to_string(),
            "not in effect until 2026-06-01".to_owned()
        ]
    );
}

#[test]
fn requested_fields_must_all_be_allowed() {
    let ok = strings(&["victims[].age_band", "area"]);
    let mut req = request(day(10));
    req.requested_fields = Some(&ok);
    let PolicyDecision::Permit(p) = decide(&req, &[simple()]) else {
        panic!()
    };
    assert_eq!(p.fields, strings(&["area", "victims[].age_band"]));
    let bad = strings(&["area", "victims[].gender"]);
    req.requested_fields = Some(&bad);
    assert_eq!(
        decide(&req, &[simple()]).reasons(),
        ["field victims[].gender not allowed for this recipient"]
    );
}

#[test]
fn the_most_recently_effective_permitting_agreement_is_chosen() {
    let older = simple();
    let mut newer = simple();
    newer.agreement.id = AgreementId(Uuid::from_u128(9));
    newer.agreement.versions[0].terms.effective_from = day(5);
    let mut twin = simple();
    twin.agreement.id = AgreementId(Uuid::from_u128(0));
    for order in [
        [older.clone(), newer.clone()],
        [newer.clone(), older.clone()],
    ] {
        let PolicyDecision::Permit(p) = decide(&request(day(10)), &order) else {
            panic!()
        };
        assert_eq!(p.agreement.id, newer.agreement.id.to_string());
    }
    // Same effective date and version: the lower agreement id.
    for order in [[older.clone(), twin.clone()], [twin.clone(), older.clone()]] {
        let PolicyDecision::Permit(p) = decide(&request(day(3)), &order) else {
            panic!()
        };
        assert_eq!(p.agreement.id, twin.agreement.id.to_string());
    }
}

#[test]
fn an_amendment_awaiting_signature_leaves_the_old_version_in_force() {
    let mut view = simple();
    let mut v2 = view.agreement.versions[0].clone();
    v2.version = 2;
    v2.created_at = day(20);
    v2.signatures = vec![Signature {
        agency_id: agency(0),
        signed_at: day(21),
        signed_by: signer(agency(0)),
    }];
    v2.terms.data_items[0].fields.push("narrative".into());
    view.agreement.versions.push(v2);
    let f = strings(&["narrative"]);
    let mut req = request(day(25));
    req.requested_fields = Some(&f);
    let d = decide(&req, std::slice::from_ref(&view));
    assert_eq!(deny_codes(&d), ["field_not_allowed", "not_signed"]);
    let e = evaluate(&req, std::slice::from_ref(&view));
    assert_eq!(
        e.iter().map(|c| c.agreement.version).collect::<Vec<_>>(),
        [1, 2]
    );
    view.agreement.versions[1].signatures.push(Signature {
        agency_id: agency(1),
        signed_at: day(26),
        signed_by: signer(agency(1)),
    });
    req.at = day(27);
    let PolicyDecision::Permit(p) = decide(&req, &[view]) else {
        panic!()
    };
    assert_eq!(p.agreement.version, 2);
}

#[test]
fn every_code_is_listed() {
    let a = agency(0);
    let all = [
        DenyReason::SameAgency { agency: a },
        DenyReason::NoAgreement {
            discloser: a,
            recipient: a,
        },
        DenyReason::NotAParty { agency: a },
        DenyReason::NotADiscloser { agency: a },
        DenyReason::NotARecipient { agency: a },
        DenyReason::NotSigned { agency: a },
        DenyReason::NotYetEffective { from: day(0) },
        DenyReason::Expired {
            on: day(0) + Duration::minutes(90),
        },
        DenyReason::Suspended { reason: "r".into() },
        DenyReason::Terminated { reason: "r".into() },
        DenyReason::NoTermsOfReference,
        DenyReason::TermsNotAccepted {
            version: 3,
            agency: a,
        },
        DenyReason::ClassificationAboveMaximum {
            classification: Classification::OfficialSensitive,
            maximum: Classification::Official,
        },
        DenyReason::PurposeNotCovered {
            purpose: Purpose::Disruption,
        },
        DenyReason::NoDataItems {
            recipient: a,
            record_kind: RecordKind::Referral,
        },
        DenyReason::FieldNotAllowed {
            field: "area".into(),
        },
        DenyReason::UnknownField {
            record_kind: RecordKind::Incident,
            field: "x".into(),
        },
        DenyReason::FieldNeverDisclosed {
            field: "victims[].safe_address".into(),
        },
        DenyReason::ConsentWithdrawn,
    ];
    let codes: Vec<&str> = all.iter().map(DenyReason::code).collect();
    assert_eq!(codes, DenyReason::CODES);
    assert_eq!(all[7].to_string(), "expired on 2026-06-01T01:30:00Z");
}

mod properties;
