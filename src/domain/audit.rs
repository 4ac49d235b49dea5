//! Audit entries: what DPA 2018 s.62 asks a log to say about every collection, alteration,
//! consultation, disclosure, combination and erasure (and every denied access and governance
//! change): who, when, what, to whom, why, under which agreement and lawful basis, and the
//! outcome. Pure data; `crate::audit` appends it to the tamper-evident log.
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::AgencyId;
use super::role::Role;

/// The kind of processing an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Collection,
    Alteration,
    Consultation,
    Disclosure,
    Combination,
    Erasure,
    AccessDenied,
    Governance,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::Collection,
        Operation::Alteration,
        Operation::Consultation,
        Operation::Disclosure,
        Operation::Combination,
        Operation::Erasure,
        Operation::AccessDenied,
        Operation::Governance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Collection => "collection",
            Operation::Alteration => "alteration",
            Operation::Consultation => "consultation",
            Operation::Disclosure => "disclosure",
            Operation::Combination => "combination",
            Operation::Erasure => "erasure",
            Operation::AccessDenied => "access_denied",
            Operation::Governance => "governance",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Operation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown operation `{s}`"))
    }
}

/// Who acted. The hub's own background work acts as [`Actor::system`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub agency_id: Option<AgencyId>,
    pub issuer: String,
    pub subject: String,
    pub roles: Vec<Role>,
}

impl Actor {
    /// The hub itself (the delivery worker, deadline checks).
    pub fn system() -> Self {
        Actor {
            agency_id: None,
            issuer: "urn:msht-hub:system".to_owned(),
            subject: "msht-hub".to_owned(),
            roles: Vec::new(),
        }
    }
}

/// The outcome an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Shared,
    Withheld,
    Allowed,
    Denied,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Shared,
        Decision::Withheld,
        Decision::Allowed,
        Decision::Denied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Shared => "shared",
            Decision::Withheld => "withheld",
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
        }
    }
}

impl std::str::FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decision::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown decision `{s}`"))
    }
}

/// The lawful basis a disclosure relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LawfulBasis {
    /// `dpa2018_part3` or `uk_gdpr`.
    pub regime: String,
    /// A Schedule 8 condition or a UK GDPR Article 6 basis.
    pub condition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_category: Option<String>,
}

/// An agreement and the version a disclosure was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementRef {
    pub id: String,
    pub version: i32,
}

/// One entry to append. Build it with [`NewEntry::new`] and the setters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    pub operation: Operation,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    /// Opaque references to the people the record is about (never names).
    pub subject_refs: Vec<String>,
    /// Field paths of the record that were processed.
    pub data_items: Vec<String>,
    pub recipients: Vec<AgencyId>,
    /// Agencies a governance change concerns (an agency's identity provider, areas or kind,
    /// its membership of a partnership, an agreement naming it): their IG officers see it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concerns: Vec<AgencyId>,
    /// Candidates a disclosure was withheld from. Never recipients: the entry is seen by the
    /// discloser's IG officer and the hub auditor, never by the agency named here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld_from: Vec<AgencyId>,
    pub purpose: Option<String>,
    pub justification: Option<String>,
    pub agreement: Option<AgreementRef>,
    pub lawful_basis: Option<LawfulBasis>,
    /// Consent state (`given`, `declined`, `not_required`, `withdrawn`) and, where absent,
    /// the reason, as text.
    pub consent: Option<String>,
    pub classification: Option<String>,
    pub decision: Option<Decision>,
    pub reasons: Vec<String>,
    /// How long the recipient may keep what it received.
    pub retention_days: Option<i64>,
}

impl NewEntry {
    pub fn new(operation: Operation, actor: Actor, occurred_at: DateTime<Utc>) -> Self {
        NewEntry {
            operation,
            occurred_at,
            actor,
            record_kind: None,
            record_id: None,
            subject_refs: Vec::new(),
            data_items: Vec::new(),
            recipients: Vec::new(),
            concerns: Vec::new(),
            withheld_from: Vec::new(),
            purpose: None,
            justification: None,
            agreement: None,
            lawful_basis: None,
            consent: None,
            classification: None,
            decision: None,
            reasons: Vec::new(),
            retention_days: None,
        }
    }

    pub fn record(mut self, kind: &str, id: impl ToString) -> Self {
        self.record_kind = Some(kind.to_owned());
        self.record_id = Some(id.to_string());
        self
    }

    pub fn justification(mut self, text: impl Into<String>) -> Self {
        self.justification = Some(text.into());
        self
    }

    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    pub fn decision(mut self, d: Decision, reasons: Vec<String>) -> Self {
        self.decision = Some(d);
        self.reasons = reasons;
        self
    }

    pub fn recipients(mut self, r: Vec<AgencyId>) -> Self {
        self.recipients = r;
        self
    }

    /// The agencies a governance change concerns.
    pub fn concerns(mut self, agencies: Vec<AgencyId>) -> Self {
        self.concerns = agencies;
        self
    }

    pub fn data_items(mut self, items: Vec<String>) -> Self {
        self.data_items = items;
        self
    }
}
