//! Notifications, always read within the recipient agency's scope.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::insert::insert_rows;
use super::schema::notifications as n;
use super::time::{from_db, to_db};
use super::{batch, DbConn};
use crate::domain::ids::{AgencyId, NotificationId};
use crate::domain::msht::EventType;
use crate::domain::notification::Notification;
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = n)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct Row {
    id: String,
    agency_id: String,
    discloser_agency_id: String,
    record_kind: String,
    record_id: String,
    event: String,
    purpose: String,
    classification: String,
    child_at_risk: bool,
    created_at: NaiveDateTime,
    due_at: NaiveDateTime,
    acknowledged_at: Option<NaiveDateTime>,
    acknowledged_by: Option<String>,
    escalated_at: Option<NaiveDateTime>,
    overdue_agency_id: Option<String>,
    overdue_notification_id: Option<String>,
}

impl Row {
    fn into_domain(self) -> Result<Notification, AppError> {
        Ok(Notification {
            id: self.id.parse().map_err(AppError::internal)?,
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            discloser: self
                .discloser_agency_id
                .parse()
                .map_err(AppError::internal)?,
            record_kind: self.record_kind,
            record_id: self.record_id,
            event: self.event.parse().map_err(AppError::internal)?,
            purpose: self.purpose,
            classification: self.classification,
            child_at_risk: self.child_at_risk,
            created_at: from_db(self.created_at),
            due_at: from_db(self.due_at),
            acknowledged_at: self.acknowledged_at.map(from_db),
            acknowledged_by: self.acknowledged_by,
            escalated_at: self.escalated_at.map(from_db),
            overdue_agency_id: self
                .overdue_agency_id
                .map(|a| a.parse())
                .transpose()
                .map_err(AppError::internal)?,
            overdue_notification_id: self
                .overdue_notification_id
                .map(|a| a.parse())
                .transpose()
                .map_err(AppError::internal)?,
        })
    }
}

pub fn insert(conn: &mut DbConn, x: &Notification) -> Result<(), AppError> {
    insert_all(conn, std::slice::from_ref(x))
}

/// Inserts several notifications (for an appending intent of the writer's batch, at the
/// batch's flush, with the other intents' rows).
pub fn insert_all(conn: &mut DbConn, all: &[Notification]) -> Result<(), AppError> {
    let rows: Vec<Row> = all.iter().map(row_of).collect();
    match batch::defer(rows, |w| &mut w.notifications) {
        Some(rows) => write_rows(conn, &rows),
        None => Ok(()),
    }
}

/// Writes notification rows, many per cached statement.
pub(super) fn write_rows(conn: &mut DbConn, rows: &[Row]) -> Result<(), AppError> {
    insert_rows!(conn, n::table, rows);
    Ok(())
}

fn row_of(x: &Notification) -> Row {
    Row {
        id: x.id.to_string(),
        agency_id: x.agency_id.to_string(),
        discloser_agency_id: x.discloser.to_string(),
        record_kind: x.record_kind.clone(),
        record_id: x.record_id.clone(),
        event: x.event.as_str().to_owned(),
        purpose: x.purpose.clone(),
        classification: x.classification.clone(),
        child_at_risk: x.child_at_risk,
        created_at: to_db(x.created_at),
        due_at: to_db(x.due_at),
        acknowledged_at: None,
        acknowledged_by: None,
        escalated_at: None,
        overdue_agency_id: x.overdue_agency_id.map(|a| a.to_string()),
        overdue_notification_id: x.overdue_notification_id.map(|a| a.to_string()),
    }
}

/// One notification addressed to `agency`.
pub fn get(
    conn: &mut DbConn,
    agency: AgencyId,
    id: NotificationId,
) -> Result<Option<Notification>, AppError> {
    let row: Option<Row> = n::table
        .find(id.to_string())
        .filter(n::agency_id.eq(agency.to_string()))
        .first(conn)
        .optional()?;
    row.map(Row::into_domain).transpose()
}

/// A page of `agency`'s notifications; with `overdue_at`, only those unacknowledged and due
/// before it.
pub fn list(
    conn: &mut DbConn,
    agency: AgencyId,
    overdue_at: Option<DateTime<Utc>>,
    after: Option<NotificationId>,
    limit: i64,
) -> Result<Vec<Notification>, AppError> {
    let mut q = n::table
        .filter(n::agency_id.eq(agency.to_string()))
        .into_boxed();
    if let Some(t) = overdue_at {
        q = q
            .filter(n::acknowledged_at.is_null())
            .filter(n::due_at.lt(to_db(t)));
    }
    if let Some(a) = after {
        q = q.filter(n::id.gt(a.to_string()));
    }
    let rows: Vec<Row> = q.order(n::id).limit(limit).load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Marks a notification of `agency` acknowledged (idempotent: the first time stands).
pub fn acknowledge(
    conn: &mut DbConn,
    agency: AgencyId,
    id: NotificationId,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let count = diesel::update(
        n::table
            .find(id.to_string())
            .filter(n::agency_id.eq(agency.to_string()))
            .filter(n::acknowledged_at.is_null()),
    )
    .set((
        n::acknowledged_at.eq(Some(to_db(now))),
        n::acknowledged_by.eq(Some(by)),
    ))
    .execute(conn)?;
    Ok(count > 0)
}

/// Unacknowledged, unescalated notifications due before `now` (any agency: the hub's own
/// deadline check).
pub fn overdue_unescalated(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Notification>, AppError> {
    let q = n::table
        .filter(n::acknowledged_at.is_null())
        .filter(n::escalated_at.is_null())
        .filter(n::due_at.lt(to_db(now)))
        .order(n::due_at)
        .limit(limit);
    // Several hub processes run the deadline check: on PostgreSQL each locks the rows it
    // escalates and skips those another holds, so nothing is escalated twice.
    let rows: Vec<Row> = match conn {
        DbConn::Pg(pg) => q.for_update().skip_locked().load(pg)?,
        DbConn::Sqlite(sq) => q.load(sq)?,
    };
    rows.into_iter().map(Row::into_domain).collect()
}

pub fn mark_escalated(
    conn: &mut DbConn,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(n::table.find(id.to_string()))
        .set(n::escalated_at.eq(Some(to_db(now))))
        .execute(conn)?;
    Ok(())
}

/// The notifications with `event` about one record that `discloser` disclosed (the caller
/// has checked that the record is `discloser`'s), in id order.
pub fn about_record(
    conn: &mut DbConn,
    discloser: AgencyId,
    record_id: &str,
    event: EventType,
) -> Result<Vec<Notification>, AppError> {
    let rows: Vec<Row> = n::table
        .filter(n::discloser_agency_id.eq(discloser.to_string()))
        .filter(n::record_id.eq(record_id))
        .filter(n::event.eq(event.as_str()))
        .order(n::id)
        .load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Ids of `discloser`'s records of `record_kind` with an `event` notification that is
/// unacknowledged past its deadline at `now`.
pub fn overdue_record_ids(
    conn: &mut DbConn,
    discloser: AgencyId,
    record_kind: &str,
    event: EventType,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let mut ids: Vec<String> = n::table
        .filter(n::discloser_agency_id.eq(discloser.to_string()))
        .filter(n::record_kind.eq(record_kind))
        .filter(n::event.eq(event.as_str()))
        .filter(n::acknowledged_at.is_null())
        .filter(n::due_at.lt(to_db(now)))
        .select(n::record_id)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Acknowledges every open `event` notification of `agency` about one record; returns how
/// many were acknowledged.
pub fn acknowledge_about_record(
    conn: &mut DbConn,
    agency: AgencyId,
    record_id: &str,
    event: EventType,
    by: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    Ok(diesel::update(
        n::table
            .filter(n::agency_id.eq(agency.to_string()))
            .filter(n::record_id.eq(record_id))
            .filter(n::event.eq(event.as_str()))
            .filter(n::acknowledged_at.is_null()),
    )
    .set((
        n::acknowledged_at.eq(Some(to_db(now))),
        n::acknowledged_by.eq(Some(by)),
    ))
    .execute(conn)?)
}
