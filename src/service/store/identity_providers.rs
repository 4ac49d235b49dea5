//! Identity-provider registrations: which issuer speaks for which agency.
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::identity_providers as ip;
use super::time::to_db;
use super::DbConn;
use crate::domain::agency::{ClientSecret, ConsoleClient, IdentityProvider};
use crate::domain::ids::AgencyId;
use crate::domain::role::Role;
use crate::error::AppError;

#[derive(Queryable, Insertable, AsChangeset)]
#[diesel(table_name = ip, treat_none_as_null = true)]
#[diesel(treat_none_as_default_value = false)]
struct Row {
    agency_id: String,
    issuer: String,
    audience: String,
    roles_claim: String,
    role_map: String,
    accept_jwt_typ: bool,
    updated_at: NaiveDateTime,
    console_client_id: Option<String>,
    console_client_secret: Option<String>,
    console_redirect_uri: Option<String>,
}

impl Row {
    fn into_domain(self) -> Result<IdentityProvider, AppError> {
        let role_map: BTreeMap<String, Role> = serde_json::from_str(&self.role_map)?;
        let console = match (self.console_client_id, self.console_redirect_uri) {
            (Some(client_id), Some(redirect_uri)) => Some(ConsoleClient {
                client_id,
                client_secret: self.console_client_secret.map(ClientSecret::Sealed),
                redirect_uri,
            }),
            _ => None,
        };
        Ok(IdentityProvider {
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            issuer: self.issuer,
            audience: self.audience,
            roles_claim: self.roles_claim,
            role_map,
            accept_jwt_typ: self.accept_jwt_typ,
            console,
        })
    }
}

/// Creates or replaces an agency's registration. A console client secret must already be
/// sealed: a plain one is refused, so it never reaches the database.
pub fn upsert(
    conn: &mut DbConn,
    p: &IdentityProvider,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let console = p.console.as_ref();
    let secret = match console.and_then(|c| c.client_secret.as_ref()) {
        None => None,
        Some(ClientSecret::Sealed(s)) => Some(s.clone()),
        Some(ClientSecret::Plain(_)) => {
            return Err(AppError::internal("a console client secret must be sealed"))
        }
    };
    let row = Row {
        agency_id: p.agency_id.to_string(),
        issuer: p.issuer.clone(),
        audience: p.audience.clone(),
        roles_claim: p.roles_claim.clone(),
        role_map: serde_json::to_string(&p.role_map)?,
        accept_jwt_typ: p.accept_jwt_typ,
        updated_at: to_db(now),
        console_client_id: console.map(|c| c.client_id.clone()),
        console_client_secret: secret,
        console_redirect_uri: console.map(|c| c.redirect_uri.clone()),
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

/// The agencies whose registration names a console client, by name: `(id, name, issuer)`.
pub fn console_agencies(conn: &mut DbConn) -> Result<Vec<(AgencyId, String, String)>, AppError> {
    use super::schema::agencies as a;
    let rows: Vec<(String, String, String)> = ip::table
        .inner_join(a::table)
        .filter(ip::console_client_id.is_not_null())
        .filter(ip::console_redirect_uri.is_not_null())
        .select((a::id, a::name, ip::issuer))
        .order(a::name)
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name, issuer)| Ok((id.parse().map_err(AppError::internal)?, name, issuer)))
        .collect()
}
