//! The vocabulary of sharing that agreements, the policy function, incidents and referrals
//! have in common: purposes, classifications and lawful bases (DPA 2018 Part 3 with its
//! Schedule 8 conditions, or UK GDPR with Article 6 and, for special category data,
//! Article 9(2)(g) with DPA 2018 Schedule 1 paragraph 18).
use serde::{Deserialize, Serialize};

use super::audit::LawfulBasis;

str_enum! {
    /// Why information is shared; an agreement lists the purposes it covers.
    pub enum Purpose ("purpose") {
        Safeguarding = "safeguarding",
        Investigation = "investigation",
        Disruption = "disruption",
        VictimSupport = "victim_support",
        NrmReferral = "nrm_referral",
        StrategicAnalysis = "strategic_analysis",
    }
}

str_enum! {
    /// Government Security Classification of a record. The hub holds nothing above OFFICIAL;
    /// OFFICIAL-SENSITIVE is the handling caveat on OFFICIAL. Ordered: `Official` is lower.
    pub enum Classification ("classification") {
        Official = "official",
        OfficialSensitive = "official_sensitive",
    }
}

str_enum! {
    /// The data protection regime a party processes under.
    pub enum Regime ("regime") {
        /// DPA 2018 Part 3 (law enforcement processing by competent authorities).
        Dpa2018Part3 = "dpa2018_part3",
        /// UK GDPR (with DPA 2018 Part 2): local authorities, health, NGOs.
        UkGdpr = "uk_gdpr",
    }
}

str_enum! {
    /// The condition a party relies on: a Schedule 8 condition (or consent) under DPA 2018
    /// Part 3, or an Article 6(1) basis under UK GDPR.
    pub enum Condition ("condition") {
        Sch8Statutory = "sch8_statutory",
        Sch8Justice = "sch8_justice",
        Sch8VitalInterests = "sch8_vital_interests",
        Sch8Safeguarding = "sch8_safeguarding",
        Sch8PublicDomain = "sch8_public_domain",
        Sch8LegalClaims = "sch8_legal_claims",
        Sch8JudicialActs = "sch8_judicial_acts",
        Sch8Fraud = "sch8_fraud",
        Sch8Archiving = "sch8_archiving",
        Consent = "consent",
        Art6_1cLegalObligation = "art6_1c_legal_obligation",
        Art6_1dVitalInterests = "art6_1d_vital_interests",
        Art6_1ePublicTask = "art6_1e_public_task",
        Art6_1fLegitimateInterests = "art6_1f_legitimate_interests",
    }
}

str_enum! {
    /// The UK GDPR Article 9 condition for special category data.
    pub enum SpecialCategory ("special category condition") {
        /// Art 9(2)(g) with DPA 2018 Schedule 1 para 18 (safeguarding of children and of
        /// individuals at risk).
        Art9_2gSch1Para18 = "art9_2g_sch1_para18",
    }
}

impl Condition {
    /// The regime the condition belongs to.
    pub fn regime(self) -> Regime {
        match self {
            Condition::Art6_1cLegalObligation
            | Condition::Art6_1dVitalInterests
            | Condition::Art6_1ePublicTask
            | Condition::Art6_1fLegitimateInterests => Regime::UkGdpr,
            _ => Regime::Dpa2018Part3,
        }
    }

    /// The conditions valid under `regime`.
    pub fn under(regime: Regime) -> Vec<Condition> {
        Condition::ALL
            .iter()
            .copied()
            .filter(|c| c.regime() == regime)
            .collect()
    }
}

/// A party's lawful basis, checked for consistency: the condition belongs to the regime, and
/// a special category condition appears only under UK GDPR (under Part 3 the Schedule 8
/// condition itself covers sensitive processing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyLawfulBasis {
    pub regime: Regime,
    pub condition: Condition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_category: Option<SpecialCategory>,
}

/// Which part of a lawful basis is inconsistent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawfulBasisError {
    /// `condition` or `special_category`.
    pub field: &'static str,
    pub detail: String,
}

impl PartyLawfulBasis {
    pub fn new(
        regime: Regime,
        condition: Condition,
        special_category: Option<SpecialCategory>,
    ) -> Result<Self, LawfulBasisError> {
        if condition.regime() != regime {
            let valid: Vec<&str> = Condition::under(regime)
                .into_iter()
                .map(|c| c.as_str())
                .collect();
            return Err(LawfulBasisError {
                field: "condition",
                detail: format!(
                    "`{condition}` is not a condition under {regime}; expected one of: {}",
                    valid.join(", ")
                ),
            });
        }
        if special_category.is_some() && regime != Regime::UkGdpr {
            return Err(LawfulBasisError {
                field: "special_category",
                detail: "a special category condition applies only under uk_gdpr; under \
                         dpa2018_part3 the Schedule 8 condition covers sensitive processing"
                    .to_owned(),
            });
        }
        Ok(PartyLawfulBasis {
            regime,
            condition,
            special_category,
        })
    }

    /// The basis as the audit log records it.
    pub fn to_audit(self) -> LawfulBasis {
        LawfulBasis {
            regime: self.regime.as_str().to_owned(),
            condition: self.condition.as_str().to_owned(),
            special_category: self.special_category.map(|s| s.as_str().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>(), Ok(*p));
        }
        let e = "gossip".parse::<Purpose>().unwrap_err();
        assert!(
            e.contains("unknown purpose `gossip`") && e.contains("victim_support"),
            "{e}"
        );
        assert_eq!(
            serde_json::to_string(&Purpose::NrmReferral).unwrap(),
            "\"nrm_referral\""
        );
        let c: Classification = serde_json::from_str("\"official_sensitive\"").unwrap();
        assert_eq!(c, Classification::OfficialSensitive);
    }

    #[test]
    fn classifications_are_ordered() {
        assert!(Classification::Official < Classification::OfficialSensitive);
    }

    #[test]
    fn conditions_belong_to_their_regime() {
        assert!(
            PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Sch8Safeguarding, None).is_ok()
        );
        assert!(PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Consent, None).is_ok());
        let e = PartyLawfulBasis::new(Regime::UkGdpr, Condition::Sch8Justice, None).unwrap_err();
        assert_eq!(e.field, "condition");
        assert!(e.detail.contains("art6_1e_public_task"), "{}", e.detail);
        let ok = PartyLawfulBasis::new(
            Regime::UkGdpr,
            Condition::Art6_1ePublicTask,
            Some(SpecialCategory::Art9_2gSch1Para18),
        )
        .unwrap();
        assert_eq!(
            ok.to_audit().special_category.as_deref(),
            Some("art9_2g_sch1_para18")
        );
        let e = PartyLawfulBasis::new(
            Regime::Dpa2018Part3,
            Condition::Sch8Safeguarding,
            Some(SpecialCategory::Art9_2gSch1Para18),
        )
        .unwrap_err();
        assert_eq!(e.field, "special_category");
    }
}
