//! Partnerships, their members and areas, versions of their terms of reference and the
//! members' acceptances.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{
    partnership_areas as pa, partnership_members as pm, partnerships as p, terms_acceptances as ta,
    terms_versions as tv,
};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::agency::GssCode;
use crate::domain::ids::{AgencyId, PartnershipId};
use crate::domain::partnership::{
    Acceptance, Member, MemberStatus, Partnership, Responsibility, Signer, Terms, TermsContent,
    TermsHistory,
};
use crate::error::AppError;

fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, AppError> {
    s.parse()
        .map_err(|_| AppError::internal(format!("stored id `{s}` is not a uuid")))
}

fn parse_opt_id<T: std::str::FromStr>(s: Option<&str>) -> Result<Option<T>, AppError> {
    s.map(parse_id).transpose()
}

#[derive(Queryable)]
struct Row {
    id: String,
    name: String,
    lead_agency_id: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Stores a new partnership with its areas and members.
pub fn insert(conn: &mut DbConn, x: &Partnership) -> Result<(), AppError> {
    let id = x.id.to_string();
    diesel::insert_into(p::table)
        .values((
            p::id.eq(&id),
            p::name.eq(&x.name),
            p::lead_agency_id.eq(x.lead_agency_id.map(|a| a.to_string())),
            p::created_at.eq(to_db(x.created_at)),
            p::updated_at.eq(to_db(x.updated_at)),
        ))
        .execute(conn)?;
    for area in &x.areas {
        diesel::insert_into(pa::table)
            .values((pa::partnership_id.eq(&id), pa::area.eq(area.as_str())))
            .execute(conn)?;
    }
    for m in &x.members {
        add_member(conn, x.id, m)?;
    }
    Ok(())
}

/// Marks the partnership changed and takes its row lock (PostgreSQL) for the rest of the
/// transaction, so concurrent changes to one partnership queue. False if it does not exist.
pub fn touch(conn: &mut DbConn, id: PartnershipId, now: DateTime<Utc>) -> Result<bool, AppError> {
    let n = diesel::update(p::table.find(id.to_string()))
        .set(p::updated_at.eq(to_db(now)))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn add_member(conn: &mut DbConn, id: PartnershipId, m: &Member) -> Result<(), AppError> {
    diesel::insert_into(pm::table)
        .values((
            pm::partnership_id.eq(id.to_string()),
            pm::agency_id.eq(m.agency_id.to_string()),
            pm::joined_at.eq(to_db(m.joined_at)),
            pm::status.eq(m.status.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// An invited agency joins: it is a member from `at`. False if it was not invited.
pub fn join(
    conn: &mut DbConn,
    id: PartnershipId,
    agency: AgencyId,
    at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let n = diesel::update(
        pm::table
            .filter(pm::partnership_id.eq(id.to_string()))
            .filter(pm::agency_id.eq(agency.to_string()))
            .filter(pm::status.eq(MemberStatus::Invited.as_str())),
    )
    .set((
        pm::status.eq(MemberStatus::Member.as_str()),
        pm::joined_at.eq(to_db(at)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// An invited agency declines: the invitation is gone. False if it was not invited.
pub fn remove_invitation(
    conn: &mut DbConn,
    id: PartnershipId,
    agency: AgencyId,
) -> Result<bool, AppError> {
    let n = diesel::delete(
        pm::table
            .filter(pm::partnership_id.eq(id.to_string()))
            .filter(pm::agency_id.eq(agency.to_string()))
            .filter(pm::status.eq(MemberStatus::Invited.as_str())),
    )
    .execute(conn)?;
    Ok(n == 1)
}

fn assemble(conn: &mut DbConn, rows: Vec<Row>) -> Result<Vec<Partnership>, AppError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let areas: Vec<(String, String)> = pa::table
        .filter(pa::partnership_id.eq_any(&ids))
        .select((pa::partnership_id, pa::area))
        .order((pa::partnership_id, pa::area))
        .load(conn)?;
    let members: Vec<(String, String, NaiveDateTime, String)> = pm::table
        .filter(pm::partnership_id.eq_any(&ids))
        .select((pm::partnership_id, pm::agency_id, pm::joined_at, pm::status))
        .order((pm::partnership_id, pm::joined_at, pm::agency_id))
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(Partnership {
                id: parse_id(&r.id)?,
                areas: areas
                    .iter()
                    .filter(|(pid, _)| *pid == r.id)
                    .map(|(_, a)| GssCode::parse(a).map_err(AppError::internal))
                    .collect::<Result<_, _>>()?,
                members: members
                    .iter()
                    .filter(|(pid, _, _, _)| *pid == r.id)
                    .map(|(_, a, at, status)| {
                        Ok(Member {
                            agency_id: parse_id(a)?,
                            joined_at: from_db(*at),
                            status: MemberStatus::parse(status).ok_or_else(|| {
                                AppError::internal(format!("stored member status `{status}`"))
                            })?,
                        })
                    })
                    .collect::<Result<_, AppError>>()?,
                name: r.name,
                lead_agency_id: parse_opt_id(r.lead_agency_id.as_deref())?,
                created_at: from_db(r.created_at),
                updated_at: from_db(r.updated_at),
            })
        })
        .collect()
}

/// One partnership with its areas and members.
pub fn get(conn: &mut DbConn, id: PartnershipId) -> Result<Option<Partnership>, AppError> {
    let row: Option<Row> = p::table.find(id.to_string()).first(conn).optional()?;
    Ok(assemble(conn, row.into_iter().collect())?
        .into_iter()
        .next())
}

/// Whether a partnership of that exact name exists.
pub fn name_taken(conn: &mut DbConn, name: &str) -> Result<bool, AppError> {
    let n: i64 = p::table.filter(p::name.eq(name)).count().get_result(conn)?;
    Ok(n > 0)
}

/// A page of partnerships in id order after the cursor, optionally only those `member`
/// belongs to (has joined or is invited to).
pub fn list(
    conn: &mut DbConn,
    after: Option<PartnershipId>,
    member: Option<AgencyId>,
    limit: i64,
) -> Result<Vec<Partnership>, AppError> {
    let mut q = p::table.into_boxed();
    if let Some(after) = after {
        q = q.filter(p::id.gt(after.to_string()));
    }
    if let Some(m) = member {
        let ids = pm::table
            .filter(pm::agency_id.eq(m.to_string()))
            .select(pm::partnership_id);
        q = q.filter(p::id.eq_any(ids));
    }
    let rows: Vec<Row> = q.order(p::id).limit(limit).load(conn)?;
    assemble(conn, rows)
}

#[derive(Queryable)]
struct TermsRow {
    partnership_id: String,
    version: i32,
    purpose: String,
    scope: String,
    responsibilities: String,
    review_date: NaiveDate,
    published_at: NaiveDateTime,
    published_by_agency_id: Option<String>,
    published_by_issuer: String,
    published_by_subject: String,
}

impl TermsRow {
    fn into_domain(self) -> Result<Terms, AppError> {
        let responsibilities: Vec<Responsibility> = serde_json::from_str(&self.responsibilities)?;
        Ok(Terms {
            partnership_id: parse_id(&self.partnership_id)?,
            version: self.version,
            content: TermsContent {
                purpose: self.purpose,
                scope: self.scope,
                responsibilities,
                review_date: self.review_date,
            },
            published_at: from_db(self.published_at),
            published_by: Signer {
                agency_id: parse_opt_id(self.published_by_agency_id.as_deref())?,
                issuer: self.published_by_issuer,
                subject: self.published_by_subject,
            },
        })
    }
}

pub fn insert_terms(conn: &mut DbConn, t: &Terms) -> Result<(), AppError> {
    diesel::insert_into(tv::table)
        .values((
            tv::partnership_id.eq(t.partnership_id.to_string()),
            tv::version.eq(t.version),
            tv::purpose.eq(&t.content.purpose),
            tv::scope.eq(&t.content.scope),
            tv::responsibilities.eq(serde_json::to_string(&t.content.responsibilities)?),
            tv::review_date.eq(t.content.review_date),
            tv::published_at.eq(to_db(t.published_at)),
            tv::published_by_agency_id.eq(t.published_by.agency_id.map(|a| a.to_string())),
            tv::published_by_issuer.eq(&t.published_by.issuer),
            tv::published_by_subject.eq(&t.published_by.subject),
        ))
        .execute(conn)?;
    Ok(())
}

/// One version of a partnership's terms.
pub fn terms(
    conn: &mut DbConn,
    id: PartnershipId,
    version: i32,
) -> Result<Option<Terms>, AppError> {
    let row: Option<TermsRow> = tv::table
        .filter(tv::partnership_id.eq(id.to_string()))
        .filter(tv::version.eq(version))
        .first(conn)
        .optional()?;
    row.map(TermsRow::into_domain).transpose()
}

/// The latest version of a partnership's terms.
pub fn latest_terms(conn: &mut DbConn, id: PartnershipId) -> Result<Option<Terms>, AppError> {
    let row: Option<TermsRow> = tv::table
        .filter(tv::partnership_id.eq(id.to_string()))
        .order(tv::version.desc())
        .first(conn)
        .optional()?;
    row.map(TermsRow::into_domain).transpose()
}

pub fn insert_acceptance(
    conn: &mut DbConn,
    id: PartnershipId,
    a: &Acceptance,
) -> Result<(), AppError> {
    diesel::insert_into(ta::table)
        .values((
            ta::partnership_id.eq(id.to_string()),
            ta::version.eq(a.version),
            ta::agency_id.eq(a.agency_id.to_string()),
            ta::accepted_at.eq(to_db(a.accepted_at)),
            ta::accepted_by_issuer.eq(&a.accepted_by.issuer),
            ta::accepted_by_subject.eq(&a.accepted_by.subject),
        ))
        .execute(conn)?;
    Ok(())
}

/// The acceptances of one version, in the order given.
pub fn acceptances(
    conn: &mut DbConn,
    id: PartnershipId,
    version: i32,
) -> Result<Vec<Acceptance>, AppError> {
    let rows: Vec<(String, NaiveDateTime, String, String)> = ta::table
        .filter(ta::partnership_id.eq(id.to_string()))
        .filter(ta::version.eq(version))
        .select((
            ta::agency_id,
            ta::accepted_at,
            ta::accepted_by_issuer,
            ta::accepted_by_subject,
        ))
        .order((ta::accepted_at, ta::agency_id))
        .load(conn)?;
    rows.into_iter()
        .map(|(a, at, issuer, subject)| {
            let agency_id: AgencyId = parse_id(&a)?;
            Ok(Acceptance {
                version,
                agency_id,
                accepted_at: from_db(at),
                accepted_by: Signer {
                    agency_id: Some(agency_id),
                    issuer,
                    subject,
                },
            })
        })
        .collect()
}

/// The terms history (publication times and acceptances) of each partnership in `ids`.
pub fn histories(
    conn: &mut DbConn,
    ids: &[PartnershipId],
) -> Result<HashMap<PartnershipId, TermsHistory>, AppError> {
    let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let versions: Vec<(String, i32, NaiveDateTime)> = tv::table
        .filter(tv::partnership_id.eq_any(&keys))
        .select((tv::partnership_id, tv::version, tv::published_at))
        .load(conn)?;
    let accepted: Vec<(String, i32, String, NaiveDateTime)> = ta::table
        .filter(ta::partnership_id.eq_any(&keys))
        .select((
            ta::partnership_id,
            ta::version,
            ta::agency_id,
            ta::accepted_at,
        ))
        .load(conn)?;
    let mut out: HashMap<PartnershipId, TermsHistory> = ids
        .iter()
        .map(|id| (*id, TermsHistory::default()))
        .collect();
    for (pid, v, at) in versions {
        if let Some(h) = out.get_mut(&parse_id(&pid)?) {
            h.versions.push((v, from_db(at)));
        }
    }
    for (pid, v, agency, at) in accepted {
        if let Some(h) = out.get_mut(&parse_id(&pid)?) {
            h.acceptances.push((v, parse_id(&agency)?, from_db(at)));
        }
    }
    Ok(out)
}
