//! The JSON, JSON Lines and CSV shapes of audit entries, tree heads, proofs and reports.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::audit::heads::SignedTreeHead;
use crate::audit::merkle::Hash;
use crate::audit::proofs::{Consistency, Inclusion};
use crate::audit::{LoggedEntry, Receipt, Sealed};
use crate::domain::audit::{Decision, LawfulBasis, Operation};
use crate::domain::role::Role;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Who acted, as shown.
#[derive(Debug, Serialize)]
pub struct ActorOut {
    pub agency_id: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub roles: Vec<Role>,
}

/// One audit entry as shown (`GET /audit/events`, `/audit/events/{seq}`, JSON Lines export,
/// the disclosure report).
#[derive(Debug, Serialize)]
pub struct EventOut {
    pub seq: i64,
    pub leaf_index: u64,
    pub operation: Operation,
    pub occurred_at: String,
    pub actor: ActorOut,
    pub recipients: Vec<String>,
    /// Agencies a governance change concerns.
    pub concerns: Vec<String>,
    /// Candidates a disclosure was withheld from (shown to the discloser's IG officer and
    /// the hub auditor; the entry is never in the withheld agency's scope).
    pub withheld_from: Vec<String>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub subject_refs: Vec<String>,
    pub data_items: Vec<String>,
    pub purpose: Option<String>,
    pub justification: Option<String>,
    pub agreement_id: Option<String>,
    pub agreement_version: Option<i32>,
    pub lawful_basis: Option<LawfulBasis>,
    pub consent: Option<String>,
    pub classification: Option<String>,
    pub decision: Option<Decision>,
    pub reasons: Vec<String>,
    pub retention_days: Option<i64>,
    /// `SHA-256(0x00 || canonical)`, hex.
    pub leaf_hash: String,
    /// The receipt the append returned.
    pub receipt: Receipt,
    /// The RFC 8785 canonical JSON the leaf hash covers (empty when `redacted`).
    pub canonical: String,
    /// In a per-person report: the entry also named other people, whose references and
    /// consent states (and so the canonical body) are left out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

impl EventOut {
    /// The entry as a report about one person shows it: only that person's reference and
    /// consent state. An entry that named others loses its canonical body too (the leaf hash
    /// and receipt still identify it in the log).
    pub fn for_subject(mut self, subject_ref: &str) -> Self {
        if self.subject_refs.iter().all(|s| s == subject_ref) {
            return self;
        }
        self.subject_refs.retain(|s| s == subject_ref);
        // An incident's consent summary reads `REF: state; REF2: state`, REF the victim's
        // reference that ends the subject reference (`incident:ID:victim:REF`).
        let own = subject_ref
            .rsplit_once(":victim:")
            .map(|(_, r)| format!("{r}: "));
        self.consent = match (self.consent.take(), own) {
            (Some(c), Some(own)) => c
                .split("; ")
                .find(|part| part.starts_with(&own))
                .map(str::to_owned),
            _ => None,
        };
        self.canonical = String::new();
        self.redacted = true;
        self
    }
}

impl From<&LoggedEntry> for EventOut {
    fn from(l: &LoggedEntry) -> Self {
        let e = &l.entry;
        EventOut {
            seq: l.seq,
            leaf_index: l.receipt.leaf_index,
            operation: e.operation,
            occurred_at: rfc3339(e.occurred_at),
            actor: ActorOut {
                agency_id: e.actor.agency_id.map(|a| a.to_string()),
                issuer: e.actor.issuer.clone(),
                subject: e.actor.subject.clone(),
                roles: e.actor.roles.clone(),
            },
            recipients: e.recipients.iter().map(|r| r.to_string()).collect(),
            concerns: e.concerns.iter().map(|r| r.to_string()).collect(),
            withheld_from: e.withheld_from.iter().map(|r| r.to_string()).collect(),
            record_kind: e.record_kind.clone(),
            record_id: e.record_id.clone(),
            subject_refs: e.subject_refs.clone(),
            data_items: e.data_items.clone(),
            purpose: e.purpose.clone(),
            justification: e.justification.clone(),
            agreement_id: e.agreement.as_ref().map(|a| a.id.clone()),
            agreement_version: e.agreement.as_ref().map(|a| a.version),
            lawful_basis: e.lawful_basis.clone(),
            consent: e.consent.clone(),
            classification: e.classification.clone(),
            decision: e.decision,
            reasons: e.reasons.clone(),
            retention_days: e.retention_days,
            leaf_hash: hex::encode(l.leaf_hash),
            receipt: l.receipt.clone(),
            canonical: l.body.clone(),
            redacted: false,
        }
    }
}

/// The header of the CSV export.
pub const CSV_HEADER: &str = "seq,leaf_index,operation,occurred_at,actor_agency_id,actor_issuer,\
actor_subject,actor_roles,recipients,record_kind,record_id,subject_refs,data_items,purpose,\
justification,agreement_id,agreement_version,lawful_basis_regime,lawful_basis_condition,\
lawful_basis_special_category,consent,classification,decision,reasons,retention_days,\
leaf_hash,receipt_tree_size,receipt_root_hash,concerns,withheld_from\r\n";

/// One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula is prefixed
/// with `'` (OWASP CSV injection advice); lists are JSON arrays.
fn cell(out: &mut String, value: &str) {
    let guarded = matches!(
        value.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let needs_quotes = guarded || value.contains([',', '"', '\r', '\n']);
    if needs_quotes {
        out.push('"');
        if guarded {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn list<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

/// One entry as a CSV record (with its line end).
pub fn csv_record(e: &EventOut) -> String {
    let decision = e.decision.map(Decision::as_str);
    let lb = e.lawful_basis.as_ref();
    let roles: Vec<&str> = e.actor.roles.iter().map(|r| r.as_str()).collect();
    let cells: Vec<String> = vec![
        e.seq.to_string(),
        e.leaf_index.to_string(),
        e.operation.as_str().to_owned(),
        e.occurred_at.clone(),
        e.actor.agency_id.clone().unwrap_or_default(),
        e.actor.issuer.clone(),
        e.actor.subject.clone(),
        roles.join(" "),
        list(&e.recipients),
        e.record_kind.clone().unwrap_or_default(),
        e.record_id.clone().unwrap_or_default(),
        list(&e.subject_refs),
        list(&e.data_items),
        e.purpose.clone().unwrap_or_default(),
        e.justification.clone().unwrap_or_default(),
        e.agreement_id.clone().unwrap_or_default(),
        e.agreement_version
            .map(|v| v.to_string())
            .unwrap_or_default(),
        lb.map(|l| l.regime.clone()).unwrap_or_default(),
        lb.map(|l| l.condition.clone()).unwrap_or_default(),
        lb.and_then(|l| l.special_category.clone())
            .unwrap_or_default(),
        e.consent.clone().unwrap_or_default(),
        e.classification.clone().unwrap_or_default(),
        decision.unwrap_or_default().to_owned(),
        list(&e.reasons),
        e.retention_days.map(|d| d.to_string()).unwrap_or_default(),
        e.leaf_hash.clone(),
        e.receipt.tree_size.to_string(),
        e.receipt.root_hash.clone(),
        list(&e.concerns),
        list(&e.withheld_from),
    ];
    let mut out = String::with_capacity(512);
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(&mut out, c);
    }
    out.push_str("\r\n");
    out
}

/// `GET /audit/tree-head`.
#[derive(Debug, Serialize)]
pub struct TreeHeadOut {
    pub tree_size: u64,
    pub root_hash: String,
    pub timestamp: String,
    /// Base64 Ed25519 signature over the RFC 9162 `TreeHeadSignature` of this head.
    pub signature: String,
    pub key_id: String,
    pub signature_algorithm: &'static str,
    /// The signing key: base64 DER SubjectPublicKeyInfo (the body of a PEM `PUBLIC KEY`).
    pub public_key: String,
}

impl TreeHeadOut {
    pub fn new(h: &SignedTreeHead, public_key: String) -> Self {
        TreeHeadOut {
            tree_size: h.tree_size,
            root_hash: hex::encode(h.root_hash),
            timestamp: h.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
            signature: STANDARD.encode(&h.signature),
            key_id: h.key_id.clone(),
            signature_algorithm: "ed25519",
            public_key,
        }
    }
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// `GET /audit/proofs/inclusion`.
#[derive(Debug, Serialize)]
pub struct InclusionOut {
    pub seq: i64,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub root_hash: String,
    pub audit_path: Vec<String>,
}

impl From<&Inclusion> for InclusionOut {
    fn from(p: &Inclusion) -> Self {
        InclusionOut {
            seq: p.leaf_index as i64 + 1,
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            leaf_hash: hex::encode(p.leaf_hash),
            root_hash: hex::encode(p.root_hash),
            audit_path: hexes(&p.audit_path),
        }
    }
}

/// `GET /audit/proofs/consistency`.
#[derive(Debug, Serialize)]
pub struct ConsistencyOut {
    pub first: u64,
    pub second: u64,
    pub first_root: String,
    pub second_root: String,
    pub proof: Vec<String>,
}

impl From<&Consistency> for ConsistencyOut {
    fn from(p: &Consistency) -> Self {
        ConsistencyOut {
            first: p.first,
            second: p.second,
            first_root: hex::encode(p.first_root),
            second_root: hex::encode(p.second_root),
            proof: hexes(&p.proof),
        }
    }
}

/// `GET /reports/disclosures`.
#[derive(Debug, Serialize)]
pub struct DisclosureReportOut {
    pub subject_ref: String,
    /// The log's size and root when the report was made; every item's receipt and leaf hash
    /// can be proven against them.
    pub tree_size: u64,
    pub root_hash: String,
    pub items: Vec<EventOut>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        let mut s = String::new();
        cell(&mut s, "plain");
        s.push('|');
        cell(&mut s, "a,\"b\"");
        s.push('|');
        cell(&mut s, "=HYPERLINK(\"x\")");
        assert_eq!(s, "plain|\"a,\"\"b\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"");
    }
}

/// A receipt as handed out with a read or a record: where the entry sits in the log, the
/// signed checkpoint of that tree (C2SP signed note) and the entry's inclusion proof in it,
/// hashes in hex as the proof endpoints give them. Checkable offline: the note verifies with
/// the hub's verifier key, its root is `root_hash`, and `leaf_hash` with `audit_path`
/// recomputes that root (RFC 9162 §2.1.3.2).
#[derive(Debug, Serialize)]
pub struct ReceiptOut {
    pub seq: i64,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub root_hash: String,
    pub leaf_hash: String,
    pub checkpoint: String,
    pub audit_path: Vec<String>,
}

impl From<&Sealed> for ReceiptOut {
    fn from(s: &Sealed) -> Self {
        ReceiptOut {
            seq: s.receipt.seq,
            leaf_index: s.receipt.leaf_index,
            tree_size: s.receipt.tree_size,
            root_hash: s.receipt.root_hash.clone(),
            leaf_hash: hex::encode(s.leaf_hash),
            checkpoint: s.checkpoint.clone(),
            audit_path: s.audit_path.iter().map(hex::encode).collect(),
        }
    }
}
