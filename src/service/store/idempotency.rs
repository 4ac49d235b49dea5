//! `Idempotency-Key` records: per agency and key, which request (scope and a hash of its
//! body) was made and the response it got, so a retry gets the first result.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::schema::idempotency_keys as k;
use super::time::to_db;
use super::DbConn;
use crate::domain::ids::AgencyId;
use crate::error::AppError;

/// A stored first result.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub scope: String,
    pub request_hash: String,
    pub response_status: u16,
    pub response_body: Value,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = k)]
struct Row {
    agency_id: String,
    idem_key: String,
    scope: String,
    request_hash: String,
    response_status: i32,
    response_body: String,
    created_at: NaiveDateTime,
}

/// The result recorded for `agency`'s `key`, if any.
pub fn get(conn: &mut DbConn, agency: AgencyId, key: &str) -> Result<Option<Recorded>, AppError> {
    let row: Option<Row> = k::table
        .find((agency.to_string(), key))
        .first(conn)
        .optional()?;
    row.map(|r| {
        Ok(Recorded {
            scope: r.scope,
            request_hash: r.request_hash,
            response_status: u16::try_from(r.response_status).map_err(AppError::internal)?,
            response_body: serde_json::from_str(&r.response_body)?,
        })
    })
    .transpose()
}

/// Records the first result for `agency`'s `key` (a concurrent first use of the same key
/// fails here with a unique violation, answered 409).
pub fn insert(
    conn: &mut DbConn,
    agency: AgencyId,
    key: &str,
    r: &Recorded,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = Row {
        agency_id: agency.to_string(),
        idem_key: key.to_owned(),
        scope: r.scope.clone(),
        request_hash: r.request_hash.clone(),
        response_status: i32::from(r.response_status),
        response_body: serde_json::to_string(&r.response_body)?,
        created_at: to_db(now),
    };
    diesel::insert_into(k::table).values(row).execute(conn)?;
    Ok(())
}
