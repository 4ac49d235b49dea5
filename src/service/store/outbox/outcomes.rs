//! Recording what claimed deliveries came to: each outcome only by the holder of its claim
//! (same token, still pending), releasing its lease; plain attempts on PostgreSQL in one
//! `UPDATE … FROM unnest(…)`, the rest one by one.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::super::fixed::{bind, on_backend, Fixed};
use super::super::time::to_db;
use super::super::DbConn;
use super::cancel_for_subscription;
use crate::domain::delivery::DeliveryState;
use crate::domain::ids::{DeliveryId, SubscriptionId};
use crate::error::AppError;

/// What one claimed delivery came to.
#[derive(Debug, Clone)]
pub enum OutcomeKind {
    /// An attempt was made: its state, count and answer. `disable` names the subscription to
    /// disable (its endpoint answered 410 Gone).
    Attempted {
        state: DeliveryState,
        attempts: i32,
        next_attempt_at: Option<DateTime<Utc>>,
        status: Option<i32>,
        error: Option<String>,
        disable: Option<SubscriptionId>,
    },
    /// Not attempted (its destination was busy): due again at `until`, attempts unchanged.
    Deferred { until: DateTime<Utc> },
}

/// The outcome of one claim.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: DeliveryId,
    pub token: String,
    pub at: DateTime<Utc>,
    pub kind: OutcomeKind,
}

/// Records outcomes, each only if its claim is still held (same token, still pending), and
/// releases their leases. Returns, per outcome, whether it was recorded. On PostgreSQL the
/// plain attempts go in one statement (`UPDATE … FROM unnest(…)`), the rest one by one.
pub fn record_all(conn: &mut DbConn, outcomes: &[Outcome]) -> Result<Vec<bool>, AppError> {
    if let DbConn::Pg(pg) = conn {
        let plain: Vec<&Outcome> = outcomes.iter().filter(|o| is_plain(o)).collect();
        if plain.len() > 1 {
            let applied = pg_record_plain(pg, &plain)?;
            let rest: Vec<Outcome> = outcomes.iter().filter(|o| !is_plain(o)).cloned().collect();
            let mut rest_applied = record_each(conn, &rest)?.into_iter();
            return Ok(outcomes
                .iter()
                .map(|o| {
                    if is_plain(o) {
                        applied.contains(&(o.id.to_string(), o.token.clone()))
                    } else {
                        rest_applied.next().unwrap_or(false)
                    }
                })
                .collect());
        }
    }
    record_each(conn, outcomes)
}

/// An attempt that disables nothing: the kind one statement records for many.
fn is_plain(o: &Outcome) -> bool {
    matches!(&o.kind, OutcomeKind::Attempted { disable: None, .. })
}

#[derive(diesel::QueryableByName)]
struct Recorded {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    token: String,
}

/// Plain attempts in one PostgreSQL statement; returns the (id, token) pairs recorded.
fn pg_record_plain(
    pg: &mut diesel::PgConnection,
    plain: &[&Outcome],
) -> Result<std::collections::HashSet<(String, String)>, AppError> {
    use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};
    let mut cols = PlainColumns::default();
    for o in plain {
        if let OutcomeKind::Attempted {
            state,
            attempts,
            next_attempt_at,
            status,
            error,
            ..
        } = &o.kind
        {
            cols.ids.push(o.id.to_string());
            cols.tokens.push(o.token.clone());
            cols.states.push(state.as_str().to_owned());
            cols.attempts.push(*attempts);
            cols.at.push(to_db(o.at));
            cols.status.push(*status);
            cols.error.push(error.clone());
            cols.delivered
                .push((*state == DeliveryState::Delivered).then(|| to_db(o.at)));
            cols.next.push(next_attempt_at.map(to_db));
        }
    }
    let rows: Vec<Recorded> = diesel::sql_query(
        "UPDATE outbox AS o SET state = v.state, attempts = v.attempts, \
         last_attempt_at = v.at, last_status = v.status, last_error = v.error, \
         delivered_at = v.delivered, next_attempt_at = COALESCE(v.next, o.next_attempt_at), \
         locked_until = NULL, lease_token = NULL \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamp[], \
                     $6::int[], $7::text[], $8::timestamp[], $9::timestamp[]) \
              AS v(id, token, state, attempts, at, status, error, delivered, next) \
         WHERE o.id = v.id AND o.lease_token = v.token AND o.state = 'pending' \
         RETURNING v.id, v.token",
    )
    .bind::<Array<Text>, _>(cols.ids)
    .bind::<Array<Text>, _>(cols.tokens)
    .bind::<Array<Text>, _>(cols.states)
    .bind::<Array<Integer>, _>(cols.attempts)
    .bind::<Array<Timestamp>, _>(cols.at)
    .bind::<Array<Nullable<Integer>>, _>(cols.status)
    .bind::<Array<Nullable<Text>>, _>(cols.error)
    .bind::<Array<Nullable<Timestamp>>, _>(cols.delivered)
    .bind::<Array<Nullable<Timestamp>>, _>(cols.next)
    .load(pg)?;
    Ok(rows.into_iter().map(|r| (r.id, r.token)).collect())
}

#[derive(Default)]
struct PlainColumns {
    ids: Vec<String>,
    tokens: Vec<String>,
    states: Vec<String>,
    attempts: Vec<i32>,
    at: Vec<NaiveDateTime>,
    status: Vec<Option<i32>>,
    error: Vec<Option<String>>,
    delivered: Vec<Option<NaiveDateTime>>,
    next: Vec<Option<NaiveDateTime>>,
}

/// Records outcomes one statement each (each of the two shapes prepared once per
/// connection).
fn record_each(conn: &mut DbConn, outcomes: &[Outcome]) -> Result<Vec<bool>, AppError> {
    use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
    let mut applied = Vec::with_capacity(outcomes.len());
    for out in outcomes {
        let id = out.id.to_string();
        let held = (
            bind::<Text, _>(id.as_str()),
            bind::<Text, _>(out.token.as_str()),
        );
        let n = match &out.kind {
            OutcomeKind::Deferred { until } => on_backend!(conn, |c| Fixed::new(
                &[
                    "UPDATE outbox SET locked_until = NULL, lease_token = NULL, \
                     next_attempt_at = ",
                    " WHERE id = ",
                    " AND lease_token = ",
                    " AND state = 'pending'",
                ],
                (bind::<Timestamp, _>(to_db(*until)), held),
            )
            .execute(c)?),
            OutcomeKind::Attempted {
                state,
                attempts,
                next_attempt_at,
                status,
                error,
                ..
            } => {
                let delivered = (*state == DeliveryState::Delivered).then(|| to_db(out.at));
                let values = (
                    bind::<Text, _>(state.as_str()),
                    bind::<Integer, _>(*attempts),
                    bind::<Timestamp, _>(to_db(out.at)),
                    bind::<Nullable<Integer>, _>(*status),
                    bind::<Nullable<Text>, _>(error.as_deref()),
                    bind::<Nullable<Timestamp>, _>(delivered),
                    bind::<Nullable<Timestamp>, _>(next_attempt_at.map(to_db)),
                );
                on_backend!(conn, |c| Fixed::new(
                    &[
                        "UPDATE outbox SET locked_until = NULL, lease_token = NULL, state = ",
                        ", attempts = ",
                        ", last_attempt_at = ",
                        ", last_status = ",
                        ", last_error = ",
                        ", delivered_at = ",
                        ", next_attempt_at = COALESCE(",
                        ", next_attempt_at) WHERE id = ",
                        " AND lease_token = ",
                        " AND state = 'pending'",
                    ],
                    (values, held),
                )
                .execute(c)?)
            }
        };
        if n > 0 {
            if let OutcomeKind::Attempted {
                disable: Some(sub), ..
            } = &out.kind
            {
                super::super::subscriptions::disable(conn, *sub, "the endpoint answered 410 Gone")?;
                cancel_for_subscription(conn, &sub.to_string())?;
            }
        }
        applied.push(n > 0);
    }
    Ok(applied)
}
