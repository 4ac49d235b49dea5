//! Commissioned support (pure): the services a police and crime commissioner (PCC) or a
//! partner funds beyond national provision, the pathway stages they serve, their capacity,
//! unit costs and contracts, the placements of referred people with them, and the coverage
//! and gaps of an area.
//!
//! A referral's stage follows its pathway and status ([`stage_of`]): a child's referral is in
//! `child`; an adult who declined the NRM (the Duty to Notify pathway, or consent withdrawn)
//! is in `declined_nrm`; on the NRM pathway, before submission `pre_nrm`, awaiting the
//! reasonable grounds decision `awaiting_rg`, after a positive one `recovery_period`, after a
//! positive conclusive grounds decision `post_cg`, after a negative decision
//! `negative_decision`. A closed referral is in no stage.
pub mod capacity;
pub mod cost;
pub mod coverage;
pub mod input;
pub mod money;

use super::referral::Pathway;
use super::referral_lifecycle::{Lifecycle, Status};

str_enum! {
    /// Where on the support pathway a person is; a service names the stages it serves.
    pub enum Stage ("pathway stage") {
        PreNrm = "pre_nrm",
        AwaitingRg = "awaiting_rg",
        RecoveryPeriod = "recovery_period",
        PostCg = "post_cg",
        NegativeDecision = "negative_decision",
        DeclinedNrm = "declined_nrm",
        Child = "child",
    }
}

str_enum! {
    /// What a service provides.
    pub enum ServiceType ("service type") {
        PlaceOfSafety = "place_of_safety",
        Safehouse = "safehouse",
        Outreach = "outreach",
        Advocacy = "advocacy",
        Counselling = "counselling",
        LegalImmigrationAdvice = "legal_immigration_advice",
        Interpreting = "interpreting",
        Transport = "transport",
        EducationEmployment = "education_employment",
        ReachIn = "reach_in",
        Childrens = "childrens",
    }
}

str_enum! {
    /// What a unit cost is charged per.
    pub enum Per ("cost unit") {
        Night = "night",
        Week = "week",
        Case = "case",
        Hour = "hour",
    }
}

str_enum! {
    /// How VAT applies to a unit cost: `added` charges the configured standard rate on top;
    /// the others take the amount as it is.
    pub enum Vat ("VAT treatment") {
        Exempt = "exempt",
        ZeroRated = "zero_rated",
        Included = "included",
        Added = "added",
    }
}

str_enum! {
    /// What a service's capacity counts.
    pub enum CapacityUnit ("capacity unit") {
        Beds = "beds",
        Places = "places",
        Cases = "cases",
    }
}

/// The stage a referral is in now, or `None` once it is closed.
pub fn stage_of(l: &Lifecycle) -> Option<Stage> {
    use Status as S;
    if l.status == S::Closed {
        return None;
    }
    if l.child {
        return Some(Stage::Child);
    }
    if l.pathway == Pathway::DutyToNotify || l.status == S::Withdrawn {
        return Some(Stage::DeclinedNrm);
    }
    Some(match l.status {
        S::Submitted | S::Acknowledged | S::Accepted | S::Declined => Stage::PreNrm,
        S::RgPending | S::RgReconsideration => Stage::AwaitingRg,
        S::RgPositive | S::CgReconsideration => Stage::RecoveryPeriod,
        S::CgPositive => Stage::PostCg,
        S::RgNegative | S::CgNegative => Stage::NegativeDecision,
        S::DtnSubmitted | S::Withdrawn => Stage::DeclinedNrm,
        S::Closed => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: Status, pathway: Pathway, child: bool) -> Option<Stage> {
        stage_of(&Lifecycle {
            status,
            pathway,
            child,
        })
    }

    #[test]
    fn stages_follow_the_pathway_and_status() {
        use Pathway::*;
        assert_eq!(at(Status::Submitted, Nrm, false), Some(Stage::PreNrm));
        assert_eq!(at(Status::RgPending, Nrm, false), Some(Stage::AwaitingRg));
        assert_eq!(
            at(Status::RgPositive, Nrm, false),
            Some(Stage::RecoveryPeriod)
        );
        assert_eq!(at(Status::CgPositive, Nrm, false), Some(Stage::PostCg));
        assert_eq!(
            at(Status::CgNegative, Nrm, false),
            Some(Stage::NegativeDecision)
        );
        assert_eq!(
            at(Status::Submitted, DutyToNotify, false),
            Some(Stage::DeclinedNrm)
        );
        assert_eq!(at(Status::Withdrawn, Nrm, false), Some(Stage::DeclinedNrm));
        assert_eq!(at(Status::RgPending, Nrm, true), Some(Stage::Child));
        assert_eq!(at(Status::Closed, Nrm, true), None);
    }
}
