//! IG console sign-ins under way and signed-in sessions. Both are found by the SHA-256 of the
//! random handle their cookie carries; the handle itself is never stored.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{console_sessions as cs, console_sign_ins as si};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::console_session::{PendingSignIn, StoredSession};
use crate::domain::role::{Role, RoleSet};
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = si)]
#[diesel(treat_none_as_default_value = false)]
struct SignInRow {
    handle_hash: String,
    agency_id: String,
    state: String,
    nonce: String,
    pkce_verifier: String,
    next_path: String,
    created_at: chrono::NaiveDateTime,
}

/// Keeps a sign-in under way, and drops those begun before `stale_before`.
pub fn insert_sign_in(
    conn: &mut DbConn,
    handle_hash: &str,
    p: &PendingSignIn,
    stale_before: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::delete(si::table.filter(si::created_at.lt(to_db(stale_before)))).execute(conn)?;
    diesel::insert_into(si::table)
        .values(SignInRow {
            handle_hash: handle_hash.to_owned(),
            agency_id: p.agency_id.to_string(),
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            pkce_verifier: p.pkce_verifier.clone(),
            next_path: p.next.clone(),
            created_at: to_db(p.created_at),
        })
        .execute(conn)?;
    Ok(())
}

/// Takes (finds and deletes) the sign-in under way with this handle: each is used once.
pub fn take_sign_in(
    conn: &mut DbConn,
    handle_hash: &str,
) -> Result<Option<PendingSignIn>, AppError> {
    let row: Option<SignInRow> = si::table.find(handle_hash).first(conn).optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    diesel::delete(si::table.find(handle_hash)).execute(conn)?;
    Ok(Some(PendingSignIn {
        agency_id: row.agency_id.parse().map_err(AppError::internal)?,
        state: row.state,
        nonce: row.nonce,
        pkce_verifier: row.pkce_verifier,
        next: row.next_path,
        created_at: from_db(row.created_at),
    }))
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = cs)]
#[diesel(treat_none_as_default_value = false)]
struct SessionRow {
    id: String,
    handle_hash: String,
    agency_id: String,
    issuer: String,
    subject: String,
    roles: String,
    display_name: String,
    csrf_token: String,
    purpose: Option<String>,
    created_at: chrono::NaiveDateTime,
    last_seen_at: chrono::NaiveDateTime,
    ended_at: Option<chrono::NaiveDateTime>,
    end_reason: Option<String>,
}

impl SessionRow {
    fn into_domain(self) -> Result<StoredSession, AppError> {
        let roles: Vec<Role> = serde_json::from_str(&self.roles)?;
        Ok(StoredSession {
            id: self.id.parse().map_err(AppError::internal)?,
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            issuer: self.issuer,
            subject: self.subject,
            roles: roles.into_iter().collect::<RoleSet>(),
            display_name: self.display_name,
            csrf_token: self.csrf_token,
            purpose: self.purpose,
            created_at: from_db(self.created_at),
            last_seen_at: from_db(self.last_seen_at),
            ended_at: self.ended_at.map(from_db),
        })
    }
}

/// Stores a new session.
pub fn insert_session(
    conn: &mut DbConn,
    handle_hash: &str,
    s: &StoredSession,
) -> Result<(), AppError> {
    diesel::insert_into(cs::table)
        .values(SessionRow {
            id: s.id.to_string(),
            handle_hash: handle_hash.to_owned(),
            agency_id: s.agency_id.to_string(),
            issuer: s.issuer.clone(),
            subject: s.subject.clone(),
            roles: serde_json::to_string(&s.roles.iter().collect::<Vec<_>>())?,
            display_name: s.display_name.clone(),
            csrf_token: s.csrf_token.clone(),
            purpose: s.purpose.clone(),
            created_at: to_db(s.created_at),
            last_seen_at: to_db(s.last_seen_at),
            ended_at: s.ended_at.map(to_db),
            end_reason: None,
        })
        .execute(conn)?;
    Ok(())
}

/// The session whose cookie handle hashes to `handle_hash`.
pub fn by_handle(conn: &mut DbConn, handle_hash: &str) -> Result<Option<StoredSession>, AppError> {
    let row: Option<SessionRow> = cs::table
        .filter(cs::handle_hash.eq(handle_hash))
        .first(conn)
        .optional()?;
    row.map(SessionRow::into_domain).transpose()
}

/// Records a use of a session that has not ended.
pub fn touch(conn: &mut DbConn, id: uuid::Uuid, at: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(
        cs::table
            .find(id.to_string())
            .filter(cs::ended_at.is_null()),
    )
    .set(cs::last_seen_at.eq(to_db(at)))
    .execute(conn)?;
    Ok(())
}

/// Ends a session; `false` when it had already ended.
pub fn end(
    conn: &mut DbConn,
    id: uuid::Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<bool, AppError> {
    let n = diesel::update(
        cs::table
            .find(id.to_string())
            .filter(cs::ended_at.is_null()),
    )
    .set((cs::ended_at.eq(to_db(at)), cs::end_reason.eq(reason)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sets the purpose of a session that has not ended.
pub fn set_purpose(conn: &mut DbConn, id: uuid::Uuid, purpose: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        cs::table
            .find(id.to_string())
            .filter(cs::ended_at.is_null()),
    )
    .set(cs::purpose.eq(purpose))
    .execute(conn)?;
    Ok(n == 1)
}
