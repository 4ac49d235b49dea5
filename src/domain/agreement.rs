//! Data-sharing agreements (ICO data sharing code): parties with their role and lawful basis,
//! purposes, the data items each recipient may receive per record kind, the highest
//! classification, handling conditions, retention, dates, procedures and signatures.
//!
//! An agreement has numbered versions. Amending creates a new version that needs every
//! party's signature again; earlier versions stay readable because disclosures name the
//! version they were made under. Status is never stored: [`Agreement::status`] derives it
//! from the versions, signatures, suspensions and termination at the time it is given.
//!
//! Which version governs at a time `t`: a version is *superseded* once a later version has
//! been signed by every party and is in effect (so the old version keeps governing while an
//! amendment collects signatures or waits for its effective date), and an unsigned version is
//! superseded as soon as a later version exists (only the latest version can be signed).
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::fields::RecordKind;
use super::ids::{AgencyId, AgreementId, PartnershipId};
use super::partnership::Signer;
use super::sharing::{Classification, PartyLawfulBasis, Purpose};

str_enum! {
    /// What a party does under an agreement.
    pub enum PartyRole ("party role") {
        Discloser = "discloser",
        Recipient = "recipient",
        Both = "both",
    }
}

impl PartyRole {
    pub fn discloses(self) -> bool {
        matches!(self, PartyRole::Discloser | PartyRole::Both)
    }

    pub fn receives(self) -> bool {
        matches!(self, PartyRole::Recipient | PartyRole::Both)
    }
}

str_enum! {
    /// The status of an agreement version at a given time, derived, never stored.
    pub enum Status ("status") {
        /// Not yet signed by every party.
        Draft = "draft",
        /// Signed by every party; its effective date has not come.
        NotYetEffective = "not_yet_effective",
        /// Signed, in date, not suspended: disclosures may rely on it.
        Active = "active",
        /// Its expiry has passed.
        Expired = "expired",
        /// Suspended by an IG officer of a party, with a reason, until resumed.
        Suspended = "suspended",
        /// Ended for good by an IG officer of a party, with a reason.
        Terminated = "terminated",
        /// Replaced by a later version (or an unsigned draft overtaken by a newer one).
        Superseded = "superseded",
    }
}

str_enum! {
    /// What each party does with the data when the agreement ends.
    pub enum OnTermination ("termination action") {
        Delete = "delete",
        Return = "return",
    }
}

/// A party to an agreement version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub agency_id: AgencyId,
    pub role: PartyRole,
    pub lawful_basis: PartyLawfulBasis,
    /// The party's single point of contact for the agreement.
    pub contact: Option<String>,
}

/// The fields one recipient may receive of one kind of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItems {
    pub recipient: AgencyId,
    pub record_kind: RecordKind,
    pub fields: Vec<String>,
}

/// The procedures the ICO code asks an agreement to set out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Procedures {
    /// Subject access requests and complaints.
    pub subject_access: String,
    /// What a party does on a personal data breach.
    pub breach: String,
    /// Within how many hours a party tells the others of a breach.
    pub breach_notification_hours: i32,
    /// How the agreement ends and what happens to shared data.
    pub termination: String,
    pub on_termination: OnTermination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<String>,
}

/// The content of one version: everything the parties sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementTerms {
    pub title: String,
    pub purposes: Vec<Purpose>,
    pub parties: Vec<Party>,
    pub data_items: Vec<DataItems>,
    pub max_classification: Classification,
    pub handling_conditions: Option<String>,
    /// In force from this instant...
    pub effective_from: DateTime<Utc>,
    /// ...until this instant (exclusive).
    pub expires_at: DateTime<Utc>,
    pub review_date: NaiveDate,
    /// How long a recipient may keep what it receives.
    pub retention_days: i64,
    pub procedures: Option<Procedures>,
    /// Other organisations involved (processors, for example).
    pub other_organisations: Vec<String>,
    pub special_category_data: bool,
    pub criminal_offence_data: bool,
}

impl AgreementTerms {
    pub fn party(&self, agency: AgencyId) -> Option<&Party> {
        self.parties.iter().find(|p| p.agency_id == agency)
    }

    /// The fields `recipient` may receive of `kind`, if the agreement names any.
    pub fn allowed_fields(&self, recipient: AgencyId, kind: RecordKind) -> Option<&[String]> {
        self.data_items
            .iter()
            .find(|d| d.recipient == recipient && d.record_kind == kind)
            .map(|d| d.fields.as_slice())
    }
}

/// A party's signature on a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub agency_id: AgencyId,
    pub signed_at: DateTime<Utc>,
    pub signed_by: Signer,
}

/// One version of an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementVersion {
    pub version: i32,
    pub terms: AgreementTerms,
    pub created_at: DateTime<Utc>,
    pub created_by: Signer,
    pub signatures: Vec<Signature>,
}

impl AgreementVersion {
    pub fn signed_by(&self, agency: AgencyId, at: DateTime<Utc>) -> bool {
        self.signatures
            .iter()
            .any(|s| s.agency_id == agency && s.signed_at <= at)
    }

    /// Whether every party had signed by `at`.
    pub fn fully_signed(&self, at: DateTime<Utc>) -> bool {
        !self.terms.parties.is_empty()
            && self
                .terms
                .parties
                .iter()
                .all(|p| self.signed_by(p.agency_id, at))
    }

    pub fn in_date(&self, at: DateTime<Utc>) -> bool {
        self.terms.effective_from <= at && at < self.terms.expires_at
    }
}

/// A suspension and, once lifted, when and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub suspended_at: DateTime<Utc>,
    pub suspended_by: Signer,
    pub reason: String,
    pub lifted: Option<Lifted>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    pub at: DateTime<Utc>,
    pub by: Signer,
    pub note: Option<String>,
}

/// The end of an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    pub at: DateTime<Utc>,
    pub by: Signer,
    pub reason: String,
}

/// An agreement with all its versions (ascending) and its history of suspensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub id: AgreementId,
    pub partnership_id: PartnershipId,
    pub created_at: DateTime<Utc>,
    pub versions: Vec<AgreementVersion>,
    pub suspensions: Vec<Suspension>,
    pub termination: Option<Termination>,
}

impl Agreement {
    pub fn latest(&self) -> Option<&AgreementVersion> {
        self.versions.iter().max_by_key(|v| v.version)
    }

    pub fn version(&self, n: i32) -> Option<&AgreementVersion> {
        self.versions.iter().find(|v| v.version == n)
    }

    /// The termination in force at `at`.
    pub fn terminated(&self, at: DateTime<Utc>) -> Option<&Termination> {
        self.termination.as_ref().filter(|t| t.at <= at)
    }

    /// The suspension in force at `at`.
    pub fn suspended(&self, at: DateTime<Utc>) -> Option<&Suspension> {
        self.suspensions
            .iter()
            .filter(|s| s.suspended_at <= at && s.lifted.as_ref().is_none_or(|l| at < l.at))
            .max_by_key(|s| s.suspended_at)
    }

    /// The suspension not yet lifted (whatever the time).
    pub fn open_suspension(&self) -> Option<&Suspension> {
        self.suspensions.iter().find(|s| s.lifted.is_none())
    }

    /// Whether `v` no longer governs at `at` (see the module documentation).
    pub fn is_superseded(&self, v: &AgreementVersion, at: DateTime<Utc>) -> bool {
        let v_signed = v.fully_signed(at);
        self.versions.iter().any(|w| {
            w.version > v.version
                && w.created_at <= at
                && (!v_signed || (w.fully_signed(at) && w.terms.effective_from <= at))
        })
    }

    /// The versions that existed at `at` and are not superseded then, ascending.
    pub fn live_versions(&self, at: DateTime<Utc>) -> Vec<&AgreementVersion> {
        self.versions
            .iter()
            .filter(|v| v.created_at <= at && !self.is_superseded(v, at))
            .collect()
    }

    /// The status of version `v` at `at`.
    pub fn status(&self, v: &AgreementVersion, at: DateTime<Utc>) -> Status {
        if self.terminated(at).is_some() {
            Status::Terminated
        } else if self.is_superseded(v, at) {
            Status::Superseded
        } else if self.suspended(at).is_some() {
            Status::Suspended
        } else if !v.fully_signed(at) {
            Status::Draft
        } else if at < v.terms.effective_from {
            Status::NotYetEffective
        } else if at >= v.terms.expires_at {
            Status::Expired
        } else {
            Status::Active
        }
    }

    /// The version that disclosures may rely on at `at`, if one is active.
    pub fn in_force(&self, at: DateTime<Utc>) -> Option<&AgreementVersion> {
        self.versions
            .iter()
            .rev()
            .find(|v| self.status(v, at) == Status::Active)
    }

    /// Whether `agency` is a party to the latest version or to the version in force: the
    /// agencies whose IG officers may sign, amend, suspend or terminate.
    pub fn is_party(&self, agency: AgencyId, at: DateTime<Utc>) -> bool {
        self.latest()
            .is_some_and(|v| v.terms.party(agency).is_some())
            || self
                .in_force(at)
                .is_some_and(|v| v.terms.party(agency).is_some())
    }

    /// Whether `agency` is a party to any version (who may read the agreement).
    pub fn involves(&self, agency: AgencyId) -> bool {
        self.versions
            .iter()
            .any(|v| v.terms.party(agency).is_some())
    }
}

/// Limits on an agreement's content.
pub const MAX_RETENTION_DAYS: i64 = 3650;
pub const MAX_BREACH_NOTIFICATION_HOURS: i32 = 720;

/// Checks the dates of a version: effective before expiry, review date within the period.
/// Returns `(pointer, detail)` for each problem.
pub fn check_dates(
    effective_from: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    review_date: NaiveDate,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if expires_at <= effective_from {
        out.push(("/expires_at", "must be after effective_from".to_owned()));
    } else if review_date >= expires_at.date_naive() {
        out.push(("/review_date", "must fall before expires_at".to_owned()));
    } else if review_date < effective_from.date_naive() {
        out.push((
            "/review_date",
            "must not be before effective_from".to_owned(),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
