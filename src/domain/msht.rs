//! MSHT vocabulary shared by incidents, referrals and subscriptions: exploitation types
//! (Home Office statistics), threat markers, and the event types partners subscribe to.
use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("`{s}` is not one of {}", names.join(", "))
                })
            }
        }
    };
}

wire_enum!(
    /// Forms of exploitation; a case can have several.
    ExploitationType {
        Labour = "labour",
        Sexual = "sexual",
        Criminal = "criminal",
        DomesticServitude = "domestic_servitude",
        OrganHarvesting = "organ_harvesting",
        Unknown = "unknown",
    }
);

wire_enum!(
    /// Interconnected threats marked on an incident.
    Threat {
        CountyLines = "county_lines",
        ChildSexualExploitation = "child_sexual_exploitation",
        ChildSexualAbuse = "child_sexual_abuse",
        MissingPerson = "missing_person",
        ForeignNationalSuspect = "foreign_national_suspect",
    }
);

wire_enum!(
    /// Events a partner can subscribe to (also the webhook `type`).
    EventType {
        IncidentNotified = "incident.notified",
        IncidentUpdated = "incident.updated",
        NotificationOverdue = "notification.overdue",
        ReferralReceived = "referral.received",
        ReferralStatusChanged = "referral.status_changed",
        ConsentWithdrawn = "consent.withdrawn",
    }
);

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
