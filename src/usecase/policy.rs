//! The policy function over the database: loads the agreements between two agencies and asks
//! `domain::policy`. Incidents, notifications and referrals call [`decide`] inside their own
//! transaction, so the decision and what they write about it are consistent.
use crate::domain::policy::{self, CandidateOutcome, DisclosureRequest, PolicyDecision};
use crate::error::AppError;
use crate::store::{agreements, DbConn};

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
