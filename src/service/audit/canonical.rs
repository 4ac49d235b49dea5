//! The bytes a leaf hash covers: the RFC 8785 (JCS) canonical JSON of one entry with its
//! sequence number and a format tag, `{"format":"msht-hub.audit.v1","seq":N, ...entry}`.
//!
//! The log stores exactly these bytes (`audit_entries.body`), so anyone holding them can
//! recompute the leaf hash `SHA-256(0x00 || body)` with any JCS or plain SHA-256 tool, and
//! everything the API shows about an entry is read back from them.
use chrono::SubsecRound;
use serde::{Deserialize, Serialize};

use crate::domain::audit::NewEntry;
use crate::error::AppError;

/// The format tag inside every canonical entry; a new layout gets a new tag.
pub const FORMAT: &str = "msht-hub.audit.v1";

#[derive(Serialize)]
struct CanonicalRef<'a> {
    format: &'static str,
    seq: i64,
    #[serde(flatten)]
    entry: &'a NewEntry,
}

/// An entry as read back from its canonical body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CanonicalEntry {
    pub format: String,
    pub seq: i64,
    #[serde(flatten)]
    pub entry: NewEntry,
}

/// The entry as the log keeps it: the time cut to whole microseconds, which both database
/// backends store exactly, so the indexed column always equals the hashed value.
pub fn normalise(entry: &NewEntry) -> NewEntry {
    let mut e = entry.clone();
    e.occurred_at = e.occurred_at.trunc_subsecs(6);
    e
}

/// The canonical body of `entry` (already [`normalise`]d) at `seq`.
pub fn body(seq: i64, entry: &NewEntry) -> Result<String, AppError> {
    serde_jcs::to_string(&CanonicalRef {
        format: FORMAT,
        seq,
        entry,
    })
    .map_err(|e| AppError::Internal(format!("canonical audit entry: {e}")))
}

/// Reads a canonical body back.
pub fn parse(body: &str) -> Result<CanonicalEntry, serde_json::Error> {
    serde_json::from_str(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, Decision, LawfulBasis, Operation};
    use chrono::{DateTime, Utc};

    fn sample() -> NewEntry {
        let t: DateTime<Utc> = "2026-06-01T09:00:00.123456789Z".parse().unwrap();
        let mut e = NewEntry::new(Operation::Disclosure, Actor::system(), t)
            .record("incident", "i-1")
            .purpose("safeguarding")
            .justification("child at risk: \"urgent\" é")
            .decision(Decision::Shared, vec!["agreement permits".into()]);
        e.lawful_basis = Some(LawfulBasis {
            regime: "uk_gdpr".into(),
            condition: "art6_1e_public_task".into(),
            special_category: None,
        });
        e.subject_refs = vec!["p-2".into(), "p-1".into()];
        e
    }

    #[test]
    fn bodies_are_canonical_and_read_back() {
        let e = normalise(&sample());
        let b = body(7, &e).unwrap();
        assert!(
            b.starts_with(r#"{"actor":{"agency_id":null,"issuer":"urn:msht-hub:system""#),
            "{b}"
        );
        assert!(b.contains(r#""format":"msht-hub.audit.v1""#));
        assert!(
            b.contains(r#""occurred_at":"2026-06-01T09:00:00.123456Z""#),
            "{b}"
        );
        assert!(b.contains(r#""seq":7"#));
        let back = parse(&b).unwrap();
        assert_eq!(back.seq, 7);
        assert_eq!(back.format, FORMAT);
        assert_eq!(back.entry, e);
        // Canonical: serialising the parsed JSON again gives the same bytes.
        let value: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(serde_jcs::to_string(&value).unwrap(), b);
    }
}
