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
use super::refusal;
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

/// Passes if `agency` may make referrals (an NGO); otherwise a logged 403.
pub fn may_refer(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let a = agencies::get(conn, agency)?.ok_or(AppError::NotFound)?;
    if a.kind == AgencyKind::Ngo {
        return Ok(());
    }
    let entry = NewEntry::new(Operation::AccessDenied, actor.clone(), now)
        .justification("POST /referrals by an agency that is not an NGO")
        .decision(
            AuditDecision::Denied,
            vec![format!("agency kind {} does not make referrals", a.kind)],
        );
    Err(AppError::denied(
        AppError::Forbidden(
            "referrals are made by NGOs (agency kind `ngo`); statutory first responders \
             refer into the NRM directly"
                .into(),
        ),
        entry,
    ))
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
            withheld: &[],
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
/// a 404 and the attempt is logged as `access_denied`.
pub fn read(
    conn: &mut DbConn,
    actor: &Actor,
    referrer: AgencyId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<View, AppError> {
    let stored = referrals::get(conn, referrer, id)?
        .ok_or_else(|| refusal::not_found(actor, KIND, id, now))?;
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
    Ok(view)
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

mod events;
pub use events::*;
