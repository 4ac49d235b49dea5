//! The outbox: deliveries written in the same transaction as what caused them, claimed by
//! workers with an owned lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several hub
//! processes never claim the same row; each claim carries a fresh token), renewed by its
//! holder, and updated with each attempt's outcome only by the holder of the claim, and only
//! while the row is still pending (a late outcome never moves a row back).
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::fixed::{bind, on_backend, Fixed};
use super::insert::insert_rows;
use super::schema::agencies as a;
use super::schema::outbox as o;
use super::time::{from_db, to_db};
use super::{batch, DbConn};
use crate::domain::delivery::{Delivery, DeliveryState};
use crate::domain::ids::{AgencyId, DeliveryId, SubscriptionId};
use crate::domain::subscription::Channel;
use crate::error::AppError;

mod outcomes;
pub use outcomes::{record_all, Outcome, OutcomeKind};

#[derive(Queryable, Insertable)]
#[diesel(table_name = o)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct Row {
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
    lease_token: Option<String>,
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

/// Queues several deliveries (for an appending intent of the writer's batch, at the batch's
/// flush, with the other intents' rows).
pub fn insert_all(conn: &mut DbConn, all: &[Delivery]) -> Result<(), AppError> {
    let rows = all
        .iter()
        .map(row_of)
        .collect::<Result<Vec<Row>, AppError>>()?;
    match batch::defer(rows, |w| &mut w.deliveries) {
        Some(rows) => write_rows(conn, &rows),
        None => Ok(()),
    }
}

/// Writes delivery rows, many per cached statement.
pub(super) fn write_rows(conn: &mut DbConn, rows: &[Row]) -> Result<(), AppError> {
    insert_rows!(conn, o::table, rows);
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
        lease_token: None,
    })
}

/// Where a claimed delivery goes, read with the claim (no read per delivery).
#[derive(Debug, Clone)]
pub enum Target {
    /// A webhook subscription's URL and its secret as stored (sealed).
    Webhook { url: String, secret: Option<String> },
    /// E-mail addresses: an e-mail subscription's or the agency's contact address.
    Email { to: Vec<String> },
    /// Nothing to deliver to: the subscription was removed or disabled.
    Gone,
}

/// One claimed delivery, its target and the token of its claim.
#[derive(Debug, Clone)]
pub struct Claim {
    pub delivery: Delivery,
    pub target: Target,
    pub token: String,
}

/// The pieces of the lease statement, `$lock` closing the choice of rows.
macro_rules! lease_sql {
    ($lock:literal) => {
        [
            "UPDATE outbox SET locked_until = ",
            ", lease_token = ",
            " WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' \
             AND next_attempt_at <= ",
            " AND (locked_until IS NULL OR locked_until < ",
            ") ORDER BY next_attempt_at LIMIT ",
            concat!($lock, ") RETURNING id"),
        ]
    };
}

/// Leases up to `limit` due deliveries under `token` until `now + lease_secs` (one
/// statement, prepared once) and returns their ids. Call inside a write transaction, then
/// read what it leased with [`claimed`] once it has committed.
pub fn lease_due(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    lease_secs: i64,
    limit: i64,
    token: &str,
) -> Result<Vec<String>, AppError> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    let n = to_db(now);
    let until = to_db(now + chrono::Duration::seconds(lease_secs));
    let binds = (
        bind::<Timestamp, _>(until),
        bind::<Text, _>(token),
        bind::<Timestamp, _>(n),
        bind::<Timestamp, _>(n),
        bind::<BigInt, _>(limit),
    );
    let leased: Vec<Leased> = match conn {
        DbConn::Pg(c) => Fixed::new(&lease_sql!(" FOR UPDATE SKIP LOCKED"), binds).load(c)?,
        DbConn::Sqlite(c) => Fixed::new(&lease_sql!(""), binds).load(c)?,
    };
    Ok(leased.into_iter().map(|l| l.id).collect())
}

/// An id the lease took.
#[derive(QueryableByName)]
struct Leased {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// The deliveries of `ids` still pending under the lease `token`, soonest due first, with
/// their targets (the subscriptions and contact addresses read in two queries for the whole
/// claim). Runs on a reader, after the lease of [`lease_due`] has committed.
pub fn claimed(conn: &mut DbConn, ids: &[String], token: &str) -> Result<Vec<Claim>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Looked up by id and put in order here: with an `ORDER BY` SQLite would rather walk
    // the due index through every pending row than sort a few.
    let mut rows: Vec<Row> = on_backend!(conn, |c| o::table
        .filter(o::id.eq_any(ids))
        .filter(o::lease_token.eq(token))
        .filter(o::state.eq("pending"))
        .load(c)?);
    rows.sort_by_key(|r| r.next_attempt_at);
    let deliveries = rows
        .into_iter()
        .map(Row::into_domain)
        .collect::<Result<Vec<Delivery>, AppError>>()?;
    let mut sub_ids: Vec<String> = deliveries
        .iter()
        .filter_map(|d| d.subscription_id.map(|s| s.to_string()))
        .collect();
    sub_ids.sort_unstable();
    sub_ids.dedup();
    let subs: HashMap<SubscriptionId, _> = super::subscriptions::live_by_ids(conn, &sub_ids)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut agency_ids: Vec<String> = deliveries
        .iter()
        .filter(|d| d.subscription_id.is_none())
        .map(|d| d.agency_id.to_string())
        .collect();
    agency_ids.sort_unstable();
    agency_ids.dedup();
    let contacts: HashMap<String, String> = if agency_ids.is_empty() {
        HashMap::new()
    } else {
        a::table
            .filter(a::id.eq_any(&agency_ids))
            .select((a::id, a::contact_email))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(deliveries
        .into_iter()
        .map(|d| {
            let target = match d.subscription_id {
                Some(sub) => match subs.get(&sub).filter(|s| s.active) {
                    Some(s) => match (&s.channel, d.channel.as_str()) {
                        (Channel::Webhook { url }, "webhook") => Target::Webhook {
                            url: url.clone(),
                            secret: s.secret.clone(),
                        },
                        (Channel::Email { addresses }, "email") => Target::Email {
                            to: addresses.clone(),
                        },
                        _ => Target::Gone,
                    },
                    None => Target::Gone,
                },
                None => match contacts.get(&d.agency_id.to_string()) {
                    Some(to) if d.channel == "email" => Target::Email {
                        to: vec![to.clone()],
                    },
                    _ => Target::Gone,
                },
            };
            Claim {
                delivery: d,
                target,
                token: token.to_owned(),
            }
        })
        .collect())
}

/// Ids per renewal statement (well under both backends' bind limits).
const RENEW_CHUNK: usize = 500;

/// Extends to `until` the leases of `held` (delivery id, claim token) that are still held
/// under those tokens; returns how many rows were extended.
pub fn renew(
    conn: &mut DbConn,
    held: &[(String, String)],
    until: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut n = 0;
    for chunk in held.chunks(RENEW_CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let mut tokens: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
        tokens.sort_unstable();
        tokens.dedup();
        n += diesel::update(
            o::table
                .filter(o::id.eq_any(&ids))
                .filter(o::lease_token.eq_any(&tokens))
                .filter(o::state.eq("pending")),
        )
        .set(o::locked_until.eq(Some(to_db(until))))
        .execute(conn)?;
    }
    Ok(n)
}

/// Whether delivery `id` is claimed by a worker whose lease runs past `now` (being sent).
pub fn in_flight(conn: &mut DbConn, id: DeliveryId, now: DateTime<Utc>) -> Result<bool, AppError> {
    let n: i64 = o::table
        .find(id.to_string())
        .filter(o::lease_token.is_not_null())
        .filter(o::locked_until.gt(to_db(now)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
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

/// Puts a parked or failed delivery back in the queue, due now, unless a worker holds it
/// (returns false then); its id (the `webhook-id`) stays the same.
pub fn requeue(conn: &mut DbConn, id: DeliveryId, now: DateTime<Utc>) -> Result<bool, AppError> {
    let n = to_db(now);
    let changed = diesel::update(
        o::table
            .find(id.to_string())
            .filter(o::lease_token.is_null().or(o::locked_until.le(n))),
    )
    .set((
        o::state.eq("pending"),
        o::next_attempt_at.eq(n),
        o::locked_until.eq(None::<NaiveDateTime>),
        o::lease_token.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(changed > 0)
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
        o::lease_token.eq(None::<String>),
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
