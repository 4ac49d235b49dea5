//! Recording lifecycle events on a referral: the transition checks, who may record what,
//! telling the referring NGO, and withdrawal of consent.
use super::*;
use crate::domain::ids::ReferralId;
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Keyed, Response};
use crate::usecase::refusal;
use serde_json::Value;

/// A recorded event and where the referral now stands.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: Event,
    pub status: Status,
    pub allowed: Vec<EventKind>,
}

/// The 409 for an event the lifecycle does not allow now.
fn not_allowed(stored: &Stored, kind: EventKind, detail: Option<String>) -> AppError {
    let allowed: Vec<&str> = stored
        .lifecycle()
        .allowed()
        .into_iter()
        .map(EventKind::as_str)
        .collect();
    AppError::Conflict {
        detail: detail.unwrap_or_else(|| {
            format!(
                "`{kind}` cannot be recorded on a referral that is {}; allowed now: {}",
                stored.status,
                if allowed.is_empty() {
                    "nothing (closed)".to_owned()
                } else {
                    allowed.join(", ")
                }
            )
        }),
        extra: Some(json!({"referral_status": stored.status, "allowed_events": allowed})),
    }
}

/// Records an event on referral `id` for the caller's `agency`, once per `key`: a retry with
/// the same key and body gets the first answer, shaped by `shape`.
pub async fn record(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: ReferralId,
    request: Keyed,
    input: EventInput,
    shape: fn(&Recorded) -> Value,
) -> Result<Response, AppError> {
    let now = hub.now();
    let timing = hub.referral_timing();
    hub.write(move |c| {
        let referral = id.to_string();
        let scope = format!("POST /referrals/{referral}/events");
        let (key, raw) = (request.key.as_deref(), &request.body);
        idempotency::run(c, &agency.into(), key, &scope, raw, now, |c| {
            let recorded = record_event(c, &actor, agency, &referral, &input, &timing, now)?;
            Ok((201, shape(&recorded)))
        })
    })
    .await
}

/// Records `input` on referral `id` for the caller's `agency` (its referrer or an agency it
/// was disclosed to). No such referral for the caller is a logged 404; an event the agency
/// may not record is a logged 403. A transition the lifecycle does not allow is a 409 naming
/// the allowed events.
fn record_event(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: &str,
    input: &EventInput,
    timing: &Timing,
    now: DateTime<Utc>,
) -> Result<Recorded, AppError> {
    let (stored, standing) = referrals::get_for_party(conn, agency, id)?
        .ok_or_else(|| refusal::not_found(actor, KIND, id, now))?;
    let new = input.parse()?;
    if stored.lifecycle().next(new.kind).is_none() {
        return Err(not_allowed(&stored, new.kind, None));
    }
    let me = agencies::get(conn, agency)?.ok_or(AppError::NotFound)?;
    let recorder = Recorder {
        referrer: standing.referrer,
        recipient: standing.recipient,
        kind: me.kind,
        first_responder: me.first_responder,
        nrm_submitter: stored.nrm_submitted_by == Some(agency),
    };
    if let Err(why) = may_record(new.kind, &recorder) {
        let entry = NewEntry::new(Operation::AccessDenied, actor.clone(), now)
            .record(KIND, id)
            .purpose(Purpose::NrmReferral.as_str())
            .justification(format!("refused to record `{}`", new.kind))
            .decision(AuditDecision::Denied, vec![why.clone()]);
        return Err(AppError::denied(AppError::Forbidden(why), entry));
    }
    apply(conn, actor, agency, &stored, &new, timing, now)
}

/// The caller's agency acknowledged its `referral.received` notification: that records the
/// agency's `acknowledged` event too, when it has none yet and the lifecycle allows it.
pub fn acknowledged_by_notification(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some((stored, standing)) = referrals::get_for_party(conn, agency, id)? else {
        return Ok(());
    };
    let allowed = stored.lifecycle().next(EventKind::Acknowledged).is_some();
    if !standing.recipient
        || !allowed
        || referrals::has_event_by(conn, id, agency, EventKind::Acknowledged)?
    {
        return Ok(());
    }
    let new = NewEvent {
        kind: EventKind::Acknowledged,
        note: None,
        reason: None,
        ictg_role: None,
        service_id: None,
    };
    // Acknowledgement sets no deadline, so the default timing is never consulted.
    apply(conn, actor, agency, &stored, &new, &Timing::default(), now).map(|_| ())
}

/// Records an event already checked against the lifecycle and the recorder's standing.
pub(in crate::service) fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    stored: &Stored,
    new: &NewEvent,
    timing: &Timing,
    now: DateTime<Utc>,
) -> Result<Recorded, AppError> {
    let r = &stored.referral;
    let id = r.id.as_str();
    let from = stored.status;
    let to = stored
        .lifecycle()
        .next(new.kind)
        .ok_or_else(|| not_allowed(stored, new.kind, None))?;
    if new.kind == EventKind::Acknowledged
        && referrals::has_event_by(conn, id, agency, EventKind::Acknowledged)?
    {
        return Err(not_allowed(
            stored,
            new.kind,
            Some("your agency has already acknowledged this referral".to_owned()),
        ));
    }
    if !referrals::set_status(conn, id, from, to, now)? {
        return Err(AppError::conflict(
            "the referral changed while this event was being recorded; read it and try again",
        ));
    }
    let event = Event {
        id: ReferralEventId::new().to_string(),
        referral_id: id.to_owned(),
        seq: referrals::next_seq(conn, id)?,
        kind: new.kind,
        from,
        to,
        agency_id: agency,
        issuer: actor.issuer.clone(),
        subject: actor.subject.clone(),
        note: new.note.clone(),
        reason: new.reason.clone(),
        ictg_role: new.ictg_role,
        occurred_at: now,
        service_id: new.service_id.clone(),
    };
    referrals::insert_event(conn, &event)?;
    let classification = r.classification.as_str().to_owned();
    let mut entries = Vec::new();
    let withdrawn = stored.consent_withdrawn() || new.kind == EventKind::ConsentWithdrawn;
    match new.kind {
        EventKind::NrmSubmitted => {
            referrals::set_nrm_submitted(conn, id, agency, timing.rg_due(now))?;
        }
        EventKind::Acknowledged => {
            notifications::acknowledge_about_record(
                conn,
                agency,
                id,
                EventType::ReferralReceived,
                &actor.subject,
                now,
            )?;
        }
        EventKind::ConsentWithdrawn => {
            referrals::set_consent_withdrawn(conn, id, now)?;
            entries.push(tell_recipients_of_withdrawal(
                conn, actor, stored, timing, now,
            )?);
        }
        _ => {}
    }
    // Each event tells the referring agency: ids and states only, with the event's sequence
    // number so that a receiver can order deliveries that arrive out of order.
    let mut payload = json!({
        "referral_id": id,
        "event_id": event.id,
        "seq": event.seq,
        "event": new.kind,
        "status": to,
        "previous_status": from,
        "recorded_by_agency_id": agency.to_string(),
        "occurred_at": now,
    });
    // A `support_offered` from a placement names the service (an id, not personal data).
    if let (Some(sid), Some(o)) = (&new.service_id, payload.as_object_mut()) {
        o.insert("service_id".to_owned(), json!(sid));
    }
    notify::enqueue(
        conn,
        r.referring_agency,
        EventType::ReferralStatusChanged,
        payload,
        &classification,
        now,
    )?;
    let detail = match (&new.reason, new.ictg_role) {
        (Some(reason), _) => format!(" (reason: {reason})"),
        (None, Some(role)) => format!(" ({role})"),
        _ => String::new(),
    };
    entries.insert(
        0,
        NewEntry {
            subject_refs: r.subject_refs(),
            data_items: vec!["status".to_owned()],
            classification: Some(classification),
            consent: Some(r.consent_state(withdrawn)),
            ..NewEntry::new(Operation::Alteration, actor.clone(), now)
                .record(KIND, id)
                .purpose(Purpose::NrmReferral.as_str())
                .recipients(vec![r.referring_agency])
                .justification(format!(
                    "`{}` recorded by agency {agency}: {from} -> {to}{detail}; the referring \
                     agency is told",
                    new.kind
                ))
        },
    );
    audit::append_all(conn, &entries)?;
    let after = Stored {
        status: to,
        ..stored.clone()
    };
    Ok(Recorded {
        event,
        status: to,
        allowed: after.lifecycle().allowed(),
    })
}

/// Tells every agency the referral was disclosed to that consent was withdrawn (a
/// `consent.withdrawn` notification to acknowledge, carrying ids only); returns the
/// governance entry that records it.
fn tell_recipients_of_withdrawal(
    conn: &mut DbConn,
    actor: &Actor,
    stored: &Stored,
    timing: &Timing,
    now: DateTime<Utc>,
) -> Result<NewEntry, AppError> {
    let r = &stored.referral;
    let recipients: Vec<Decision> = referrals::decisions(conn, &r.id)?
        .into_iter()
        .filter(|d| d.notified)
        .collect();
    for d in &recipients {
        let n = Notification {
            id: NotificationId::new(),
            agency_id: d.agency_id,
            discloser: r.referring_agency,
            record_kind: KIND.to_owned(),
            record_id: r.id.clone(),
            event: EventType::ConsentWithdrawn,
            purpose: d.purpose.clone(),
            classification: r.classification.as_str().to_owned(),
            child_at_risk: r.child,
            created_at: now,
            due_at: timing.ack_due(now),
            acknowledged_at: None,
            acknowledged_by: None,
            escalated_at: None,
            overdue_agency_id: None,
            overdue_notification_id: None,
        };
        notifications::insert(conn, &n)?;
        notify::enqueue(
            conn,
            d.agency_id,
            EventType::ConsentWithdrawn,
            json!({
                "notification_id": n.id.to_string(),
                "referral_id": r.id,
                "withdrawn_at": now,
            }),
            r.classification.as_str(),
            now,
        )?;
    }
    Ok(NewEntry {
        subject_refs: r.subject_refs(),
        consent: Some(r.consent_state(true)),
        ..NewEntry::new(Operation::Governance, actor.clone(), now)
            .record(KIND, &r.id)
            .purpose(Purpose::NrmReferral.as_str())
            .recipients(recipients.iter().map(|d| d.agency_id).collect())
            .justification(format!(
                "consent withdrawn: {} recipient(s) told; the policy function refuses every \
                 further disclosure of the person's details",
                recipients.len()
            ))
    })
}
