//! Referrals, their lifecycle events and routing decisions. A referral is read in full only
//! by its referring agency; the agencies it was routed to reach it as parties (to record
//! events) or through their notifications. Every finder takes the agency it is scoped to,
//! except the hub's own deadline check.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{referral_routing as rr, referrals as r};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::ids::AgencyId;
use crate::domain::records::StoredReferral as Stored;
use crate::domain::referral::Referral;
use crate::domain::referral_lifecycle::Status;
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = r)]
#[diesel(treat_none_as_default_value = false)]
struct Row {
    id: String,
    referring_agency_id: String,
    area: String,
    classification: String,
    pathway: String,
    status: String,
    child: bool,
    body: String,
    ack_due_at: NaiveDateTime,
    rg_due_at: Option<NaiveDateTime>,
    rg_escalated_at: Option<NaiveDateTime>,
    nrm_submitted_by: Option<String>,
    consent_withdrawn_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl Row {
    fn into_stored(self) -> Result<Stored, AppError> {
        Ok(Stored {
            referral: serde_json::from_str(&self.body)?,
            status: self.status.parse().map_err(AppError::internal)?,
            ack_due_at: from_db(self.ack_due_at),
            rg_due_at: self.rg_due_at.map(from_db),
            rg_escalated_at: self.rg_escalated_at.map(from_db),
            nrm_submitted_by: self
                .nrm_submitted_by
                .map(|a| a.parse().map_err(AppError::internal))
                .transpose()?,
            consent_withdrawn_at: self.consent_withdrawn_at.map(from_db),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Stores a new referral with status `submitted`.
pub fn insert(
    conn: &mut DbConn,
    x: &Referral,
    ack_due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = Row {
        id: x.id.clone(),
        referring_agency_id: x.referring_agency.to_string(),
        area: x.area.to_string(),
        classification: x.classification.as_str().to_owned(),
        pathway: x.pathway.as_str().to_owned(),
        status: Status::Submitted.as_str().to_owned(),
        child: x.child,
        body: serde_json::to_string(x)?,
        ack_due_at: to_db(ack_due_at),
        rg_due_at: None,
        rg_escalated_at: None,
        nrm_submitted_by: None,
        consent_withdrawn_at: None,
        created_at: to_db(now),
        updated_at: to_db(now),
    };
    diesel::insert_into(r::table).values(row).execute(conn)?;
    Ok(())
}

/// One referral of `referrer`.
pub fn get(conn: &mut DbConn, referrer: AgencyId, id: &str) -> Result<Option<Stored>, AppError> {
    let row: Option<Row> = r::table
        .find(id)
        .filter(r::referring_agency_id.eq(referrer.to_string()))
        .first(conn)
        .optional()?;
    row.map(Row::into_stored).transpose()
}

/// The referral a notification refers to, reached through that notification (the caller
/// has already found the notification within the recipient's scope; `discloser` is the
/// referring agency).
pub fn get_for_notification(
    conn: &mut DbConn,
    discloser: AgencyId,
    id: &str,
) -> Result<Option<Stored>, AppError> {
    get(conn, discloser, id)
}

/// How an agency stands to a referral it may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub referrer: bool,
    /// The referral was disclosed to the agency (routing decision `notified`).
    pub recipient: bool,
}

/// One referral that `agency` made or was sent, with how it stands to it.
pub fn get_for_party(
    conn: &mut DbConn,
    agency: AgencyId,
    id: &str,
) -> Result<Option<(Stored, Standing)>, AppError> {
    let a = agency.to_string();
    let received = rr::table
        .filter(rr::agency_id.eq(a.clone()))
        .filter(rr::decision.eq("notified"))
        .select(rr::referral_id);
    let row: Option<Row> = r::table
        .find(id)
        .filter(
            r::referring_agency_id
                .eq(a.clone())
                .or(r::id.eq_any(received)),
        )
        .first(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let referrer = row.referring_agency_id == a;
    let recipient = rr::table
        .find((id, a))
        .filter(rr::decision.eq("notified"))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    Ok(Some((
        row.into_stored()?,
        Standing {
            referrer,
            recipient,
        },
    )))
}

/// A page of `referrer`'s referrals in id order; `only` restricts it to those ids.
pub fn list(
    conn: &mut DbConn,
    referrer: AgencyId,
    status: Option<Status>,
    only: Option<&[String]>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Stored>, AppError> {
    let mut q = r::table
        .filter(r::referring_agency_id.eq(referrer.to_string()))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(r::status.eq(s.as_str()));
    }
    if let Some(ids) = only {
        q = q.filter(r::id.eq_any(ids.to_vec()));
    }
    if let Some(a) = after {
        q = q.filter(r::id.gt(a.to_owned()));
    }
    let rows: Vec<Row> = q.order(r::id).limit(limit).load(conn)?;
    rows.into_iter().map(Row::into_stored).collect()
}

/// Moves a referral from `from` to `to` (also for events that keep the status, which then
/// only touches `updated_at`). False when the status is no longer `from`: someone else
/// recorded an event first. The update locks the row until the caller commits, so events
/// on one referral are recorded one after another.
pub fn set_status(
    conn: &mut DbConn,
    id: &str,
    from: Status,
    to: Status,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let n = diesel::update(r::table.find(id).filter(r::status.eq(from.as_str())))
        .set((r::status.eq(to.as_str()), r::updated_at.eq(to_db(now))))
        .execute(conn)?;
    Ok(n > 0)
}

/// Locks referral `id`'s row until the caller commits (PostgreSQL; a SQLite write
/// transaction already holds the one database write lock). Whatever changes a referral and
/// its notifications locks the referral first, then the notifications: one order, so two
/// hub processes never deadlock on them.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        let _: Vec<String> = r::table.find(id).select(r::id).for_update().load(pg)?;
    }
    Ok(())
}

/// Records who submitted the NRM referral and when the reasonable grounds decision is due.
pub fn set_nrm_submitted(
    conn: &mut DbConn,
    id: &str,
    by: AgencyId,
    rg_due_at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(r::table.find(id))
        .set((
            r::nrm_submitted_by.eq(Some(by.to_string())),
            r::rg_due_at.eq(Some(to_db(rg_due_at))),
            r::rg_escalated_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_consent_withdrawn(
    conn: &mut DbConn,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(r::table.find(id))
        .set(r::consent_withdrawn_at.eq(Some(to_db(now))))
        .execute(conn)?;
    Ok(())
}

/// Ids of `referrer`'s referrals awaiting a reasonable grounds decision past its target.
pub fn rg_overdue_ids(
    conn: &mut DbConn,
    referrer: AgencyId,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    Ok(r::table
        .filter(r::referring_agency_id.eq(referrer.to_string()))
        .filter(r::status.eq(Status::RgPending.as_str()))
        .filter(r::rg_due_at.lt(to_db(now)))
        .select(r::id)
        .load(conn)?)
}

/// Referrals (any agency: the hub's own deadline check) awaiting a reasonable grounds
/// decision past its target and not yet escalated.
pub fn rg_overdue_unescalated(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Stored>, AppError> {
    let q = r::table
        .filter(r::status.eq(Status::RgPending.as_str()))
        .filter(r::rg_due_at.lt(to_db(now)))
        .filter(r::rg_escalated_at.is_null())
        .order(r::rg_due_at)
        .limit(limit);
    // Locked on PostgreSQL so two hub processes never escalate the same referral.
    let rows: Vec<Row> = match conn {
        DbConn::Pg(pg) => q.for_update().skip_locked().load(pg)?,
        DbConn::Sqlite(sq) => q.load(sq)?,
    };
    rows.into_iter().map(Row::into_stored).collect()
}

pub fn mark_rg_escalated(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(r::table.find(id))
        .set(r::rg_escalated_at.eq(Some(to_db(now))))
        .execute(conn)?;
    Ok(())
}

mod decisions;
mod events;
pub use decisions::*;
pub use events::*;

/// Every referral made by the `referrers`, oldest first (for aggregate reports).
pub fn of_referrers(conn: &mut DbConn, referrers: &[AgencyId]) -> Result<Vec<Stored>, AppError> {
    let ids: Vec<String> = referrers.iter().map(ToString::to_string).collect();
    let rows: Vec<Row> = r::table
        .filter(r::referring_agency_id.eq_any(ids))
        .order(r::created_at)
        .load(conn)?;
    rows.into_iter().map(Row::into_stored).collect()
}
