//! The policy function: the only place in the hub that answers "may agency A disclose a
//! record of kind K and classification C to agency B for purpose P now, and which fields?".
//! Incidents, notifications, referrals and reads all call [`decide`]; `POST /agreements/check`
//! runs it as a dry run.
//!
//! A version of an agreement permits a disclosure when, at the time asked about: the
//! agreement is not terminated or suspended, the version is not superseded, both agencies
//! are parties (the discloser as `discloser` or `both`, the recipient as `recipient` or
//! `both`), every party has signed, the version is in date, every party has accepted the
//! partnership's current terms of reference, the classification is at most the version's
//! maximum, the purpose is covered, the agreement names data items for the recipient and
//! record kind, every requested field is among them, and the victim has not withdrawn consent.
//!
//! When several agreement versions permit, the one chosen is the one that came into effect
//! most recently (latest `effective_from`), then the higher version, then the lower agreement
//! id: the most recently agreed terms govern, deterministically. When none permits, the
//! decision carries every reason from every candidate version that was live at the time
//! (deduplicated, in a fixed order); [`evaluate`] gives them per candidate.
use std::fmt;

use chrono::{DateTime, Timelike, Utc};

use super::agreement::{Agreement, AgreementVersion};
use super::audit::{AgreementRef, LawfulBasis};
use super::fields::{self, RecordKind};
use super::ids::AgencyId;
use super::partnership::TermsHistory;
use super::sharing::{Classification, Purpose};

/// The question.
#[derive(Debug, Clone)]
pub struct DisclosureRequest<'a> {
    pub discloser: AgencyId,
    pub recipient: AgencyId,
    pub record_kind: RecordKind,
    pub purpose: Purpose,
    pub classification: Classification,
    /// The fields to disclose; `None` asks for everything the agreement allows.
    pub requested_fields: Option<&'a [String]>,
    pub at: DateTime<Utc>,
    /// The victim withdrew consent to sharing (referrals, incidents).
    pub consent_withdrawn: bool,
}

/// Everything the function needs about one agreement between the parties: all its versions,
/// signatures, suspensions and termination, and its partnership's terms of reference history.
#[derive(Debug, Clone)]
pub struct AgreementView {
    pub agreement: Agreement,
    pub terms: TermsHistory,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyDecision {
    Permit(Permit),
    Deny(Vec<DenyReason>),
}

impl PolicyDecision {
    pub fn is_permit(&self) -> bool {
        matches!(self, PolicyDecision::Permit(_))
    }

    /// The reasons as text (empty for a permit).
    pub fn reasons(&self) -> Vec<String> {
        match self {
            PolicyDecision::Permit(_) => Vec::new(),
            PolicyDecision::Deny(r) => r.iter().map(ToString::to_string).collect(),
        }
    }
}

/// What a permit allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// The agreement and version the disclosure is made under.
    pub agreement: AgreementRef,
    /// The fields that may be disclosed (the requested ones, or all allowed), catalogue order.
    pub fields: Vec<String>,
    /// How long the recipient may keep what it receives.
    pub retention_days: i64,
    /// The discloser's lawful basis under the agreement.
    pub lawful_basis: LawfulBasis,
    pub recipient_lawful_basis: LawfulBasis,
}

/// Why a disclosure is not permitted. `Display` is the sentence shown to people; [`code`]
/// is stable for machines.
///
/// [`code`]: DenyReason::code
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The discloser and recipient are the same agency: that is not a disclosure.
    SameAgency {
        agency: AgencyId,
    },
    NoAgreement {
        discloser: AgencyId,
        recipient: AgencyId,
    },
    /// A newer version dropped the agency from the agreement.
    NotAParty {
        agency: AgencyId,
    },
    /// The discloser is only a recipient under the agreement.
    NotADiscloser {
        agency: AgencyId,
    },
    /// The recipient is only a discloser under the agreement.
    NotARecipient {
        agency: AgencyId,
    },
    NotSigned {
        agency: AgencyId,
    },
    NotYetEffective {
        from: DateTime<Utc>,
    },
    Expired {
        on: DateTime<Utc>,
    },
    Suspended {
        reason: String,
    },
    Terminated {
        reason: String,
    },
    /// The partnership has published no terms of reference.
    NoTermsOfReference,
    TermsNotAccepted {
        version: i32,
        agency: AgencyId,
    },
    ClassificationAboveMaximum {
        classification: Classification,
        maximum: Classification,
    },
    PurposeNotCovered {
        purpose: Purpose,
    },
    /// The agreement names no fields of this record kind for the recipient.
    NoDataItems {
        recipient: AgencyId,
        record_kind: RecordKind,
    },
    FieldNotAllowed {
        field: String,
    },
    /// The field is not in the record schema at all.
    UnknownField {
        record_kind: RecordKind,
        field: String,
    },
    /// The field may never be disclosed (a victim's safe address).
    FieldNeverDisclosed {
        field: String,
    },
    ConsentWithdrawn,
}

impl DenyReason {
    /// Every code [`DenyReason::code`] can return.
    pub const CODES: [&'static str; 19] = [
        "same_agency",
        "no_agreement",
        "not_a_party",
        "not_a_discloser",
        "not_a_recipient",
        "not_signed",
        "not_yet_effective",
        "expired",
        "suspended",
        "terminated",
        "no_terms_of_reference",
        "terms_not_accepted",
        "classification_above_maximum",
        "purpose_not_covered",
        "no_data_items",
        "field_not_allowed",
        "unknown_field",
        "field_never_disclosed",
        "consent_withdrawn",
    ];

    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::SameAgency { .. } => "same_agency",
            DenyReason::NoAgreement { .. } => "no_agreement",
            DenyReason::NotAParty { .. } => "not_a_party",
            DenyReason::NotADiscloser { .. } => "not_a_discloser",
            DenyReason::NotARecipient { .. } => "not_a_recipient",
            DenyReason::NotSigned { .. } => "not_signed",
            DenyReason::NotYetEffective { .. } => "not_yet_effective",
            DenyReason::Expired { .. } => "expired",
            DenyReason::Suspended { .. } => "suspended",
            DenyReason::Terminated { .. } => "terminated",
            DenyReason::NoTermsOfReference => "no_terms_of_reference",
            DenyReason::TermsNotAccepted { .. } => "terms_not_accepted",
            DenyReason::ClassificationAboveMaximum { .. } => "classification_above_maximum",
            DenyReason::PurposeNotCovered { .. } => "purpose_not_covered",
            DenyReason::NoDataItems { .. } => "no_data_items",
            DenyReason::FieldNotAllowed { .. } => "field_not_allowed",
            DenyReason::UnknownField { .. } => "unknown_field",
            DenyReason::FieldNeverDisclosed { .. } => "field_never_disclosed",
            DenyReason::ConsentWithdrawn => "consent_withdrawn",
        }
    }
}

/// A date when the instant is midnight UTC, else the full RFC 3339 time.
fn when(t: &DateTime<Utc>) -> String {
    if t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::SameAgency { agency } => {
                write!(f, "discloser and recipient are the same agency {agency}")
            }
            DenyReason::NoAgreement {
                discloser,
                recipient,
            } => {
                write!(
                    f,
                    "no agreement between agency {discloser} and agency {recipient}"
                )
            }
            DenyReason::NotAParty { agency } => {
                write!(f, "agency {agency} is not a party to the agreement")
            }
            DenyReason::NotADiscloser { agency } => {
                write!(f, "agency {agency} is not a discloser under the agreement")
            }
            DenyReason::NotARecipient { agency } => {
                write!(f, "agency {agency} is not a recipient under the agreement")
            }
            DenyReason::NotSigned { agency } => write!(f, "not signed by agency {agency}"),
            DenyReason::NotYetEffective { from } => write!(f, "not in effect until {}", when(from)),
            DenyReason::Expired { on } => write!(f, "expired on {}", when(on)),
            DenyReason::Suspended { reason } => write!(f, "suspended: {reason}"),
            DenyReason::Terminated { reason } => write!(f, "terminated: {reason}"),
            DenyReason::NoTermsOfReference => {
                write!(f, "the partnership has no terms of reference")
            }
            DenyReason::TermsNotAccepted { version, agency } => {
                write!(
                    f,
                    "terms of reference version {version} not accepted by agency {agency}"
                )
            }
            DenyReason::ClassificationAboveMaximum {
                classification,
                maximum,
            } => {
                write!(
                    f,
                    "classification {classification} above the maximum {maximum}"
                )
            }
            DenyReason::PurposeNotCovered { purpose } => {
                write!(f, "purpose {purpose} not covered")
            }
            DenyReason::NoDataItems {
                recipient,
                record_kind,
            } => {
                write!(
                    f,
                    "no {record_kind} fields are allowed for agency {recipient}"
                )
            }
            DenyReason::FieldNotAllowed { field } => {
                write!(f, "field {field} not allowed for this recipient")
            }
            DenyReason::UnknownField { record_kind, field } => {
                write!(f, "field {field} does not exist in {record_kind} records")
            }
            DenyReason::FieldNeverDisclosed { field } => {
                write!(f, "field {field} is never disclosed")
            }
            DenyReason::ConsentWithdrawn => write!(f, "consent withdrawn"),
        }
    }
}

/// The outcome for one live version of one candidate agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateOutcome {
    pub agreement: AgreementRef,
    pub outcome: Result<Permit, Vec<DenyReason>>,
}

/// Reasons that hold whatever the agreement.
fn request_reasons(req: &DisclosureRequest<'_>) -> Vec<DenyReason> {
    let mut out = Vec::new();
    if req.discloser == req.recipient {
        out.push(DenyReason::SameAgency {
            agency: req.discloser,
        });
    }
    if req.consent_withdrawn {
        out.push(DenyReason::ConsentWithdrawn);
    }
    for f in req.requested_fields.unwrap_or_default() {
        if fields::is_never_disclosed(req.record_kind, f) {
            out.push(DenyReason::FieldNeverDisclosed { field: f.clone() });
        } else if !fields::is_known(req.record_kind, f) {
            out.push(DenyReason::UnknownField {
                record_kind: req.record_kind,
                field: f.clone(),
            });
        }
    }
    out
}

/// Judges one version of one agreement.
fn judge(
    req: &DisclosureRequest<'_>,
    view: &AgreementView,
    v: &AgreementVersion,
) -> Result<Permit, Vec<DenyReason>> {
    let ag = &view.agreement;
    let at = req.at;
    let terms = &v.terms;
    let mut r = request_reasons(req);
    if let Some(t) = ag.terminated(at) {
        r.push(DenyReason::Terminated {
            reason: t.reason.clone(),
        });
    }
    if let Some(s) = ag.suspended(at) {
        r.push(DenyReason::Suspended {
            reason: s.reason.clone(),
        });
    }
    let discloser = terms.party(req.discloser);
    let recipient = terms.party(req.recipient);
    match discloser {
        None => r.push(DenyReason::NotAParty {
            agency: req.discloser,
        }),
        Some(p) if !p.role.discloses() => r.push(DenyReason::NotADiscloser {
            agency: req.discloser,
        }),
        Some(_) => {}
    }
    match recipient {
        None => r.push(DenyReason::NotAParty {
            agency: req.recipient,
        }),
        Some(p) if !p.role.receives() => r.push(DenyReason::NotARecipient {
            agency: req.recipient,
        }),
        Some(_) => {}
    }
    for p in &terms.parties {
        if !v.signed_by(p.agency_id, at) {
            r.push(DenyReason::NotSigned {
                agency: p.agency_id,
            });
        }
    }
    if at < terms.effective_from {
        r.push(DenyReason::NotYetEffective {
            from: terms.effective_from,
        });
    }
    if at >= terms.expires_at {
        r.push(DenyReason::Expired {
            on: terms.expires_at,
        });
    }
    match view.terms.current(at) {
        None => r.push(DenyReason::NoTermsOfReference),
        Some(n) => {
            for p in &terms.parties {
                if !view.terms.accepted(n, p.agency_id, at) {
                    r.push(DenyReason::TermsNotAccepted {
                        version: n,
                        agency: p.agency_id,
                    });
                }
            }
        }
    }
    if req.classification > terms.max_classification {
        r.push(DenyReason::ClassificationAboveMaximum {
            classification: req.classification,
            maximum: terms.max_classification,
        });
    }
    if !terms.purposes.contains(&req.purpose) {
        r.push(DenyReason::PurposeNotCovered {
            purpose: req.purpose,
        });
    }
    let allowed = terms.allowed_fields(req.recipient, req.record_kind);
    let granted: Vec<String> = match (allowed, req.requested_fields) {
        (None, _) => {
            r.push(DenyReason::NoDataItems {
                recipient: req.recipient,
                record_kind: req.record_kind,
            });
            Vec::new()
        }
        (Some(allowed), None) => fields::fields(req.record_kind)
            .iter()
            .filter(|f| allowed.iter().any(|a| a == *f))
            .map(|f| (*f).to_owned())
            .collect(),
        (Some(allowed), Some(requested)) => {
            for f in requested {
                let known = fields::is_known(req.record_kind, f);
                if known && !allowed.contains(f) {
                    r.push(DenyReason::FieldNotAllowed { field: f.clone() });
                }
            }
            fields::fields(req.record_kind)
                .iter()
                .filter(|f| requested.iter().any(|q| q == *f) && allowed.iter().any(|a| a == *f))
                .map(|f| (*f).to_owned())
                .collect()
        }
    };
    match (r.is_empty(), discloser, recipient) {
        (true, Some(d), Some(rc)) => Ok(Permit {
            agreement: AgreementRef {
                id: ag.id.to_string(),
                version: v.version,
            },
            fields: granted,
            retention_days: terms.retention_days,
            lawful_basis: d.lawful_basis.to_audit(),
            recipient_lawful_basis: rc.lawful_basis.to_audit(),
        }),
        _ => Err(r),
    }
}

type Judged<'a> = (
    &'a AgreementView,
    &'a AgreementVersion,
    Result<Permit, Vec<DenyReason>>,
);

fn judge_all<'a>(req: &DisclosureRequest<'_>, candidates: &'a [AgreementView]) -> Vec<Judged<'a>> {
    let mut views: Vec<&AgreementView> = candidates
        .iter()
        .filter(|c| c.agreement.involves(req.discloser) && c.agreement.involves(req.recipient))
        .collect();
    views.sort_by_key(|c| c.agreement.id);
    let mut out = Vec::new();
    for view in views {
        for v in view.agreement.live_versions(req.at) {
            out.push((view, v, judge(req, view, v)));
        }
    }
    out
}

/// The outcome for every live version (at the time asked about) of every candidate agreement
/// that involves both agencies, ordered by agreement id then version.
pub fn evaluate(
    req: &DisclosureRequest<'_>,
    candidates: &[AgreementView],
) -> Vec<CandidateOutcome> {
    judge_all(req, candidates)
        .into_iter()
        .map(|(view, v, outcome)| CandidateOutcome {
            agreement: AgreementRef {
                id: view.agreement.id.to_string(),
                version: v.version,
            },
            outcome,
        })
        .collect()
}

/// The decision (see the module documentation for how one permit is chosen).
pub fn decide(req: &DisclosureRequest<'_>, candidates: &[AgreementView]) -> PolicyDecision {
    if req.discloser == req.recipient {
        return PolicyDecision::Deny(vec![DenyReason::SameAgency {
            agency: req.discloser,
        }]);
    }
    let judged = judge_all(req, candidates);
    // Latest effective_from, then higher version, then lower agreement id.
    let best = judged
        .iter()
        .filter_map(|(view, v, o)| o.as_ref().ok().map(|p| (view, v, p)))
        .max_by(|(va, a, _), (vb, b, _)| {
            (a.terms.effective_from, a.version)
                .cmp(&(b.terms.effective_from, b.version))
                .then_with(|| vb.agreement.id.cmp(&va.agreement.id))
        });
    if let Some((_, _, permit)) = best {
        return PolicyDecision::Permit(permit.clone());
    }
    let mut reasons = request_reasons(req);
    if judged.is_empty() {
        reasons.push(DenyReason::NoAgreement {
            discloser: req.discloser,
            recipient: req.recipient,
        });
    }
    for (_, _, o) in judged {
        if let Err(rs) = o {
            for r in rs {
                if !reasons.contains(&r) {
                    reasons.push(r);
                }
            }
        }
    }
    PolicyDecision::Deny(reasons)
}

#[cfg(test)]
mod tests;
