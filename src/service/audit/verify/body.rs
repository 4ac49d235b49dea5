//! Checking one stored canonical body against its row without parsing it into a `NewEntry`:
//! a single pass over the bytes, in the exact member order RFC 8785 gives the entry, that
//! checks every member's type and compares the indexed columns and link rows with what the
//! body says. Nothing is allocated unless a compared string carries an escape.
//!
//! It accepts only what the typed reading ([`super::super::canonical::parse`]) accepts, and
//! then only in canonical form (no whitespace, keys in order, the hub's own spelling of
//! ids and times); anything else is answered "not shown", and the caller falls back to the
//! typed reading to say what is wrong.
use std::borrow::Cow;

use chrono::{NaiveDate, NaiveTime};

use super::super::canonical::FORMAT;
use super::super::log::{CONCERNED, WITHHELD};
use crate::domain::audit::Operation;
use crate::domain::role::Role;

/// What the row says about an entry: its columns and its link rows, in database order.
pub struct Row<'a> {
    pub seq: i64,
    pub operation: &'a str,
    /// The database's text of `occurred_at`: `YYYY-MM-DD HH:MM:SS[.fraction]`.
    pub occurred_at: &'a str,
    pub record_kind: Option<&'a str>,
    pub record_id: Option<&'a str>,
    pub purpose: Option<&'a str>,
    /// `(agency_id, relation)`, sorted.
    pub agencies: &'a [(&'a str, &'a str)],
    /// Subject references, sorted.
    pub subjects: &'a [&'a str],
}

/// Buffers [`matches`] reuses from one entry to the next.
#[derive(Default)]
pub struct Scratch {
    /// `(start, end, relation)` of each agency id in the body.
    agencies: Vec<(usize, usize, &'static str)>,
    /// `(start, end, escaped)` of each subject reference in the body.
    subjects: Vec<(usize, usize, bool)>,
}

/// Whether `body` is the canonical entry numbered `row.seq` whose columns and links are
/// exactly `row`'s.
pub fn matches(body: &str, row: &Row<'_>, scratch: &mut Scratch) -> bool {
    // RFC 8785 output has no whitespace or control characters outside strings, and control
    // characters inside strings are escaped: any byte below 0x20 is not canonical.
    // (Chunked so that the comparison runs many bytes at a time.)
    let control = |chunk: &[u8]| chunk.iter().fold(false, |seen, &b| seen | (b < 0x20));
    if body.as_bytes().chunks(64).any(control) {
        return false;
    }
    let mut c = Cursor {
        b: body.as_bytes(),
        i: 0,
    };
    scratch.agencies.clear();
    scratch.subjects.clear();
    check(&mut c, row, scratch).is_some() && c.i == c.b.len()
}

struct Cursor<'b> {
    b: &'b [u8],
    i: usize,
}

impl<'b> Cursor<'b> {
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        let end = self.i.checked_add(s.len())?;
        (self.b.get(self.i..end)? == s).then(|| self.i = end)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// The next member `"key":`.
    fn key(&mut self, first: bool, key: &str) -> Option<()> {
        if !first {
            self.lit(b",")?;
        }
        self.lit(b"\"")?;
        self.lit(key.as_bytes())?;
        self.lit(b"\":")
    }

    /// Whether the next member, if any, is `key` (for members the hub leaves out when empty).
    fn next_is(&self, key: &str) -> bool {
        let rest = self.b.get(self.i..).unwrap_or(&[]);
        rest.strip_prefix(b",\"")
            .and_then(|r| r.strip_prefix(key.as_bytes()))
            .is_some_and(|r| r.starts_with(b"\":"))
    }

    fn null(&mut self) -> bool {
        self.lit(b"null").is_some()
    }

    /// A string; returns its raw content (escapes not yet decoded) and whether it has any.
    fn string(&mut self) -> Option<(&'b [u8], bool)> {
        self.lit(b"\"")?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let rest = self.b.get(self.i..)?;
            let at = memchr::memchr2(b'"', b'\\', rest)?;
            self.i += at;
            if self.peek()? == b'"' {
                let raw = self.b.get(start..self.i)?;
                self.i += 1;
                return Some((raw, escaped));
            }
            escaped = true;
            self.i += 1;
            match self.peek()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                b'u' => {
                    let hex = self.b.get(self.i + 1..self.i + 5)?;
                    let code = u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                    if (0xD800..=0xDFFF).contains(&code) {
                        return None; // surrogates: left to the typed reading
                    }
                    self.i += 5;
                }
                _ => return None,
            }
        }
    }

    /// A string or `null`.
    fn opt_string(&mut self) -> Option<Option<(&'b [u8], bool)>> {
        if self.null() {
            Some(None)
        } else {
            self.string().map(Some)
        }
    }

    /// An integer in JSON's own form (`0` or `-?[1-9][0-9]*`).
    fn int(&mut self) -> Option<&'b str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while self.peek().is_some_and(|d| d.is_ascii_digit()) {
            self.i += 1;
        }
        let n = self.i - digits;
        if n == 0 || (n > 1 && self.b.get(digits) == Some(&b'0')) {
            return None;
        }
        std::str::from_utf8(self.b.get(start..self.i)?).ok()
    }

    /// `[string, ...]`, each handed to `each` with where its content starts.
    fn strings(&mut self, mut each: impl FnMut(&'b [u8], bool, usize) -> Option<()>) -> Option<()> {
        self.lit(b"[")?;
        if self.lit(b"]").is_some() {
            return Some(());
        }
        loop {
            let start = self.i + 1;
            let (raw, esc) = self.string()?;
            each(raw, esc, start)?;
            if self.lit(b"]").is_some() {
                return Some(());
            }
            self.lit(b",")?;
        }
    }
}

/// The decoded text of a string's raw content.
fn decode(raw: &[u8], escaped: bool) -> Option<Cow<'_, str>> {
    let s = std::str::from_utf8(raw).ok()?;
    if !escaped {
        return Some(Cow::Borrowed(s));
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    quoted.push_str(s);
    quoted.push('"');
    serde_json::from_str::<String>(&quoted).ok().map(Cow::Owned)
}

/// Whether a string member equals a column.
fn same(value: Option<(&[u8], bool)>, column: Option<&str>) -> Option<()> {
    match (value, column) {
        (None, None) => Some(()),
        (Some((raw, false)), Some(col)) => (raw == col.as_bytes()).then_some(()),
        (Some((raw, true)), Some(col)) => (decode(raw, true)? == col).then_some(()),
        _ => None,
    }
}

/// A hyphenated lower-case UUID, as the hub writes agency ids.
fn is_uuid(raw: &[u8]) -> bool {
    raw.len() == 36
        && raw.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// `YYYY-MM-DD` `sep` `HH:MM:SS[.fraction]` `tail`, as (date, time), checked to be a real
/// date and time.
fn instant(s: &[u8], sep: u8, tail: &[u8]) -> Option<(NaiveDate, NaiveTime)> {
    let s = s.strip_suffix(tail)?;
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = s.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0')))
    };
    let punct = [(4, b'-'), (7, b'-'), (10, sep), (13, b':'), (16, b':')];
    if punct.iter().any(|&(i, c)| s.get(i) != Some(&c)) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let nanos = match s.get(19..) {
        None | Some([]) => 0,
        Some([b'.', digits @ ..]) if (1..=9).contains(&digits.len()) => {
            let n = num(20..s.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some((date, time))
}

fn check(c: &mut Cursor<'_>, row: &Row<'_>, scratch: &mut Scratch) -> Option<()> {
    let agencies = &mut scratch.agencies;
    c.lit(b"{")?;

    c.key(true, "actor")?;
    c.lit(b"{")?;
    c.key(true, "agency_id")?;
    if !c.null() {
        let start = c.i + 1;
        let (raw, _) = c.string()?;
        if !is_uuid(raw) {
            return None;
        }
        agencies.push((start, start + raw.len(), "actor"));
    }
    c.key(false, "issuer")?;
    c.string()?;
    c.key(false, "roles")?;
    c.strings(|raw, esc, _| decode(raw, esc)?.parse::<Role>().ok().map(|_| ()))?;
    c.key(false, "subject")?;
    c.string()?;
    c.lit(b"}")?;

    c.key(false, "agreement")?;
    if !c.null() {
        c.lit(b"{")?;
        c.key(true, "id")?;
        c.string()?;
        c.key(false, "version")?;
        c.int()?.parse::<i32>().ok()?;
        c.lit(b"}")?;
    }
    c.key(false, "classification")?;
    c.opt_string()?;
    if c.next_is("concerns") {
        c.key(false, "concerns")?;
        c.strings(|raw, _, start| {
            is_uuid(raw).then(|| agencies.push((start, start + raw.len(), CONCERNED)))
        })?;
    }
    c.key(false, "consent")?;
    c.opt_string()?;
    c.key(false, "data_items")?;
    c.strings(|_, _, _| Some(()))?;
    c.key(false, "decision")?;
    if !c.null() {
        let (raw, _) = c.string()?;
        if ![&b"shared"[..], b"withheld", b"allowed", b"denied"].contains(&raw) {
            return None;
        }
    }
    c.key(false, "format")?;
    let (format, _) = c.string()?;
    if format != FORMAT.as_bytes() {
        return None;
    }
    c.key(false, "justification")?;
    c.opt_string()?;
    c.key(false, "lawful_basis")?;
    if !c.null() {
        c.lit(b"{")?;
        c.key(true, "condition")?;
        c.string()?;
        c.key(false, "regime")?;
        c.string()?;
        if c.peek() == Some(b',') {
            c.key(false, "special_category")?;
            c.opt_string()?;
        }
        c.lit(b"}")?;
    }
    c.key(false, "occurred_at")?;
    let (at, _) = c.string()?;
    let hashed = instant(at, b'T', b"Z")?;
    if instant(row.occurred_at.as_bytes(), b' ', b"")? != hashed {
        return None;
    }
    c.key(false, "operation")?;
    let (op, _) = c.string()?;
    let op = std::str::from_utf8(op).ok()?;
    op.parse::<Operation>().ok()?;
    if op != row.operation {
        return None;
    }
    c.key(false, "purpose")?;
    same(c.opt_string()?, row.purpose)?;
    c.key(false, "reasons")?;
    c.strings(|_, _, _| Some(()))?;
    c.key(false, "recipients")?;
    c.strings(|raw, _, start| {
        is_uuid(raw).then(|| agencies.push((start, start + raw.len(), "recipient")))
    })?;
    c.key(false, "record_id")?;
    same(c.opt_string()?, row.record_id)?;
    c.key(false, "record_kind")?;
    same(c.opt_string()?, row.record_kind)?;
    c.key(false, "retention_days")?;
    if !c.null() {
        c.int()?.parse::<i64>().ok()?;
    }
    c.key(false, "seq")?;
    if c.int()?.parse::<i64>().ok()? != row.seq {
        return None;
    }
    c.key(false, "subject_refs")?;
    let subjects = &mut scratch.subjects;
    c.strings(|raw, esc, start| {
        subjects.push((start, start + raw.len(), esc));
        Some(())
    })?;
    if c.next_is("withheld_from") {
        c.key(false, "withheld_from")?;
        c.strings(|raw, _, start| {
            is_uuid(raw).then(|| agencies.push((start, start + raw.len(), WITHHELD)))
        })?;
    }
    c.lit(b"}")?;

    let body = c.b;
    let text = |a: usize, b: usize| body.get(a..b).unwrap_or(&[]);
    agencies.sort_unstable_by(|x, y| (text(x.0, x.1), x.2).cmp(&(text(y.0, y.1), y.2)));
    agencies.dedup_by(|x, y| (text(x.0, x.1), x.2) == (text(y.0, y.1), y.2));
    if agencies.len() != row.agencies.len()
        || agencies
            .iter()
            .zip(row.agencies)
            .any(|(&(a, b, r), (ra, rr))| text(a, b) != ra.as_bytes() || r != *rr)
    {
        return None;
    }
    if subjects.iter().any(|s| s.2) {
        // Escaped references: compare the decoded texts.
        let mut decoded: Vec<Cow<'_, str>> = subjects
            .iter()
            .map(|&(a, b, esc)| decode(text(a, b), esc))
            .collect::<Option<_>>()?;
        decoded.sort_unstable();
        decoded.dedup();
        return (decoded.len() == row.subjects.len()
            && decoded.iter().zip(row.subjects).all(|(a, b)| a == b))
        .then_some(());
    }
    subjects.sort_unstable_by(|x, y| text(x.0, x.1).cmp(text(y.0, y.1)));
    subjects.dedup_by(|x, y| text(x.0, x.1) == text(y.0, y.1));
    (subjects.len() == row.subjects.len()
        && subjects
            .iter()
            .zip(row.subjects)
            .all(|(&(a, b, _), s)| text(a, b) == s.as_bytes()))
    .then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::canonical;
    use crate::audit::log::{index_columns, links};
    use crate::domain::audit::{Actor, AgreementRef, Decision, LawfulBasis, NewEntry};
    use crate::domain::ids::AgencyId;
    use crate::service::store::time::to_db;

    fn entry(special: Option<&str>) -> NewEntry {
        let t = "2026-06-01T09:00:00.120Z".parse().unwrap();
        let mut e = NewEntry::new(
            Operation::Disclosure,
            Actor {
                agency_id: Some(AgencyId::new()),
                issuer: "https://idp.example".into(),
                subject: "officer \"7\"".into(),
                roles: vec![Role::Practitioner, Role::IgOfficer],
            },
            t,
        )
        .record("incident", "i-1")
        .purpose("safeguarding")
        .justification("line one\nline two \u{1}")
        .recipients(vec![AgencyId::new(), AgencyId::new()])
        .concerns(vec![AgencyId::new()])
        .decision(Decision::Shared, vec!["ok".into()]);
        e.subject_refs = vec!["p-2".into(), "p-1".into(), "p-2".into(), "p\\3".into()];
        e.agreement = Some(AgreementRef {
            id: "a-1".into(),
            version: 3,
        });
        e.lawful_basis = Some(LawfulBasis {
            regime: "uk_gdpr".into(),
            condition: "art6_1e".into(),
            special_category: special.map(str::to_owned),
        });
        e.retention_days = Some(365);
        e.withheld_from = vec![AgencyId::new()];
        canonical::normalise(&e)
    }

    /// Checks `e`'s body against the row the append path writes for it.
    fn verdict(
        e: &NewEntry,
        edit: impl Fn(&mut String, &mut crate::service::store::audit::EntryRow),
    ) -> bool {
        let body = canonical::body(42, e).unwrap();
        let mut row = index_columns(42, e, body.clone(), [0; 32], Vec::new(), 42, &[0; 32]);
        let mut body = body;
        edit(&mut body, &mut row);
        let (agencies, subjects) = links(42, e);
        let agencies: Vec<(&str, &str)> = agencies
            .iter()
            .map(|l| (l.agency_id.as_str(), l.relation.as_str()))
            .collect();
        let subjects: Vec<&str> = subjects.iter().map(|s| s.subject_ref.as_str()).collect();
        let occurred = to_db(e.occurred_at).format("%F %T%.f").to_string();
        matches(
            &body,
            &Row {
                seq: row.seq,
                operation: &row.operation,
                occurred_at: &occurred,
                record_kind: row.record_kind.as_deref(),
                record_id: row.record_id.as_deref(),
                purpose: row.purpose.as_deref(),
                agencies: &agencies,
                subjects: &subjects,
            },
            &mut Scratch::default(),
        )
    }

    #[test]
    fn the_hubs_own_bodies_match_their_rows() {
        assert!(verdict(&entry(None), |_, _| {}));
        assert!(verdict(&entry(Some("health")), |_, _| {}));
        let mut system = NewEntry::new(
            Operation::Governance,
            Actor::system(),
            "2026-06-01T09:00:00Z".parse().unwrap(),
        );
        system = canonical::normalise(&system);
        assert!(verdict(&system, |_, _| {}));
    }

    #[test]
    fn a_difference_or_an_odd_body_is_not_shown() {
        let e = entry(None);
        assert!(!verdict(&e, |_, r| r.purpose = Some("investigation".into())));
        assert!(!verdict(&e, |_, r| r.record_id = None));
        assert!(!verdict(&e, |_, r| r.operation = "collection".into()));
        assert!(!verdict(&e, |_, r| r.seq = 41));
        assert!(!verdict(&e, |b, _| *b = b.replace("\"seq\":42", "\"seq\":43")));
        assert!(!verdict(&e, |b, _| *b =
            b.replace("\"decision\":\"shared\"", "\"decision\":\"maybe\"")));
        assert!(!verdict(&e, |b, _| *b = b.replace("09:00:00.120Z", "09:00:00.130Z")));
        assert!(!verdict(&e, |b, _| *b = b.replace("{\"actor\"", "{ \"actor\"")));
        assert!(!verdict(&e, |b, _| *b = b.replace("\"p-1\",", "")));
        assert!(!verdict(&e, |b, _| b.push(' ')));
        assert!(!verdict(&e, |b, _| *b =
            b.replace("\"withheld_from\"", "\"recipients2\"")));
        assert!(!verdict(&e, |b, _| *b =
            b.replace("\"retention_days\":365", "\"retention_days\":3.5")));
    }

    #[test]
    fn database_and_body_times_compare_as_instants() {
        let t = |s: &str| instant(s.as_bytes(), b' ', b"");
        assert_eq!(t("2026-06-01 09:00:00.12"), t("2026-06-01 09:00:00.120000"));
        assert_eq!(t("2026-06-01 09:00:00"), t("2026-06-01 09:00:00.000"));
        assert_ne!(t("2026-06-01 09:00:00.1"), t("2026-06-01 09:00:00.01"));
        assert_eq!(t("2026-02-30 09:00:00"), None);
        assert_eq!(t("2026-06-01 09:00:00."), None);
    }
}
