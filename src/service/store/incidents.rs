//! Incidents and their routing decisions. An incident is read in full only by its reporting
//! agency (every finder here takes that agency); recipients read it through a notification.
//! A new incident and its decisions, recorded by an appending intent, wait for the writer's
//! batch flush ([`super::batch`]); the finders of one incident look at what waits first.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::insert::insert_rows;
use super::schema::{incidents as i, routing_decisions as r};
use super::time::{from_db, to_db};
use super::{batch, DbConn};
use crate::domain::audit::AgreementRef;
use crate::domain::ids::AgencyId;
use crate::domain::incident::Incident;
use crate::domain::records::{Decision, StoredIncident as Stored};
use crate::domain::routing::Route;
use crate::error::AppError;

#[derive(Queryable, Insertable, Clone)]
#[diesel(table_name = i)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct Row {
    id: String,
    reporting_agency_id: String,
    reference: String,
    area: String,
    classification: String,
    body: String,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl Row {
    fn into_stored(self) -> Result<Stored, AppError> {
        let mut incident = serde_json::from_str::<Incident>(&self.body)?;
        incident.upgrade();
        Ok(Stored {
            incident,
            version: self.version,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConn, x: &Incident, now: DateTime<Utc>) -> Result<(), AppError> {
    let row = Row {
        id: x.id.clone(),
        reporting_agency_id: x.reporting_agency.to_string(),
        reference: x.reference.clone(),
        area: x.area.to_string(),
        classification: x.classification.as_str().to_owned(),
        body: serde_json::to_string(x)?,
        version: 1,
        created_at: to_db(now),
        updated_at: to_db(now),
    };
    match batch::defer(vec![row], |w| &mut w.incidents) {
        Some(rows) => write_rows(conn, &rows),
        None => Ok(()),
    }
}

/// Writes incident rows, many per cached statement.
pub(super) fn write_rows(conn: &mut DbConn, rows: &[Row]) -> Result<(), AppError> {
    insert_rows!(conn, i::table, rows);
    Ok(())
}

/// Replaces the incident's content and bumps its version; returns the new version.
pub fn update(conn: &mut DbConn, x: &Incident, now: DateTime<Utc>) -> Result<i32, AppError> {
    let current: i32 = i::table
        .find(&x.id)
        .filter(i::reporting_agency_id.eq(x.reporting_agency.to_string()))
        .select(i::version)
        .first(conn)?;
    let next = current.saturating_add(1);
    diesel::update(i::table.find(&x.id))
        .set((
            i::reference.eq(&x.reference),
            i::area.eq(x.area.as_str()),
            i::classification.eq(x.classification.as_str()),
            i::body.eq(serde_json::to_string(x)?),
            i::version.eq(next),
            i::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(next)
}

/// One incident of `reporter`.
pub fn get(conn: &mut DbConn, reporter: AgencyId, id: &str) -> Result<Option<Stored>, AppError> {
    let reporter = reporter.to_string();
    let waiting = batch::waiting(
        |w| &mut w.incidents,
        |r| r.id == id && r.reporting_agency_id == reporter,
    );
    let row: Option<Row> = match waiting.into_iter().next() {
        Some(row) => Some(row),
        None => i::table
            .find(id)
            .filter(i::reporting_agency_id.eq(reporter))
            .first(conn)
            .optional()?,
    };
    row.map(Row::into_stored).transpose()
}

/// The incident a notification of `recipient` refers to, reached through that notification
/// (the caller has already found the notification within the recipient's scope).
pub fn get_for_notification(
    conn: &mut DbConn,
    discloser: AgencyId,
    id: &str,
) -> Result<Option<Stored>, AppError> {
    get(conn, discloser, id)
}

/// A page of `reporter`'s incidents.
pub fn list(
    conn: &mut DbConn,
    reporter: AgencyId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Stored>, AppError> {
    let mut q = i::table
        .filter(i::reporting_agency_id.eq(reporter.to_string()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(i::id.gt(a.to_owned()));
    }
    let rows: Vec<Row> = q.order(i::id).limit(limit).load(conn)?;
    rows.into_iter().map(Row::into_stored).collect()
}

#[derive(Queryable, Insertable, AsChangeset, Clone)]
#[diesel(table_name = r)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct DecisionRow {
    incident_id: String,
    agency_id: String,
    route: String,
    purpose: String,
    decision: String,
    reasons: String,
    agreement_id: Option<String>,
    agreement_version: Option<i32>,
    fields: String,
    incident_version: i32,
    decided_at: NaiveDateTime,
}

/// Records a new incident's decisions (for an appending intent, at the batch's flush with
/// the other new incidents' decisions).
pub fn insert_decisions(
    conn: &mut DbConn,
    incident: &str,
    all: &[Decision],
) -> Result<(), AppError> {
    let rows = all
        .iter()
        .map(|d| decision_row(incident, d))
        .collect::<Result<Vec<_>, AppError>>()?;
    match batch::defer(rows, |w| &mut w.decisions) {
        Some(rows) => write_decisions(conn, &rows),
        None => Ok(()),
    }
}

/// Writes decision rows, many per cached statement.
pub(super) fn write_decisions(conn: &mut DbConn, rows: &[DecisionRow]) -> Result<(), AppError> {
    insert_rows!(conn, r::table, rows);
    Ok(())
}

fn decision_row(incident: &str, d: &Decision) -> Result<DecisionRow, AppError> {
    Ok(DecisionRow {
        incident_id: incident.to_owned(),
        agency_id: d.agency_id.to_string(),
        route: d.route.as_str().to_owned(),
        purpose: d.purpose.clone(),
        decision: if d.notified { "notified" } else { "withheld" }.to_owned(),
        reasons: serde_json::to_string(&d.reasons)?,
        agreement_id: d.agreement.as_ref().map(|a| a.id.clone()),
        agreement_version: d.agreement.as_ref().map(|a| a.version),
        fields: serde_json::to_string(&d.fields)?,
        incident_version: d.record_version.unwrap_or(1),
        decided_at: to_db(d.decided_at),
    })
}

/// Records (or replaces) the decision for one recipient of a changed incident.
pub fn put_decision(conn: &mut DbConn, incident: &str, d: &Decision) -> Result<(), AppError> {
    let row = decision_row(incident, d)?;
    let n = diesel::update(r::table.find((incident, d.agency_id.to_string())))
        .set(&row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(r::table).values(&row).execute(conn)?;
    }
    Ok(())
}

/// Every routing decision of an incident, by agency id.
pub fn decisions(conn: &mut DbConn, incident: &str) -> Result<Vec<Decision>, AppError> {
    // A new incident's decisions wait, or are written, all together.
    let mut rows = batch::waiting(|w| &mut w.decisions, |d| d.incident_id == incident);
    if rows.is_empty() {
        rows = r::table
            .filter(r::incident_id.eq(incident))
            .order(r::agency_id)
            .load(conn)?;
    } else {
        rows.sort_by(|x, y| x.agency_id.cmp(&y.agency_id));
    }
    rows.into_iter()
        .map(|x| {
            Ok(Decision {
                agency_id: x.agency_id.parse().map_err(AppError::internal)?,
                route: Route::parse(&x.route).ok_or_else(|| AppError::internal("bad route"))?,
                purpose: x.purpose,
                notified: x.decision == "notified",
                reasons: serde_json::from_str(&x.reasons)?,
                agreement: match (x.agreement_id, x.agreement_version) {
                    (Some(id), Some(version)) => Some(AgreementRef { id, version }),
                    _ => None,
                },
                fields: serde_json::from_str(&x.fields)?,
                record_version: Some(x.incident_version),
                notification_id: None,
                decided_at: from_db(x.decided_at),
            })
        })
        .collect()
}

/// The reporting agency of incident `id`, found only through a routing decision that
/// notified `recipient` of it (so a partner can act on an incident it was told of).
pub fn reporter_for_recipient(
    conn: &mut DbConn,
    id: &str,
    recipient: AgencyId,
) -> Result<Option<AgencyId>, AppError> {
    let told: Option<String> = r::table
        .filter(r::incident_id.eq(id))
        .filter(r::agency_id.eq(recipient.to_string()))
        .filter(r::decision.eq("notified"))
        .select(r::incident_id)
        .first(conn)
        .optional()?;
    if told.is_none() {
        return Ok(None);
    }
    let reporter: Option<String> = i::table
        .find(id)
        .select(i::reporting_agency_id)
        .first(conn)
        .optional()?;
    reporter
        .map(|a| a.parse().map_err(AppError::internal))
        .transpose()
}

/// Every incident of the `reporters`, oldest first (for aggregate reports).
pub fn of_reporters(conn: &mut DbConn, reporters: &[AgencyId]) -> Result<Vec<Stored>, AppError> {
    let ids: Vec<String> = reporters.iter().map(ToString::to_string).collect();
    let rows: Vec<Row> = i::table
        .filter(i::reporting_agency_id.eq_any(ids))
        .order(i::created_at)
        .load(conn)?;
    rows.into_iter().map(Row::into_stored).collect()
}
