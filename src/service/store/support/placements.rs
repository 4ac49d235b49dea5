//! Placements of referred people with services, and the referrals of an area as the
//! coverage report needs them.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::super::schema::{referral_routing as rr, referrals as r, support_placements as pl};
use super::super::time::{from_db, to_db};
use super::super::DbConn;
use super::parse;
use crate::domain::agency::GssCode;
use crate::domain::ids::AgencyId;
use crate::domain::referral_lifecycle::{Lifecycle, Status};
use crate::domain::support::input::Placement;
use crate::error::AppError;

#[derive(Queryable)]
struct Row {
    id: String,
    referral_id: String,
    service_id: String,
    referring_agency_id: String,
    placed_by_agency_id: String,
    stage: String,
    area: String,
    started_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl Row {
    fn into_domain(self) -> Result<Placement, AppError> {
        Ok(Placement {
            id: parse("placement id", &self.id)?,
            referral_id: self.referral_id,
            service_id: parse("service id", &self.service_id)?,
            referrer: parse("agency id", &self.referring_agency_id)?,
            placed_by: parse("agency id", &self.placed_by_agency_id)?,
            stage: parse("stage", &self.stage)?,
            area: GssCode::parse(&self.area).map_err(AppError::internal)?,
            started_at: from_db(self.started_at),
            ended_at: self.ended_at.map(from_db),
            created_at: from_db(self.created_at),
        })
    }
}

fn all(rows: Vec<Row>) -> Result<Vec<Placement>, AppError> {
    rows.into_iter().map(Row::into_domain).collect()
}

pub fn insert_placement(conn: &mut DbConn, p: &Placement) -> Result<(), AppError> {
    diesel::insert_into(pl::table)
        .values((
            pl::id.eq(p.id.to_string()),
            pl::referral_id.eq(&p.referral_id),
            pl::service_id.eq(p.service_id.to_string()),
            pl::referring_agency_id.eq(p.referrer.to_string()),
            pl::placed_by_agency_id.eq(p.placed_by.to_string()),
            pl::stage.eq(p.stage.as_str()),
            pl::area.eq(p.area.as_str()),
            pl::started_at.eq(to_db(p.started_at)),
            pl::ended_at.eq(p.ended_at.map(to_db)),
            pl::created_at.eq(to_db(p.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// One placement (the use case decides who may see it).
pub fn placement(conn: &mut DbConn, id: Uuid) -> Result<Option<Placement>, AppError> {
    let row: Option<Row> = pl::table.find(id.to_string()).first(conn).optional()?;
    row.map(Row::into_domain).transpose()
}

/// Ends an open placement; false when it had ended already.
pub fn end_placement(conn: &mut DbConn, id: Uuid, at: DateTime<Utc>) -> Result<bool, AppError> {
    let n = diesel::update(
        pl::table
            .filter(pl::id.eq(id.to_string()))
            .filter(pl::ended_at.is_null()),
    )
    .set(pl::ended_at.eq(to_db(at)))
    .execute(conn)?;
    Ok(n == 1)
}

/// The placements with `services`.
pub fn placements_with(conn: &mut DbConn, services: &[Uuid]) -> Result<Vec<Placement>, AppError> {
    let ids: Vec<String> = services.iter().map(Uuid::to_string).collect();
    let rows: Vec<Row> = pl::table
        .filter(pl::service_id.eq_any(ids))
        .order(pl::id)
        .load(conn)?;
    all(rows)
}

/// The placements of the people referred in `area`.
pub fn placements_in(conn: &mut DbConn, area: &GssCode) -> Result<Vec<Placement>, AppError> {
    let rows: Vec<Row> = pl::table
        .filter(pl::area.eq(area.as_str()))
        .order(pl::id)
        .load(conn)?;
    all(rows)
}

/// How many people are placed with `service` at `at`.
pub fn occupied(conn: &mut DbConn, service: Uuid, at: DateTime<Utc>) -> Result<u32, AppError> {
    let at = to_db(at);
    let n: i64 = pl::table
        .filter(pl::service_id.eq(service.to_string()))
        .filter(pl::started_at.le(at))
        .filter(pl::ended_at.is_null().or(pl::ended_at.gt(at)))
        .count()
        .get_result(conn)?;
    u32::try_from(n).map_err(AppError::internal)
}

/// A referral of an area, as far as its support stage goes.
#[derive(Debug, Clone)]
pub struct AreaReferral {
    pub id: String,
    pub referrer: AgencyId,
    pub lifecycle: Lifecycle,
    pub created_at: DateTime<Utc>,
}

/// The referrals of `area` that are not closed.
pub fn open_referrals_in(conn: &mut DbConn, area: &GssCode) -> Result<Vec<AreaReferral>, AppError> {
    let rows: Vec<(String, String, String, String, bool, NaiveDateTime)> = r::table
        .filter(r::area.eq(area.as_str()))
        .filter(r::status.ne(Status::Closed.as_str()))
        .select((
            r::id,
            r::referring_agency_id,
            r::pathway,
            r::status,
            r::child,
            r::created_at,
        ))
        .order(r::id)
        .load(conn)?;
    rows.into_iter()
        .map(|(id, referrer, pathway, status, child, created)| {
            Ok(AreaReferral {
                id,
                referrer: parse("agency id", &referrer)?,
                lifecycle: Lifecycle {
                    status: parse("status", &status)?,
                    pathway: parse("pathway", &pathway)?,
                    child,
                },
                created_at: from_db(created),
            })
        })
        .collect()
}

/// The ids among `ids` of the referrals disclosed to `agency`.
pub fn received_of(
    conn: &mut DbConn,
    agency: AgencyId,
    ids: &[String],
) -> Result<Vec<String>, AppError> {
    Ok(rr::table
        .filter(rr::agency_id.eq(agency.to_string()))
        .filter(rr::decision.eq("notified"))
        .filter(rr::referral_id.eq_any(ids))
        .select(rr::referral_id)
        .load(conn)?)
}
