//! One routing decision as partners read it, for incidents and referrals alike.
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::records::Decision;

#[derive(Debug, Serialize)]
pub struct RoutingItem {
    pub agency_id: String,
    pub route: &'static str,
    pub purpose: String,
    pub decision: &'static str,
    pub reasons: Vec<String>,
    pub agreement_id: Option<String>,
    pub agreement_version: Option<i32>,
    pub fields: Vec<String>,
    pub notification_id: Option<String>,
    /// Incidents only: the version the decision was made for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_version: Option<i32>,
    pub decided_at: DateTime<Utc>,
}

impl From<&Decision> for RoutingItem {
    fn from(d: &Decision) -> Self {
        RoutingItem {
            agency_id: d.agency_id.to_string(),
            route: d.route.as_str(),
            purpose: d.purpose.clone(),
            decision: if d.notified { "notified" } else { "withheld" },
            reasons: d.reasons.clone(),
            agreement_id: d.agreement.as_ref().map(|a| a.id.clone()),
            agreement_version: d.agreement.as_ref().map(|a| a.version),
            fields: d.fields.clone(),
            notification_id: d.notification_id.map(|n| n.to_string()),
            incident_version: d.record_version,
            decided_at: d.decided_at,
        }
    }
}
