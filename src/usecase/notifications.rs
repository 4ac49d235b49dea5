//! What a receiving agency does with a notification: reads the record projected onto the
//! fields its agreement allows (re-checked by the policy function at read time and logged as a
//! consultation, with the audit receipt), and acknowledges it.
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::audit::{self, Receipt};
use crate::domain::audit::{Actor, AgreementRef, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, NotificationId};
use crate::domain::notification::Notification;
use crate::domain::policy::{DisclosureRequest, PolicyDecision};
use crate::domain::projection;
use crate::domain::sharing::{Classification, Purpose};
use crate::error::AppError;
use crate::store::{incidents, notifications, DbConn};
use crate::usecase::policy;

/// A projected read.
#[derive(Debug, Clone)]
pub struct Projected {
    pub notification: Notification,
    pub record: Value,
    pub agreement: AgreementRef,
    pub receipt: Receipt,
}

/// Why a read was refused after the notification was found.
fn refuse(
    conn: &mut DbConn,
    actor: &Actor,
    n: &Notification,
    reasons: Vec<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    audit::append(
        conn,
        &NewEntry::new(Operation::AccessDenied, actor.clone(), now)
            .record(&n.record_kind, &n.record_id)
            .purpose(n.purpose.clone())
            .justification("read of a notification no longer permitted")
            .decision(AuditDecision::Denied, reasons),
    )?;
    Ok(())
}

/// Reads notification `id` of `agency`. The record is projected onto what the policy function
/// permits now; the read is logged as a consultation whose receipt comes back with it.
pub fn read(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<Option<Result<Projected, Vec<String>>>, AppError> {
    let Some(n) = notifications::get(conn, agency, id)? else {
        super::incidents::log_denied(conn, actor, "notification", &id.to_string(), now)?;
        return Ok(None);
    };
    let kind: RecordKind = n.record_kind.parse().map_err(AppError::internal)?;
    let (record, classification, subjects) = match kind {
        RecordKind::Incident => {
            let stored = incidents::get_for_notification(conn, n.discloser, &n.record_id)?
                .ok_or(AppError::NotFound)?;
            let c = stored.incident.classification;
            (
                stored.incident.to_record(now),
                c,
                stored.incident.subject_refs(),
            )
        }
        RecordKind::Referral => return Err(AppError::NotFound),
    };
    let purpose: Purpose = n.purpose.parse().map_err(AppError::internal)?;
    let req = DisclosureRequest {
        discloser: n.discloser,
        recipient: agency,
        record_kind: kind,
        purpose,
        classification,
        requested_fields: None,
        at: now,
        consent_withdrawn: false,
    };
    match policy::decide(conn, &req)? {
        PolicyDecision::Deny(reasons) => {
            let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
            refuse(conn, actor, &n, reasons.clone(), now)?;
            Ok(Some(Err(reasons)))
        }
        PolicyDecision::Permit(p) => {
            let projected = projection::project(&record, &p.fields);
            let receipt = audit::append(
                conn,
                &NewEntry {
                    subject_refs: subjects,
                    data_items: p.fields.clone(),
                    classification: Some(classification_str(classification)),
                    agreement: Some(p.agreement.clone()),
                    lawful_basis: Some(p.recipient_lawful_basis.clone()),
                    retention_days: Some(p.retention_days),
                    ..NewEntry::new(Operation::Consultation, actor.clone(), now)
                        .record(&n.record_kind, &n.record_id)
                        .purpose(purpose.as_str())
                        .justification(format!("notification {id} read by its recipient"))
                        .decision(AuditDecision::Allowed, Vec::new())
                },
            )?;
            Ok(Some(Ok(Projected {
                notification: n,
                record: projected,
                agreement: p.agreement,
                receipt,
            })))
        }
    }
}

fn classification_str(c: Classification) -> String {
    c.as_str().to_owned()
}

/// Acknowledges a notification of `agency` (the first acknowledgement stands).
pub fn acknowledge(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<Notification, AppError> {
    let n = notifications::get(conn, agency, id)?.ok_or(AppError::NotFound)?;
    if notifications::acknowledge(conn, agency, id, &actor.subject, now)? {
        audit::append(
            conn,
            &NewEntry::new(Operation::Governance, actor.clone(), now)
                .record("notification", id)
                .justification(format!(
                    "notification about {} {} acknowledged",
                    n.record_kind, n.record_id
                )),
        )?;
    }
    notifications::get(conn, agency, id)?.ok_or(AppError::NotFound)
}
