//! The routing plan (pure): given what planning loaded for a record (its statutory
//! recipients, the subscribers whose filters match, the agreement views between the
//! discloser and each candidate, and the policy epoch they were read at), the policy
//! function's decision for every candidate. Incidents and referrals share it; writing the
//! notifications, outbox rows, decisions and audit entries is the apply step's.
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{candidates, Candidate, Route};
use crate::domain::fields::RecordKind;
use crate::domain::ids::AgencyId;
use crate::domain::policy::{self, AgreementView, DisclosureRequest, PolicyDecision, Subject};
use crate::domain::sharing::{Classification, Purpose};

/// What a plan reads, loaded before the write.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The policy epoch these inputs were read at.
    pub epoch: i64,
    /// Statutory recipients for the record's area, statutory order.
    pub statutory: Vec<(AgencyId, Route)>,
    /// Agencies with an active subscription that wants the record (incidents).
    pub subscribers: Vec<AgencyId>,
    /// The agreements between the discloser and each candidate.
    pub views: HashMap<AgencyId, Vec<AgreementView>>,
}

impl Inputs {
    /// The candidates these inputs name, for loading their agreement views.
    pub fn candidates(&self, discloser: AgencyId) -> Vec<Candidate> {
        candidates(discloser, &self.statutory, &self.subscribers)
    }
}

/// The question put for every candidate of one record.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub discloser: AgencyId,
    pub record_kind: RecordKind,
    pub classification: Classification,
    /// The purpose each route discloses for.
    pub purpose: fn(Route) -> Purpose,
    /// Fields that never leave the hub for this record (Duty to Notify).
    pub withheld: &'a [&'a str],
    /// The people the record is about, for the basis of disclosing each.
    pub subjects: &'a [Subject],
    pub consent_withdrawn: bool,
    pub at: DateTime<Utc>,
}

/// One candidate's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub candidate: Candidate,
    pub purpose: Purpose,
    pub decision: PolicyDecision,
}

/// Every candidate's outcome, statutory recipients first, each agency once.
pub fn plan(ask: &Ask<'_>, inputs: &Inputs) -> Vec<Outcome> {
    inputs
        .candidates(ask.discloser)
        .into_iter()
        .map(|candidate| {
            let purpose = (ask.purpose)(candidate.route);
            let req = DisclosureRequest {
                discloser: ask.discloser,
                recipient: candidate.agency_id,
                record_kind: ask.record_kind,
                purpose,
                classification: ask.classification,
                requested_fields: None,
                at: ask.at,
                consent_withdrawn: ask.consent_withdrawn,
                withheld: ask.withheld,
                subjects: ask.subjects,
            };
            let views = inputs
                .views
                .get(&candidate.agency_id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            Outcome {
                decision: policy::decide(&req, views),
                candidate,
                purpose,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::DenyReason;

    fn ask(discloser: AgencyId) -> Ask<'static> {
        Ask {
            discloser,
            record_kind: RecordKind::Incident,
            classification: Classification::Official,
            purpose: |_| Purpose::Safeguarding,
            withheld: &[],
            subjects: &[],
            consent_withdrawn: false,
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_candidate_without_an_agreement_is_withheld_and_the_reporter_is_never_a_candidate() {
        let (police, mash, ngo) = (AgencyId::new(), AgencyId::new(), AgencyId::new());
        let inputs = Inputs {
            epoch: 3,
            statutory: vec![(mash, Route::Mash), (police, Route::Mash)],
            subscribers: vec![ngo],
            views: HashMap::new(),
        };
        let out = plan(&ask(police), &inputs);
        let who: Vec<(AgencyId, Route)> = out
            .iter()
            .map(|o| (o.candidate.agency_id, o.candidate.route))
            .collect();
        assert_eq!(who, vec![(mash, Route::Mash), (ngo, Route::Subscription)]);
        for o in &out {
            let expected = DenyReason::NoAgreement {
                discloser: police,
                recipient: o.candidate.agency_id,
            };
            match &o.decision {
                PolicyDecision::Deny(r) => assert!(r.contains(&expected), "{r:?}"),
                PolicyDecision::Permit(p) => unreachable!("no agreement, yet {p:?}"),
            }
        }
    }
}
