//! Referral response bodies. The create response and the list carry ids, states and
//! deadlines, no personal details (a create response is also what an `Idempotency-Key` retry
//! gets back); the whole record is only in `GET /referrals/{id}`, to the referrer.
pub use super::routing::RoutingItem;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::records::{Decision, ReferralEvent as Event, StoredReferral as Stored};
use crate::domain::referral_lifecycle::EventKind;
use crate::http::wire::audit::ReceiptOut;
use crate::usecase::referrals::{Created, Overdue, Recorded, View};

#[derive(Debug, Serialize)]
pub struct EventOut {
    pub id: String,
    pub seq: i32,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub from_status: &'static str,
    pub to_status: &'static str,
    pub agency_id: String,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub ictg_role: Option<&'static str>,
    pub occurred_at: DateTime<Utc>,
    /// The service a `support_offered` event placed the person with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
}

impl From<&Event> for EventOut {
    fn from(e: &Event) -> Self {
        EventOut {
            id: e.id.clone(),
            seq: e.seq,
            kind: e.kind,
            from_status: e.from.as_str(),
            to_status: e.to.as_str(),
            agency_id: e.agency_id.to_string(),
            note: e.note.clone(),
            reason: e.reason.clone(),
            ictg_role: e.ictg_role.map(|r| r.as_str()),
            occurred_at: e.occurred_at,
            service_id: e.service_id.clone(),
        }
    }
}

fn routing(items: &[Decision]) -> Vec<RoutingItem> {
    items.iter().map(RoutingItem::from).collect()
}

/// `201` to `POST /referrals`.
pub fn created_body(c: &Created) -> Value {
    let r = &c.stored.referral;
    json!({
        "id": r.id,
        "status": c.stored.status,
        "pathway": r.pathway,
        "nrm_consent": r.nrm_consent,
        "is_child": r.child,
        "classification": r.classification,
        "routing": routing(&c.routing),
        "acknowledgement_due_at": c.stored.ack_due_at,
        "support_route": r.support_route(),
        "warnings": c.warnings,
        "created_at": r.created_at,
        "receipt": c.receipt.as_ref().map(ReceiptOut::from),
    })
}

/// `GET /referrals/{id}`: the record with its status, events, routing and deadlines.
pub fn referral_body(v: &View, now: DateTime<Utc>) -> Value {
    let s = &v.stored;
    let r = &s.referral;
    let acks: Vec<Value> = v
        .acknowledgements
        .iter()
        .map(|a| {
            json!({"agency_id": a.agency_id.to_string(), "due_at": a.due_at,
                   "acknowledged_at": a.acknowledged_at, "overdue": a.overdue(now)})
        })
        .collect();
    let overdue = v.acknowledgements.iter().any(|a| a.overdue(now)) || s.rg_overdue(now);
    let mut body = r.to_record(s.status);
    let extra = json!({
        "events": v.events.iter().map(EventOut::from).collect::<Vec<_>>(),
        "routing": routing(&v.routing),
        "allowed_events": s.lifecycle().allowed(),
        "support_route": r.support_route(),
        "deadlines": {
            "acknowledgement_due_at": s.ack_due_at,
            "acknowledgements": acks,
            "reasonable_grounds_due_at": s.rg_due_at,
            "reasonable_grounds_overdue": s.rg_overdue(now),
        },
        "overdue": overdue,
        "nrm_submitted_by_agency_id": s.nrm_submitted_by.map(|a| a.to_string()),
        "consent_withdrawn_at": s.consent_withdrawn_at,
        "updated_at": s.updated_at,
        "receipt": v.receipt.as_ref().map(ReceiptOut::from),
    });
    if let (Some(b), Value::Object(x)) = (body.as_object_mut(), extra) {
        b.extend(x);
    }
    body
}

/// One item of `GET /referrals`.
pub fn summary(s: &Stored, o: Overdue) -> Value {
    let r = &s.referral;
    json!({
        "id": r.id,
        "status": s.status,
        "pathway": r.pathway,
        "area": r.area,
        "is_child": r.child,
        "classification": r.classification,
        "acknowledgement_due_at": s.ack_due_at,
        "reasonable_grounds_due_at": s.rg_due_at,
        "overdue": o.any(),
        "overdue_deadlines": {
            "acknowledgement": o.acknowledgement,
            "reasonable_grounds": o.reasonable_grounds,
        },
        "created_at": r.created_at,
        "updated_at": s.updated_at,
    })
}

/// `201` to `POST /referrals/{id}/events`.
pub fn recorded_body(r: &Recorded) -> Value {
    let e = &r.event;
    json!({
        "id": e.id,
        "referral_id": e.referral_id,
        "seq": e.seq,
        "type": e.kind,
        "status": r.status,
        "previous_status": e.from,
        "allowed_events": r.allowed,
        "agency_id": e.agency_id.to_string(),
        "note": e.note,
        "reason": e.reason,
        "ictg_role": e.ictg_role,
        "occurred_at": e.occurred_at,
    })
}
