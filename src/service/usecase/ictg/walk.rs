//! The walk over every child referred to an ICTG service: the routed rows of incidents and
//! of children's referrals, a page at a time (so it holds a bounded number of records however
//! many the hub monitors), each child with its allocation, deadline and who was told of it.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{Deadline, CHILDREN, ICTG};
use crate::domain::fields::RecordKind;
use crate::domain::ictg::{referral_nrm_status, state, Allocation, ChildRef, MonitoredChild};
use crate::domain::ids::AgencyId;
use crate::domain::incident::NrmStatus;
use crate::domain::referral_lifecycle::EventKind;
use crate::error::AppError;
use crate::service::store::ictg::Window;
use crate::service::store::{ictg, incidents, referrals, DbConn};

/// One monitored child with who else was told of it and the record's marking.
pub struct Found {
    pub(super) child: MonitoredChild,
    /// The children's safeguarding partnership agencies told of the record.
    pub(super) children: Vec<AgencyId>,
    /// The fields the reader's own routing decision disclosed, per agency told of the record.
    pub(super) told: BTreeMap<AgencyId, Vec<String>>,
    pub(super) classification: String,
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
    let told = ictg::routed(
        conn,
        kind,
        CHILDREN,
        Some(reader),
        Some(&ids),
        &Window::default(),
    )?;
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
pub(super) fn all_children(
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
            let page = ictg::routed(conn, kind, ICTG, None, None, &window)?;
            let Some(last) = page.last() else {
                break;
            };
            window.after = Some((last.record_id.clone(), last.agency_id.to_string()));
            let more = i64::try_from(page.len()).map_err(AppError::internal)? == PAGE;
            let page = Page::of(conn, kind, page, reader)?;
            match kind {
                RecordKind::Incident => incident_children(conn, d, now, &page, keep, &mut out)?,
                RecordKind::Referral => referral_children(conn, d, now, &page, keep, &mut out)?,
            }
            if !more {
                break;
            }
        }
    }
    Ok(out)
}

/// One page of routed rows the reader may see, with what both kinds of record need beside
/// them: who was told of each record as the children's partnership, and which children were
/// escalated.
struct Page {
    routed: Vec<ictg::Routed>,
    children_rows: Vec<ictg::Routed>,
    children: BTreeMap<String, BTreeMap<AgencyId, Vec<String>>>,
    escalated: BTreeMap<ChildRef, DateTime<Utc>>,
    ids: Vec<String>,
}

impl Page {
    fn of(
        conn: &mut DbConn,
        kind: RecordKind,
        routed: Vec<ictg::Routed>,
        reader: Option<AgencyId>,
    ) -> Result<Page, AppError> {
        let routed = relevant(conn, kind, routed, reader)?;
        let ids: Vec<String> = routed
            .iter()
            .map(|r| r.record_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let children_rows =
            ictg::routed(conn, kind, CHILDREN, None, Some(&ids), &Window::default())?;
        let children = told_of(&children_rows);
        let escalated = ictg::escalations_of(conn, &ids)?.into_iter().collect();
        Ok(Page {
            routed,
            children_rows,
            children,
            escalated,
            ids,
        })
    }

    /// What was told of record `r` (its children's partnership agencies and the ICTG
    /// service's own decision), kept with `child`.
    fn found(&self, r: &ictg::Routed, child: MonitoredChild, classification: &str) -> Found {
        let mut told = self.children.get(&r.record_id).cloned().unwrap_or_default();
        told.insert(r.agency_id, r.fields.clone());
        Found {
            child,
            children: self
                .children_rows
                .iter()
                .filter(|c| c.record_id == r.record_id)
                .map(|c| c.agency_id)
                .collect(),
            told,
            classification: classification.to_owned(),
        }
    }
}

/// The monitored children of one page of incidents routed to an ICTG service.
fn incident_children(
    conn: &mut DbConn,
    d: &Deadline,
    now: DateTime<Utc>,
    page: &Page,
    keep: &dyn Fn(&MonitoredChild) -> bool,
    out: &mut Vec<Found>,
) -> Result<(), AppError> {
    let allocations: BTreeMap<ChildRef, Allocation> = ictg::allocations_of(conn, &page.ids)?
        .into_iter()
        .map(|a| (a.child.clone(), a))
        .collect();
    for r in &page.routed {
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
                escalated_at: page.escalated.get(&key).copied(),
            };
            if !keep(&child) {
                continue;
            }
            out.push(page.found(r, child, x.classification.as_str()));
        }
    }
    Ok(())
}

/// The monitored children of one page of children's referrals routed to an ICTG service.
fn referral_children(
    conn: &mut DbConn,
    d: &Deadline,
    now: DateTime<Utc>,
    page: &Page,
    keep: &dyn Fn(&MonitoredChild) -> bool,
    out: &mut Vec<Found>,
) -> Result<(), AppError> {
    for r in &page.routed {
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
            escalated_at: page.escalated.get(&key).copied(),
        };
        if !keep(&child) {
            continue;
        }
        out.push(page.found(r, child, x.classification.as_str()));
    }
    Ok(())
}
