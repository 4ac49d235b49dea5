//! The agency directory: rows, inserts and look-ups. Agencies themselves are the directory
//! every caller may read; the data they hold is scoped elsewhere by agency id.
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{agencies, agency_areas};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::agency::{Agency, AgencyKind, GssCode};
use crate::domain::ids::AgencyId;
use crate::error::AppError;

#[derive(Queryable, Insertable, AsChangeset)]
#[diesel(table_name = agencies)]
#[diesel(treat_none_as_default_value = false)]
struct AgencyRow {
    id: String,
    name: String,
    kind: String,
    first_responder: bool,
    contact_email: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl AgencyRow {
    fn from_domain(a: &Agency) -> Self {
        AgencyRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            kind: a.kind.as_str().to_owned(),
            first_responder: a.first_responder,
            contact_email: a.contact_email.clone(),
            created_at: to_db(a.created_at),
            updated_at: to_db(a.updated_at),
        }
    }

    fn into_domain(self, areas: Vec<GssCode>) -> Result<Agency, AppError> {
        Ok(Agency {
            id: self.id.parse().map_err(AppError::internal)?,
            name: self.name,
            kind: self
                .kind
                .parse::<AgencyKind>()
                .map_err(AppError::internal)?,
            areas,
            first_responder: self.first_responder,
            contact_email: self.contact_email,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

fn write_areas(conn: &mut DbConn, id: &str, areas: &[GssCode]) -> Result<(), AppError> {
    diesel::delete(agency_areas::table.filter(agency_areas::agency_id.eq(id))).execute(conn)?;
    for area in areas {
        diesel::insert_into(agency_areas::table)
            .values((
                agency_areas::agency_id.eq(id),
                agency_areas::area.eq(area.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn areas_of(conn: &mut DbConn, id: &str) -> Result<Vec<GssCode>, AppError> {
    let rows: Vec<String> = agency_areas::table
        .filter(agency_areas::agency_id.eq(id))
        .select(agency_areas::area)
        .order(agency_areas::area)
        .load(conn)?;
    rows.iter()
        .map(|a| GssCode::parse(a).map_err(AppError::internal))
        .collect()
}

/// Stores a new agency with its areas.
pub fn insert(conn: &mut DbConn, a: &Agency) -> Result<(), AppError> {
    diesel::insert_into(agencies::table)
        .values(AgencyRow::from_domain(a))
        .execute(conn)?;
    write_areas(conn, &a.id.to_string(), &a.areas)
}

/// Replaces an agency's fields and areas.
pub fn update(conn: &mut DbConn, a: &Agency) -> Result<(), AppError> {
    let id = a.id.to_string();
    let n = diesel::update(agencies::table.find(&id))
        .set(AgencyRow::from_domain(a))
        .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    write_areas(conn, &id, &a.areas)
}

/// One agency by id.
pub fn get(conn: &mut DbConn, id: AgencyId) -> Result<Option<Agency>, AppError> {
    let key = id.to_string();
    let row: Option<AgencyRow> = agencies::table.find(&key).first(conn).optional()?;
    match row {
        None => Ok(None),
        Some(r) => {
            let areas = areas_of(conn, &key)?;
            r.into_domain(areas).map(Some)
        }
    }
}

/// One agency by its exact name.
pub fn get_by_name(conn: &mut DbConn, name: &str) -> Result<Option<Agency>, AppError> {
    let row: Option<AgencyRow> = agencies::table
        .filter(agencies::name.eq(name))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some(r) => {
            let areas = areas_of(conn, &r.id)?;
            r.into_domain(areas).map(Some)
        }
    }
}

/// A page of agencies in id order, after the cursor.
pub fn list(
    conn: &mut DbConn,
    after: Option<AgencyId>,
    kind: Option<AgencyKind>,
    limit: i64,
) -> Result<Vec<Agency>, AppError> {
    let mut q = agencies::table.into_boxed();
    if let Some(after) = after {
        q = q.filter(agencies::id.gt(after.to_string()));
    }
    if let Some(kind) = kind {
        q = q.filter(agencies::kind.eq(kind.as_str()));
    }
    let rows: Vec<AgencyRow> = q.order(agencies::id).limit(limit).load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let areas = areas_of(conn, &r.id)?;
        out.push(r.into_domain(areas)?);
    }
    Ok(out)
}

/// The agencies of `kind` that cover `area`, in id order.
pub fn covering_area(
    conn: &mut DbConn,
    area: &GssCode,
    kind: AgencyKind,
) -> Result<Vec<AgencyId>, AppError> {
    let ids: Vec<String> = agencies::table
        .inner_join(agency_areas::table)
        .filter(agency_areas::area.eq(area.as_str()))
        .filter(agencies::kind.eq(kind.as_str()))
        .select(agencies::id)
        .order(agencies::id)
        .load(conn)?;
    ids.iter()
        .map(|i| i.parse().map_err(AppError::internal))
        .collect()
}
