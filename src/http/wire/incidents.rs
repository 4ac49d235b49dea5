//! Incident, routing and notification response bodies.
pub use super::routing::RoutingItem;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::notification::Notification;

/// The incident as its reporting agency sees it, with routing when it was just (re)routed.
pub fn incident_body(record: Value, version: i32, routing: Option<Vec<RoutingItem>>) -> Value {
    let mut v = record;
    if let Some(o) = v.as_object_mut() {
        o.insert("version".into(), Value::from(version));
        if let Some(r) = routing {
            o.insert(
                "routing".into(),
                serde_json::to_value(r).unwrap_or(Value::Null),
            );
        }
    }
    v
}

#[derive(Debug, Serialize)]
pub struct NotificationOut {
    pub id: String,
    pub incident_id: Option<String>,
    pub referral_id: Option<String>,
    pub record_kind: String,
    pub event: &'static str,
    pub purpose: String,
    pub classification: String,
    pub child_at_risk: bool,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// On an escalation: the partner that is late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue_agency_id: Option<String>,
    /// On an escalation: the notification it did not acknowledge in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue_notification_id: Option<String>,
}

impl NotificationOut {
    pub fn new(n: &Notification, now: DateTime<Utc>) -> Self {
        let (incident_id, referral_id) = match n.record_kind.as_str() {
            "incident" => (Some(n.record_id.clone()), None),
            _ => (None, Some(n.record_id.clone())),
        };
        NotificationOut {
            id: n.id.to_string(),
            incident_id,
            referral_id,
            record_kind: n.record_kind.clone(),
            event: n.event.as_str(),
            purpose: n.purpose.clone(),
            classification: n.classification.clone(),
            child_at_risk: n.child_at_risk,
            created_at: n.created_at,
            due_at: n.due_at,
            overdue: n.is_overdue(now),
            acknowledged_at: n.acknowledged_at,
            overdue_agency_id: n.overdue_agency_id.map(|a| a.to_string()),
            overdue_notification_id: n.overdue_notification_id.map(|a| a.to_string()),
        }
    }
}

/// `GET /notifications/{id}` of an escalation: the notification as listed, with `record`,
/// `agreement_id`, `agreement_version` and `receipt` null (an escalation is not a read of
/// the record).
#[derive(Debug, Serialize)]
pub struct EscalationOut {
    #[serde(flatten)]
    pub notification: NotificationOut,
    pub record: Option<Value>,
    pub agreement_id: Option<String>,
    pub agreement_version: Option<i32>,
    pub receipt: Option<Value>,
}

impl EscalationOut {
    pub fn new(n: &Notification, now: DateTime<Utc>) -> Self {
        EscalationOut {
            notification: NotificationOut::new(n, now),
            record: None,
            agreement_id: None,
            agreement_version: None,
            receipt: None,
        }
    }
}
