//! An entry made ready to append before the writer numbers it: its canonical body rendered
//! around the place its sequence number goes, and its row and link rows built, so that the
//! append itself only writes the number in, hashes and extends the tree.
//!
//! The canonical body is rendered once at `seq` 0 through the same [`canonical::body`] the
//! log has always used, and split at the digits of its top-level `"seq"` member: with any
//! other number written there, the bytes are exactly what [`canonical::body`] gives at that
//! number (JCS orders members by name, so the number's length moves nothing else).
use super::canonical;
use super::log::{index_columns, links};
use crate::domain::audit::NewEntry;
use crate::error::AppError;
use crate::service::store::audit::{AgencyLink, EntryRow, SubjectLink};

/// The largest sequence number JCS writes as its plain digits (2^53).
pub const MAX_SEQ: i64 = 1 << 53;

/// One entry ready to append.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The body up to the sequence number's digits, and from after them.
    before: String,
    after: String,
    /// The row (its `seq`, body, hashes and receipt are set by the append).
    pub(super) row: EntryRow,
    pub(super) agencies: Vec<AgencyLink>,
    pub(super) subjects: Vec<SubjectLink>,
    /// Whether the entry records a change routing depends on (see `log::changes_policy`).
    pub(super) changes_policy: bool,
}

impl Prepared {
    /// Normalises and renders `entry`.
    pub fn new(entry: &NewEntry) -> Result<Prepared, AppError> {
        let entry = canonical::normalise(entry);
        let body = canonical::body(0, &entry)?;
        let (before, after) = seq_digits(&body)
            .and_then(|at| Some((body.get(..at)?, body.get(at + 1..)?)))
            .ok_or_else(|| {
                AppError::Internal("canonical audit entry without its sequence number".into())
            })?;
        let (agencies, subjects) = links(0, &entry);
        Ok(Prepared {
            before: before.to_owned(),
            after: after.to_owned(),
            row: index_columns(0, &entry, String::new(), [0; 32], Vec::new(), 0, &[0; 32]),
            agencies,
            subjects,
            changes_policy: super::log::changes_policy(&entry),
        })
    }

    /// Each of `entries`, prepared.
    pub fn all(entries: &[NewEntry]) -> Result<Vec<Prepared>, AppError> {
        entries.iter().map(Prepared::new).collect()
    }

    /// The canonical body at `seq` (at most [`MAX_SEQ`], past which JCS would write the
    /// number as a rounded double).
    pub(super) fn body(&self, seq: i64) -> Result<String, AppError> {
        if !(0..=MAX_SEQ).contains(&seq) {
            return Err(AppError::Internal(format!(
                "audit sequence {seq} is past the exact JSON integers"
            )));
        }
        let digits = seq.to_string();
        let mut body = String::with_capacity(self.before.len() + digits.len() + self.after.len());
        body.push_str(&self.before);
        body.push_str(&digits);
        body.push_str(&self.after);
        Ok(body)
    }
}

/// Where the `0` of the top-level `"seq":0` member of a canonical body is: found by walking
/// the members of the outer object, never inside a string or a nested value.
fn seq_digits(body: &str) -> Option<usize> {
    const KEY: &[u8] = b"\"seq\":0";
    let bytes = body.as_bytes();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                // A member name of the outer object starts right after `{` or `,` at depth 1.
                let after_brace_or_comma = i
                    .checked_sub(1)
                    .and_then(|p| bytes.get(p))
                    .is_some_and(|p| matches!(p, b'{' | b','));
                let at_member = depth == 1 && after_brace_or_comma;
                if at_member && bytes.get(i..).is_some_and(|rest| rest.starts_with(KEY)) {
                    return Some(i + KEY.len() - 1);
                }
                in_string = true;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, Decision, Operation};
    use chrono::{DateTime, Utc};

    fn entry(justification: &str) -> NewEntry {
        let t: DateTime<Utc> = "2026-06-01T09:00:00.123456789Z".parse().unwrap();
        let mut e = NewEntry::new(Operation::Disclosure, Actor::system(), t)
            .record("incident", "i-1")
            .purpose("safeguarding")
            .justification(justification)
            .decision(Decision::Shared, vec!["\"seq\":0".into()]);
        e.subject_refs = vec!["p-2".into(), "p-1".into(), "{\"seq\":0,".into()];
        e
    }

    #[test]
    fn a_prepared_body_is_the_canonical_body_at_every_number() {
        for text in [
            "plain",
            "\"seq\":0 in a string",
            "{\"seq\":0,\"x\":[1]}",
            "escaped \\\" quote \\\\",
            "é ✓ \u{1}",
        ] {
            let e = entry(text);
            let p = Prepared::new(&e).unwrap();
            let normalised = canonical::normalise(&e);
            for seq in [0, 1, 9, 10, 99, 12_345, MAX_SEQ] {
                assert_eq!(
                    p.body(seq).unwrap(),
                    canonical::body(seq, &normalised).unwrap(),
                    "{text} at {seq}"
                );
            }
        }
    }

    #[test]
    fn a_number_past_the_exact_integers_is_refused() {
        let p = Prepared::new(&entry("x")).unwrap();
        assert!(p.body(MAX_SEQ + 1).is_err());
        assert!(p.body(-1).is_err());
    }

    #[test]
    fn the_number_is_found_only_as_a_member_of_the_outer_object() {
        assert_eq!(seq_digits(r#"{"a":"\"seq\":0","seq":0}"#), Some(23));
        assert_eq!(seq_digits(r#"{"a":{"seq":0},"b":1}"#), None);
        assert_eq!(seq_digits(r#"{"a":["seq",{"seq":0}]}"#), None);
        assert_eq!(seq_digits(r#"{"seq":0}"#), Some(7));
    }
}
