//! What a receiving agency does with a notification: reads the record projected onto the
//! fields its agreement allows (re-checked by the policy function at read time and logged as a
//! consultation, with the audit receipt), and acknowledges it. A referral is read with its
//! consent state (withdrawn consent makes the policy function refuse) and, on the Duty to
//! Notify pathway, without its identifying fields; acknowledging a `referral.received`
//! notification also records the agency's `acknowledged` event on the referral, locking the
//! referral before the notification, the order recording a referral event locks them in. An
//! escalation (`notification.overdue` to a partnership's lead) is never a read of the record
//! it is about: reading one answers who is late on which notification, and nothing else.
use super::refusal;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::audit::{self, Sealed};
use crate::domain::audit::{Actor, AgreementRef, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, NotificationId};
use crate::domain::incident::Incident;
use crate::domain::msht::EventType;
use crate::domain::notification::Notification;
use crate::domain::policy::{self, DisclosureRequest, PolicyDecision, Subject};
use crate::domain::projection;
use crate::domain::referral::Referral;
use crate::domain::sharing::{Classification, Purpose};
use crate::error::AppError;
use crate::service::store::{incidents, notifications, referrals, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::routing::{check_epoch, until_fresh, views_between, PlanCache};

/// A projected read.
#[derive(Debug, Clone)]
pub struct Projected {
    pub notification: Notification,
    pub record: Value,
    pub agreement: AgreementRef,
    /// The consultation's receipt, sealed (set once the read is logged).
    pub receipt: Option<Sealed>,
}

/// A read refused after the notification was found: a logged 403 naming the reasons.
fn refuse(actor: &Actor, n: &Notification, reasons: Vec<String>, now: DateTime<Utc>) -> AppError {
    let detail = format!(
        "the agreement no longer permits this disclosure: {}",
        reasons.join("; ")
    );
    let entry = NewEntry::new(Operation::AccessDenied, actor.clone(), now)
        .record(&n.record_kind, &n.record_id)
        .purpose(n.purpose.clone())
        .justification("read of a notification no longer permitted")
        .decision(AuditDecision::Denied, reasons);
    AppError::denied(AppError::Forbidden(detail), entry)
}

/// What reading a notification gives.
#[derive(Debug, Clone)]
pub enum Read {
    /// A notification of a disclosure: the record as the agreement allows it now.
    Record(Box<Projected>),
    /// An escalation: who is late on which notification, without the record.
    Escalation(Box<Notification>),
}

/// Reads notification `id` of `agency`. The record is projected onto what the policy function
/// permits now (decided on a reader, through the epoch cache); the read is logged as a
/// consultation, committed before the answer, whose receipt comes back with it. Another
/// agency's notification is a logged 404; a read the policy function refuses a logged 403.
/// An escalation answers with itself alone (ids and times, nothing of the record, so nothing
/// to log as a consultation).
pub async fn read(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: NotificationId,
) -> Result<Read, AppError> {
    until_fresh(|| {
        let (cache, who) = (hub.plans().clone(), actor.clone());
        async move {
            let now = hub.now();
            let decided = hub
                .snapshot(move |c| decide_read(c, &cache, &who, agency, id, now))
                .await?;
            let (epoch, read, entry) = match decided {
                Decided::Escalation(n) => return Ok(Read::Escalation(n)),
                Decided::Record(epoch, decided) => (epoch, decided.0, decided.1),
            };
            // Rendered here, so the writer only numbers and hashes it.
            let entry = audit::Prepared::new(&entry)?;
            let receipt = hub
                .write_appending(move |c| {
                    check_epoch(c, epoch)?;
                    audit::append_prepared_provable(c, vec![entry])?
                        .ok_or_else(|| AppError::Internal("audit append returned no proof".into()))
                })
                .await?;
            let receipt = hub.seal(receipt)?;
            Ok(Read::Record(Box::new(Projected {
                receipt: Some(receipt),
                ..read
            })))
        }
    })
    .await
}

/// A read decided in a snapshot.
enum Decided {
    /// An escalation: answered as it is, nothing of the record read, nothing to log.
    Escalation(Box<Notification>),
    /// The epoch it was decided at, the projection (its receipt still to come) and the
    /// consultation entry to append.
    Record(i64, Box<(Projected, NewEntry)>),
}

/// The read decided in a snapshot.
fn decide_read(
    conn: &mut DbConn,
    cache: &PlanCache,
    actor: &Actor,
    agency: AgencyId,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<Decided, AppError> {
    let n = notifications::get(conn, agency, id)?
        .ok_or_else(|| refusal::not_found(actor, "notification", id, now))?;
    if n.is_escalation() {
        // Never a read capability: the record is not loaded.
        return Ok(Decided::Escalation(Box::new(n)));
    }
    let kind: RecordKind = n.record_kind.parse().map_err(AppError::internal)?;
    let source = match kind {
        RecordKind::Incident => {
            let stored = incidents::get_for_notification(conn, n.discloser, &n.record_id)?
                .ok_or(AppError::NotFound)?;
            Source {
                record: stored.incident.to_record(now),
                classification: stored.incident.classification,
                subjects: stored.incident.subject_refs(),
                people: stored.incident.subjects(now),
                consent_withdrawn: false,
                consent: None,
                incident: Some(stored.incident),
                referral: None,
            }
        }
        RecordKind::Referral => {
            let stored = referrals::get_for_notification(conn, n.discloser, &n.record_id)?
                .ok_or(AppError::NotFound)?;
            let withdrawn = stored.consent_withdrawn();
            Source {
                record: stored.referral.disclosure_record(stored.status),
                classification: stored.referral.classification,
                subjects: stored.referral.subject_refs(),
                people: Vec::new(),
                consent_withdrawn: withdrawn,
                consent: Some(stored.referral.consent_state(withdrawn)),
                incident: None,
                referral: Some(stored.referral),
            }
        }
    };
    let purpose: Purpose = n.purpose.parse().map_err(AppError::internal)?;
    let req = DisclosureRequest {
        discloser: n.discloser,
        recipient: agency,
        record_kind: kind,
        purpose,
        classification: source.classification,
        requested_fields: None,
        at: now,
        consent_withdrawn: source.consent_withdrawn,
        withheld: source.referral.as_ref().map_or(&[], Referral::withheld),
        subjects: &source.people,
    };
    let (epoch, views) = views_between(conn, cache, n.discloser, agency)?;
    match policy::decide(&req, &views) {
        PolicyDecision::Deny(reasons) => {
            let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
            Err(refuse(actor, &n, reasons, now))
        }
        PolicyDecision::Permit(p) => {
            // The permit's fields are final: a referral on the Duty to Notify pathway had its
            // identifying fields withheld by the policy function itself.
            // Identifying fields of a declined adult not at risk, without a Schedule 8
            // condition, are withheld as the permit says.
            let fields = p.fields.clone();
            let mut projected = projection::project(&source.record, &fields);
            policy::basis::withhold_identities(&mut projected, &p.subjects);
            let consent = match &source.incident {
                Some(incident) => Some(incident.consent_summary(&p.subjects)),
                None => source.consent.clone(),
            };
            let entry = NewEntry {
                subject_refs: source.subjects,
                data_items: fields,
                classification: Some(classification_str(source.classification)),
                agreement: Some(p.agreement.clone()),
                lawful_basis: Some(p.recipient_lawful_basis.clone()),
                retention_days: Some(p.retention_days),
                consent,
                ..NewEntry::new(Operation::Consultation, actor.clone(), now)
                    .record(&n.record_kind, &n.record_id)
                    .purpose(purpose.as_str())
                    .justification(format!("notification {id} read by its recipient"))
                    .decision(AuditDecision::Allowed, Vec::new())
            };
            let read = Projected {
                notification: n,
                record: projected,
                agreement: p.agreement,
                receipt: None,
            };
            Ok(Decided::Record(epoch, Box::new((read, entry))))
        }
    }
}

/// What a notification's record is, for the read.
struct Source {
    record: Value,
    classification: Classification,
    subjects: Vec<String>,
    /// The people the record is about, for the policy function.
    people: Vec<Subject>,
    consent_withdrawn: bool,
    consent: Option<String>,
    incident: Option<Incident>,
    referral: Option<Referral>,
}

fn classification_str(c: Classification) -> String {
    c.as_str().to_owned()
}

/// Acknowledges a notification of `agency` (the first acknowledgement stands); another
/// agency's notification is a logged 404.
pub async fn acknowledge(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: NotificationId,
) -> Result<Notification, AppError> {
    let now = hub.now();
    hub.write(move |c| acknowledge_in(c, &actor, agency, id, now))
        .await
}

/// A page of `agency`'s notifications (only the overdue ones at `overdue`, when given).
pub async fn list(
    hub: &Hub,
    agency: AgencyId,
    overdue: Option<DateTime<Utc>>,
    after: Option<NotificationId>,
    limit: i64,
) -> Result<Vec<Notification>, AppError> {
    hub.read(move |c| notifications::list(c, agency, overdue, after, limit))
        .await
}

fn acknowledge_in(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<Notification, AppError> {
    let n = notifications::get(conn, agency, id)?
        .ok_or_else(|| refusal::not_found(actor, "notification", id, now))?;
    let about_referral = n.record_kind == "referral" && n.event == EventType::ReferralReceived;
    if about_referral {
        // The referral before its notifications, as recording a referral event does.
        referrals::lock(conn, &n.record_id)?;
    }
    if notifications::acknowledge(conn, agency, id, &actor.subject, now)? {
        if about_referral {
            super::referrals::acknowledged_by_notification(conn, actor, agency, &n.record_id, now)?;
        }
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
