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
//! A permit also says, per person the record is about, on which basis they are disclosed;
//! an adult who declined, is not at risk and has no Schedule 8 condition recorded is
//! disclosed without identifying fields ([`basis`]).
//!
//! When several agreement versions permit, the one chosen is the one that came into effect
//! most recently (latest `effective_from`), then the higher version, then the lower agreement
//! id: the most recently agreed terms govern, deterministically. When none permits, the
//! decision carries every reason from every candidate version that was live at the time
//! (deduplicated, in a fixed order); [`evaluate`] gives them per candidate.
use chrono::{DateTime, Utc};

use super::agreement::{Agreement, AgreementVersion};
use super::audit::{AgreementRef, LawfulBasis};
use super::fields::{self, RecordKind};
use super::ids::AgencyId;
use super::partnership::TermsHistory;
use super::sharing::{Classification, PartyLawfulBasis, Purpose};

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
    /// Fields that never leave the hub for this record, whatever an agreement allows (a
    /// referral on the Duty to Notify pathway): a permit never names them, so its `fields`
    /// are final for the projection, the webhook and the audit entry alike.
    pub withheld: &'a [&'a str],
    /// The people the record is about (an incident's victims, in order): the permit says on
    /// which basis each is disclosed, and whose identifying fields are withheld.
    pub subjects: &'a [Subject],
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
    /// The basis for each of the request's subjects, in order (see [`basis`]).
    pub subjects: Box<[Basis]>,
}

/// The outcome for one live version of one candidate agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateOutcome {
    pub agreement: AgreementRef,
    pub outcome: Result<Permit, Vec<DenyReason>>,
}

/// What a request asks, worked out once per decision.
struct Asked {
    /// Reasons that hold whatever the agreement.
    reasons: Vec<DenyReason>,
    /// The requested fields that exist in the catalogue, as a bit mask of catalogue indexes
    /// (`None`: everything allowed).
    requested: Option<u64>,
}

fn bit(kind: RecordKind, path: &str) -> u64 {
    fields::index(kind, path).map_or(0, |i| 1u64 << i)
}

fn asked(req: &DisclosureRequest<'_>) -> Asked {
    let mut reasons = Vec::new();
    if req.discloser == req.recipient {
        reasons.push(DenyReason::SameAgency {
            agency: req.discloser,
        });
    }
    if req.consent_withdrawn {
        reasons.push(DenyReason::ConsentWithdrawn);
    }
    let mut requested = 0u64;
    for f in req.requested_fields.unwrap_or_default() {
        let b = bit(req.record_kind, f);
        if b != 0 {
            requested |= b;
        } else if fields::is_never_disclosed(req.record_kind, f) {
            reasons.push(DenyReason::FieldNeverDisclosed { field: f.clone() });
        } else {
            reasons.push(DenyReason::UnknownField {
                record_kind: req.record_kind,
                field: f.clone(),
            });
        }
    }
    Asked {
        reasons,
        requested: req.requested_fields.map(|_| requested),
    }
}

/// Judges one version of one agreement: what it grants, or every reason it does not permit.
fn judge(
    req: &DisclosureRequest<'_>,
    asked: &Asked,
    view: &AgreementView,
    v: &AgreementVersion,
) -> Result<Granted, Vec<DenyReason>> {
    let ag = &view.agreement;
    let at = req.at;
    let terms = &v.terms;
    let mut r = asked.reasons.clone();
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
    let kind = req.record_kind;
    let granted = match terms.allowed_fields(req.recipient, kind) {
        None => {
            r.push(DenyReason::NoDataItems {
                recipient: req.recipient,
                record_kind: kind,
            });
            0
        }
        Some(allowed) => {
            let allowed = allowed.iter().fold(0u64, |m, f| m | bit(kind, f));
            match asked.requested {
                None => allowed,
                Some(requested) => {
                    if requested & !allowed != 0 {
                        for f in req.requested_fields.unwrap_or_default() {
                            let b = bit(kind, f);
                            if b & requested & !allowed != 0 {
                                r.push(DenyReason::FieldNotAllowed { field: f.clone() });
                            }
                        }
                    }
                    requested & allowed
                }
            }
        }
    };
    match (r.is_empty(), discloser, recipient) {
        (true, Some(d), Some(rc)) => Ok(Granted {
            fields: granted,
            discloser: d.lawful_basis,
            recipient: rc.lawful_basis,
        }),
        _ => Err(r),
    }
}

/// What a version that permits grants: the fields as a catalogue bit mask and both parties'
/// lawful bases. Turned into a [`Permit`] only for the version chosen (or shown).
#[derive(Debug, Clone, Copy)]
struct Granted {
    fields: u64,
    discloser: PartyLawfulBasis,
    recipient: PartyLawfulBasis,
}

/// The permit of a version that passed [`judge`].
fn permit(
    req: &DisclosureRequest<'_>,
    view: &AgreementView,
    v: &AgreementVersion,
    g: Granted,
) -> Permit {
    Permit {
        agreement: AgreementRef {
            id: view.agreement.id.to_string(),
            version: v.version,
        },
        fields: fields::fields(req.record_kind)
            .iter()
            .enumerate()
            .filter(|(i, f)| g.fields & (1u64 << i) != 0 && !req.withheld.contains(f))
            .map(|(_, f)| (*f).to_owned())
            .collect(),
        retention_days: v.terms.retention_days,
        lawful_basis: g.discloser.to_audit(),
        recipient_lawful_basis: g.recipient.to_audit(),
        subjects: req.subjects.iter().map(Basis::of).collect(),
    }
}

type Judged<'a> = (
    &'a AgreementView,
    &'a AgreementVersion,
    Result<Granted, Vec<DenyReason>>,
);

fn judge_all<'a>(
    req: &DisclosureRequest<'_>,
    asked: &Asked,
    candidates: &'a [AgreementView],
) -> Vec<Judged<'a>> {
    let mut views: Vec<&AgreementView> = candidates
        .iter()
        .filter(|c| c.agreement.involves(req.discloser) && c.agreement.involves(req.recipient))
        .collect();
    views.sort_by_key(|c| c.agreement.id);
    let mut out = Vec::new();
    for view in views {
        for v in view.agreement.live_versions(req.at) {
            out.push((view, v, judge(req, asked, view, v)));
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
    judge_all(req, &asked(req), candidates)
        .into_iter()
        .map(|(view, v, outcome)| CandidateOutcome {
            agreement: AgreementRef {
                id: view.agreement.id.to_string(),
                version: v.version,
            },
            outcome: outcome.map(|granted| permit(req, view, v, granted)),
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
    let asked = asked(req);
    let judged = judge_all(req, &asked, candidates);
    // Latest effective_from, then higher version, then lower agreement id.
    let best = judged
        .iter()
        .filter_map(|(view, v, o)| o.as_ref().ok().map(|p| (view, v, p)))
        .max_by(|(va, a, _), (vb, b, _)| {
            (a.terms.effective_from, a.version)
                .cmp(&(b.terms.effective_from, b.version))
                .then_with(|| vb.agreement.id.cmp(&va.agreement.id))
        });
    if let Some((view, v, granted)) = best {
        return PolicyDecision::Permit(permit(req, view, v, *granted));
    }
    let mut reasons = asked.reasons;
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

pub mod basis;
pub mod check;
mod reason;

pub use basis::{Basis, Schedule8Condition, Subject};
pub use reason::DenyReason;

#[cfg(test)]
mod tests;
