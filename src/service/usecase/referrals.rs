//! NGO referrals through the NRM pathway, each action in the caller's transaction.
//!
//! Making a referral writes it, its `collection` entry, one `disclosure` entry per candidate
//! recipient (shared with the fields named, or withheld with the reasons), the
//! notifications and the outbox rows together. Candidates are the police force(s) and the
//! MASH for the area, and for a child the children's safeguarding partnership and the ICTG
//! service; each passes through the policy function (purpose `nrm_referral` for the police,
//! `safeguarding` for the others). On the Duty to Notify pathway the identifying fields are
//! taken out whatever the agreement allows (all but `domain::referral::DTN_RETURN`).
//!
//! Lifecycle events follow `domain::referral_lifecycle`; each one tells the referring agency
//! (webhook or e-mail through the outbox). Withdrawal of consent is seen by the policy
//! function at every later read, so nothing more about the person leaves the hub, and the
//! recipients are told. Deadline escalation is in `usecase::referral_deadlines`.
use super::refusal;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit;
use crate::config::Settings;
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::ids::{AgencyId, NotificationId, ReferralEventId, ReferralId};
use crate::domain::msht::EventType;
use crate::domain::notification::Notification;
use crate::domain::records::{Decision, ReferralEvent as Event, StoredReferral as Stored};
use crate::domain::referral_lifecycle::{
    may_record, EventInput, EventKind, NewEvent, Recorder, Status,
};
use crate::domain::routing::Route;
use crate::domain::sharing::Purpose;
use crate::domain::working_days::Calendar;
use crate::error::AppError;
use crate::service::store::referrals;
use crate::service::store::{agencies, notifications, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::notify;

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
    /// The read's consultation receipt, sealed (set once the read is logged).
    pub receipt: Option<crate::audit::Sealed>,
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
pub async fn read(
    hub: &Hub,
    actor: Actor,
    referrer: AgencyId,
    id: ReferralId,
) -> Result<View, AppError> {
    let now = hub.now();
    let key = id.to_string();
    let who = actor.clone();
    let view = hub
        .snapshot(move |c| {
            let stored = referrals::get(c, referrer, &key)?
                .ok_or_else(|| refusal::not_found(&who, KIND, &key, now))?;
            Ok(View {
                events: referrals::events(c, &key)?,
                routing: referrals::decisions(c, &key)?,
                acknowledgements: acknowledgements(c, referrer, &key)?,
                stored,
                receipt: None,
            })
        })
        .await?;
    let r = &view.stored.referral;
    let entry = NewEntry {
        subject_refs: r.subject_refs(),
        classification: Some(r.classification.as_str().to_owned()),
        consent: Some(r.consent_state(view.stored.consent_withdrawn())),
        ..NewEntry::new(Operation::Consultation, actor, now)
            .record(KIND, id)
            .purpose(Purpose::NrmReferral.as_str())
            .justification("the referring agency read its referral")
            .decision(AuditDecision::Allowed, Vec::new())
    };
    let receipt = hub
        .write(move |c| audit::append_provable(c, &entry))
        .await?;
    let receipt = hub.seal(receipt)?;
    Ok(View {
        receipt: Some(receipt),
        ..view
    })
}

/// A page of the referring agency's referrals with their overdue deadlines.
pub async fn find(
    hub: &Hub,
    referrer: AgencyId,
    status: Option<Status>,
    only_overdue: bool,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<(Stored, Overdue)>, AppError> {
    let now = hub.now();
    hub.read(move |c| {
        list(
            c,
            referrer,
            status,
            only_overdue,
            after.as_deref(),
            limit,
            now,
        )
    })
    .await
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
fn list(
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

mod create;
mod events;
pub use create::*;
pub use events::*;
