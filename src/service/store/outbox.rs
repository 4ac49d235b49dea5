//! The outbox: deliveries written in the same transaction as what caused them, claimed by
//! workers with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several hub processes
//! never claim the same row), and updated with each attempt's outcome.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::outbox as o;
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::delivery::{Delivery, DeliveryState};
use crate::domain::ids::{AgencyId, DeliveryId};
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = o)]
struct Row {
    id: String,
    agency_id: String,
    subscription_id: Option<String>,
    channel: String,
    event_type: String,
    payload: String,
    classification: String,
    state: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    locked_until: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    last_attempt_at: Option<NaiveDateTime>,
    last_status: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_domain(self) -> Result<Delivery, AppError> {
        Ok(Delivery {
            id: self.id.parse().map_err(AppError::internal)?,
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            subscription_id: self
                .subscription_id
                .map(|s| s.parse().map_err(AppError::internal))
                .transpose()?,
            channel: self.channel,
            event_type: self.event_type.parse().map_err(AppError::internal)?,
            payload: serde_json::from_str(&self.payload)?,
            classification: self.classification,
            state: DeliveryState::parse(&self.state)
                .ok_or_else(|| AppError::internal("bad delivery state"))?,
            attempts: self.attempts,
            next_attempt_at: from_db(self.next_attempt_at),
            created_at: from_db(self.created_at),
            last_attempt_at: self.last_attempt_at.map(from_db),
            last_status: self.last_status,
            last_error: self.last_error,
            delivered_at: self.delivered_at.map(from_db),
        })
    }
}

/// Rows per multi-row insert (16 columns each, well under both backends' bind limits).
const CHUNK: usize = 512;

/// Queues several deliveries with one statement per [`CHUNK`].
pub fn insert_all(conn: &mut DbConn, all: &[Delivery]) -> Result<(), AppError> {
    let rows = all
        .iter()
        .map(row_of)
        .collect::<Result<Vec<Row>, AppError>>()?;
    for chunk in rows.chunks(CHUNK) {
        // A multi-row insert is written per backend (the connection enum has no batch form).
        match conn {
            DbConn::Pg(c) => diesel::insert_into(o::table).values(chunk).execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_into(o::table).values(chunk).execute(c)?,
        };
    }
    Ok(())
}

fn row_of(d: &Delivery) -> Result<Row, AppError> {
    Ok(Row {
        id: d.id.to_string(),
        agency_id: d.agency_id.to_string(),
        subscription_id: d.subscription_id.map(|s| s.to_string()),
        channel: d.channel.clone(),
        event_type: d.event_type.as_str().to_owned(),
        payload: serde_json::to_string(&d.payload)?,
        classification: d.classification.clone(),
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        next_attempt_at: to_db(d.next_attempt_at),
        locked_until: None,
        created_at: to_db(d.created_at),
        last_attempt_at: None,
        last_status: None,
        last_error: None,
        delivered_at: None,
    })
}

macro_rules! due_query {
    ($now:expr, $limit:expr) => {
        o::table
            .filter(o::state.eq("pending"))
            .filter(o::next_attempt_at.le($now))
            .filter(o::locked_until.is_null().or(o::locked_until.lt($now)))
            .order(o::next_attempt_at)
            .limit($limit)
            .select(o::id)
    };
}

/// Claims up to `limit` due deliveries for `lease` seconds and returns them. Call inside a
/// write transaction.
pub fn claim_due(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Delivery>, AppError> {
    let n = to_db(now);
    let ids: Vec<String> = match conn {
        DbConn::Pg(pg) => due_query!(n, limit).for_update().skip_locked().load(pg)?,
        DbConn::Sqlite(sq) => due_query!(n, limit).load(sq)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = to_db(now + chrono::Duration::seconds(lease_secs));
    diesel::update(o::table.filter(o::id.eq_any(&ids)))
        .set(o::locked_until.eq(Some(until)))
        .execute(conn)?;
    let rows: Vec<Row> = o::table
        .filter(o::id.eq_any(&ids))
        .order(o::next_attempt_at)
        .load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Records one attempt's outcome.
#[allow(clippy::too_many_arguments)]
pub fn record_attempt(
    conn: &mut DbConn,
    id: DeliveryId,
    state: DeliveryState,
    attempts: i32,
    now: DateTime<Utc>,
    next_attempt_at: Option<DateTime<Utc>>,
    status: Option<i32>,
    error: Option<&str>,
) -> Result<(), AppError> {
    let delivered = (state == DeliveryState::Delivered).then(|| to_db(now));
    let q = diesel::update(o::table.find(id.to_string()));
    let common = (
        o::state.eq(state.as_str()),
        o::attempts.eq(attempts),
        o::last_attempt_at.eq(Some(to_db(now))),
        o::last_status.eq(status),
        o::last_error.eq(error),
        o::locked_until.eq(None::<NaiveDateTime>),
        o::delivered_at.eq(delivered),
    );
    match next_attempt_at {
        Some(at) => q
            .set((common, o::next_attempt_at.eq(to_db(at))))
            .execute(conn)?,
        None => q.set(common).execute(conn)?,
    };
    Ok(())
}

/// One delivery, within an agency's scope unless `agency` is `None` (operator).
pub fn get(
    conn: &mut DbConn,
    agency: Option<AgencyId>,
    id: DeliveryId,
) -> Result<Option<Delivery>, AppError> {
    let mut q = o::table.find(id.to_string()).into_boxed();
    if let Some(a) = agency {
        q = q.filter(o::agency_id.eq(a.to_string()));
    }
    let row: Option<Row> = q.first(conn).optional()?;
    row.map(Row::into_domain).transpose()
}

/// A page of deliveries, newest id last, optionally by state.
pub fn list(
    conn: &mut DbConn,
    agency: Option<AgencyId>,
    state: Option<DeliveryState>,
    after: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<Delivery>, AppError> {
    let mut q = o::table.into_boxed();
    if let Some(a) = agency {
        q = q.filter(o::agency_id.eq(a.to_string()));
    }
    if let Some(s) = state {
        q = q.filter(o::state.eq(s.as_str()));
    }
    if let Some(after) = after {
        q = q.filter(o::id.gt(after.to_string()));
    }
    let rows: Vec<Row> = q.order(o::id).limit(limit).load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Puts a parked or failed delivery back in the queue, due now; its id (the `webhook-id`)
/// stays the same.
pub fn requeue(conn: &mut DbConn, id: DeliveryId, now: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(o::table.find(id.to_string()))
        .set((
            o::state.eq("pending"),
            o::next_attempt_at.eq(to_db(now)),
            o::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Cancels every pending delivery through a subscription (it was disabled or deleted).
pub fn cancel_for_subscription(conn: &mut DbConn, subscription: &str) -> Result<usize, AppError> {
    Ok(diesel::update(
        o::table
            .filter(o::subscription_id.eq(subscription))
            .filter(o::state.eq("pending")),
    )
    .set((
        o::state.eq("cancelled"),
        o::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?)
}

/// Number of deliveries in each state.
pub fn depth(conn: &mut DbConn) -> Result<Vec<(String, i64)>, AppError> {
    use diesel::dsl::count_star;
    Ok(o::table
        .group_by(o::state)
        .select((o::state, count_star()))
        .load(conn)?)
}
