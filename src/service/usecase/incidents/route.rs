//! Writing an incident's planned routing: for each candidate, a permitted one's notification,
//! outbox rows (thin webhook data: ids and only the facets its agreement allows) and `shared`
//! disclosure entry, a refused one's `withheld` entry, and every routing decision.
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::KIND;
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::ids::NotificationId;
use crate::domain::incident::Incident;
use crate::domain::msht::EventType;
use crate::domain::notification::{Deadlines, Notification};
use crate::domain::policy::PolicyDecision;
use crate::domain::projection;
use crate::domain::records::Decision;
use crate::error::AppError;
use crate::service::store::{incidents, DbConn};
use crate::usecase::routing::{withheld_entry, Planned, Told};

/// The thin webhook data for one recipient: ids, and only those facets its agreement allows.
fn thin_data(
    incident: &Incident,
    record: &Value,
    notification: NotificationId,
    fields: &[String],
) -> Value {
    let mut data = Map::new();
    data.insert("notification_id".into(), json!(notification.to_string()));
    data.insert("incident_id".into(), json!(incident.id));
    data.insert("classification".into(), json!(incident.classification));
    let thin: Vec<String> = ["area", "exploitation_types", "victims[].age_band"]
        .into_iter()
        .filter(|f| fields.iter().any(|x| x == f))
        .map(str::to_owned)
        .collect();
    if let Value::Object(p) = projection::project(record, &thin) {
        data.extend(p);
    }
    Value::Object(data)
}

/// One routing write: the incident as recorded, its version and what it was routed to before.
pub(super) struct Route<'a> {
    pub incident: &'a Incident,
    pub record: &'a Value,
    pub version: i32,
    pub previous: &'a [Decision],
    pub deadlines: Deadlines,
    pub now: DateTime<Utc>,
}

impl Route<'_> {
    /// Writes every planned outcome: a permitted candidate's notification, outbox rows and
    /// `shared` entry, a refused one's `withheld` entry, and each routing decision.
    pub fn write(
        &self,
        conn: &mut DbConn,
        actor: &Actor,
        planned: &Planned,
        entries: &mut Vec<NewEntry>,
    ) -> Result<Vec<Decision>, AppError> {
        self.write_as(conn, actor, planned, entries, EventType::IncidentUpdated)
    }

    /// [`Route::write`], telling recipients notified before of the change as `again`
    /// (`incident.updated`, or `incident.outcome_recorded` for a new outcome).
    pub fn write_as(
        &self,
        conn: &mut DbConn,
        actor: &Actor,
        planned: &Planned,
        entries: &mut Vec<NewEntry>,
        again: EventType,
    ) -> Result<Vec<Decision>, AppError> {
        self.build(actor, planned, entries, again).write(
            conn,
            &self.incident.id,
            self.previous.is_empty(),
        )
    }

    /// What [`Route::write_as`] writes, built without the database (so a new incident's
    /// routing is built before its write reaches the writer): the notifications and outbox
    /// rows and the routing decisions; the disclosure entries go to `entries`.
    pub fn build(
        &self,
        actor: &Actor,
        planned: &Planned,
        entries: &mut Vec<NewEntry>,
        again: EventType,
    ) -> Routed {
        let (incident, now) = (self.incident, self.now);
        let any_child = incident.any_child(now);
        let consent = incident.consent_summary(&[]);
        let subjects = incident.subject_refs();
        let mut told = Told::default();
        let version = Some(self.version);
        let mut out = Vec::with_capacity(planned.outcomes.len());
        for o in &planned.outcomes {
            let candidate = &o.candidate;
            let base = NewEntry {
                subject_refs: subjects.clone(),
                classification: Some(incident.classification.as_str().to_owned()),
                consent: Some(consent.clone()),
                ..NewEntry::new(Operation::Disclosure, actor.clone(), now)
                    .record(KIND, &incident.id)
                    .purpose(o.purpose.as_str())
            };
            let decision = match &o.decision {
                PolicyDecision::Permit(p) => {
                    let was_notified = self
                        .previous
                        .iter()
                        .any(|d| d.agency_id == candidate.agency_id && d.notified);
                    let event = if was_notified {
                        again
                    } else {
                        EventType::IncidentNotified
                    };
                    let n = Notification {
                        id: NotificationId::new(),
                        agency_id: candidate.agency_id,
                        discloser: incident.reporting_agency,
                        record_kind: KIND.to_owned(),
                        record_id: incident.id.clone(),
                        event,
                        purpose: o.purpose.as_str().to_owned(),
                        classification: incident.classification.as_str().to_owned(),
                        child_at_risk: any_child,
                        created_at: now,
                        due_at: self.deadlines.due(now, any_child),
                        acknowledged_at: None,
                        acknowledged_by: None,
                        escalated_at: None,
                        overdue_agency_id: None,
                        overdue_notification_id: None,
                    };
                    let subs = planned
                        .channels
                        .get(&candidate.agency_id)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    let data = thin_data(incident, self.record, n.id, &p.fields);
                    let id = n.id;
                    told.notify(n, subs, data, now);
                    entries.push(NewEntry {
                        data_items: p.fields.clone(),
                        consent: Some(incident.consent_summary(&p.subjects)),
                        agreement: Some(p.agreement.clone()),
                        lawful_basis: Some(p.lawful_basis.clone()),
                        retention_days: Some(p.retention_days),
                        ..base
                            .recipients(vec![candidate.agency_id])
                            .decision(AuditDecision::Shared, Vec::new())
                            .justification(format!(
                                "{} to the {} route under agreement {} v{}",
                                event.as_str(),
                                candidate.route.as_str(),
                                p.agreement.id,
                                p.agreement.version
                            ))
                    });
                    Decision::withheld(candidate, o.purpose, version, Vec::new(), now).notified(
                        p.agreement.clone(),
                        p.fields.clone(),
                        id,
                    )
                }
                PolicyDecision::Deny(reasons) => {
                    let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                    entries.push(withheld_entry(
                        base,
                        candidate.agency_id,
                        candidate.route,
                        reasons.clone(),
                        "",
                    ));
                    Decision::withheld(candidate, o.purpose, version, reasons, now)
                }
            };
            out.push(decision);
        }
        Routed {
            told,
            decisions: out,
        }
    }
}

/// A routing built by [`Route::build`], to be written.
#[derive(Debug)]
pub(super) struct Routed {
    told: Told,
    decisions: Vec<Decision>,
}

impl Routed {
    /// Writes the notifications, outbox rows and decisions of incident `id`: inserted for a
    /// first routing, each replacing the agency's earlier one otherwise.
    pub fn write(
        self,
        conn: &mut DbConn,
        id: &str,
        first: bool,
    ) -> Result<Vec<Decision>, AppError> {
        self.told.write(conn)?;
        if first {
            incidents::insert_decisions(conn, id, &self.decisions)?;
        } else {
            for d in &self.decisions {
                incidents::put_decision(conn, id, d)?;
            }
        }
        Ok(self.decisions)
    }
}
