//! `Idempotency-Key` records: per owner (an agency, or one of the hub operator's principals)
//! and key, which request (scope and a hash of its body) was made and the response it got, so
//! a retry gets the first result.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::schema::idempotency_keys as k;
use super::schema::operator_idempotency_keys as ok;
use super::time::to_db;
use super::DbConn;
use crate::domain::ids::AgencyId;
use crate::error::AppError;

/// Whose keys: an agency's (all its staff share them), or one operator principal's.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Agency(AgencyId),
    /// `issuer subject` of a principal that acts for no agency.
    Operator(&'a str),
}

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
#[diesel(treat_none_as_default_value = false)]
struct Row {
    agency_id: String,
    idem_key: String,
    scope: String,
    request_hash: String,
    response_status: i32,
    response_body: String,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = ok)]
#[diesel(treat_none_as_default_value = false)]
struct OperatorRow {
    owner: String,
    idem_key: String,
    scope: String,
    request_hash: String,
    response_status: i32,
    response_body: String,
    created_at: NaiveDateTime,
}

fn recorded(
    scope: String,
    request_hash: String,
    status: i32,
    body: &str,
) -> Result<Recorded, AppError> {
    Ok(Recorded {
        scope,
        request_hash,
        response_status: u16::try_from(status).map_err(AppError::internal)?,
        response_body: serde_json::from_str(body)?,
    })
}

/// The result recorded for `owner`'s `key`, if any.
pub fn get(conn: &mut DbConn, owner: Owner<'_>, key: &str) -> Result<Option<Recorded>, AppError> {
    match owner {
        Owner::Agency(agency) => {
            let row: Option<Row> = k::table
                .find((agency.to_string(), key))
                .first(conn)
                .optional()?;
            row.map(|r| recorded(r.scope, r.request_hash, r.response_status, &r.response_body))
                .transpose()
        }
        Owner::Operator(who) => {
            let row: Option<OperatorRow> = ok::table.find((who, key)).first(conn).optional()?;
            row.map(|r| recorded(r.scope, r.request_hash, r.response_status, &r.response_body))
                .transpose()
        }
    }
}

/// Records the first result for `owner`'s `key` (a concurrent first use of the same key
/// fails here with a unique violation, answered 409).
pub fn insert(
    conn: &mut DbConn,
    owner: Owner<'_>,
    key: &str,
    r: &Recorded,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let body = serde_json::to_string(&r.response_body)?;
    match owner {
        Owner::Agency(agency) => {
            let row = Row {
                agency_id: agency.to_string(),
                idem_key: key.to_owned(),
                scope: r.scope.clone(),
                request_hash: r.request_hash.clone(),
                response_status: i32::from(r.response_status),
                response_body: body,
                created_at: to_db(now),
            };
            diesel::insert_into(k::table).values(row).execute(conn)?;
        }
        Owner::Operator(who) => {
            let row = OperatorRow {
                owner: who.to_owned(),
                idem_key: key.to_owned(),
                scope: r.scope.clone(),
                request_hash: r.request_hash.clone(),
                response_status: i32::from(r.response_status),
                response_body: body,
                created_at: to_db(now),
            };
            diesel::insert_into(ok::table).values(row).execute(conn)?;
        }
    }
    Ok(())
}
