//! Questions asked of the audit log: why (one of the uses DPA 2018 s.62(4) allows), whose
//! entries the asker may see, and which entries. Pure data; `usecase::audit` answers them.
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::audit::{Decision, Operation};
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

/// Which entries a query asks for. Every field that is set must match; a field with several
/// values matches an entry that has any of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub operations: Vec<Operation>,
    /// Entries where one of these agencies is the actor, a recipient, concerned or withheld
    /// from.
    pub agencies: Vec<AgencyId>,
    pub record_kinds: Vec<String>,
    pub record_ids: Vec<String>,
    /// Entries about one of these people (opaque subject references).
    pub subject_refs: Vec<String>,
    /// Entries whose actor is one of these subjects (as the identity provider names them).
    pub actors: Vec<String>,
    pub decisions: Vec<Decision>,
    /// `occurred_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `occurred_at < to`.
    pub to: Option<DateTime<Utc>>,
}

fn describe_list<T: fmt::Display>(parts: &mut Vec<String>, name: &str, values: &[T]) {
    if !values.is_empty() {
        let v: Vec<String> = values.iter().map(ToString::to_string).collect();
        parts.push(format!("{name}={}", v.join("|")));
    }
}

impl EventFilter {
    /// The filters as `name=value` text (several values joined by `|`), for the
    /// consultation entry that logs the query.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        describe_list(&mut parts, "operation", &self.operations);
        describe_list(&mut parts, "agency_id", &self.agencies);
        describe_list(&mut parts, "record_kind", &self.record_kinds);
        describe_list(&mut parts, "record_id", &self.record_ids);
        describe_list(&mut parts, "subject_ref", &self.subject_refs);
        describe_list(&mut parts, "actor", &self.actors);
        let decisions: Vec<&str> = self.decisions.iter().map(|d| d.as_str()).collect();
        describe_list(&mut parts, "decision", &decisions);
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
            operations: vec![Operation::Disclosure],
            subject_refs: vec!["p-1".into()],
            ..EventFilter::default()
        };
        assert_eq!(f.describe(), "operation=disclosure, subject_ref=p-1");
        let f = EventFilter {
            operations: vec![Operation::Disclosure, Operation::Collection],
            actors: vec!["officer-1".into()],
            decisions: vec![Decision::Withheld, Decision::Shared],
            ..EventFilter::default()
        };
        assert_eq!(
            f.describe(),
            "operation=disclosure|collection, actor=officer-1, decision=withheld|shared"
        );
    }
}
