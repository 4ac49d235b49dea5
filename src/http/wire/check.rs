//! `POST /agreements/check`: the policy function as a dry run, its request and its answer
//! (the decision, the permit's terms, every reason, and each candidate's own outcome).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::audit::LawfulBasis;
use crate::domain::ids::AgencyId;
pub use crate::domain::policy::check::Check;
use crate::domain::policy::{CandidateOutcome, PolicyDecision};

use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::http::wire::agreements::parse_instant;

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
