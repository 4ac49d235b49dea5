//! ICTG monitoring: which records were routed to an ICTG service (and which agencies were told
//! of them as the children's partnership), the allocations the service records against an
//! incident's child victims, and the one escalation of each overdue allocation. The records
//! themselves are read through their disclosers (`store::incidents`, `store::referrals`).
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamp};

use super::schema::{
    ictg_allocations as al, ictg_escalations as es, incidents as inc, notifications as n,
    referral_routing as rr, referrals as rf, routing_decisions as rd,
};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::fields::RecordKind;
use crate::domain::ictg::{Allocation, ChildRef};
use crate::domain::ids::AgencyId;
use crate::domain::referral_lifecycle::IctgRole;
use crate::error::AppError;

/// One record routed to an agency (for the route asked for), with the fields it was told.
#[derive(Debug, Clone)]
pub struct Routed {
    pub record_id: String,
    pub agency_id: AgencyId,
    pub fields: Vec<String>,
    pub decided_at: DateTime<Utc>,
}

fn routed_rows(
    rows: Vec<(String, String, String, NaiveDateTime)>,
) -> Result<Vec<Routed>, AppError> {
    rows.into_iter()
        .map(|(record_id, agency, fields, at)| {
            Ok(Routed {
                record_id,
                agency_id: agency.parse().map_err(AppError::internal)?,
                fields: serde_json::from_str(&fields)?,
                decided_at: from_db(at),
            })
        })
        .collect()
}

/// Which routed rows to read: only those after a `(record id, agency id)` cursor, at most
/// `limit`, and (when `referred_by` is given) only those referred at or before it, whose
/// decision or first notification to the agency is that old.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub after: Option<(String, String)>,
    pub limit: Option<i64>,
    pub referred_by: Option<DateTime<Utc>>,
}

/// The routed-rows query of one routing table (`$t`, the alias of `$table`, whose record
/// column is `$id`): written once for incidents' `routing_decisions` and referrals'
/// `referral_routing`, which have the same shape.
macro_rules! routed_on {
    ($conn:expr, $t:ident, $table:literal, $id:ident, $route:expr, $agency:expr, $ids:expr, $window:expr) => {{
        let mut q = $t::table
            .filter($t::route.eq($route.to_owned()))
            .filter($t::decision.eq("notified"))
            .into_boxed();
        if let Some(a) = $agency {
            q = q.filter($t::agency_id.eq(a.to_string()));
        }
        if let Some(ids) = $ids {
            q = q.filter($t::$id.eq_any(ids.to_vec()));
        }
        if let Some((id, a)) = &$window.after {
            q = q.filter(
                $t::$id
                    .gt(id.clone())
                    .or($t::$id.eq(id.clone()).and($t::agency_id.gt(a.clone()))),
            );
        }
        if let Some(by) = $window.referred_by {
            let by = to_db(by);
            q = q.filter(
                sql::<Bool>(concat!("(", $table, ".decided_at <= "))
                    .bind::<Timestamp, _>(by)
                    .sql(concat!(
                        " OR EXISTS (SELECT 1 FROM notifications n WHERE n.agency_id = ",
                        $table,
                        ".agency_id AND n.record_id = ",
                        $table,
                        ".",
                        stringify!($id),
                        " AND n.created_at <= "
                    ))
                    .bind::<Timestamp, _>(by)
                    .sql("))"),
            );
        }
        if let Some(limit) = $window.limit {
            q = q.limit(limit);
        }
        let rows = q
            .select(($t::$id, $t::agency_id, $t::fields, $t::decided_at))
            .order(($t::$id, $t::agency_id))
            .load($conn)?;
        routed_rows(rows)
    }};
}

/// Records of `kind` an agency was notified of on `route` (`ictg`, `children_partnership`),
/// all or only those of `agency`, only `ids` when given, within `window`; in (record, agency)
/// order.
pub fn routed(
    conn: &mut DbConn,
    kind: RecordKind,
    route: &str,
    agency: Option<AgencyId>,
    ids: Option<&[String]>,
    window: &Window,
) -> Result<Vec<Routed>, AppError> {
    match kind {
        RecordKind::Incident => routed_on!(
            conn,
            rd,
            "routing_decisions",
            incident_id,
            route,
            agency,
            ids,
            window
        ),
        RecordKind::Referral => routed_on!(
            conn,
            rr,
            "referral_routing",
            referral_id,
            route,
            agency,
            ids,
            window
        ),
    }
}

/// Which of the records `ids` (of `kind`) `agency` holds itself.
pub fn own_among(
    conn: &mut DbConn,
    kind: RecordKind,
    agency: AgencyId,
    ids: &[String],
) -> Result<Vec<String>, AppError> {
    let a = agency.to_string();
    Ok(match kind {
        RecordKind::Incident => inc::table
            .filter(inc::reporting_agency_id.eq(a))
            .filter(inc::id.eq_any(ids.to_vec()))
            .select(inc::id)
            .load(conn)?,
        RecordKind::Referral => rf::table
            .filter(rf::referring_agency_id.eq(a))
            .filter(rf::id.eq_any(ids.to_vec()))
            .select(rf::id)
            .load(conn)?,
    })
}

/// When `agency` was first notified of record `record_id` (its earliest notification).
pub fn first_notified_at(
    conn: &mut DbConn,
    agency: AgencyId,
    record_id: &str,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let at: Option<NaiveDateTime> = n::table
        .filter(n::agency_id.eq(agency.to_string()))
        .filter(n::record_id.eq(record_id))
        .select(diesel::dsl::min(n::created_at))
        .first(conn)?;
    Ok(at.map(from_db))
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = al)]
#[diesel(treat_none_as_default_value = false)]
struct AllocationRow {
    record_kind: String,
    record_id: String,
    victim: i32,
    ictg_agency_id: String,
    ictg_role: String,
    allocated_at: NaiveDateTime,
    recorded_by_issuer: String,
    recorded_by_subject: String,
    recorded_at: NaiveDateTime,
}

/// Records an allocation; false when the child already has one (writes are serialised by
/// the one writer, so the check and the insert cannot interleave).
pub fn insert_allocation(conn: &mut DbConn, a: &Allocation) -> Result<bool, AppError> {
    let row = AllocationRow {
        record_kind: a.child.record_kind.as_str().to_owned(),
        record_id: a.child.record_id.clone(),
        victim: i32::try_from(a.child.victim).map_err(AppError::internal)?,
        ictg_agency_id: a.ictg_agency_id.to_string(),
        ictg_role: a.ictg_role.as_str().to_owned(),
        allocated_at: to_db(a.allocated_at),
        recorded_by_issuer: a.recorded_by_issuer.clone(),
        recorded_by_subject: a.recorded_by_subject.clone(),
        recorded_at: to_db(a.recorded_at),
    };
    let taken: i64 = al::table
        .find((&row.record_kind, &row.record_id, row.victim))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Ok(false);
    }
    diesel::insert_into(al::table).values(&row).execute(conn)?;
    Ok(true)
}

/// The allocations recorded against the children of the incidents `ids`.
pub fn allocations_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Allocation>, AppError> {
    let rows: Vec<AllocationRow> = al::table
        .filter(al::record_id.eq_any(ids.to_vec()))
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(Allocation {
                child: ChildRef {
                    record_kind: r.record_kind.parse().map_err(AppError::internal)?,
                    record_id: r.record_id,
                    victim: u32::try_from(r.victim).map_err(AppError::internal)?,
                },
                ictg_agency_id: r.ictg_agency_id.parse().map_err(AppError::internal)?,
                ictg_role: r
                    .ictg_role
                    .parse::<IctgRole>()
                    .map_err(AppError::internal)?,
                allocated_at: from_db(r.allocated_at),
                recorded_by_issuer: r.recorded_by_issuer,
                recorded_by_subject: r.recorded_by_subject,
                recorded_at: from_db(r.recorded_at),
            })
        })
        .collect()
}

/// The escalations of the children of the records `ids`: (child, when escalated).
pub fn escalations_of(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<Vec<(ChildRef, DateTime<Utc>)>, AppError> {
    let rows: Vec<(String, String, i32, NaiveDateTime)> = es::table
        .filter(es::record_id.eq_any(ids.to_vec()))
        .select((es::record_kind, es::record_id, es::victim, es::escalated_at))
        .load(conn)?;
    rows.into_iter()
        .map(|(kind, id, victim, at)| {
            Ok((
                ChildRef {
                    record_kind: kind.parse().map_err(AppError::internal)?,
                    record_id: id,
                    victim: u32::try_from(victim).map_err(AppError::internal)?,
                },
                from_db(at),
            ))
        })
        .collect()
}

/// Marks a child's overdue allocation escalated; false when it already was.
pub fn mark_escalated(
    conn: &mut DbConn,
    child: &ChildRef,
    ictg: AgencyId,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let victim = i32::try_from(child.victim).map_err(AppError::internal)?;
    let done: i64 = es::table
        .find((child.record_kind.as_str(), &child.record_id, victim))
        .count()
        .get_result(conn)?;
    if done > 0 {
        return Ok(false);
    }
    diesel::insert_into(es::table)
        .values((
            es::record_kind.eq(child.record_kind.as_str()),
            es::record_id.eq(&child.record_id),
            es::victim.eq(victim),
            es::ictg_agency_id.eq(ictg.to_string()),
            es::due_at.eq(to_db(due_at)),
            es::escalated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(true)
}
