//! ICTG monitoring: every child referred to an ICTG service, from incidents (a child victim
//! with `ictg_referral`, routed to the service) and from children's referrals (routed to it):
//! when referred (the service's first notification), the allocation deadline
//! (`[ictg] allocation_working_days` on the referrals' calendar), when a guardian was
//! allocated and as whom (`POST /incidents/{id}/ictg-allocations`, or a referral's
//! `ictg_allocated` event) and where the NRM decision stands. The list is for the agencies
//! that hold or were told of the child: the discloser, the ICTG service and the children's
//! safeguarding partnership; the NRM status shows only where the reader's routing decision
//! disclosed it. The hub's deadline check escalates each overdue allocation once, through
//! the outbox, to the ICTG service and the children's partnership.
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ictg::{Allocation, AllocationState, ChildRef, MonitoredChild, NewAllocation};
use crate::domain::ids::{AgencyId, IncidentId};
use crate::domain::msht::EventType;
use crate::domain::referral_lifecycle::EventKind;
use crate::domain::working_days::Calendar;
use crate::error::AppError;
use crate::service::store::ictg::Window;
use crate::service::store::{ictg, incidents, referrals, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Keyed, Response};
use crate::usecase::{notify, refusal};

mod walk;

use walk::{all_children, Found};

const ICTG: &str = "ictg";
const CHILDREN: &str = "children_partnership";

/// How allocations fall due.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub calendar: Calendar,
    pub working_days: u32,
}

impl Deadline {
    pub fn of(hub: &Hub) -> Deadline {
        let s = hub.settings();
        Deadline {
            calendar: s.referrals.calendar(),
            working_days: s.ictg.allocation_working_days,
        }
    }

    pub(super) fn due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add_working_days(from, self.working_days)
    }

    /// The latest referral that can be due by `now`: a child referred after it is not.
    pub(super) fn referred_by(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.latest_start_due_by(now, self.working_days)
    }
}

/// The field that discloses a child's NRM status for a record kind.
fn nrm_field(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Incident => "victims[].nrm_status",
        RecordKind::Referral => "status",
    }
}

/// What `reader` may see of `f`: its own records in full, a record it was told of with the
/// NRM status only where its routing decision disclosed it; nothing otherwise.
fn as_seen_by(f: Found, reader: AgencyId) -> Option<MonitoredChild> {
    let mut c = f.child;
    if c.discloser_agency_id == reader {
        return Some(c);
    }
    let fields = f.told.get(&reader)?;
    if !fields.iter().any(|x| x == nrm_field(c.record_kind)) {
        c.nrm_status = None;
        c.nrm_status_withheld = true;
    }
    Some(c)
}

/// A list filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<AllocationState>,
    pub record_kind: Option<RecordKind>,
}

/// The position of a child in the list (its cursor).
pub fn position(c: &MonitoredChild) -> String {
    format!(
        "{}:{}:{:010}",
        c.record_kind,
        c.record_id,
        c.victim.unwrap_or(0)
    )
}

/// The children `agency` holds or was told of, in position order after `after`, at most
/// `limit + 1` (the extra one says there is more).
pub async fn list(
    hub: &Hub,
    agency: AgencyId,
    filter: Filter,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<MonitoredChild>, AppError> {
    let now = hub.now();
    let d = Deadline::of(hub);
    hub.snapshot(move |c| {
        let mut out: Vec<MonitoredChild> = all_children(c, &d, now, Some(agency), None, &|_| true)?
            .into_iter()
            .filter_map(|f| as_seen_by(f, agency))
            .filter(|c| filter.state.is_none_or(|s| c.state == s))
            .filter(|c| filter.record_kind.is_none_or(|k| c.record_kind == k))
            .filter(|c| after.as_ref().is_none_or(|a| position(c) > *a))
            .collect();
        out.sort_by_key(position);
        out.truncate(usize::try_from(limit + 1).unwrap_or(1));
        Ok(out)
    })
    .await
}

/// The first half of the hub's deadline check, read-only: every child whose allocation is
/// overdue at `now` and not yet escalated.
pub fn overdue_allocations(
    conn: &mut DbConn,
    d: &Deadline,
    now: DateTime<Utc>,
) -> Result<Vec<Found>, AppError> {
    // Only the children still to escalate are kept, so the walk holds little whatever the
    // number of records monitored.
    all_children(conn, d, now, None, Some(d.referred_by(now)), &|c| {
        c.state == AllocationState::Overdue && c.escalated_at.is_none()
    })
}

/// Whether a guardian has been allocated to `c` since it was found overdue.
fn allocated_since(conn: &mut DbConn, c: &MonitoredChild) -> Result<bool, AppError> {
    let id = std::slice::from_ref(&c.record_id);
    Ok(match c.record_kind {
        RecordKind::Incident => {
            let key = c.child();
            ictg::allocations_of(conn, id)?
                .iter()
                .any(|a| a.child == key)
        }
        RecordKind::Referral => referrals::events(conn, &c.record_id)?
            .iter()
            .any(|e| e.kind == EventKind::IctgAllocated),
    })
}

/// Escalates the overdue children [`overdue_allocations`] found (on a reader, so the
/// writer never walks every monitored record): each one still unallocated and not yet
/// escalated is escalated once, through the outbox, to the ICTG service and each children's
/// partnership told of the record, with a governance entry.
pub fn escalate_overdue_allocations(
    conn: &mut DbConn,
    due: &[Found],
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut entries = Vec::new();
    for f in due {
        let c = &f.child;
        if allocated_since(conn, c)? {
            continue;
        }
        if !ictg::mark_escalated(conn, &c.child(), c.ictg_agency_id, c.allocation_due_at, now)? {
            continue;
        }
        let mut to = vec![c.ictg_agency_id];
        to.extend(f.children.iter().copied());
        to.sort();
        to.dedup();
        let id_key = match c.record_kind {
            RecordKind::Incident => "incident_id",
            RecordKind::Referral => "referral_id",
        };
        for a in &to {
            let mut data = json!({
                "deadline": "ictg_allocation",
                "record_kind": c.record_kind,
                "due_at": c.allocation_due_at,
                "overdue_agency_id": c.ictg_agency_id.to_string(),
            });
            if let Value::Object(m) = &mut data {
                m.insert(id_key.into(), Value::from(c.record_id.clone()));
                if let Some(v) = c.victim {
                    m.insert("victim".into(), Value::from(v));
                }
            }
            notify::enqueue(
                conn,
                *a,
                EventType::NotificationOverdue,
                data,
                &f.classification,
                now,
            )?;
        }
        entries.push(
            NewEntry::new(Operation::Governance, Actor::system(), now)
                .record(c.record_kind.as_str(), &c.record_id)
                .recipients(to.clone())
                .concerns(vec![c.ictg_agency_id])
                .justification(format!(
                    "no ICTG guardian allocated (due {}); escalated to the ICTG service and {} \
                     children's partnership agenc{}",
                    c.allocation_due_at.to_rfc3339(),
                    f.children.len(),
                    if f.children.len() == 1 { "y" } else { "ies" }
                )),
        );
    }
    if !entries.is_empty() {
        audit::append_all(conn, &entries)?;
    }
    Ok(entries.len())
}

/// The answer to a recorded allocation.
fn answer(a: &Allocation) -> Value {
    json!({
        "record_kind": a.child.record_kind,
        "record_id": a.child.record_id,
        "victim": a.child.victim,
        "ictg_agency_id": a.ictg_agency_id.to_string(),
        "ictg_role": a.ictg_role,
        "allocated_at": a.allocated_at,
        "recorded_at": a.recorded_at,
    })
}

/// `POST /incidents/{id}/ictg-allocations`: the ICTG service an incident was routed to
/// records the guardian allocated to one of its child victims referred to it. Once per
/// child (a second is a 409); honours `Idempotency-Key`; a collection in the audit log.
pub async fn allocate(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: IncidentId,
    new: NewAllocation,
    request: Keyed,
) -> Result<Response, AppError> {
    let now = hub.now();
    let id = id.to_string();
    let scope = format!("POST /incidents/{id}/ictg-allocations");
    hub.write(move |c| {
        idempotency::run(c, &agency.into(), request.key.as_deref(), &scope, &request.body, now, |c| {
            let Some(reporter) = incidents::reporter_for_recipient(c, &id, agency)? else {
                return Err(refusal::not_found(&actor, "incident", &id, now));
            };
            let routed = ictg::routed(c, RecordKind::Incident, ICTG, Some(agency), Some(std::slice::from_ref(&id)), &Window::default())?;
            if routed.is_empty() {
                return Err(refusal::forbidden(
                    &actor,
                    "incident",
                    &id,
                    now,
                    "only the ICTG service the incident was routed to records a guardian's allocation",
                ));
            }
            let Some(s) = incidents::get(c, reporter, &id)? else {
                return Err(refusal::not_found(&actor, "incident", &id, now));
            };
            let x = &s.incident;
            let index = usize::try_from(new.victim).map_err(AppError::internal)?;
            let Some(v) = x.victims.get(index) else {
                return Err(AppError::validation(
                    "/victim",
                    format!("the incident has {} victim(s), numbered from 0", x.victims.len()),
                ));
            };
            if v.ictg_referral != Some(true) || !v.is_child(x.reported_at) {
                return Err(AppError::validation(
                    "/victim",
                    "this victim was not referred to the ICTG service (a child with `ictg_referral`)",
                ));
            }
            let referred_at = ictg::first_notified_at(c, agency, &id)?
                .or(routed.first().map(|r| r.decided_at))
                .unwrap_or(now);
            let allocated_at = new.allocated_at.unwrap_or(now);
            if allocated_at > now {
                return Err(AppError::validation("/allocated_at", "must not be in the future"));
            }
            if allocated_at < referred_at {
                return Err(AppError::validation(
                    "/allocated_at",
                    format!(
                        "must not be before the child was referred ({})",
                        referred_at.to_rfc3339()
                    ),
                ));
            }
            let a = Allocation {
                child: ChildRef {
                    record_kind: RecordKind::Incident,
                    record_id: id.clone(),
                    victim: new.victim,
                },
                ictg_agency_id: agency,
                ictg_role: new.ictg_role,
                allocated_at,
                recorded_by_issuer: actor.issuer.clone(),
                recorded_by_subject: actor.subject.clone(),
                recorded_at: now,
            };
            if !ictg::insert_allocation(c, &a)? {
                return Err(AppError::conflict(
                    "a guardian is already allocated to this child",
                ));
            }
            audit::append(
                c,
                &NewEntry::new(Operation::Collection, actor.clone(), now)
                    .record("incident", &id)
                    .purpose("safeguarding")
                    .justification(format!(
                        "ICTG guardian allocated to victim {} as {}",
                        new.victim, new.ictg_role
                    ))
                    .data_items(vec!["ictg_allocation".to_owned()])
                    .concerns(vec![reporter]),
            )?;
            Ok((201, answer(&a)))
        })
    })
    .await
}
