//! A dry-run question to the policy function (`POST /agreements/check`), owning the field
//! list the [`DisclosureRequest`] borrows.
use chrono::{DateTime, Utc};

use super::DisclosureRequest;
use crate::domain::fields::RecordKind;
use crate::domain::ids::AgencyId;
use crate::domain::sharing::{Classification, Purpose};

/// A parsed check request.
#[derive(Debug, Clone)]
pub struct Check {
    pub discloser: AgencyId,
    pub recipient: AgencyId,
    pub record_kind: RecordKind,
    pub purpose: Purpose,
    pub classification: Classification,
    pub fields: Option<Vec<String>>,
    pub at: Option<DateTime<Utc>>,
    pub consent_withdrawn: bool,
}

impl Check {
    pub fn request(&self, now: DateTime<Utc>) -> DisclosureRequest<'_> {
        DisclosureRequest {
            discloser: self.discloser,
            recipient: self.recipient,
            record_kind: self.record_kind,
            purpose: self.purpose,
            classification: self.classification,
            requested_fields: self.fields.as_deref(),
            at: self.at.unwrap_or(now),
            consent_withdrawn: self.consent_withdrawn,
            withheld: &[],
            subjects: &[],
        }
    }
}
