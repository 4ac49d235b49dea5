//! The policy epoch row: read by planning (in its snapshot), checked by the apply step inside
//! the write (shared-locked on PostgreSQL until the commit, so a governance change cannot
//! commit between the check and the write), and moved by every governance change.
use diesel::prelude::*;

use super::schema::policy_epoch as pe;
use super::{batch, DbConn};
use crate::error::AppError;

/// The epoch as this connection sees it.
pub fn current(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(pe::table.find(1).select(pe::epoch).first::<i64>(conn)?)
}

/// The epoch inside a write, held until the transaction ends: `FOR SHARE` on PostgreSQL
/// (SQLite's writer already holds the database's write lock). The appending intents of one
/// writer batch hold it once.
pub fn hold(conn: &mut DbConn) -> Result<i64, AppError> {
    if let Some(held) = batch::held_epoch() {
        return Ok(held);
    }
    let epoch = match conn {
        DbConn::Pg(c) => pe::table
            .find(1)
            .select(pe::epoch)
            .for_share()
            .first::<i64>(c)?,
        DbConn::Sqlite(c) => pe::table.find(1).select(pe::epoch).first::<i64>(c)?,
    };
    batch::hold_epoch(epoch);
    Ok(epoch)
}

/// Moves the epoch on: plans made before this transaction are stale once it commits.
pub fn bump(conn: &mut DbConn) -> Result<(), AppError> {
    diesel::update(pe::table.find(1))
        .set(pe::epoch.eq(pe::epoch + 1))
        .execute(conn)?;
    batch::forget_epoch();
    Ok(())
}
