//! The lifecycle of a referral (pure): its statuses, the events that move it, the transition
//! table, and who may record which event.
//!
//! | status | event | next status | recorded by |
//! | --- | --- | --- | --- |
//! | submitted | acknowledged | acknowledged | a recipient |
//! | submitted, acknowledged | accepted | accepted | a recipient |
//! | submitted, acknowledged | declined (reason) | declined | a recipient |
//! | submitted, acknowledged, accepted (NRM pathway) | nrm_submitted | rg_pending | a first responder (recipient, or the referrer if designated) |
//! | submitted, acknowledged, accepted (Duty to Notify) | dtn_submitted | dtn_submitted | a first-responder recipient that is not an NGO |
//! | rg_pending, rg_reconsideration | rg_positive / rg_negative | same name | the agency that submitted the NRM referral |
//! | rg_positive, cg_reconsideration | cg_positive / cg_negative | same name | the agency that submitted the NRM referral |
//! | rg_negative | reconsideration_requested | rg_reconsideration | the NRM submitter or the referrer |
//! | cg_negative | reconsideration_requested | cg_reconsideration | the NRM submitter or the referrer |
//! | any but closed, withdrawn (adult only) | consent_withdrawn | withdrawn | the referrer |
//! | submitted, acknowledged, declined, dtn_submitted, rg_negative, cg_positive, cg_negative, withdrawn | closed | closed | the referrer |
//!
//! Three events note something without moving the status: `acknowledged` in any status but
//! `submitted`, `closed` and `withdrawn` (each recipient acknowledges once; the first moves
//! `submitted` to `acknowledged`), `ictg_allocated` (a child's referral, any status but
//! `closed`; recorded by the ICTG service) and `support_offered` (any status but `closed`,
//! since support never depends on the NRM; recorded by the referrer or a recipient).
//! Nothing follows `closed`.
use serde::Deserialize;

use super::agency::AgencyKind;
use super::referral::Pathway;
use super::validate::{required_text, Errors};
use crate::error::AppError;

str_enum! {
    /// Where a referral stands.
    pub enum Status ("referral status") {
        /// Received by the hub and routed; nobody has acknowledged it yet.
        Submitted = "submitted",
        Acknowledged = "acknowledged",
        /// A recipient takes it forward.
        Accepted = "accepted",
        /// The recipients will not take it forward (the reason is in the event).
        Declined = "declined",
        /// Submitted to the NRM; the reasonable grounds decision is awaited.
        RgPending = "rg_pending",
        /// The anonymous Duty to Notify was made.
        DtnSubmitted = "dtn_submitted",
        RgPositive = "rg_positive",
        RgNegative = "rg_negative",
        /// Reconsideration of a negative reasonable grounds decision was requested.
        RgReconsideration = "rg_reconsideration",
        CgPositive = "cg_positive",
        CgNegative = "cg_negative",
        /// Reconsideration of a negative conclusive grounds decision was requested.
        CgReconsideration = "cg_reconsideration",
        /// The potential victim withdrew consent: nothing more about them is disclosed.
        Withdrawn = "withdrawn",
        Closed = "closed",
    }
}

str_enum! {
    /// What can be recorded against a referral (`POST /referrals/{id}/events`).
    pub enum EventKind ("referral event") {
        Acknowledged = "acknowledged",
        Accepted = "accepted",
        Declined = "declined",
        NrmSubmitted = "nrm_submitted",
        DtnSubmitted = "dtn_submitted",
        RgPositive = "rg_positive",
        RgNegative = "rg_negative",
        CgPositive = "cg_positive",
        CgNegative = "cg_negative",
        ReconsiderationRequested = "reconsideration_requested",
        IctgAllocated = "ictg_allocated",
        SupportOffered = "support_offered",
        ConsentWithdrawn = "consent_withdrawn",
        Closed = "closed",
    }
}

str_enum! {
    /// Who the ICTG service allocated (MSA 2015 s.48).
    pub enum IctgRole ("ICTG role") {
        /// For a child with nobody holding parental responsibility in the UK.
        DirectWorker = "direct_worker",
        /// Where someone in the UK holds parental responsibility.
        RegionalPracticeCoordinator = "regional_practice_coordinator",
    }
}

/// What the transition table needs to know about a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Status,
    pub pathway: Pathway,
    pub child: bool,
}

impl Lifecycle {
    /// The status after `event`, or `None` when the event is not allowed now. An event that
    /// notes something without moving the referral returns the current status.
    pub fn next(&self, event: EventKind) -> Option<Status> {
        use EventKind as E;
        use Status as S;
        let s = self.status;
        let open = s != S::Closed;
        match event {
            E::Acknowledged => match s {
                S::Submitted => Some(S::Acknowledged),
                S::Closed | S::Withdrawn => None,
                other => Some(other),
            },
            E::Accepted => matches!(s, S::Submitted | S::Acknowledged).then_some(S::Accepted),
            E::Declined => matches!(s, S::Submitted | S::Acknowledged).then_some(S::Declined),
            E::NrmSubmitted => (self.pathway == Pathway::Nrm
                && matches!(s, S::Submitted | S::Acknowledged | S::Accepted))
            .then_some(S::RgPending),
            E::DtnSubmitted => (self.pathway == Pathway::DutyToNotify
                && matches!(s, S::Submitted | S::Acknowledged | S::Accepted))
            .then_some(S::DtnSubmitted),
            E::RgPositive => {
                matches!(s, S::RgPending | S::RgReconsideration).then_some(S::RgPositive)
            }
            E::RgNegative => {
                matches!(s, S::RgPending | S::RgReconsideration).then_some(S::RgNegative)
            }
            E::CgPositive => {
                matches!(s, S::RgPositive | S::CgReconsideration).then_some(S::CgPositive)
            }
            E::CgNegative => {
                matches!(s, S::RgPositive | S::CgReconsideration).then_some(S::CgNegative)
            }
            E::ReconsiderationRequested => match s {
                S::RgNegative => Some(S::RgReconsideration),
                S::CgNegative => Some(S::CgReconsideration),
                _ => None,
            },
            E::IctgAllocated => (self.child && open).then_some(s),
            E::SupportOffered => open.then_some(s),
            E::ConsentWithdrawn => {
                (!self.child && !matches!(s, S::Withdrawn | S::Closed)).then_some(S::Withdrawn)
            }
            E::Closed => matches!(
                s,
                S::Submitted
                    | S::Acknowledged
                    | S::Declined
                    | S::DtnSubmitted
                    | S::RgNegative
                    | S::CgPositive
                    | S::CgNegative
                    | S::Withdrawn
            )
            .then_some(S::Closed),
        }
    }

    /// Every event allowed now, in declaration order.
    pub fn allowed(&self) -> Vec<EventKind> {
        EventKind::ALL
            .iter()
            .copied()
            .filter(|e| self.next(*e).is_some())
            .collect()
    }
}

/// The recording agency's relationship to one referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorder {
    /// The agency that made the referral.
    pub referrer: bool,
    /// The referral was routed (and disclosed) to the agency.
    pub recipient: bool,
    pub kind: AgencyKind,
    /// The agency record says it is an NRM first responder organisation.
    pub first_responder: bool,
    /// The agency recorded `nrm_submitted` for this referral.
    pub nrm_submitter: bool,
}

/// Whether `who` may record `event`; the error says who may.
pub fn may_record(event: EventKind, who: &Recorder) -> Result<(), String> {
    use EventKind as E;
    let ok = match event {
        E::Acknowledged | E::Accepted | E::Declined => who.recipient,
        E::NrmSubmitted => (who.recipient || who.referrer) && who.first_responder,
        E::DtnSubmitted => who.recipient && who.first_responder && who.kind != AgencyKind::Ngo,
        E::RgPositive | E::RgNegative | E::CgPositive | E::CgNegative => who.nrm_submitter,
        E::ReconsiderationRequested => who.nrm_submitter || who.referrer,
        E::IctgAllocated => who.recipient && who.kind == AgencyKind::IctgService,
        E::SupportOffered => who.recipient || who.referrer,
        E::ConsentWithdrawn | E::Closed => who.referrer,
    };
    if ok {
        return Ok(());
    }
    Err(match event {
        E::Acknowledged | E::Accepted | E::Declined => {
            format!("`{event}` is recorded by an agency the referral was sent to")
        }
        E::NrmSubmitted => "only a first responder organisation may submit an NRM referral; \
                            this agency is not designated a first responder"
            .to_owned(),
        E::DtnSubmitted => "only a first responder with the duty to notify (police, local \
                            authority, NCA, GLAA, Home Office) that received the referral may \
                            record the Duty to Notify"
            .to_owned(),
        E::RgPositive | E::RgNegative | E::CgPositive | E::CgNegative => {
            "decisions are recorded by the first responder that submitted the NRM referral \
             (it receives the Single Competent Authority's decision)"
                .to_owned()
        }
        E::ReconsiderationRequested => "reconsideration is requested by the first responder \
                                        that submitted the NRM referral or by the referrer"
            .to_owned(),
        E::IctgAllocated => {
            "the ICTG service that received the referral records the allocation".to_owned()
        }
        E::SupportOffered => {
            "recorded by the referrer or an agency the referral was sent to".to_owned()
        }
        E::ConsentWithdrawn | E::Closed => {
            format!("`{event}` is recorded by the agency that made the referral")
        }
    })
}

/// The body of `POST /referrals/{id}/events`, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub ictg_role: Option<String>,
}

/// A validated event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub ictg_role: Option<IctgRole>,
    /// The service a placement offered (`support_offered` recorded by a placement).
    pub service_id: Option<String>,
}

impl EventInput {
    pub fn parse(&self) -> Result<NewEvent, AppError> {
        let mut e = Errors::new();
        let kind = match &self.kind {
            None => {
                e.add("/type", "is required");
                None
            }
            Some(k) => e.take("/type", k.parse::<EventKind>()),
        };
        let note = self
            .note
            .as_deref()
            .and_then(|n| e.take("/note", required_text(n, 2000)));
        let reason = self
            .reason
            .as_deref()
            .and_then(|r| e.take("/reason", required_text(r, 2000)));
        if kind == Some(EventKind::Declined) && self.reason.is_none() {
            e.add("/reason", "a referral is declined with a reason");
        }
        let ictg_role = self
            .ictg_role
            .as_deref()
            .and_then(|r| e.take("/ictg_role", r.parse::<IctgRole>()));
        match kind {
            Some(EventKind::IctgAllocated) if self.ictg_role.is_none() => e.add(
                "/ictg_role",
                "say who was allocated: direct_worker or regional_practice_coordinator",
            ),
            Some(k) if k != EventKind::IctgAllocated && self.ictg_role.is_some() => {
                e.add("/ictg_role", "only with ictg_allocated")
            }
            _ => {}
        }
        e.finish()?;
        let kind = kind.ok_or_else(|| AppError::validation("/type", "is required"))?;
        Ok(NewEvent {
            kind,
            note,
            reason,
            ictg_role,
            service_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: Status, pathway: Pathway, child: bool) -> Lifecycle {
        Lifecycle {
            status,
            pathway,
            child,
        }
    }

    #[test]
    fn the_nrm_path_runs_to_a_conclusive_decision() {
        let mut l = at(Status::Submitted, Pathway::Nrm, false);
        for (event, want) in [
            (EventKind::Acknowledged, Status::Acknowledged),
            (EventKind::Accepted, Status::Accepted),
            (EventKind::NrmSubmitted, Status::RgPending),
            (EventKind::RgNegative, Status::RgNegative),
            (
                EventKind::ReconsiderationRequested,
                Status::RgReconsideration,
            ),
            (EventKind::RgPositive, Status::RgPositive),
            (EventKind::SupportOffered, Status::RgPositive),
            (EventKind::CgPositive, Status::CgPositive),
            (EventKind::Closed, Status::Closed),
        ] {
            assert_eq!(l.next(event), Some(want), "{event} from {}", l.status);
            l.status = want;
        }
        assert!(l.allowed().is_empty(), "nothing follows closed");
    }

    #[test]
    fn invalid_transitions_are_refused() {
        let submitted = at(Status::Submitted, Pathway::Nrm, false);
        assert_eq!(submitted.next(EventKind::RgPositive), None);
        assert_eq!(submitted.next(EventKind::CgPositive), None);
        assert_eq!(submitted.next(EventKind::DtnSubmitted), None, "NRM pathway");
        assert_eq!(submitted.next(EventKind::IctgAllocated), None, "adult");
        assert_eq!(
            submitted.allowed(),
            vec![
                EventKind::Acknowledged,
                EventKind::Accepted,
                EventKind::Declined,
                EventKind::NrmSubmitted,
                EventKind::SupportOffered,
                EventKind::ConsentWithdrawn,
                EventKind::Closed
            ]
        );
        let dtn = at(Status::Accepted, Pathway::DutyToNotify, false);
        assert_eq!(dtn.next(EventKind::NrmSubmitted), None);
        assert_eq!(
            dtn.next(EventKind::DtnSubmitted),
            Some(Status::DtnSubmitted)
        );
        let pending = at(Status::RgPending, Pathway::Nrm, false);
        assert_eq!(
            pending.next(EventKind::Closed),
            None,
            "a decision is awaited"
        );
        assert_eq!(pending.next(EventKind::Accepted), None);
        let cg = at(Status::CgNegative, Pathway::Nrm, false);
        assert_eq!(
            cg.next(EventKind::ReconsiderationRequested),
            Some(Status::CgReconsideration)
        );
        let withdrawn = at(Status::Withdrawn, Pathway::Nrm, false);
        assert_eq!(
            withdrawn.allowed(),
            vec![EventKind::SupportOffered, EventKind::Closed]
        );
    }

    #[test]
    fn children_need_no_consent_and_get_an_ictg() {
        let child = at(Status::RgPending, Pathway::Nrm, true);
        assert_eq!(child.next(EventKind::ConsentWithdrawn), None);
        assert_eq!(
            child.next(EventKind::IctgAllocated),
            Some(Status::RgPending)
        );
        let adult = at(Status::RgPending, Pathway::Nrm, false);
        assert_eq!(
            adult.next(EventKind::ConsentWithdrawn),
            Some(Status::Withdrawn)
        );
    }

    #[test]
    fn acknowledgement_moves_only_a_submitted_referral() {
        let l = at(Status::Accepted, Pathway::Nrm, false);
        assert_eq!(l.next(EventKind::Acknowledged), Some(Status::Accepted));
        let l = at(Status::Withdrawn, Pathway::Nrm, false);
        assert_eq!(l.next(EventKind::Acknowledged), None);
    }

    fn pointers(v: serde_json::Value) -> Vec<String> {
        let input: EventInput = serde_json::from_value(v).unwrap();
        match input.parse() {
            Ok(_) => Vec::new(),
            Err(AppError::Validation(e)) => e.into_iter().map(|f| f.pointer).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn event_bodies_are_checked() {
        use serde_json::json;
        assert!(pointers(json!({"type": "accepted", "note": "DC Shah"})).is_empty());
        assert_eq!(pointers(json!({})), vec!["/type"]);
        assert_eq!(pointers(json!({"type": "declined"})), vec!["/reason"]);
        assert!(pointers(json!({"type": "declined", "reason": "no offence"})).is_empty());
        assert_eq!(
            pointers(json!({"type": "ictg_allocated"})),
            vec!["/ictg_role"]
        );
        assert_eq!(
            pointers(json!({"type": "ictg_allocated", "ictg_role": "aunt"})),
            vec!["/ictg_role"]
        );
        assert_eq!(
            pointers(json!({"type": "accepted", "ictg_role": "direct_worker"})),
            vec!["/ictg_role"]
        );
        assert_eq!(
            pointers(json!({"type": "closed", "note": " "})),
            vec!["/note"]
        );
    }

    #[test]
    fn only_first_responders_submit_to_the_nrm() {
        let mash = Recorder {
            referrer: false,
            recipient: true,
            kind: AgencyKind::Mash,
            first_responder: false,
            nrm_submitter: false,
        };
        assert!(may_record(EventKind::NrmSubmitted, &mash)
            .unwrap_err()
            .contains("first responder"));
        assert!(may_record(EventKind::Acknowledged, &mash).is_ok());
        assert!(may_record(EventKind::Closed, &mash).is_err());
        let police = Recorder {
            kind: AgencyKind::PoliceForce,
            first_responder: true,
            ..mash
        };
        assert!(may_record(EventKind::NrmSubmitted, &police).is_ok());
        assert!(may_record(EventKind::DtnSubmitted, &police).is_ok());
        assert!(may_record(EventKind::RgPositive, &police).is_err());
        let submitter = Recorder {
            nrm_submitter: true,
            ..police
        };
        assert!(may_record(EventKind::RgPositive, &submitter).is_ok());
        let designated_ngo = Recorder {
            referrer: true,
            recipient: false,
            kind: AgencyKind::Ngo,
            first_responder: true,
            nrm_submitter: false,
        };
        assert!(may_record(EventKind::NrmSubmitted, &designated_ngo).is_ok());
        assert!(may_record(EventKind::DtnSubmitted, &designated_ngo).is_err());
        assert!(may_record(EventKind::ConsentWithdrawn, &designated_ngo).is_ok());
        assert!(may_record(EventKind::Accepted, &designated_ngo).is_err());
    }
}
