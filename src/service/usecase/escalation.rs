//! The hub's own deadline check: a notification not acknowledged by its deadline raises a
//! `notification.overdue` notification to the lead agency of each partnership the recipient
//! has joined (the lead a member too), once, and the escalation is a governance entry in the
//! audit log. An escalation tells the lead who is late on which notification; it is never a
//! read of the record (`usecase::notifications` refuses one), and the only fact about the
//! record's people it carries, whether a child is at risk (which sets the lead's shorter
//! deadline), it carries only when the discloser's agreement with the lead would disclose
//! the victim's age to it. For a
//! referral the referring agency is told as well, and referrals whose reasonable grounds
//! decision is past its target are escalated the same way
//! (`usecase::referral_deadlines`).
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, NotificationId};
use crate::domain::msht::EventType;
use crate::domain::notification::{Deadlines, Notification};
use crate::domain::policy::{self, DisclosureRequest, PolicyDecision};
use crate::domain::sharing::{Classification, Purpose};
use crate::error::AppError;
use crate::service::store::{agreements, escalation, notifications, DbConn};
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
            let child = n.child_at_risk && lead_sees_child(conn, n.discloser, *lead, n, &[], now)?;
            let e = Notification {
                id: NotificationId::new(),
                agency_id: *lead,
                event: EventType::NotificationOverdue,
                child_at_risk: child,
                created_at: now,
                due_at: deadlines.due(now, child),
                acknowledged_at: None,
                acknowledged_by: None,
                escalated_at: None,
                overdue_agency_id: Some(n.agency_id),
                overdue_notification_id: Some(n.id),
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
                .concerns(vec![n.agency_id])
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

/// Whether `discloser`'s agreements would disclose a victim's age (`is_child` or `age_band`)
/// of the record `about` names (its kind, purpose and marking) to `lead` now: only then may
/// an escalation to the lead say that a child is at risk. `withheld` names fields that never
/// leave the hub for the record.
pub(super) fn lead_sees_child(
    conn: &mut DbConn,
    discloser: AgencyId,
    lead: AgencyId,
    about: &Notification,
    withheld: &[&str],
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let parsed = (
        about.record_kind.parse::<RecordKind>(),
        about.purpose.parse::<Purpose>(),
        about.classification.parse::<Classification>(),
    );
    let (Ok(kind), Ok(purpose), Ok(classification)) = parsed else {
        return Ok(false);
    };
    let child_fields: &[&str] = match kind {
        RecordKind::Incident => &["victims[].is_child", "victims[].age_band"],
        RecordKind::Referral => &["potential_victim.is_child", "potential_victim.age_band"],
    };
    let views: Vec<_> = agreements::views_of(conn, discloser)?
        .into_iter()
        .filter(|v| v.agreement.involves(lead))
        .collect();
    let req = DisclosureRequest {
        discloser,
        recipient: lead,
        record_kind: kind,
        purpose,
        classification,
        requested_fields: None,
        at: now,
        consent_withdrawn: false,
        withheld,
        subjects: &[],
    };
    Ok(match policy::decide(&req, &views) {
        PolicyDecision::Permit(p) => p.fields.iter().any(|f| child_fields.contains(&f.as_str())),
        PolicyDecision::Deny(_) => false,
    })
}
