//! The hub's deadline checks for referrals: a reasonable grounds decision past its target
//! (five working days after the NRM submission) is escalated once, like an overdue
//! notification, to the lead agencies of the submitting first responder's partnerships, and
//! the referring agency is told; when a recipient's acknowledgement of a referral is
//! escalated (`usecase::escalation`), the referring agency is told too. What is sent carries
//! ids and deadlines only.
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::ids::NotificationId;
use crate::domain::msht::EventType;
use crate::domain::notification::{Deadlines, Notification};
use crate::domain::sharing::Purpose;
use crate::error::AppError;
use crate::service::store::{escalation, notifications, referrals, DbConn};
use crate::usecase::notify;

const KIND: &str = "referral";

/// The hub's own deadline check for reasonable grounds decisions: a referral still awaiting
/// one past its target (five working days after the NRM submission) is escalated once to
/// the lead agencies of the submitting first responder's partnerships (a
/// `notification.overdue` notification each), and its referrer is told. Returns how many
/// referrals were escalated.
pub fn escalate_overdue_decisions(
    conn: &mut DbConn,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let overdue = referrals::rg_overdue_unescalated(conn, now, 100)?;
    let mut entries = Vec::with_capacity(overdue.len());
    for s in &overdue {
        let r = &s.referral;
        let classification = r.classification.as_str().to_owned();
        let due = s.rg_due_at.unwrap_or(now);
        let submitter = s.nrm_submitted_by;
        let mut leads = match submitter {
            Some(a) => escalation::lead_agencies_of(conn, a)?,
            None => Vec::new(),
        };
        leads.retain(|l| *l != r.referring_agency);
        for lead in &leads {
            let mut n = Notification {
                id: NotificationId::new(),
                agency_id: *lead,
                discloser: r.referring_agency,
                record_kind: KIND.to_owned(),
                record_id: r.id.clone(),
                event: EventType::NotificationOverdue,
                purpose: Purpose::NrmReferral.as_str().to_owned(),
                classification: classification.clone(),
                child_at_risk: false,
                created_at: now,
                due_at: deadlines.due(now, false),
                acknowledged_at: None,
                acknowledged_by: None,
                escalated_at: None,
                overdue_agency_id: submitter,
                overdue_notification_id: None,
            };
            if r.child
                && super::escalation::lead_sees_child(
                    conn,
                    r.referring_agency,
                    *lead,
                    &n,
                    r.withheld(),
                    now,
                )?
            {
                n.child_at_risk = true;
                n.due_at = deadlines.due(now, true);
            }
            notifications::insert(conn, &n)?;
            notify::enqueue(
                conn,
                *lead,
                EventType::NotificationOverdue,
                json!({
                    "notification_id": n.id.to_string(),
                    "referral_id": r.id,
                    "deadline": "reasonable_grounds",
                    "due_at": due,
                    "overdue_agency_id": submitter.map(|a| a.to_string()),
                    "record_kind": KIND,
                }),
                &classification,
                now,
            )?;
        }
        notify::enqueue(
            conn,
            r.referring_agency,
            EventType::NotificationOverdue,
            json!({
                "referral_id": r.id,
                "deadline": "reasonable_grounds",
                "due_at": due,
                "overdue_agency_id": submitter.map(|a| a.to_string()),
                "record_kind": KIND,
            }),
            &classification,
            now,
        )?;
        referrals::mark_rg_escalated(conn, &r.id, now)?;
        let mut told = leads.clone();
        told.push(r.referring_agency);
        entries.push(
            NewEntry::new(Operation::Governance, Actor::system(), now)
                .record(KIND, &r.id)
                .recipients(told)
                .concerns(submitter.into_iter().collect())
                .justification(format!(
                    "reasonable grounds decision overdue (due {}); escalated to {} lead \
                     agenc{} and the referrer told",
                    due.to_rfc3339(),
                    leads.len(),
                    if leads.len() == 1 { "y" } else { "ies" }
                )),
        );
    }
    if !entries.is_empty() {
        audit::append_all(conn, &entries)?;
    }
    Ok(overdue.len())
}

/// An overdue `referral.received` notification was escalated: the referrer is told too
/// (ids and the deadline only).
pub fn tell_referrer_ack_overdue(
    conn: &mut DbConn,
    n: &Notification,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if n.record_kind != KIND || n.event != EventType::ReferralReceived {
        return Ok(());
    }
    notify::enqueue(
        conn,
        n.discloser,
        EventType::NotificationOverdue,
        json!({
            "referral_id": n.record_id,
            "deadline": "acknowledgement",
            "due_at": n.due_at,
            "overdue_agency_id": n.agency_id.to_string(),
            "record_kind": KIND,
        }),
        &n.classification,
        now,
    )?;
    Ok(())
}
