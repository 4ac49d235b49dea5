//! Newtype identifiers, so an agency id cannot be passed where an incident id is expected.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

id_type!(
    /// An agency registered with the hub.
    AgencyId
);

id_type!(
    /// A modern slavery partnership (strategic forum) with its members and terms of reference.
    PartnershipId
);

id_type!(
    /// A data-sharing agreement; its versions are numbered from 1.
    AgreementId
);

id_type!(
    /// A partner's subscription to notifications.
    SubscriptionId
);

id_type!(
    /// One delivery in the outbox; its id is also the stable `webhook-id`.
    DeliveryId
);

id_type!(
    /// An MSHT incident.
    IncidentId
);

id_type!(
    /// A notification addressed to one agency.
    NotificationId
);

id_type!(
    /// An NGO's referral of a potential victim.
    ReferralId
);

id_type!(
    /// One lifecycle event of a referral.
    ReferralEventId
);

id_type!(
    /// A partnership's learning record of an investigation or operation.
    LearningRecordId
);

id_type!(
    /// One recommendation of a learning record.
    RecommendationId
);
