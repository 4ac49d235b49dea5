//! Reading the audit log: events, one event, the disclosure report, exports, verification,
//! tree heads and proofs.
//!
//! Who sees what is decided here: the `hub_auditor` sees every entry, an agency's
//! `ig_officer` only entries where its agency is the actor, a recipient or an agency a
//! governance change concerns, never one only because a disclosure was withheld from it. Every query that
//! returns entries (or verifies them) states its purpose and is itself logged as a
//! `consultation` in the same transaction; asking for an entry outside one's scope answers
//! "not found" and is logged as `access_denied`. Tree heads and proofs carry hashes only and
//! are open to every hub role, unlogged, so any recipient can check a receipt.
//!
//! The async functions are the use cases. Each is one write intent (the queries that log
//! their consultation) or one read snapshot, except two that need more than one: a
//! verification logs itself, then checks the whole log in a snapshot of its own so the
//! writer is not held up; an export logs itself and fixes its last seq, then streams pages,
//! each one read.
mod agreement_counts;
mod evidence;
mod tree;

pub use agreement_counts::{agreement_disclosures, tally, DisclosureCounts, MonthCount};
pub use evidence::{event_with_proof, last_verification, proof_holds, EntryEvidence};
pub use tree::{consistency, inclusion, stored_tree_head, tree_head};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::hub::Hub;
use crate::audit::merkle::Hash;
use crate::audit::runtime::AuditRuntime;
use crate::audit::verify::{verify_database, Report};
use crate::audit::{self, LoggedEntry};
use crate::domain::audit::{Actor, Decision, NewEntry, Operation};
use crate::domain::audit_query::{AuditPurpose, AuditScope, EventFilter};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::audit as rows;
use crate::service::store::DbConn;

/// Why a reader asks, as the consultation entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consult {
    pub purpose: AuditPurpose,
    /// The reader's own words, when given.
    pub justification: Option<String>,
}

/// The entries `p` may see.
pub fn scope_of(p: &Principal) -> Result<AuditScope, AppError> {
    if p.has_any(&[Role::HubAuditor]) {
        return Ok(AuditScope::All);
    }
    match p.agency_id {
        Some(agency) if p.has_any(&[Role::IgOfficer]) => Ok(AuditScope::Agency(agency)),
        _ => Err(AppError::Forbidden(
            "reading the audit log needs the hub_auditor or ig_officer role".into(),
        )),
    }
}

/// The entry that logs one audit query.
pub(super) fn consultation(
    p: &Principal,
    consult: &Consult,
    now: DateTime<Utc>,
    what: &str,
    reasons: Vec<String>,
) -> NewEntry {
    let mut e = NewEntry::new(Operation::Consultation, Actor::from(p), now)
        .purpose(consult.purpose.as_str())
        .decision(Decision::Allowed, reasons);
    e.record_kind = Some(what.to_owned());
    e.justification = consult.justification.clone();
    e
}

fn seq_range(entries: &[LoggedEntry]) -> String {
    match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => format!(
            "returned {} entries (seq {} to {})",
            entries.len(),
            a.seq,
            b.seq
        ),
        _ => "returned no entries".to_owned(),
    }
}

pub(super) fn parse_rows(rows: Vec<rows::ShownRow>) -> Result<Vec<LoggedEntry>, AppError> {
    rows.into_iter().map(LoggedEntry::from_row).collect()
}

/// `GET /audit/events`: a page of entries (`limit` rows after seq `after`), logged.
fn list_events_in(
    conn: &mut DbConn,
    p: &Principal,
    consult: &Consult,
    filter: &EventFilter,
    after: i64,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<LoggedEntry>, AppError> {
    let scope = scope_of(p)?;
    let entries = parse_rows(rows::list(conn, filter, scope, after, None, limit)?)?;
    let mut log = consultation(
        p,
        consult,
        now,
        "audit_log",
        vec![
            "GET /audit/events".to_owned(),
            format!("filters: {}", filter.describe()),
            seq_range(&entries),
        ],
    );
    log.subject_refs = filter.subject_refs.clone();
    audit::append(conn, &log)?;
    Ok(entries)
}

/// `GET /audit/events/{seq}`: one entry, or a 404 when there is none the caller may see.
/// Either way the request is logged: an entry outside the caller's scope as `access_denied`.
pub(super) fn get_event_in(
    conn: &mut DbConn,
    p: &Principal,
    consult: &Consult,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<LoggedEntry, AppError> {
    let scope = scope_of(p)?;
    let row = rows::get(conn, seq)?;
    let visible = match (&row, scope) {
        (None, _) => false,
        (Some(_), AuditScope::All) => true,
        (Some(_), AuditScope::Agency(a)) => rows::involves(conn, seq, &a.to_string())?,
    };
    let request = format!("GET /audit/events/{seq}");
    match row {
        Some(row) if visible => {
            let entry = LoggedEntry::from_row(row)?;
            let mut log = consultation(p, consult, now, "audit_event", vec![request]);
            log.record_id = Some(seq.to_string());
            log.subject_refs = entry.entry.subject_refs.clone();
            audit::append(conn, &log)?;
            Ok(entry)
        }
        Some(_) => {
            let mut denied = NewEntry::new(Operation::AccessDenied, Actor::from(p), now)
                .record("audit_event", seq)
                .purpose(consult.purpose.as_str())
                .decision(
                    Decision::Denied,
                    vec![
                        request,
                        "the entry names the caller's agency neither as actor, recipient nor concerned"
                            .to_owned(),
                    ],
                );
            denied.justification = consult.justification.clone();
            Err(AppError::denied(AppError::NotFound, denied))
        }
        None => {
            let mut log = consultation(p, consult, now, "audit_event", vec![request]);
            log.record_id = Some(seq.to_string());
            log.decision = Some(Decision::Denied);
            log.reasons.push("no entry with this seq".to_owned());
            Err(AppError::denied(AppError::NotFound, log))
        }
    }
}

/// The log's size and root when a report was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf {
    pub tree_size: u64,
    pub root_hash: Hash,
}

/// Which entries a report about one person covers, and the request its consultation names.
#[derive(Debug, Clone, Copy)]
struct ReportKind {
    operations: &'static [Operation],
    request: &'static str,
}

/// `GET /reports/disclosures`: the disclosures (shared or withheld).
const DISCLOSURE_REPORT: ReportKind = ReportKind {
    operations: &[Operation::Disclosure],
    request: "GET /reports/disclosures",
};

/// The console's person report: every collection, disclosure and consultation.
const PERSON_REPORT: ReportKind = ReportKind {
    operations: &[
        Operation::Collection,
        Operation::Disclosure,
        Operation::Consultation,
    ],
    request: "GET /console/people",
};

/// A report about one person for a subject access request: the entries of `kind` about
/// them, with the tree they are part of. Logged as a consultation about that person.
#[allow(clippy::too_many_arguments)]
fn disclosure_report_in(
    conn: &mut DbConn,
    p: &Principal,
    consult: &Consult,
    kind: ReportKind,
    subject_ref: &str,
    after: i64,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<LoggedEntry>, AsOf), AppError> {
    let scope = scope_of(p)?;
    let filter = EventFilter {
        operations: kind.operations.to_vec(),
        subject_refs: vec![subject_ref.to_owned()],
        ..EventFilter::default()
    };
    let entries = parse_rows(rows::list(conn, &filter, scope, after, None, limit)?)?;
    let mut log = consultation(
        p,
        consult,
        now,
        "disclosure_report",
        vec![kind.request.to_owned(), seq_range(&entries)],
    );
    log.subject_refs = vec![subject_ref.to_owned()];
    audit::append(conn, &log)?;
    let head = rows::read_head(conn)?;
    Ok((
        entries,
        AsOf {
            tree_size: u64::try_from(head.tree_size).unwrap_or(0),
            root_hash: audit::read::to_hash(&head.root_hash)?,
        },
    ))
}

/// Starts `GET /audit/export`: logs it and fixes the last seq the export will contain, so
/// the pages streamed afterwards form one consistent snapshot.
fn start_export_in(
    conn: &mut DbConn,
    p: &Principal,
    consult: &Consult,
    filter: &EventFilter,
    format: &str,
    now: DateTime<Utc>,
) -> Result<(AuditScope, i64), AppError> {
    let scope = scope_of(p)?;
    let upto = rows::read_head(conn)?.tree_size;
    let mut log = consultation(
        p,
        consult,
        now,
        "audit_log",
        vec![
            format!("GET /audit/export?format={format}"),
            format!("filters: {}", filter.describe()),
            format!("entries up to seq {upto}"),
        ],
    );
    log.subject_refs = filter.subject_refs.clone();
    audit::append(conn, &log)?;
    Ok((scope, upto))
}

/// One page of an export started with [`start_export_in`].
fn export_page_in(
    conn: &mut DbConn,
    filter: &EventFilter,
    scope: AuditScope,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<LoggedEntry>, AppError> {
    parse_rows(rows::list(conn, filter, scope, after, Some(upto), limit)?)
}

/// Logs a verification run (`GET /audit/verify`) before it starts; the log's size with
/// the entry.
fn log_verification_in(
    conn: &mut DbConn,
    p: &Principal,
    consult: &Consult,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    scope_of(p)?;
    let log = consultation(
        p,
        consult,
        now,
        "audit_log",
        vec!["GET /audit/verify".to_owned()],
    );
    Ok(audit::append(conn, &log)?.tree_size)
}

/// `GET /audit/events`: a page of the entries the caller may see that match `filter`
/// (`limit` rows after seq `after`), logged as a consultation.
pub async fn events(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    filter: EventFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<LoggedEntry>, AppError> {
    let now = hub.now();
    hub.write(move |c| list_events_in(c, &p, &consult, &filter, after, limit, now))
        .await
}

/// `GET /audit/events/{seq}`: one entry the caller may see, logged either way.
pub async fn event(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    seq: i64,
) -> Result<LoggedEntry, AppError> {
    let now = hub.now();
    hub.write(move |c| get_event_in(c, &p, &consult, seq, now))
        .await
}

/// `GET /reports/disclosures`: a page of the disclosures about `subject_ref`, with the size
/// and root of the log when the report was made; logged as a consultation about them.
pub async fn disclosures(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    subject_ref: String,
    after: i64,
    limit: i64,
) -> Result<(Vec<LoggedEntry>, AsOf), AppError> {
    let now = hub.now();
    hub.write(move |c| {
        disclosure_report_in(
            c,
            &p,
            &consult,
            DISCLOSURE_REPORT,
            &subject_ref,
            after,
            limit,
            now,
        )
    })
    .await
}

/// The console's person report: a page of every collection, disclosure and consultation
/// about `subject_ref` the caller may see, with the size and root of the log when the report
/// was made; logged as a consultation about them.
pub async fn person_report(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    subject_ref: String,
    after: i64,
    limit: i64,
) -> Result<(Vec<LoggedEntry>, AsOf), AppError> {
    let now = hub.now();
    hub.write(move |c| {
        disclosure_report_in(
            c,
            &p,
            &consult,
            PERSON_REPORT,
            &subject_ref,
            after,
            limit,
            now,
        )
    })
    .await
}

/// `GET /audit/verify`: logs the run (one write intent), then answers with a verification of
/// every entry and tree head against `runtime`'s trusted keys that covers the caller's own
/// entry: the last report when it does, otherwise a new run, one at a time for the hub, on a
/// connection of its own in one read snapshot (no pooled connection is held). A failed
/// verification is an answer (`ok: false`), traced as an error.
pub async fn verify(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    runtime: &Arc<AuditRuntime>,
) -> Result<Report, AppError> {
    let now = hub.now();
    let size = hub
        .write(move |c| log_verification_in(c, &p, &consult, now))
        .await?;
    let url = hub.settings().effective_database_url();
    let busy = hub.settings().database.busy_timeout_ms;
    let keys = runtime.trusted.clone();
    let report = runtime
        .verifications
        .covering(size, || async move {
            tokio::task::spawn_blocking(move || verify_database(&url, busy, &keys, &mut |_, _| {}))
                .await
                .map_err(|e| AppError::internal(format!("blocking task: {e}")))?
        })
        .await?;
    if !report.ok {
        tracing::error!(
            first_bad_seq = ?report.first_bad_seq,
            problem = report.problem.as_deref().unwrap_or("-"),
            "audit log verification failed"
        );
    }
    Ok(report)
}

/// Entries per page of a streamed export.
pub const EXPORT_PAGE: i64 = 500;

/// An export under way: the last seq it contains and its pages of entries.
pub struct Export {
    /// The log's size when the export started; no later entry is exported.
    pub upto: i64,
    /// Pages of at most [`EXPORT_PAGE`] entries each, in seq order. After an error nothing
    /// follows.
    pub pages: BoxStream<'static, Result<Vec<LoggedEntry>, AppError>>,
}

/// Where a streamed export has got to.
struct ExportCursor {
    hub: Hub,
    filter: EventFilter,
    after: i64,
    done: bool,
}

/// `GET /audit/export`: logs the export (in the `format` named) and fixes its last seq in
/// one write intent, then yields the entries the caller may see that match `filter`,
/// [`EXPORT_PAGE`] at a time, each page one read. The pages form one consistent snapshot: entries are only
/// appended, and none after the fixed seq is read.
pub async fn export(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    filter: EventFilter,
    format: &'static str,
) -> Result<Export, AppError> {
    let now = hub.now();
    let start = filter.clone();
    let (scope, upto) = hub
        .write(move |c| start_export_in(c, &p, &consult, &start, format, now))
        .await?;
    Ok(export_pages(hub, filter, scope, upto))
}

/// Like [`export`], with the signed tree head of exactly the entries the export may contain
/// (signed now when none is stored for that size), taken in the same write intent: every
/// exported entry can be proven against it.
pub async fn export_signed(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    filter: EventFilter,
    format: &'static str,
    runtime: &Arc<AuditRuntime>,
) -> Result<(Export, crate::audit::heads::SignedTreeHead), AppError> {
    let now = hub.now();
    let start = filter.clone();
    let rt = runtime.clone();
    let (scope, upto, head) = hub
        .write(move |c| {
            let head = crate::audit::heads::current(c, &rt.signer, now)?;
            let (scope, upto) = start_export_in(c, &p, &consult, &start, format, now)?;
            if head.tree_size != u64::try_from(upto).unwrap_or(0) {
                return Err(AppError::internal("export head and size disagree"));
            }
            Ok((scope, upto, head))
        })
        .await?;
    Ok((export_pages(hub, filter, scope, upto), head))
}

/// The pages of an export fixed at `upto`.
fn export_pages(hub: &Hub, filter: EventFilter, scope: AuditScope, upto: i64) -> Export {
    let cursor = ExportCursor {
        hub: hub.clone(),
        filter,
        after: 0,
        done: false,
    };
    let pages = stream::unfold(cursor, move |mut cur| async move {
        if cur.done {
            return None;
        }
        let (filter, after) = (cur.filter.clone(), cur.after);
        let entries = cur
            .hub
            .read(move |c| export_page_in(c, &filter, scope, after, upto, EXPORT_PAGE))
            .await;
        match &entries {
            Ok(list) => match list.last().filter(|_| list.len() as i64 == EXPORT_PAGE) {
                Some(last) => cur.after = last.seq,
                None => cur.done = true,
            },
            Err(_) => cur.done = true,
        }
        Some((entries, cur))
    })
    .boxed();
    Export { upto, pages }
}
