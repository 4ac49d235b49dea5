//! Witnessing rows: cosignatures witnesses gave the hub's checkpoints
//! (`audit_cosignatures`), and, when the hub is itself a witness, the latest checkpoint it
//! cosigned for each log it follows (`witness_logs`).
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_cosignatures as co, witness_logs as wl};
use super::DbConn;
use crate::error::AppError;

/// One witness's cosignature line on the checkpoint of `tree_size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = co)]
#[diesel(treat_none_as_default_value = false)]
pub struct CosignatureRow {
    pub tree_size: i64,
    pub witness: String,
    pub signature_line: String,
    pub cosigned_at: NaiveDateTime,
}

/// Stores a cosignature; one already stored for that size and witness wins.
pub fn insert_cosignature(conn: &mut DbConn, row: &CosignatureRow) -> Result<(), AppError> {
    match conn {
        DbConn::Pg(c) => diesel::insert_into(co::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(co::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(())
}

/// The cosignatures of the checkpoint of `tree_size` leaves, by witness name.
pub fn cosignatures_at(conn: &mut DbConn, tree_size: i64) -> Result<Vec<CosignatureRow>, AppError> {
    Ok(co::table
        .filter(co::tree_size.eq(tree_size))
        .order(co::witness)
        .load(conn)?)
}

/// The largest size each witness cosigned: `(witness, size)`.
pub fn cosigned_sizes(conn: &mut DbConn) -> Result<Vec<(String, i64)>, AppError> {
    let rows: Vec<(String, Option<i64>)> = co::table
        .group_by(co::witness)
        .select((co::witness, diesel::dsl::max(co::tree_size)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(w, s)| s.map(|s| (w, s)))
        .collect())
}

/// The witness's record of one log.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = wl)]
#[diesel(treat_none_as_default_value = false)]
pub struct WitnessedLogRow {
    pub origin: String,
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub updated_at: NaiveDateTime,
}

/// The witness's record of `origin`, locked for the rest of the transaction (PostgreSQL
/// `FOR UPDATE`; SQLite writers are serialised), so checking the old size and moving the
/// record forward are one step. A record of size 0 is created the first time.
pub fn lock_log(
    conn: &mut DbConn,
    origin: &str,
    now: NaiveDateTime,
) -> Result<WitnessedLogRow, AppError> {
    let fresh = WitnessedLogRow {
        origin: origin.to_owned(),
        tree_size: 0,
        root_hash: Vec::new(),
        updated_at: now,
    };
    let row = match conn {
        DbConn::Pg(c) => {
            diesel::insert_into(wl::table)
                .values(&fresh)
                .on_conflict_do_nothing()
                .execute(c)?;
            wl::table.find(origin).for_update().first(c)?
        }
        DbConn::Sqlite(c) => {
            diesel::insert_into(wl::table)
                .values(&fresh)
                .on_conflict_do_nothing()
                .execute(c)?;
            wl::table.find(origin).first(c)?
        }
    };
    Ok(row)
}

/// Moves the record of `origin` to a larger (or the same) size.
pub fn advance_log(conn: &mut DbConn, row: &WitnessedLogRow) -> Result<(), AppError> {
    let n = diesel::update(wl::table.find(&row.origin))
        .filter(wl::tree_size.le(row.tree_size))
        .set((
            wl::tree_size.eq(row.tree_size),
            wl::root_hash.eq(&row.root_hash),
            wl::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if n != 1 {
        return Err(AppError::Internal(format!(
            "witness record of {} did not move forward",
            row.origin
        )));
    }
    Ok(())
}
