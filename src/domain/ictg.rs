//! ICTG monitoring (pure): every child referred to an independent child trafficking guardian
//! service (MSA 2015 s.48), from an incident (a child victim with `ictg_referral` that the
//! ICTG service was told of) or from a child's referral routed to it; when the child was
//! referred, when a guardian was allocated and as whom, where the NRM decision stands, and
//! whether the allocation is overdue (past `[ictg] allocation_working_days`).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::RecordKind;
use super::ids::AgencyId;
use super::referral_lifecycle::{IctgRole, Status};
use super::validate::Errors;
use crate::error::AppError;

/// One child: the record it came from and, for an incident, the victim's position in
/// `victims` (0 for a referral, which is about one person).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChildRef {
    pub record_kind: RecordKind,
    pub record_id: String,
    pub victim: u32,
}

/// A guardian's allocation as the ICTG service recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub child: ChildRef,
    pub ictg_agency_id: AgencyId,
    pub ictg_role: IctgRole,
    pub allocated_at: DateTime<Utc>,
    pub recorded_by_issuer: String,
    pub recorded_by_subject: String,
    pub recorded_at: DateTime<Utc>,
}

str_enum! {
    /// Where a child's allocation stands.
    pub enum AllocationState ("allocation state") {
        Allocated = "allocated",
        /// Not allocated yet, within the deadline.
        Awaiting = "awaiting_allocation",
        /// Not allocated and past the deadline.
        Overdue = "overdue",
    }
}

/// The state of an allocation due at `due` at `now`.
pub fn state(
    allocated_at: Option<DateTime<Utc>>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AllocationState {
    match allocated_at {
        Some(_) => AllocationState::Allocated,
        None if now > due => AllocationState::Overdue,
        None => AllocationState::Awaiting,
    }
}

/// One monitored child as the list shows it: ids, dates and states, never the child's
/// details. `nrm_status` is `null` with `nrm_status_withheld` where the reader's agreement
/// does not disclose it.
#[derive(Debug, Clone, Serialize)]
pub struct MonitoredChild {
    pub record_kind: RecordKind,
    pub record_id: String,
    /// The victim's position in the incident's `victims` (incidents only).
    pub victim: Option<u32>,
    pub discloser_agency_id: AgencyId,
    pub ictg_agency_id: AgencyId,
    pub area: String,
    pub referred_at: DateTime<Utc>,
    pub allocation_due_at: DateTime<Utc>,
    pub allocated_at: Option<DateTime<Utc>>,
    pub ictg_role: Option<IctgRole>,
    pub state: AllocationState,
    pub nrm_status: Option<String>,
    pub nrm_status_withheld: bool,
    pub escalated_at: Option<DateTime<Utc>>,
}

impl MonitoredChild {
    pub fn child(&self) -> ChildRef {
        ChildRef {
            record_kind: self.record_kind,
            record_id: self.record_id.clone(),
            victim: self.victim.unwrap_or(0),
        }
    }
}

/// Where a referral's NRM decision stands, from its statuses in order (the current last):
/// the latest NRM status it reached (`rg_pending` ... `cg_negative`, `withdrawn`), or
/// `not_submitted`.
pub fn referral_nrm_status(statuses: &[Status]) -> &'static str {
    statuses
        .iter()
        .rev()
        .find(|s| {
            matches!(
                s,
                Status::RgPending
                    | Status::RgPositive
                    | Status::RgNegative
                    | Status::RgReconsideration
                    | Status::CgPositive
                    | Status::CgNegative
                    | Status::CgReconsideration
                    | Status::Withdrawn
            )
        })
        .map(|s| s.as_str())
        .unwrap_or("not_submitted")
}

/// `POST /incidents/{id}/ictg-allocations` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    pub victim: Option<i64>,
    pub ictg_role: Option<String>,
    pub allocated_at: Option<String>,
}

/// A valid allocation request: the victim's position, the role, and when (default now).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAllocation {
    pub victim: u32,
    pub ictg_role: IctgRole,
    pub allocated_at: Option<DateTime<Utc>>,
}

impl AllocationInput {
    pub fn parse(&self) -> Result<NewAllocation, AppError> {
        let mut e = Errors::new();
        let victim = match self.victim {
            None => {
                e.add(
                    "/victim",
                    "is required (the victim's position in `victims`, from 0)",
                );
                None
            }
            Some(v) => e.take(
                "/victim",
                u32::try_from(v).map_err(|_| "must be 0 or more (a position in `victims`)"),
            ),
        };
        let role = match &self.ictg_role {
            None => {
                e.add(
                    "/ictg_role",
                    format!("is required: one of {}", IctgRole::names()),
                );
                None
            }
            Some(r) => e.take("/ictg_role", r.parse::<IctgRole>()),
        };
        let at = self.allocated_at.as_deref().and_then(|s| {
            e.take(
                "/allocated_at",
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| "must be an RFC 3339 date-time"),
            )
        });
        e.finish()?;
        match (victim, role) {
            (Some(victim), Some(ictg_role)) => Ok(NewAllocation {
                victim,
                ictg_role,
                allocated_at: at,
            }),
            _ => Err(AppError::validation("", "invalid allocation")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn an_allocation_is_overdue_only_past_its_deadline_and_unallocated() {
        let due: DateTime<Utc> = "2026-05-12T09:00:00Z".parse().unwrap();
        assert_eq!(state(None, due, due), AllocationState::Awaiting);
        assert_eq!(
            state(None, due, due + Duration::seconds(1)),
            AllocationState::Overdue
        );
        assert_eq!(
            state(Some(due), due, due + Duration::days(9)),
            AllocationState::Allocated
        );
    }

    #[test]
    fn a_referrals_nrm_status_is_the_last_it_reached() {
        use Status as S;
        assert_eq!(
            referral_nrm_status(&[S::Submitted, S::Accepted]),
            "not_submitted"
        );
        assert_eq!(
            referral_nrm_status(&[S::Submitted, S::RgPending, S::RgPositive, S::Closed]),
            "rg_positive"
        );
    }

    #[test]
    fn bad_allocations_name_their_fields() {
        let bad = AllocationInput {
            victim: Some(-1),
            ictg_role: Some("aunt".into()),
            allocated_at: Some("yesterday".into()),
        };
        let Err(AppError::Validation(errs)) = bad.parse() else {
            panic!("accepted")
        };
        let mut ptrs: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
        ptrs.sort();
        assert_eq!(ptrs, vec!["/allocated_at", "/ictg_role", "/victim"]);
    }
}
