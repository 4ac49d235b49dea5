//! The policy function over the database: loads the agreements between two agencies and asks
//! `domain::policy`. Incidents, notifications and referrals call [`decide`] inside their own
//! transaction, so the decision and what they write about it are consistent.
use crate::domain::audit::Actor;
use crate::domain::policy::check::Check;
use crate::domain::policy::{self, CandidateOutcome, DisclosureRequest, PolicyDecision};
use crate::domain::role::Role;
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, agreements, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::refusal;

/// May `req.discloser` disclose to `req.recipient` now, and which fields?
pub fn decide(conn: &mut DbConn, req: &DisclosureRequest<'_>) -> Result<PolicyDecision, AppError> {
    if req.discloser == req.recipient {
        return Ok(policy::decide(req, &[]));
    }
    let views = agreements::views_between(conn, req.discloser, req.recipient)?;
    Ok(policy::decide(req, &views))
}

/// The decision and the outcome for every candidate agreement version (the dry run).
pub fn explain(
    conn: &mut DbConn,
    req: &DisclosureRequest<'_>,
) -> Result<(PolicyDecision, Vec<CandidateOutcome>), AppError> {
    if req.discloser == req.recipient {
        return Ok((policy::decide(req, &[]), Vec::new()));
    }
    let views = agreements::views_between(conn, req.discloser, req.recipient)?;
    Ok((policy::decide(req, &views), policy::evaluate(req, &views)))
}

/// `POST /agreements/check`: the dry run for an IG officer of one of the two agencies (or the
/// hub operator or auditor); anyone else is a logged 403.
pub async fn check(
    hub: &Hub,
    actor: Principal,
    check: Check,
) -> Result<(PolicyDecision, Vec<CandidateOutcome>), AppError> {
    let now = hub.now();
    hub.read(move |c| {
        let hub_role = actor.has_any(&[Role::HubAdmin, Role::HubAuditor]);
        let own = actor.acts_for(check.discloser) || actor.acts_for(check.recipient);
        if !(hub_role || own) {
            return Err(refusal::forbidden(
                &Actor::from(&actor),
                "disclosure_check",
                format!("{}->{}", check.discloser, check.recipient),
                now,
                "an IG officer checks disclosures from or to their own agency",
            ));
        }
        let mut e = Errors::new();
        if agencies::get(c, check.discloser)?.is_none() {
            e.add("/discloser_agency_id", "no such agency");
        }
        if agencies::get(c, check.recipient)?.is_none() {
            e.add("/recipient_agency_id", "no such agency");
        }
        e.finish()?;
        explain(c, &check.request(now))
    })
    .await
}
