//! Learning records and their recommendations, always read within one partnership (the
//! caller has checked that the reader's agency is a member of it).
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{learning_recommendations as rc, learning_records as lr};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::ids::{LearningRecordId, PartnershipId, RecommendationId};
use crate::domain::learning::{LearningRecord, Recommendation, RecommendationStatus};
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = lr)]
#[diesel(treat_none_as_default_value = false)]
struct RecordRow {
    id: String,
    partnership_id: String,
    recorded_by_agency_id: String,
    recorded_by_subject: String,
    body: String,
    created_at: NaiveDateTime,
}

pub fn insert_record(conn: &mut DbConn, x: &LearningRecord, subject: &str) -> Result<(), AppError> {
    diesel::insert_into(lr::table)
        .values(RecordRow {
            id: x.id.to_string(),
            partnership_id: x.partnership_id.to_string(),
            recorded_by_agency_id: x.recorded_by_agency_id.to_string(),
            recorded_by_subject: subject.to_owned(),
            body: serde_json::to_string(x)?,
            created_at: to_db(x.recorded_at),
        })
        .execute(conn)?;
    Ok(())
}

/// One learning record (whichever partnership it belongs to; the caller checks membership).
pub fn get_record(
    conn: &mut DbConn,
    id: LearningRecordId,
) -> Result<Option<LearningRecord>, AppError> {
    let row: Option<RecordRow> = lr::table.find(id.to_string()).first(conn).optional()?;
    row.map(|r| Ok(serde_json::from_str(&r.body)?)).transpose()
}

/// A page of a partnership's learning records in id order.
pub fn records_of(
    conn: &mut DbConn,
    partnership: PartnershipId,
    after: Option<LearningRecordId>,
    limit: i64,
) -> Result<Vec<LearningRecord>, AppError> {
    let mut q = lr::table
        .filter(lr::partnership_id.eq(partnership.to_string()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(lr::id.gt(a.to_string()));
    }
    let rows: Vec<RecordRow> = q.order(lr::id).limit(limit).load(conn)?;
    rows.into_iter()
        .map(|r| Ok(serde_json::from_str(&r.body)?))
        .collect()
}

#[derive(Queryable, Insertable, AsChangeset)]
#[diesel(table_name = rc, treat_none_as_null = true)]
#[diesel(treat_none_as_default_value = false)]
struct RecommendationRow {
    id: String,
    learning_record_id: String,
    partnership_id: String,
    text: String,
    owner_agency_id: String,
    due_on: NaiveDate,
    status: String,
    evidence: Option<String>,
    closed_at: Option<NaiveDateTime>,
    closed_by_agency_id: Option<String>,
    closed_by_subject: Option<String>,
    updated_at: NaiveDateTime,
}

impl RecommendationRow {
    fn of(x: &Recommendation, closed_by_subject: Option<&str>) -> RecommendationRow {
        RecommendationRow {
            id: x.id.to_string(),
            learning_record_id: x.learning_record_id.to_string(),
            partnership_id: x.partnership_id.to_string(),
            text: x.text.clone(),
            owner_agency_id: x.owner_agency_id.to_string(),
            due_on: x.due_on,
            status: x.status.as_str().to_owned(),
            evidence: x.evidence.clone(),
            closed_at: x.closed_at.map(to_db),
            closed_by_agency_id: x.closed_by_agency_id.map(|a| a.to_string()),
            closed_by_subject: closed_by_subject.map(str::to_owned),
            updated_at: to_db(x.updated_at),
        }
    }

    fn into_domain(self) -> Result<Recommendation, AppError> {
        fn id<T: std::str::FromStr<Err = uuid::Error>>(s: &str) -> Result<T, AppError> {
            s.parse().map_err(AppError::internal)
        }
        Ok(Recommendation {
            id: id(&self.id)?,
            learning_record_id: id(&self.learning_record_id)?,
            partnership_id: id(&self.partnership_id)?,
            text: self.text,
            owner_agency_id: id(&self.owner_agency_id)?,
            due_on: self.due_on,
            status: self.status.parse().map_err(AppError::internal)?,
            evidence: self.evidence,
            closed_at: self.closed_at.map(from_db),
            closed_by_agency_id: self.closed_by_agency_id.as_deref().map(id).transpose()?,
            updated_at: from_db(self.updated_at),
        })
    }
}

pub fn insert_recommendations(conn: &mut DbConn, all: &[Recommendation]) -> Result<(), AppError> {
    for x in all {
        diesel::insert_into(rc::table)
            .values(RecommendationRow::of(x, None))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a recommendation's status, evidence and closure.
pub fn update_recommendation(
    conn: &mut DbConn,
    x: &Recommendation,
    closed_by_subject: Option<&str>,
) -> Result<(), AppError> {
    diesel::update(rc::table.find(x.id.to_string()))
        .set(RecommendationRow::of(x, closed_by_subject))
        .execute(conn)?;
    Ok(())
}

pub fn get_recommendation(
    conn: &mut DbConn,
    id: RecommendationId,
) -> Result<Option<Recommendation>, AppError> {
    let row: Option<RecommendationRow> = rc::table.find(id.to_string()).first(conn).optional()?;
    row.map(RecommendationRow::into_domain).transpose()
}

/// The recommendations of one learning record, in id order.
pub fn recommendations_of_record(
    conn: &mut DbConn,
    record: LearningRecordId,
) -> Result<Vec<Recommendation>, AppError> {
    let rows: Vec<RecommendationRow> = rc::table
        .filter(rc::learning_record_id.eq(record.to_string()))
        .order(rc::id)
        .load(conn)?;
    rows.into_iter()
        .map(RecommendationRow::into_domain)
        .collect()
}

/// A partnership's recommendations not `closed` (or only those of `status`), in due order.
pub fn recommendations_of(
    conn: &mut DbConn,
    partnership: PartnershipId,
    status: Option<RecommendationStatus>,
) -> Result<Vec<Recommendation>, AppError> {
    let mut q = rc::table
        .filter(rc::partnership_id.eq(partnership.to_string()))
        .into_boxed();
    q = match status {
        Some(s) => q.filter(rc::status.eq(s.as_str())),
        None => q.filter(rc::status.ne(RecommendationStatus::Closed.as_str())),
    };
    let rows: Vec<RecommendationRow> = q.order((rc::due_on, rc::id)).load(conn)?;
    rows.into_iter()
        .map(RecommendationRow::into_domain)
        .collect()
}
