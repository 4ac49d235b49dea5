//! The hub's records as it keeps them, apart from how they are stored: an incident with its
//! version, a referral with its lifecycle state and deadlines, each recipient's routing
//! decision, and a referral's lifecycle events. `store` reads and writes them through rows of
//! its own; use cases and wire types know only these.
use chrono::{DateTime, Utc};

use super::audit::AgreementRef;
use super::ids::{AgencyId, NotificationId};
use super::incident::Incident;
use super::referral::Referral;
use super::referral_lifecycle::{EventKind, IctgRole, Lifecycle, Status};
use super::routing::{Candidate, Route};
use super::sharing::Purpose;

/// A stored incident with its version and times.
#[derive(Debug, Clone)]
pub struct StoredIncident {
    pub incident: Incident,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One recipient's routing decision about an incident or a referral: notified under an
/// agreement with the fields named, or withheld with the reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub agency_id: AgencyId,
    pub route: Route,
    pub purpose: String,
    pub notified: bool,
    pub reasons: Vec<String>,
    pub agreement: Option<AgreementRef>,
    pub fields: Vec<String>,
    /// The incident version it was decided for (referrals have no versions).
    pub record_version: Option<i32>,
    /// The notification it sent, where known (when routed; always for referrals).
    pub notification_id: Option<NotificationId>,
    pub decided_at: DateTime<Utc>,
}

impl Decision {
    /// `candidate`'s decision for `purpose` (about record version `record_version`, if the
    /// record has versions) at `at`, withheld for `reasons`.
    pub fn withheld(
        candidate: &Candidate,
        purpose: Purpose,
        record_version: Option<i32>,
        reasons: Vec<String>,
        at: DateTime<Utc>,
    ) -> Decision {
        Decision {
            agency_id: candidate.agency_id,
            route: candidate.route,
            purpose: purpose.as_str().to_owned(),
            notified: false,
            reasons,
            agreement: None,
            fields: Vec::new(),
            record_version,
            notification_id: None,
            decided_at: at,
        }
    }

    /// The same candidate notified instead, under `agreement` with `fields`, by `notification`.
    pub fn notified(
        self,
        agreement: AgreementRef,
        fields: Vec<String>,
        notification: NotificationId,
    ) -> Decision {
        Decision {
            notified: true,
            reasons: Vec::new(),
            agreement: Some(agreement),
            fields,
            notification_id: Some(notification),
            ..self
        }
    }
}

/// A stored referral with its state.
#[derive(Debug, Clone)]
pub struct StoredReferral {
    pub referral: Referral,
    pub status: Status,
    pub ack_due_at: DateTime<Utc>,
    pub rg_due_at: Option<DateTime<Utc>>,
    pub rg_escalated_at: Option<DateTime<Utc>>,
    pub nrm_submitted_by: Option<AgencyId>,
    pub consent_withdrawn_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl StoredReferral {
    pub fn lifecycle(&self) -> Lifecycle {
        Lifecycle {
            status: self.status,
            pathway: self.referral.pathway,
            child: self.referral.child,
        }
    }

    pub fn consent_withdrawn(&self) -> bool {
        self.consent_withdrawn_at.is_some()
    }

    /// Whether the reasonable grounds decision is past its target at `now`.
    pub fn rg_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::RgPending && self.rg_due_at.is_some_and(|d| now > d)
    }
}

/// One recorded lifecycle event.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralEvent {
    pub id: String,
    pub referral_id: String,
    pub seq: i32,
    pub kind: EventKind,
    pub from: Status,
    pub to: Status,
    pub agency_id: AgencyId,
    pub issuer: String,
    pub subject: String,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub ictg_role: Option<IctgRole>,
    pub occurred_at: DateTime<Utc>,
    /// The service a `support_offered` event placed the person with.
    pub service_id: Option<String>,
}
