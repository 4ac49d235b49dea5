//! MSHT vocabulary shared by incidents, referrals and subscriptions: exploitation types
//! (Home Office statistics), threat markers, and the event types partners subscribe to.

str_enum! {
    /// Forms of exploitation; a case can have several.
    pub enum ExploitationType ("exploitation type") {
        Labour = "labour",
        Sexual = "sexual",
        Criminal = "criminal",
        DomesticServitude = "domestic_servitude",
        OrganHarvesting = "organ_harvesting",
        Unknown = "unknown",
    }
}

str_enum! {
    /// Interconnected threats marked on an incident.
    pub enum Threat ("threat") {
        CountyLines = "county_lines",
        ChildSexualExploitation = "child_sexual_exploitation",
        ChildSexualAbuse = "child_sexual_abuse",
        MissingPerson = "missing_person",
        ForeignNationalSuspect = "foreign_national_suspect",
    }
}

str_enum! {
    /// Events a partner can subscribe to (also the webhook `type`).
    pub enum EventType ("event type") {
        IncidentNotified = "incident.notified",
        IncidentUpdated = "incident.updated",
        NotificationOverdue = "notification.overdue",
        ReferralReceived = "referral.received",
        ReferralStatusChanged = "referral.status_changed",
        ConsentWithdrawn = "consent.withdrawn",
        /// An outcome was recorded on an incident the partner was told of.
        IncidentOutcomeRecorded = "incident.outcome_recorded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in EventType::ALL {
            assert_eq!(e.as_str().parse::<EventType>(), Ok(*e));
        }
        assert!("arson"
            .parse::<ExploitationType>()
            .unwrap_err()
            .contains("labour"));
        assert_eq!(
            serde_json::to_string(&Threat::CountyLines).unwrap(),
            "\"county_lines\""
        );
    }
}
