//! NGO referrals through the NRM pathway, each action in the caller's transaction.
//!
//! Making a referral writes it, its `collection` entry, one `disclosure` entry per candidate
//! recipient (shared with the fields named, or withheld with the reasons), the
//! notifications and the outbox rows together. Candidates are the police force(s) and the
//! MASH for the area, and for a child the children's safeguarding partnership and the ICTG
//! service; each passes through the policy function (purpose `nrm_referral` for the police,
//! `safeguarding` for the others). On the Duty to Notify pathway the identifying fields are
//! taken out whatever the agreement allows (`domain::referral::DTN_WITHHELD`).
//!
//! Lifecycle events follow `domain::referral_lifecycle`; each one tells the referring agency
//! (webhook or e-mail through the outbox). Withdrawal of consent is seen by the policy
//! function at every later read, so nothing more about the person leaves the hub, and the
//! recipients are told. Deadline escalation is in `usecase::referral_deadlines`.
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::audit;
use crate::config::Settings;
use crate::domain::agency::AgencyKind;
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, NotificationId, ReferralEventId, ReferralId};
use crate::domain::msht::EventType;
use crate::domain::notification::Notification;
use crate::domain::policy::{DisclosureRequest, PolicyDecision};
use crate::domain::projection;
use crate::domain::referral::{Referral, ReferralInput};
use crate::domain::referral_lifecycle::{
    may_record, EventInput, EventKind, NewEvent, Recorder, Status,
};
use crate::domain::routing::{self, Route};
use crate::domain::sharing::Purpose;
use crate::domain::working_days::Calendar;
use crate::error::AppError;
use crate::store::referrals::{self, Decision, Event, Stored};
use crate::store::{agencies, notifications, DbConn};
use crate::usecase::{notify, policy};

const KIND: &str = "referral";

/// Referral deadlines in working days.
#[derive(Debug, Clone)]
pub struct Timing {
    pub calendar: Calendar,
    pub ack_working_days: u32,
    pub rg_working_days: u32,
}

impl Default for Timing {
    /// One working day to acknowledge, five for the reasonable grounds decision, no bank
    /// holidays.
    fn default() -> Self {
        Timing {
            calendar: Calendar::default(),
            ack_working_days: 1,
            rg_working_days: 5,
        }
    }
}

impl Timing {
    pub fn from_settings(s: &Settings) -> Self {
        Timing {
            calendar: s.referrals.calendar(),
            ack_working_days: s.referrals.ack_working_days,
            rg_working_days: s.referrals.rg_working_days,
        }
    }

    pub fn ack_due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add_working_days(from, self.ack_working_days)
    }

    pub fn rg_due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add_working_days(from, self.rg_working_days)
    }
}

/// The purpose a candidate receives a referral for.
pub fn purpose_for(route: Route) -> Purpose {
    match route {
        Route::Police => Purpose::NrmReferral,
        _ => Purpose::Safeguarding,
    }
}

/// Whether `agency` may make referrals (an NGO). A refusal is logged as `access_denied` and
/// commits; the caller answers 403.
pub fn may_refer(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let a = agencies::get(conn, agency)?.ok_or(AppError::NotFound)?;
    if a.kind == AgencyKind::Ngo {
        return Ok(true);
    }
    audit::append(
        conn,
        &NewEntry::new(Operation::AccessDenied, actor.clone(), now)
            .justification("POST /referrals by an agency that is not an NGO")
            .decision(
                AuditDecision::Denied,
                vec![format!("agency kind {} does not make referrals", a.kind)],
            ),
    )?;
    Ok(false)
}

/// A new referral and where it went.
#[derive(Debug, Clone)]
pub struct Created {
    pub stored: Stored,
    pub routing: Vec<Decision>,
    /// What the referrer should know: nobody covers the area, nobody may receive it.
    pub warnings: Vec<String>,
}

/// The thin webhook data for one recipient: ids, and only those facets it may see.
fn thin_data(referral: &Referral, notification: NotificationId, fields: &[String]) -> Value {
    let mut data = Map::new();
    data.insert("notification_id".into(), json!(notification.to_string()));
    data.insert("referral_id".into(), json!(referral.id));
    data.insert("classification".into(), json!(referral.classification));
    let thin: Vec<String> = [
        "area",
        "exploitation_types",
        "pathway",
        "potential_victim.age_band",
        "potential_victim.is_child",
    ]
    .into_iter()
    .filter(|f| fields.iter().any(|x| x == f))
    .map(str::to_owned)
    .collect();
    let record = referral.disclosure_record(Status::Submitted);
    if let Value::Object(p) = projection::project(&record, &thin) {
        data.extend(p);
    }
    Value::Object(data)
}

/// Validates and records a referral by the caller's agency (an NGO: see [`may_refer`]) and
/// routes it.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    referrer: AgencyId,
    input: ReferralInput,
    timing: &Timing,
    now: DateTime<Utc>,
) -> Result<Created, AppError> {
    let referral = input.parse(ReferralId::new().to_string(), referrer, now)?;
    let ack_due = timing.ack_due(now);
    referrals::insert(conn, &referral, ack_due, now)?;
    let consent = referral.consent_state(false);
    let classification = referral.classification.as_str().to_owned();
    let mut entries = vec![NewEntry {
        subject_refs: referral.subject_refs(),
        data_items: projection::paths_present(&referral.to_record(Status::Submitted))
            .into_iter()
            .filter(|p| crate::domain::fields::is_known(RecordKind::Referral, p))
            .collect(),
        classification: Some(classification.clone()),
        consent: Some(consent.clone()),
        ..NewEntry::new(Operation::Collection, actor.clone(), now)
            .record(KIND, &referral.id)
            .purpose(Purpose::NrmReferral.as_str())
            .justification(format!(
                "referral of a potential victim ({} pathway{})",
                referral.pathway,
                if referral.child { ", child" } else { "" }
            ))
    }];
    let mut statutory: Vec<(AgencyId, Route)> = Vec::new();
    for (kind, route) in routing::referral_kinds(referral.child) {
        for id in agencies::covering_area(conn, &referral.area, kind)? {
            statutory.push((id, route));
        }
    }
    let mut warnings = Vec::new();
    for (route, what) in [(Route::Police, "police force"), (Route::Mash, "MASH")] {
        if !statutory.iter().any(|(_, r)| *r == route) {
            warnings.push(format!(
                "no {what} in the hub covers area {}; contact it directly",
                referral.area
            ));
        }
    }
    let mut routed = Vec::new();
    for candidate in routing::candidates(referrer, &statutory, &[]) {
        let purpose = purpose_for(candidate.route);
        let req = DisclosureRequest {
            discloser: referrer,
            recipient: candidate.agency_id,
            record_kind: RecordKind::Referral,
            purpose,
            classification: referral.classification,
            requested_fields: None,
            at: now,
            consent_withdrawn: false,
        };
        let base = NewEntry {
            subject_refs: referral.subject_refs(),
            classification: Some(classification.clone()),
            consent: Some(consent.clone()),
            ..NewEntry::new(Operation::Disclosure, actor.clone(), now)
                .record(KIND, &referral.id)
                .purpose(purpose.as_str())
                .recipients(vec![candidate.agency_id])
        };
        let decision = match policy::decide(conn, &req)? {
            PolicyDecision::Permit(p) => {
                let fields = referral.disclosable(&p.fields);
                let n = Notification {
                    id: NotificationId::new(),
                    agency_id: candidate.agency_id,
                    discloser: referrer,
                    record_kind: KIND.to_owned(),
                    record_id: referral.id.clone(),
                    event: EventType::ReferralReceived,
                    purpose: purpose.as_str().to_owned(),
                    classification: classification.clone(),
                    child_at_risk: referral.child,
                    created_at: now,
                    due_at: ack_due,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    escalated_at: None,
                };
                notifications::insert(conn, &n)?;
                notify::enqueue(
                    conn,
                    candidate.agency_id,
                    EventType::ReferralReceived,
                    thin_data(&referral, n.id, &fields),
                    &classification,
                    now,
                )?;
                entries.push(NewEntry {
                    data_items: fields.clone(),
                    agreement: Some(p.agreement.clone()),
                    lawful_basis: Some(p.lawful_basis.clone()),
                    retention_days: Some(p.retention_days),
                    ..base
                        .decision(AuditDecision::Shared, Vec::new())
                        .justification(format!(
                            "referral ({} pathway) to the {} route under agreement {} v{}",
                            referral.pathway,
                            candidate.route.as_str(),
                            p.agreement.id,
                            p.agreement.version
                        ))
                });
                Decision {
                    agency_id: candidate.agency_id,
                    route: candidate.route,
                    purpose: purpose.as_str().to_owned(),
                    notified: true,
                    reasons: Vec::new(),
                    agreement: Some(p.agreement),
                    fields,
                    notification_id: Some(n.id),
                    decided_at: now,
                }
            }
            PolicyDecision::Deny(reasons) => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                entries.push(
                    base.decision(AuditDecision::Withheld, reasons.clone())
                        .justification(format!(
                            "referral withheld from the {} route",
                            candidate.route.as_str()
                        )),
                );
                Decision {
                    agency_id: candidate.agency_id,
                    route: candidate.route,
                    purpose: purpose.as_str().to_owned(),
                    notified: false,
                    reasons,
                    agreement: None,
                    fields: Vec::new(),
                    notification_id: None,
                    decided_at: now,
                }
            }
        };
        referrals::insert_decision(conn, &referral.id, &decision)?;
        routed.push(decision);
    }
    if !routed.iter().any(|d| d.notified) {
        warnings.push(
            "no agency received this referral: no active agreement permits it; contact the \
             police directly (999 if anyone is in immediate danger)"
                .to_owned(),
        );
    }
    audit::append_all(conn, &entries)?;
    let stored = referrals::get(conn, referrer, &referral.id)?.ok_or(AppError::NotFound)?;
    Ok(Created {
        stored,
        routing: routed,
        warnings,
    })
}

/// Logs a refused attempt to reach a referral (it commits; the caller answers 404).
fn log_denied(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    super::incidents::log_denied(conn, actor, KIND, id, now)
}

/// One recipient's acknowledgement deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Acknowledgement {
    pub agency_id: AgencyId,
    pub due_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl Acknowledgement {
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.acknowledged_at.is_none() && now > self.due_at
    }
}

/// A referral as its referrer sees it.
#[derive(Debug, Clone)]
pub struct View {
    pub stored: Stored,
    pub events: Vec<Event>,
    pub routing: Vec<Decision>,
    pub acknowledgements: Vec<Acknowledgement>,
}

fn acknowledgements(
    conn: &mut DbConn,
    referrer: AgencyId,
    id: &str,
) -> Result<Vec<Acknowledgement>, AppError> {
    Ok(
        notifications::about_record(conn, referrer, id, EventType::ReferralReceived)?
            .into_iter()
            .map(|n| Acknowledgement {
                agency_id: n.agency_id,
                due_at: n.due_at,
                acknowledged_at: n.acknowledged_at,
            })
            .collect(),
    )
}

/// The referring agency reads its referral; the read is a `consultation`. Anyone else gets
/// `None` (answered 404) and the attempt is logged as `access_denied`.
pub fn read(
    conn: &mut DbConn,
    actor: &Actor,
    referrer: AgencyId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<View>, AppError> {
    let Some(stored) = referrals::get(conn, referrer, id)? else {
        log_denied(conn, actor, id, now)?;
        return Ok(None);
    };
    let view = View {
        events: referrals::events(conn, id)?,
        routing: referrals::decisions(conn, id)?,
        acknowledgements: acknowledgements(conn, referrer, id)?,
        stored,
    };
    let r = &view.stored.referral;
    audit::append(
        conn,
        &NewEntry {
            subject_refs: r.subject_refs(),
            classification: Some(r.classification.as_str().to_owned()),
            consent: Some(r.consent_state(view.stored.consent_withdrawn())),
            ..NewEntry::new(Operation::Consultation, actor.clone(), now)
                .record(KIND, id)
                .purpose(Purpose::NrmReferral.as_str())
                .justification("the referring agency read its referral")
                .decision(AuditDecision::Allowed, Vec::new())
        },
    )?;
    Ok(Some(view))
}

/// Which of a referral's deadlines have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overdue {
    pub acknowledgement: bool,
    pub reasonable_grounds: bool,
}

impl Overdue {
    pub fn any(self) -> bool {
        self.acknowledgement || self.reasonable_grounds
    }
}

/// A page of `referrer`'s referrals with their overdue deadlines; with `only_overdue`, only
/// those with a deadline passed at `now`.
pub fn list(
    conn: &mut DbConn,
    referrer: AgencyId,
    status: Option<Status>,
    only_overdue: bool,
    after: Option<&str>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(Stored, Overdue)>, AppError> {
    let ack =
        notifications::overdue_record_ids(conn, referrer, KIND, EventType::ReferralReceived, now)?;
    let rg = referrals::rg_overdue_ids(conn, referrer, now)?;
    let only: Option<Vec<String>> = only_overdue.then(|| {
        let mut all: Vec<String> = ack.iter().chain(rg.iter()).cloned().collect();
        all.sort();
        all.dedup();
        all
    });
    let rows = referrals::list(conn, referrer, status, only.as_deref(), after, limit)?;
    Ok(rows
        .into_iter()
        .map(|s| {
            let o = Overdue {
                acknowledgement: ack.contains(&s.referral.id),
                reasonable_grounds: s.rg_overdue(now),
            };
            (s, o)
        })
        .collect())
}

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

/// Records `input` on referral `id` for the caller's `agency` (its referrer or an agency it
/// was disclosed to). `Ok(None)`: no such referral for the caller (logged, answered 404).
/// `Ok(Some(Err(_)))`: refused because the agency may not record that event (logged as
/// `access_denied` and committed, answered 403). A transition the lifecycle does not allow
/// is a 409 naming the allowed events.
pub fn record_event(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: &str,
    input: &EventInput,
    timing: &Timing,
    now: DateTime<Utc>,
) -> Result<Option<Result<Recorded, AppError>>, AppError> {
    let Some((stored, standing)) = referrals::get_for_party(conn, agency, id)? else {
        log_denied(conn, actor, id, now)?;
        return Ok(None);
    };
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
        audit::append(
            conn,
            &NewEntry::new(Operation::AccessDenied, actor.clone(), now)
                .record(KIND, id)
                .purpose(Purpose::NrmReferral.as_str())
                .justification(format!("refused to record `{}`", new.kind))
                .decision(AuditDecision::Denied, vec![why.clone()]),
        )?;
        return Ok(Some(Err(AppError::Forbidden(why))));
    }
    apply(conn, actor, agency, &stored, &new, timing, now).map(|r| Some(Ok(r)))
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
    };
    // Acknowledgement sets no deadline, so the default timing is never consulted.
    apply(conn, actor, agency, &stored, &new, &Timing::default(), now).map(|_| ())
}

/// Records an event already checked against the lifecycle and the recorder's standing.
fn apply(
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
    notify::enqueue(
        conn,
        r.referring_agency,
        EventType::ReferralStatusChanged,
        json!({
            "referral_id": id,
            "event_id": event.id,
            "seq": event.seq,
            "event": new.kind,
            "status": to,
            "previous_status": from,
            "recorded_by_agency_id": agency.to_string(),
            "occurred_at": now,
        }),
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
