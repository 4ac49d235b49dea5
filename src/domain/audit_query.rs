//! Questions asked of the audit log: why (one of the uses DPA 2018 s.62(4) allows), whose
//! entries the asker may see, and which entries. Pure data; `usecase::audit` answers them.
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::audit::Operation;
use super::ids::AgencyId;

/// The use of the log that a query states (DPA 2018 s.62(4)); every query names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditPurpose {
    /// Verifying the lawfulness of processing.
    VerifyLawfulness,
    /// Self-monitoring, including disciplinary proceedings.
    SelfMonitoring,
    /// Ensuring the integrity and security of personal data.
    IntegritySecurity,
    /// Criminal proceedings.
    CriminalProceedings,
}

impl AuditPurpose {
    pub const ALL: [AuditPurpose; 4] = [
        AuditPurpose::VerifyLawfulness,
        AuditPurpose::SelfMonitoring,
        AuditPurpose::IntegritySecurity,
        AuditPurpose::CriminalProceedings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditPurpose::VerifyLawfulness => "verify_lawfulness",
            AuditPurpose::SelfMonitoring => "self_monitoring",
            AuditPurpose::IntegritySecurity => "integrity_security",
            AuditPurpose::CriminalProceedings => "criminal_proceedings",
        }
    }

    /// The accepted values, for error messages.
    pub fn expected() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|p| p.as_str()).collect();
        format!("one of {}", names.join(", "))
    }
}

impl fmt::Display for AuditPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditPurpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditPurpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("must be {}", AuditPurpose::expected()))
    }
}

/// Whose entries a reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    /// The hub's auditor: every entry.
    All,
    /// An agency's IG officer: entries where that agency is the actor or a recipient.
    Agency(AgencyId),
}

/// Which entries a query asks for; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub operation: Option<Operation>,
    /// Entries where this agency is the actor or a recipient.
    pub agency_id: Option<AgencyId>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    /// Entries about this person (an opaque subject reference).
    pub subject_ref: Option<String>,
    /// `occurred_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `occurred_at < to`.
    pub to: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// The filters as `name=value` text, for the consultation entry that logs the query.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = self.operation {
            parts.push(format!("operation={o}"));
        }
        if let Some(a) = self.agency_id {
            parts.push(format!("agency_id={a}"));
        }
        if let Some(k) = &self.record_kind {
            parts.push(format!("record_kind={k}"));
        }
        if let Some(r) = &self.record_id {
            parts.push(format!("record_id={r}"));
        }
        if let Some(s) = &self.subject_ref {
            parts.push(format!("subject_ref={s}"));
        }
        if let Some(f) = self.from {
            parts.push(format!("from={}", f.to_rfc3339()));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={}", t.to_rfc3339()));
        }
        if parts.is_empty() {
            "no filters".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_and_unknown_ones_are_refused() {
        for p in AuditPurpose::ALL {
            assert_eq!(p.as_str().parse::<AuditPurpose>(), Ok(p));
        }
        let err = "curiosity".parse::<AuditPurpose>().unwrap_err();
        assert!(err.contains("verify_lawfulness"), "{err}");
    }

    #[test]
    fn filters_describe_themselves() {
        assert_eq!(EventFilter::default().describe(), "no filters");
        let f = EventFilter {
            operation: Some(Operation::Disclosure),
            subject_ref: Some("p-1".into()),
            ..EventFilter::default()
        };
        assert_eq!(f.describe(), "operation=disclosure, subject_ref=p-1");
    }
}
