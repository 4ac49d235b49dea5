//! Identity-provider registrations: which issuer speaks for which agency.
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::identity_providers as ip;
use super::time::to_db;
use super::DbConn;
use crate::domain::agency::IdentityProvider;
use crate::domain::ids::AgencyId;
use crate::domain::role::Role;
use crate::error::AppError;

#[derive(Queryable, Insertable, AsChangeset)]
#[diesel(table_name = ip)]
struct Row {
    agency_id: String,
    issuer: String,
    audience: String,
    roles_claim: String,
    role_map: String,
    accept_jwt_typ: bool,
    updated_at: NaiveDateTime,
}

impl Row {
    fn into_domain(self) -> Result<IdentityProvider, AppError> {
        let role_map: BTreeMap<String, Role> = serde_json::from_str(&self.role_map)?;
        Ok(IdentityProvider {
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            issuer: self.issuer,
            audience: self.audience,
            roles_claim: self.roles_claim,
            role_map,
            accept_jwt_typ: self.accept_jwt_typ,
        })
    }
}

/// Creates or replaces an agency's registration.
pub fn upsert(
    conn: &mut DbConn,
    p: &IdentityProvider,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let row = Row {
        agency_id: p.agency_id.to_string(),
        issuer: p.issuer.clone(),
        audience: p.audience.clone(),
        roles_claim: p.roles_claim.clone(),
        role_map: serde_json::to_string(&p.role_map)?,
        accept_jwt_typ: p.accept_jwt_typ,
        updated_at: to_db(now),
    };
    let n = diesel::update(ip::table.find(&row.agency_id))
        .set(&row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(ip::table).values(&row).execute(conn)?;
    }
    Ok(())
}

/// The registration whose issuer is exactly `issuer`.
pub fn by_issuer(conn: &mut DbConn, issuer: &str) -> Result<Option<IdentityProvider>, AppError> {
    let row: Option<Row> = ip::table
        .filter(ip::issuer.eq(issuer))
        .first(conn)
        .optional()?;
    row.map(Row::into_domain).transpose()
}

/// The registration of one agency.
pub fn of_agency(
    conn: &mut DbConn,
    agency: AgencyId,
) -> Result<Option<IdentityProvider>, AppError> {
    let row: Option<Row> = ip::table.find(agency.to_string()).first(conn).optional()?;
    row.map(Row::into_domain).transpose()
}

/// Every registered issuer, in order.
pub fn issuers(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    Ok(ip::table.select(ip::issuer).order(ip::issuer).load(conn)?)
}
