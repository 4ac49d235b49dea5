//! Who an overdue notification is escalated to: the lead agencies of the partnerships the
//! recipient is a member of.
use diesel::prelude::*;

use super::schema::{partnership_members as m, partnerships as p};
use super::DbConn;
use crate::domain::ids::AgencyId;
use crate::error::AppError;

/// The lead agencies of every partnership `agency` belongs to (not `agency` itself).
pub fn lead_agencies_of(conn: &mut DbConn, agency: AgencyId) -> Result<Vec<AgencyId>, AppError> {
    let mut leads: Vec<String> = p::table
        .inner_join(m::table)
        .filter(m::agency_id.eq(agency.to_string()))
        .filter(p::lead_agency_id.is_not_null())
        .select(p::lead_agency_id.assume_not_null())
        .load(conn)?;
    leads.sort();
    leads.dedup();
    leads
        .iter()
        .map(|l| l.parse::<AgencyId>().map_err(AppError::internal))
        .filter(|l| l.as_ref().map(|l| *l != agency).unwrap_or(true))
        .collect()
}
