//! Who an overdue notification is escalated to: the lead agencies of the partnerships the
//! recipient has joined, where the lead has joined too (an invitation counts for neither).
use diesel::prelude::*;

use super::schema::{partnership_members as m, partnerships as p};
use super::DbConn;
use crate::domain::ids::AgencyId;
use crate::domain::partnership::MemberStatus;
use crate::error::AppError;

/// The lead agencies of every partnership `agency` is a member of, each a member itself
/// (not `agency` itself).
pub fn lead_agencies_of(conn: &mut DbConn, agency: AgencyId) -> Result<Vec<AgencyId>, AppError> {
    let member = MemberStatus::Member.as_str();
    let candidates: Vec<(String, String)> = p::table
        .inner_join(m::table)
        .filter(m::agency_id.eq(agency.to_string()))
        .filter(m::status.eq(member))
        .filter(p::lead_agency_id.is_not_null())
        .select((p::id, p::lead_agency_id.assume_not_null()))
        .load(conn)?;
    let mut leads = Vec::with_capacity(candidates.len());
    for (pid, lead) in candidates {
        let joined: i64 = m::table
            .filter(m::partnership_id.eq(&pid))
            .filter(m::agency_id.eq(&lead))
            .filter(m::status.eq(member))
            .count()
            .get_result(conn)?;
        if joined > 0 {
            leads.push(lead);
        }
    }
    leads.sort();
    leads.dedup();
    leads
        .iter()
        .map(|l| l.parse::<AgencyId>().map_err(AppError::internal))
        .filter(|l| l.as_ref().map(|l| *l != agency).unwrap_or(true))
        .collect()
}
