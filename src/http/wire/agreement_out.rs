//! Agreement responses and the dry-run (`POST /agreements/check`) bodies. Statuses are
//! derived here from the hub's clock at the time of the request, never read from storage.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::agreement::{Agreement, AgreementVersion, Procedures, Status};
use crate::domain::audit::LawfulBasis;
use crate::domain::fields::RecordKind;
use crate::domain::ids::AgencyId;
use crate::domain::policy::{AgreementView, CandidateOutcome, DisclosureRequest, PolicyDecision};
use crate::domain::sharing::{Classification, PartyLawfulBasis, Purpose};
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::http::wire::agreements::parse_instant;
use crate::http::wire::partnerships::SignerOut;

#[derive(Debug, Serialize)]
pub struct PartyOut {
    pub agency_id: String,
    pub role: &'static str,
    pub lawful_basis: PartyLawfulBasis,
    pub contact: Option<String>,
    /// When this party signed this version (null: not yet).
    pub signed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct DataItemsOut {
    pub recipient_agency_id: String,
    pub record_kind: RecordKind,
    pub fields: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SignatureOut {
    pub agency_id: String,
    pub signed_at: DateTime<Utc>,
    pub signed_by: SignerOut,
}

#[derive(Debug, Serialize)]
pub struct SuspensionOut {
    pub suspended_at: DateTime<Utc>,
    pub agency_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct TerminationOut {
    pub terminated_at: DateTime<Utc>,
    pub agency_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct TermsStateOut {
    /// The partnership's current terms of reference version.
    pub version: i32,
    /// Parties of this version that have not accepted it (disclosures are denied until they do).
    pub not_accepted_by: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct VersionSummary {
    pub version: i32,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub effective_from: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One version of an agreement, with the agreement's state around it.
#[derive(Debug, Serialize)]
pub struct AgreementOut {
    pub id: String,
    pub partnership_id: String,
    pub version: i32,
    pub status: Status,
    pub latest_version: i32,
    /// The version disclosures rely on now, if one is active.
    pub in_force_version: Option<i32>,
    pub title: String,
    pub purposes: Vec<Purpose>,
    pub parties: Vec<PartyOut>,
    pub data_items: Vec<DataItemsOut>,
    pub max_classification: Classification,
    pub handling_conditions: Option<String>,
    pub effective_from: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub review_date: NaiveDate,
    pub retention_days: i64,
    pub procedures: Option<Procedures>,
    pub other_organisations: Vec<String>,
    pub special_category_data: bool,
    pub criminal_offence_data: bool,
    pub signatures: Vec<SignatureOut>,
    pub suspension: Option<SuspensionOut>,
    pub termination: Option<TerminationOut>,
    pub terms_of_reference: Option<TermsStateOut>,
    pub versions: Vec<VersionSummary>,
    pub created_at: DateTime<Utc>,
    pub version_created_at: DateTime<Utc>,
}

impl AgreementOut {
    /// Version `v` of the agreement in `view`, as things stand at `now`.
    pub fn new(view: &AgreementView, v: &AgreementVersion, now: DateTime<Utc>) -> Self {
        let a: &Agreement = &view.agreement;
        let t = &v.terms;
        let signed_at = |agency: AgencyId| {
            v.signatures
                .iter()
                .find(|s| s.agency_id == agency)
                .map(|s| s.signed_at)
        };
        AgreementOut {
            id: a.id.to_string(),
            partnership_id: a.partnership_id.to_string(),
            version: v.version,
            status: a.status(v, now),
            latest_version: a.latest().map_or(v.version, |l| l.version),
            in_force_version: a.in_force(now).map(|x| x.version),
            title: t.title.clone(),
            purposes: t.purposes.clone(),
            parties: t
                .parties
                .iter()
                .map(|p| PartyOut {
                    agency_id: p.agency_id.to_string(),
                    role: p.role.as_str(),
                    lawful_basis: p.lawful_basis,
                    contact: p.contact.clone(),
                    signed_at: signed_at(p.agency_id),
                })
                .collect(),
            data_items: t
                .data_items
                .iter()
                .map(|d| DataItemsOut {
                    recipient_agency_id: d.recipient.to_string(),
                    record_kind: d.record_kind,
                    fields: d.fields.clone(),
                })
                .collect(),
            max_classification: t.max_classification,
            handling_conditions: t.handling_conditions.clone(),
            effective_from: t.effective_from,
            expires_at: t.expires_at,
            review_date: t.review_date,
            retention_days: t.retention_days,
            procedures: t.procedures.clone(),
            other_organisations: t.other_organisations.clone(),
            special_category_data: t.special_category_data,
            criminal_offence_data: t.criminal_offence_data,
            signatures: v
                .signatures
                .iter()
                .map(|s| SignatureOut {
                    agency_id: s.agency_id.to_string(),
                    signed_at: s.signed_at,
                    signed_by: SignerOut {
                        issuer: s.signed_by.issuer.clone(),
                        subject: s.signed_by.subject.clone(),
                    },
                })
                .collect(),
            suspension: a.suspended(now).map(|s| SuspensionOut {
                suspended_at: s.suspended_at,
                agency_id: s.suspended_by.agency_id.map(|g| g.to_string()),
                reason: s.reason.clone(),
            }),
            termination: a.terminated(now).map(|x| TerminationOut {
                terminated_at: x.at,
                agency_id: x.by.agency_id.map(|g| g.to_string()),
                reason: x.reason.clone(),
            }),
            terms_of_reference: view.terms.current(now).map(|n| TermsStateOut {
                version: n,
                not_accepted_by: t
                    .parties
                    .iter()
                    .filter(|p| !view.terms.accepted(n, p.agency_id, now))
                    .map(|p| p.agency_id.to_string())
                    .collect(),
            }),
            versions: a
                .versions
                .iter()
                .map(|x| VersionSummary {
                    version: x.version,
                    status: a.status(x, now),
                    created_at: x.created_at,
                    effective_from: x.terms.effective_from,
                    expires_at: x.terms.expires_at,
                })
                .collect(),
            created_at: a.created_at,
            version_created_at: v.created_at,
        }
    }

    /// The latest version of the agreement in `view`.
    pub fn latest(view: &AgreementView, now: DateTime<Utc>) -> Option<Self> {
        view.agreement
            .latest()
            .map(|v| AgreementOut::new(view, v, now))
    }
}

/// `POST /agreements/check`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    pub discloser_agency_id: Option<String>,
    pub recipient_agency_id: Option<String>,
    pub record_kind: Option<String>,
    pub purpose: Option<String>,
    pub classification: Option<String>,
    pub fields: Option<Vec<String>>,
    pub at: Option<String>,
    #[serde(default)]
    pub consent_withdrawn: bool,
}

/// A parsed check request (owning the field list the request borrows).
#[derive(Debug, Clone)]
pub struct Check {
    pub discloser: AgencyId,
    pub recipient: AgencyId,
    pub record_kind: RecordKind,
    pub purpose: Purpose,
    pub classification: Classification,
    pub fields: Option<Vec<String>>,
    pub at: Option<DateTime<Utc>>,
    pub consent_withdrawn: bool,
}

impl Check {
    pub fn request(&self, now: DateTime<Utc>) -> DisclosureRequest<'_> {
        DisclosureRequest {
            discloser: self.discloser,
            recipient: self.recipient,
            record_kind: self.record_kind,
            purpose: self.purpose,
            classification: self.classification,
            requested_fields: self.fields.as_deref(),
            at: self.at.unwrap_or(now),
            consent_withdrawn: self.consent_withdrawn,
        }
    }
}

fn need<T>(
    e: &mut Errors,
    pointer: &str,
    v: Option<&str>,
    f: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    match v {
        None => {
            e.add(pointer, "is required");
            None
        }
        Some(s) => e.take(pointer, f(s)),
    }
}

impl CheckIn {
    pub fn parse(self) -> Result<Check, AppError> {
        let mut e = Errors::new();
        let agency = |s: &str| {
            s.parse::<AgencyId>()
                .map_err(|_| "is not an agency id".to_owned())
        };
        let discloser = need(
            &mut e,
            "/discloser_agency_id",
            self.discloser_agency_id.as_deref(),
            agency,
        );
        let recipient = need(
            &mut e,
            "/recipient_agency_id",
            self.recipient_agency_id.as_deref(),
            agency,
        );
        let record_kind = need(
            &mut e,
            "/record_kind",
            self.record_kind.as_deref(),
            str::parse,
        );
        let purpose = need(&mut e, "/purpose", self.purpose.as_deref(), str::parse);
        let classification = need(
            &mut e,
            "/classification",
            self.classification.as_deref(),
            str::parse,
        );
        let at = self
            .at
            .as_deref()
            .and_then(|s| e.take("/at", parse_instant(s)));
        e.finish()?;
        let incomplete = || AppError::validation("", "invalid check");
        Ok(Check {
            discloser: discloser.ok_or_else(incomplete)?,
            recipient: recipient.ok_or_else(incomplete)?,
            record_kind: record_kind.ok_or_else(incomplete)?,
            purpose: purpose.ok_or_else(incomplete)?,
            classification: classification.ok_or_else(incomplete)?,
            fields: self.fields,
            at,
            consent_withdrawn: self.consent_withdrawn,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ReasonOut {
    pub code: &'static str,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct CandidateOut {
    pub agreement_id: String,
    pub agreement_version: i32,
    pub decision: &'static str,
    pub fields: Vec<String>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CheckOut {
    pub decision: &'static str,
    pub agreement_id: Option<String>,
    pub agreement_version: Option<i32>,
    pub fields: Vec<String>,
    pub retention_days: Option<i64>,
    pub lawful_basis: Option<LawfulBasis>,
    pub recipient_lawful_basis: Option<LawfulBasis>,
    pub reasons: Vec<String>,
    pub reason_details: Vec<ReasonOut>,
    /// The time the decision was made for.
    pub at: DateTime<Utc>,
    /// Every agreement version that was weighed, with its own outcome.
    pub candidates: Vec<CandidateOut>,
}

impl CheckOut {
    pub fn new(d: &PolicyDecision, candidates: &[CandidateOutcome], at: DateTime<Utc>) -> Self {
        let candidates = candidates
            .iter()
            .map(|c| match &c.outcome {
                Ok(p) => CandidateOut {
                    agreement_id: c.agreement.id.clone(),
                    agreement_version: c.agreement.version,
                    decision: "permit",
                    fields: p.fields.clone(),
                    reasons: Vec::new(),
                },
                Err(r) => CandidateOut {
                    agreement_id: c.agreement.id.clone(),
                    agreement_version: c.agreement.version,
                    decision: "deny",
                    fields: Vec::new(),
                    reasons: r.iter().map(ToString::to_string).collect(),
                },
            })
            .collect();
        match d {
            PolicyDecision::Permit(p) => CheckOut {
                decision: "permit",
                agreement_id: Some(p.agreement.id.clone()),
                agreement_version: Some(p.agreement.version),
                fields: p.fields.clone(),
                retention_days: Some(p.retention_days),
                lawful_basis: Some(p.lawful_basis.clone()),
                recipient_lawful_basis: Some(p.recipient_lawful_basis.clone()),
                reasons: Vec::new(),
                reason_details: Vec::new(),
                at,
                candidates,
            },
            PolicyDecision::Deny(r) => CheckOut {
                decision: "deny",
                agreement_id: None,
                agreement_version: None,
                fields: Vec::new(),
                retention_days: None,
                lawful_basis: None,
                recipient_lawful_basis: None,
                reasons: r.iter().map(ToString::to_string).collect(),
                reason_details: r
                    .iter()
                    .map(|x| ReasonOut {
                        code: x.code(),
                        detail: x.to_string(),
                    })
                    .collect(),
                at,
                candidates,
            },
        }
    }
}
