//! The basis on which each person a record is about is disclosed with their identity, decided
//! by the policy function per person (an input like the Duty to Notify withholding): a child
//! (no consent needed), an adult who consented, an adult at risk (safeguarding), or an adult
//! with a Schedule 8 condition recorded with them (DPA 2018 Schedule 8). An adult who
//! declined, is not at risk and has no recorded Schedule 8 condition is disclosed without
//! identifying fields ([`IDENTIFYING_VICTIM_FIELDS`]): the recipient learns that there is
//! such a person, their age band and needs, not who they are.
use serde_json::Value;

use crate::domain::incident::ConsentToShare;

str_enum! {
    /// A condition of DPA 2018 Schedule 8 recorded with a person as the reason their details
    /// may be shared without their consent.
    pub enum Schedule8Condition ("Schedule 8 condition") {
        /// Para 1: statutory purposes.
        StatutoryPurposes = "statutory_purposes",
        /// Para 2: administration of justice.
        AdministrationOfJustice = "administration_of_justice",
        /// Para 3: protecting an individual's vital interests.
        ProtectingVitalInterests = "protecting_vital_interests",
        /// Para 4: safeguarding of children and of individuals at risk.
        SafeguardingChildrenAndIndividualsAtRisk = "safeguarding_children_and_individuals_at_risk",
        /// Para 5: personal data already in the public domain.
        PublicDomain = "public_domain",
        /// Para 6: legal claims.
        LegalClaims = "legal_claims",
        /// Para 7: judicial acts.
        JudicialActs = "judicial_acts",
        /// Para 8: preventing fraud.
        PreventingFraud = "preventing_fraud",
        /// Para 9: archiving.
        Archiving = "archiving",
    }
}

/// What the policy function is told about one person a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub child: bool,
    pub consent: ConsentToShare,
    pub adult_at_risk: bool,
    pub schedule_8: Option<Schedule8Condition>,
}

/// Why a person is disclosed with their identity, or that they are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A child: shared without consent (safeguarding).
    Child,
    /// The adult consented.
    Consent,
    /// Consent recorded as not required.
    ConsentNotRequired,
    /// An adult at risk who declined: safeguarding (Schedule 8 para 4).
    AdultAtRisk,
    /// A Schedule 8 condition recorded with the person.
    Schedule8(Schedule8Condition),
    /// An adult who declined, not at risk, with no Schedule 8 condition: identifying fields
    /// withheld.
    IdentityWithheld,
}

impl Basis {
    /// The basis for `s`.
    pub fn of(s: &Subject) -> Basis {
        if s.child {
            return Basis::Child;
        }
        match (s.consent, s.schedule_8) {
            (ConsentToShare::Given, _) => Basis::Consent,
            (ConsentToShare::NotRequired, _) => Basis::ConsentNotRequired,
            (ConsentToShare::Declined, Some(c)) => Basis::Schedule8(c),
            (ConsentToShare::Declined, None) if s.adult_at_risk => Basis::AdultAtRisk,
            (ConsentToShare::Declined, None) => Basis::IdentityWithheld,
        }
    }

    /// Whether the person's identifying fields are withheld.
    pub fn withholds_identity(self) -> bool {
        self == Basis::IdentityWithheld
    }

    /// The basis in words, for the audit entry of a disclosure.
    pub fn describe(self) -> String {
        match self {
            Basis::Child => "a child: shared without consent for safeguarding".into(),
            Basis::Consent => "shared on consent".into(),
            Basis::ConsentNotRequired => "consent recorded as not required".into(),
            Basis::AdultAtRisk => {
                "declined; an adult at risk: shared for safeguarding (Schedule 8 para 4)".into()
            }
            Basis::Schedule8(c) => format!("declined; shared under Schedule 8 condition {c}"),
            Basis::IdentityWithheld => format!(
                "declined, not an adult at risk, no Schedule 8 condition recorded: shared \
                 without identifying fields ({})",
                IDENTIFYING_VICTIM_FIELDS.join(", ")
            ),
        }
    }
}

/// The fields of an incident victim that identify them, withheld for
/// [`Basis::IdentityWithheld`]. The age band, needs and safeguarding state stay.
pub const IDENTIFYING_VICTIM_FIELDS: &[&str] =
    &["reference", "age", "date_of_birth", "gender", "nationality"];

/// Removes from an incident projection the identifying fields of every victim whose basis
/// (in `bases`, victim order) withholds them.
pub fn withhold_identities(projected: &mut Value, bases: &[Basis]) {
    let Some(victims) = projected.get_mut("victims").and_then(Value::as_array_mut) else {
        return;
    };
    for (victim, basis) in victims.iter_mut().zip(bases) {
        if basis.withholds_identity() {
            if let Some(o) = victim.as_object_mut() {
                for f in IDENTIFYING_VICTIM_FIELDS {
                    o.remove(*f);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn adult(consent: ConsentToShare) -> Subject {
        Subject {
            child: false,
            consent,
            adult_at_risk: false,
            schedule_8: None,
        }
    }

    #[test]
    fn only_a_declined_adult_not_at_risk_without_schedule_8_loses_identity() {
        assert_eq!(
            Basis::of(&adult(ConsentToShare::Declined)),
            Basis::IdentityWithheld
        );
        assert_eq!(Basis::of(&adult(ConsentToShare::Given)), Basis::Consent);
        let at_risk = Subject {
            adult_at_risk: true,
            ..adult(ConsentToShare::Declined)
        };
        assert_eq!(Basis::of(&at_risk), Basis::AdultAtRisk);
        let sch8 = Subject {
            schedule_8: Some(Schedule8Condition::ProtectingVitalInterests),
            ..adult(ConsentToShare::Declined)
        };
        assert_eq!(
            Basis::of(&sch8),
            Basis::Schedule8(Schedule8Condition::ProtectingVitalInterests)
        );
        let child = Subject {
            child: true,
            ..adult(ConsentToShare::Declined)
        };
        assert_eq!(Basis::of(&child), Basis::Child);
    }

    #[test]
    fn withheld_identities_leave_the_age_band_and_needs() {
        let mut v = json!({"victims": [
            {"reference": "V1", "age": 30, "age_band": "25-34", "nationality": "RO",
             "needs": ["shelter"]},
            {"reference": "V2", "age": 40, "age_band": "35-49"}
        ]});
        withhold_identities(&mut v, &[Basis::IdentityWithheld, Basis::Consent]);
        assert_eq!(
            v["victims"][0],
            json!({"age_band": "25-34", "needs": ["shelter"]})
        );
        assert_eq!(v["victims"][1]["reference"], "V2");
    }
}
