//! Why a disclosure is not permitted: every reason the policy function can give, with a
//! sentence for people and a stable code for machines.
use std::fmt;

use chrono::{DateTime, Timelike, Utc};

use crate::domain::fields::RecordKind;
use crate::domain::ids::AgencyId;
use crate::domain::sharing::{Classification, Purpose};

/// Why a disclosure is not permitted. `Display` is the sentence shown to people; [`code`]
/// is stable for machines.
///
/// [`code`]: DenyReason::code
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The discloser and recipient are the same agency: that is not a disclosure.
    SameAgency {
        agency: AgencyId,
    },
    NoAgreement {
        discloser: AgencyId,
        recipient: AgencyId,
    },
    /// A newer version dropped the agency from the agreement.
    NotAParty {
        agency: AgencyId,
    },
    /// The discloser is only a recipient under the agreement.
    NotADiscloser {
        agency: AgencyId,
    },
    /// The recipient is only a discloser under the agreement.
    NotARecipient {
        agency: AgencyId,
    },
    NotSigned {
        agency: AgencyId,
    },
    NotYetEffective {
        from: DateTime<Utc>,
    },
    Expired {
        on: DateTime<Utc>,
    },
    Suspended {
        reason: String,
    },
    Terminated {
        reason: String,
    },
    /// The partnership has published no terms of reference.
    NoTermsOfReference,
    TermsNotAccepted {
        version: i32,
        agency: AgencyId,
    },
    ClassificationAboveMaximum {
        classification: Classification,
        maximum: Classification,
    },
    PurposeNotCovered {
        purpose: Purpose,
    },
    /// The agreement names no fields of this record kind for the recipient.
    NoDataItems {
        recipient: AgencyId,
        record_kind: RecordKind,
    },
    FieldNotAllowed {
        field: String,
    },
    /// The field is not in the record schema at all.
    UnknownField {
        record_kind: RecordKind,
        field: String,
    },
    /// The field may never be disclosed (a victim's safe address).
    FieldNeverDisclosed {
        field: String,
    },
    ConsentWithdrawn,
}

impl DenyReason {
    /// Every code [`DenyReason::code`] can return.
    pub const CODES: [&'static str; 19] = [
        "same_agency",
        "no_agreement",
        "not_a_party",
        "not_a_discloser",
        "not_a_recipient",
        "not_signed",
        "not_yet_effective",
        "expired",
        "suspended",
        "terminated",
        "no_terms_of_reference",
        "terms_not_accepted",
        "classification_above_maximum",
        "purpose_not_covered",
        "no_data_items",
        "field_not_allowed",
        "unknown_field",
        "field_never_disclosed",
        "consent_withdrawn",
    ];

    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::SameAgency { .. } => "same_agency",
            DenyReason::NoAgreement { .. } => "no_agreement",
            DenyReason::NotAParty { .. } => "not_a_party",
            DenyReason::NotADiscloser { .. } => "not_a_discloser",
            DenyReason::NotARecipient { .. } => "not_a_recipient",
            DenyReason::NotSigned { .. } => "not_signed",
            DenyReason::NotYetEffective { .. } => "not_yet_effective",
            DenyReason::Expired { .. } => "expired",
            DenyReason::Suspended { .. } => "suspended",
            DenyReason::Terminated { .. } => "terminated",
            DenyReason::NoTermsOfReference => "no_terms_of_reference",
            DenyReason::TermsNotAccepted { .. } => "terms_not_accepted",
            DenyReason::ClassificationAboveMaximum { .. } => "classification_above_maximum",
            DenyReason::PurposeNotCovered { .. } => "purpose_not_covered",
            DenyReason::NoDataItems { .. } => "no_data_items",
            DenyReason::FieldNotAllowed { .. } => "field_not_allowed",
            DenyReason::UnknownField { .. } => "unknown_field",
            DenyReason::FieldNeverDisclosed { .. } => "field_never_disclosed",
            DenyReason::ConsentWithdrawn => "consent_withdrawn",
        }
    }
}

/// A date when the instant is midnight UTC, else the full RFC 3339 time.
fn when(t: &DateTime<Utc>) -> String {
    if t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::SameAgency { agency } => {
                write!(f, "discloser and recipient are the same agency {agency}")
            }
            DenyReason::NoAgreement {
                discloser,
                recipient,
            } => {
                write!(
                    f,
                    "no agreement between agency {discloser} and agency {recipient}"
                )
            }
            DenyReason::NotAParty { agency } => {
                write!(f, "agency {agency} is not a party to the agreement")
            }
            DenyReason::NotADiscloser { agency } => {
                write!(f, "agency {agency} is not a discloser under the agreement")
            }
            DenyReason::NotARecipient { agency } => {
                write!(f, "agency {agency} is not a recipient under the agreement")
            }
            DenyReason::NotSigned { agency } => write!(f, "not signed by agency {agency}"),
            DenyReason::NotYetEffective { from } => write!(f, "not in effect until {}", when(from)),
            DenyReason::Expired { on } => write!(f, "expired on {}", when(on)),
            DenyReason::Suspended { reason } => write!(f, "suspended: {reason}"),
            DenyReason::Terminated { reason } => write!(f, "terminated: {reason}"),
            DenyReason::NoTermsOfReference => {
                write!(f, "the partnership has no terms of reference")
            }
            DenyReason::TermsNotAccepted { version, agency } => {
                write!(
                    f,
                    "terms of reference version {version} not accepted by agency {agency}"
                )
            }
            DenyReason::ClassificationAboveMaximum {
                classification,
                maximum,
            } => {
                write!(
                    f,
                    "classification {classification} above the maximum {maximum}"
                )
            }
            DenyReason::PurposeNotCovered { purpose } => {
                write!(f, "purpose {purpose} not covered")
            }
            DenyReason::NoDataItems {
                recipient,
                record_kind,
            } => {
                write!(
                    f,
                    "no {record_kind} fields are allowed for agency {recipient}"
                )
            }
            DenyReason::FieldNotAllowed { field } => {
                write!(f, "field {field} not allowed for this recipient")
            }
            DenyReason::UnknownField { record_kind, field } => {
                write!(f, "field {field} does not exist in {record_kind} records")
            }
            DenyReason::FieldNeverDisclosed { field } => {
                write!(f, "field {field} is never disclosed")
            }
            DenyReason::ConsentWithdrawn => write!(f, "consent withdrawn"),
        }
    }
}
