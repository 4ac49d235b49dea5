//! The hub's own deadline check: a notification not acknowledged by its deadline raises a
//! `notification.overdue` notification to the lead agency of each partnership the recipient
//! belongs to, once, and the escalation is a governance entry in the audit log. For a
//! referral the referring agency is told as well, and referrals whose reasonable grounds
//! decision is past its target are escalated the same way
//! (`usecase::referral_deadlines`).
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::ids::NotificationId;
use crate::domain::msht::EventType;
use crate::domain::notification::{Deadlines, Notification};
use crate::error::AppError;
use crate::service::store::{escalation, notifications, DbConn};
use crate::usecase::notify;

/// Escalates what is overdue at `now`; returns how many notifications (and referrals awaiting
/// a reasonable grounds decision) were escalated.
pub fn escalate_overdue(
    conn: &mut DbConn,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let overdue = notifications::overdue_unescalated(conn, now, 100)?;
    let mut entries = Vec::with_capacity(overdue.len());
    for n in &overdue {
        let leads = escalation::lead_agencies_of(conn, n.agency_id)?;
        for lead in &leads {
            let e = Notification {
                id: NotificationId::new(),
                agency_id: *lead,
                event: EventType::NotificationOverdue,
                created_at: now,
                due_at: deadlines.due(now, n.child_at_risk),
                acknowledged_at: None,
                acknowledged_by: None,
                escalated_at: None,
                ..n.clone()
            };
            notifications::insert(conn, &e)?;
            notify::enqueue(
                conn,
                *lead,
                EventType::NotificationOverdue,
                json!({
                    "notification_id": e.id.to_string(),
                    "overdue_notification_id": n.id.to_string(),
                    "overdue_agency_id": n.agency_id.to_string(),
                    "due_at": n.due_at,
                    "record_kind": n.record_kind,
                }),
                &n.classification,
                now,
            )?;
        }
        super::referral_deadlines::tell_referrer_ack_overdue(conn, n, now)?;
        notifications::mark_escalated(conn, n.id, now)?;
        entries.push(
            NewEntry::new(Operation::Governance, Actor::system(), now)
                .record("notification", n.id)
                .recipients(leads.clone())
                .justification(format!(
                    "not acknowledged by {} (due {}); escalated to {} lead agenc{}",
                    n.agency_id,
                    n.due_at.to_rfc3339(),
                    leads.len(),
                    if leads.len() == 1 { "y" } else { "ies" }
                )),
        );
    }
    if !entries.is_empty() {
        audit::append_all(conn, &entries)?;
    }
    let decisions = super::referral_deadlines::escalate_overdue_decisions(conn, deadlines, now)?;
    Ok(overdue.len() + decisions)
}
