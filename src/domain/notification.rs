//! Notifications: what one agency is told about one record, with its acknowledgement
//! deadline (shorter where a child is at risk).
use chrono::{DateTime, Duration, Utc};

use super::ids::{AgencyId, NotificationId};
use super::msht::EventType;

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub agency_id: AgencyId,
    pub discloser: AgencyId,
    pub record_kind: String,
    pub record_id: String,
    pub event: EventType,
    pub purpose: String,
    pub classification: String,
    pub child_at_risk: bool,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// On an escalation (`notification.overdue` to a partnership's lead): the partner that
    /// is late. An escalation tells the lead who is late on what; it never carries a read of
    /// the record.
    pub overdue_agency_id: Option<AgencyId>,
    /// On an escalation: the notification the partner did not acknowledge in time.
    pub overdue_notification_id: Option<NotificationId>,
}

impl Notification {
    /// Whether this is an escalation to a lead (which carries no read of the record).
    pub fn is_escalation(&self) -> bool {
        self.event == EventType::NotificationOverdue
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.acknowledged_at.is_none() && now > self.due_at
    }
}

/// Acknowledgement deadlines from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub child_hours: i64,
    pub adult_hours: i64,
}

impl Deadlines {
    pub fn due(&self, created: DateTime<Utc>, child_at_risk: bool) -> DateTime<Utc> {
        created
            + Duration::hours(if child_at_risk {
                self.child_hours
            } else {
                self.adult_hours
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_get_the_shorter_deadline() {
        let d = Deadlines {
            child_hours: 4,
            adult_hours: 24,
        };
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(d.due(t, true), t + Duration::hours(4));
        assert_eq!(d.due(t, false), t + Duration::hours(24));
    }
}
