//! A referral's lifecycle events, numbered per referral.
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::super::schema::referral_events as e;
use super::super::time::{from_db, to_db};
use super::super::DbConn;
use crate::domain::ids::AgencyId;
use crate::domain::records::ReferralEvent as Event;
use crate::domain::referral_lifecycle::EventKind;
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = e)]
#[diesel(treat_none_as_default_value = false)]
struct EventRow {
    id: String,
    referral_id: String,
    seq: i32,
    kind: String,
    from_status: String,
    to_status: String,
    agency_id: String,
    issuer: String,
    subject: String,
    note: Option<String>,
    reason: Option<String>,
    ictg_role: Option<String>,
    occurred_at: NaiveDateTime,
    service_id: Option<String>,
}

impl EventRow {
    fn into_domain(self) -> Result<Event, AppError> {
        Ok(Event {
            id: self.id,
            referral_id: self.referral_id,
            seq: self.seq,
            kind: self.kind.parse().map_err(AppError::internal)?,
            from: self.from_status.parse().map_err(AppError::internal)?,
            to: self.to_status.parse().map_err(AppError::internal)?,
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            issuer: self.issuer,
            subject: self.subject,
            note: self.note,
            reason: self.reason,
            ictg_role: self
                .ictg_role
                .map(|r| r.parse().map_err(AppError::internal))
                .transpose()?,
            occurred_at: from_db(self.occurred_at),
            service_id: self.service_id,
        })
    }
}

/// The sequence number the next event of a referral gets.
pub fn next_seq(conn: &mut DbConn, referral: &str) -> Result<i32, AppError> {
    let max: Option<i32> = e::table
        .filter(e::referral_id.eq(referral))
        .select(diesel::dsl::max(e::seq))
        .first(conn)?;
    Ok(max.unwrap_or(0).saturating_add(1))
}

pub fn insert_event(conn: &mut DbConn, x: &Event) -> Result<(), AppError> {
    let row = EventRow {
        id: x.id.clone(),
        referral_id: x.referral_id.clone(),
        seq: x.seq,
        kind: x.kind.as_str().to_owned(),
        from_status: x.from.as_str().to_owned(),
        to_status: x.to.as_str().to_owned(),
        agency_id: x.agency_id.to_string(),
        issuer: x.issuer.clone(),
        subject: x.subject.clone(),
        note: x.note.clone(),
        reason: x.reason.clone(),
        ictg_role: x.ictg_role.map(|r| r.as_str().to_owned()),
        occurred_at: to_db(x.occurred_at),
        service_id: x.service_id.clone(),
    };
    diesel::insert_into(e::table).values(row).execute(conn)?;
    Ok(())
}

/// Every event of a referral, in order (the caller has checked the referral's scope).
pub fn events(conn: &mut DbConn, referral: &str) -> Result<Vec<Event>, AppError> {
    let rows: Vec<EventRow> = e::table
        .filter(e::referral_id.eq(referral))
        .order(e::seq)
        .load(conn)?;
    rows.into_iter().map(EventRow::into_domain).collect()
}

/// Whether `agency` already recorded `kind` on a referral.
pub fn has_event_by(
    conn: &mut DbConn,
    referral: &str,
    agency: AgencyId,
    kind: EventKind,
) -> Result<bool, AppError> {
    let n: i64 = e::table
        .filter(e::referral_id.eq(referral))
        .filter(e::agency_id.eq(agency.to_string()))
        .filter(e::kind.eq(kind.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
