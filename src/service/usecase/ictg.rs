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
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ictg::{
    referral_nrm_status, state, Allocation, AllocationState, ChildRef, MonitoredChild,
    NewAllocation,
};
use crate::domain::ids::{AgencyId, IncidentId};
use crate::domain::incident::NrmStatus;
use crate::domain::msht::EventType;
use crate::domain::referral_lifecycle::EventKind;
use crate::domain::working_days::Calendar;
use crate::error::AppError;
use crate::service::store::ictg::Window;
use crate::service::store::{ictg, incidents, referrals, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Keyed, Response};
use crate::usecase::{notify, refusal};

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

    fn due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add_working_days(from, self.working_days)
    }

    /// The latest referral that can be due by `now`: a child referred after it is not.
    fn referred_by(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.latest_start_due_by(now, self.working_days)
    }
}

/// One monitored child with who else was told of it and the record's marking.
pub struct Found {
    child: MonitoredChild,
    /// The children's safeguarding partnership agencies told of the record.
    children: Vec<AgencyId>,
    /// The fields the reader's own routing decision disclosed, per agency told of the record.
    told: BTreeMap<AgencyId, Vec<String>>,
    classification: String,
}

fn told_of(rows: &[ictg::Routed]) -> BTreeMap<String, BTreeMap<AgencyId, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<AgencyId, Vec<String>>> = BTreeMap::new();
    for r in rows {
        out.entry(r.record_id.clone())
            .or_default()
            .insert(r.agency_id, r.fields.clone());
    }
    out
}

/// Keeps the routed rows of records `reader` may see (all without a reader): those routed to
/// it, told to it as the children's partnership, or its own.
fn relevant(
    conn: &mut DbConn,
    kind: RecordKind,
    routed: Vec<ictg::Routed>,
    reader: Option<AgencyId>,
) -> Result<Vec<ictg::Routed>, AppError> {
    let Some(reader) = reader else {
        return Ok(routed);
    };
    let ids: Vec<String> = routed.iter().map(|r| r.record_id.clone()).collect();
    let mut keep: BTreeSet<String> = ictg::own_among(conn, kind, reader, &ids)?
        .into_iter()
        .collect();
    let told = match kind {
        RecordKind::Incident => {
            ictg::incidents_routed(conn, CHILDREN, Some(reader), Some(&ids), &Window::default())?
        }
        RecordKind::Referral => {
            ictg::referrals_routed(conn, CHILDREN, Some(reader), Some(&ids), &Window::default())?
        }
    };
    keep.extend(told.into_iter().map(|r| r.record_id));
    Ok(routed
        .into_iter()
        .filter(|r| r.agency_id == reader || keep.contains(&r.record_id))
        .collect())
}

/// Routed rows read per page of the walk, so it holds (and asks the database about) a
/// bounded number of records at a time however many the hub monitors.
const PAGE: i64 = 500;

/// Every child referred to an ICTG service, as the hub sees them (only those of records
/// `reader` holds or was told of, when given, and only those referred at or before
/// `referred_by`, when given), of which only those `keep` accepts are kept.
fn all_children(
    conn: &mut DbConn,
    d: &Deadline,
    now: DateTime<Utc>,
    reader: Option<AgencyId>,
    referred_by: Option<DateTime<Utc>>,
    keep: &dyn Fn(&MonitoredChild) -> bool,
) -> Result<Vec<Found>, AppError> {
    let mut out = Vec::new();
    for kind in [RecordKind::Incident, RecordKind::Referral] {
        let mut window = Window {
            after: None,
            limit: Some(PAGE),
            referred_by,
        };
        loop {
            let page = match kind {
                RecordKind::Incident => ictg::incidents_routed(conn, ICTG, None, None, &window)?,
                RecordKind::Referral => ictg::referrals_routed(conn, ICTG, None, None, &window)?,
            };
            let Some(last) = page.last() else {
                break;
            };
            window.after = Some((last.record_id.clone(), last.agency_id.to_string()));
            let more = i64::try_from(page.len()).map_err(AppError::internal)? == PAGE;
            match kind {
                RecordKind::Incident => {
                    incident_children(conn, d, now, reader, page, keep, &mut out)?
                }
                RecordKind::Referral => {
                    referral_children(conn, d, now, reader, page, keep, &mut out)?
                }
            }
            if !more {
                break;
            }
        }
    }
    Ok(out)
}

/// The monitored children of one page of incidents routed to an ICTG service.
fn incident_children(
    conn: &mut DbConn,
    d: &Deadline,
    now: DateTime<Utc>,
    reader: Option<AgencyId>,
    routed: Vec<ictg::Routed>,
    keep: &dyn Fn(&MonitoredChild) -> bool,
    out: &mut Vec<Found>,
) -> Result<(), AppError> {
    let routed = relevant(conn, RecordKind::Incident, routed, reader)?;
    let ids: Vec<String> = routed
        .iter()
        .map(|r| r.record_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let children_rows =
        ictg::incidents_routed(conn, CHILDREN, None, Some(&ids), &Window::default())?;
    let children = told_of(&children_rows);
    let allocations: BTreeMap<ChildRef, Allocation> = ictg::allocations_of(conn, &ids)?
        .into_iter()
        .map(|a| (a.child.clone(), a))
        .collect();
    let escalated: BTreeMap<ChildRef, DateTime<Utc>> =
        ictg::escalations_of(conn, &ids)?.into_iter().collect();
    for r in &routed {
        let Some(reporter) = incidents::reporter_for_recipient(conn, &r.record_id, r.agency_id)?
        else {
            continue;
        };
        let Some(s) = incidents::get(conn, reporter, &r.record_id)? else {
            continue;
        };
        let x = &s.incident;
        let referred_at =
            ictg::first_notified_at(conn, r.agency_id, &x.id)?.unwrap_or(r.decided_at);
        let due = d.due(referred_at);
        let mut told = children.get(&x.id).cloned().unwrap_or_default();
        told.insert(r.agency_id, r.fields.clone());
        for (i, v) in x.victims.iter().enumerate() {
            if v.ictg_referral != Some(true) || !v.is_child(x.reported_at) {
                continue;
            }
            let victim = u32::try_from(i).map_err(AppError::internal)?;
            let key = ChildRef {
                record_kind: RecordKind::Incident,
                record_id: x.id.clone(),
                victim,
            };
            let a = allocations.get(&key);
            let child = MonitoredChild {
                record_kind: RecordKind::Incident,
                record_id: x.id.clone(),
                victim: Some(victim),
                discloser_agency_id: reporter,
                ictg_agency_id: r.agency_id,
                area: x.area.to_string(),
                referred_at,
                allocation_due_at: due,
                allocated_at: a.map(|a| a.allocated_at),
                ictg_role: a.map(|a| a.ictg_role),
                state: state(a.map(|a| a.allocated_at), due, now),
                nrm_status: Some(
                    v.nrm_status
                        .unwrap_or(NrmStatus::NotReferred)
                        .as_str()
                        .to_owned(),
                ),
                nrm_status_withheld: false,
                escalated_at: escalated.get(&key).copied(),
            };
            if !keep(&child) {
                continue;
            }
            out.push(Found {
                child,
                children: children_rows
                    .iter()
                    .filter(|c| c.record_id == x.id)
                    .map(|c| c.agency_id)
                    .collect(),
                told: told.clone(),
                classification: x.classification.as_str().to_owned(),
            });
        }
    }
    Ok(())
}

/// The monitored children of one page of children's referrals routed to an ICTG service.
fn referral_children(
    conn: &mut DbConn,
    d: &Deadline,
    now: DateTime<Utc>,
    reader: Option<AgencyId>,
    routed: Vec<ictg::Routed>,
    keep: &dyn Fn(&MonitoredChild) -> bool,
    out: &mut Vec<Found>,
) -> Result<(), AppError> {
    let routed = relevant(conn, RecordKind::Referral, routed, reader)?;
    let ids: Vec<String> = routed
        .iter()
        .map(|r| r.record_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let children_rows =
        ictg::referrals_routed(conn, CHILDREN, None, Some(&ids), &Window::default())?;
    let children = told_of(&children_rows);
    let escalated: BTreeMap<ChildRef, DateTime<Utc>> =
        ictg::escalations_of(conn, &ids)?.into_iter().collect();
    for r in &routed {
        let Some((s, _)) = referrals::get_for_party(conn, r.agency_id, &r.record_id)? else {
            continue;
        };
        let x = &s.referral;
        if !x.child {
            continue;
        }
        let events = referrals::events(conn, &x.id)?;
        let allocated = events.iter().find(|e| e.kind == EventKind::IctgAllocated);
        let mut statuses: Vec<_> = events.iter().map(|e| e.to).collect();
        statuses.push(s.status);
        let referred_at =
            ictg::first_notified_at(conn, r.agency_id, &x.id)?.unwrap_or(x.created_at);
        let due = d.due(referred_at);
        let key = ChildRef {
            record_kind: RecordKind::Referral,
            record_id: x.id.clone(),
            victim: 0,
        };
        let mut told = children.get(&x.id).cloned().unwrap_or_default();
        told.insert(r.agency_id, r.fields.clone());
        let child = MonitoredChild {
            record_kind: RecordKind::Referral,
            record_id: x.id.clone(),
            victim: None,
            discloser_agency_id: x.referring_agency,
            ictg_agency_id: r.agency_id,
            area: x.area.to_string(),
            referred_at,
            allocation_due_at: due,
            allocated_at: allocated.map(|e| e.occurred_at),
            ictg_role: allocated.and_then(|e| e.ictg_role),
            state: state(allocated.map(|e| e.occurred_at), due, now),
            nrm_status: Some(referral_nrm_status(&statuses).to_owned()),
            nrm_status_withheld: false,
            escalated_at: escalated.get(&key).copied(),
        };
        if !keep(&child) {
            continue;
        }
        out.push(Found {
            child,
            children: children_rows
                .iter()
                .filter(|c| c.record_id == x.id)
                .map(|c| c.agency_id)
                .collect(),
            told,
            classification: x.classification.as_str().to_owned(),
        });
    }
    Ok(())
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
            let routed = ictg::incidents_routed(c, ICTG, Some(agency), Some(std::slice::from_ref(&id)), &Window::default())?;
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
