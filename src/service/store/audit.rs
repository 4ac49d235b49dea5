//! The audit tables: rows and queries. Only `crate::audit` calls the writing functions here;
//! the reading ones take the reader's [`AuditScope`], so an agency's IG officer can only ever
//! be shown entries where that agency is the actor, a recipient or an agency a governance
//! change concerns; a candidate a disclosure was withheld from is linked to the entry (so a
//! scoped `agency_id` filter finds it) but never in scope through that link.
pub mod page;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::fixed::{bind, on_backend, Fixed};
use super::insert::insert_rows;
use super::schema::{
    audit_entries as ae, audit_entry_agencies as aa, audit_entry_subjects as asub,
    audit_head as ah, audit_tree_heads as th,
};
use super::time::to_db;
use super::{batch, DbConn};
use crate::audit::log::WITHHELD;
use crate::domain::audit_query::{AuditScope, EventFilter};
use crate::error::AppError;

/// The log head: size, root and frontier.
#[derive(Debug, Clone, Queryable)]
pub struct HeadRow {
    /// Always 1: the table has one row.
    #[allow(dead_code)]
    pub id: i32,
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub frontier: Vec<u8>,
}

/// Reads the head and locks it until the transaction ends: `SELECT ... FOR UPDATE` on
/// PostgreSQL, so concurrent appends queue here and the sequence has no gaps. SQLite
/// writers of this process are already serialised by `Db::write`'s gate.
/// An appending intent of the writer's batch gets the head the batch already holds.
pub fn lock_head(conn: &mut DbConn) -> Result<HeadRow, AppError> {
    if let Some(held) = batch::held_head() {
        return Ok(held);
    }
    let row = match conn {
        DbConn::Pg(c) => ah::table.find(1).for_update().first::<HeadRow>(c)?,
        DbConn::Sqlite(c) => ah::table.find(1).first::<HeadRow>(c)?,
    };
    batch::hold_head(&row);
    Ok(row)
}

/// Reads the head without locking it.
pub fn read_head(conn: &mut DbConn) -> Result<HeadRow, AppError> {
    Ok(ah::table.find(1).first::<HeadRow>(conn)?)
}

/// Moves the head to a new size, root and frontier (for an appending intent of the writer's
/// batch, the head the batch holds, written once at its flush).
pub fn update_head(
    conn: &mut DbConn,
    tree_size: i64,
    root_hash: &[u8],
    frontier: &[u8],
) -> Result<(), AppError> {
    if batch::move_head(tree_size, root_hash, frontier) {
        return Ok(());
    }
    write_head(conn, tree_size, root_hash, frontier)
}

/// Writes the head row.
pub(super) fn write_head(
    conn: &mut DbConn,
    tree_size: i64,
    root_hash: &[u8],
    frontier: &[u8],
) -> Result<(), AppError> {
    use diesel::sql_types::{BigInt, Binary};
    let n = on_backend!(conn, |c| Fixed::new(
        &[
            "UPDATE audit_head SET tree_size = ",
            ", root_hash = ",
            ", frontier = ",
            " WHERE id = 1",
        ],
        (
            bind::<BigInt, _>(tree_size),
            bind::<Binary, _>(root_hash),
            bind::<Binary, _>(frontier),
        ),
    )
    .execute(c)?);
    if n != 1 {
        return Err(AppError::Internal("audit head row is missing".into()));
    }
    Ok(())
}

/// One stored entry, as appended.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = ae)]
#[diesel(treat_none_as_default_value = false)]
pub struct EntryRow {
    pub seq: i64,
    pub operation: String,
    pub occurred_at: NaiveDateTime,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub purpose: Option<String>,
    pub body: String,
    pub leaf_hash: Vec<u8>,
    pub subtree_hashes: Vec<u8>,
    pub receipt_tree_size: i64,
    pub receipt_root: Vec<u8>,
}

/// An agency an entry involves, as `actor` or `recipient`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Queryable, Insertable)]
#[diesel(table_name = aa)]
#[diesel(treat_none_as_default_value = false)]
pub struct AgencyLink {
    pub agency_id: String,
    pub seq: i64,
    pub relation: String,
}

/// A person an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Queryable, Insertable)]
#[diesel(table_name = asub)]
#[diesel(treat_none_as_default_value = false)]
pub struct SubjectLink {
    pub subject_ref: String,
    pub seq: i64,
}

/// Inserts entries and their links (for an appending intent of the writer's batch, at the
/// batch's flush, with the other intents' rows).
pub fn insert_entries(
    conn: &mut DbConn,
    entries: Vec<EntryRow>,
    agencies: Vec<AgencyLink>,
    subjects: Vec<SubjectLink>,
) -> Result<(), AppError> {
    // Whether rows wait is the batch's state, the same for all three tables.
    let entries = batch::defer(entries, |w| &mut w.entries);
    let agencies = batch::defer(agencies, |w| &mut w.agencies);
    let subjects = batch::defer(subjects, |w| &mut w.subjects);
    match (entries, agencies, subjects) {
        (Some(e), Some(a), Some(s)) => write_entries(conn, &e, &a, &s),
        (None, None, None) => Ok(()),
        _ => Err(AppError::internal(
            "an entry's rows were split between the batch and the database",
        )),
    }
}

/// Writes entries and their links, many rows per cached statement.
pub fn write_entries(
    conn: &mut DbConn,
    entries: &[EntryRow],
    agencies: &[AgencyLink],
    subjects: &[SubjectLink],
) -> Result<(), AppError> {
    insert_rows!(conn, ae::table, entries);
    insert_rows!(conn, aa::table, agencies);
    insert_rows!(conn, asub::table, subjects);
    Ok(())
}

/// The leaf hash and the interior nodes stored with one entry.
pub type NodeRow = (Vec<u8>, Vec<u8>);

/// The leaf hash and interior nodes stored with entry `seq`.
pub fn node_row(conn: &mut DbConn, seq: i64) -> Result<Option<NodeRow>, AppError> {
    Ok(ae::table
        .find(seq)
        .select((ae::leaf_hash, ae::subtree_hashes))
        .first(conn)
        .optional()?)
}

/// What the API shows of an entry (everything but the tree nodes).
#[derive(Debug, Clone, Queryable)]
pub struct ShownRow {
    pub seq: i64,
    pub body: String,
    pub leaf_hash: Vec<u8>,
    pub receipt_tree_size: i64,
    pub receipt_root: Vec<u8>,
}

type ShownColumns = (
    ae::seq,
    ae::body,
    ae::leaf_hash,
    ae::receipt_tree_size,
    ae::receipt_root,
);

const SHOWN: ShownColumns = (
    ae::seq,
    ae::body,
    ae::leaf_hash,
    ae::receipt_tree_size,
    ae::receipt_root,
);

/// Where the canonical body keeps a value the log has no column for, as SQL on each
/// backend (`body` is text; PostgreSQL reads it as `jsonb`).
fn body_field(conn: &DbConn, field: BodyField) -> &'static str {
    match (conn, field) {
        (DbConn::Sqlite(_), BodyField::Decision) => "json_extract(body, '$.decision')",
        (DbConn::Sqlite(_), BodyField::ActorSubject) => "json_extract(body, '$.actor.subject')",
        (DbConn::Pg(_), BodyField::Decision) => "(body::jsonb ->> 'decision')",
        (DbConn::Pg(_), BodyField::ActorSubject) => "(body::jsonb -> 'actor' ->> 'subject')",
    }
}

#[derive(Debug, Clone, Copy)]
enum BodyField {
    Decision,
    ActorSubject,
}

/// Entries matching `filter` within `scope`, in seq order, after `after` and up to
/// `up_to` (inclusive), at most `limit`.
pub fn list(
    conn: &mut DbConn,
    filter: &EventFilter,
    scope: AuditScope,
    after: i64,
    up_to: Option<i64>,
    limit: i64,
) -> Result<Vec<ShownRow>, AppError> {
    let mut q = ae::table.select(SHOWN).into_boxed();
    q = q.filter(ae::seq.gt(after));
    if let Some(up_to) = up_to {
        q = q.filter(ae::seq.le(up_to));
    }
    if let AuditScope::Agency(agency) = scope {
        q = q.filter(
            ae::seq.eq_any(
                aa::table
                    .filter(aa::agency_id.eq(agency.to_string()))
                    .filter(aa::relation.ne(WITHHELD))
                    .select(aa::seq),
            ),
        );
    }
    if !filter.agencies.is_empty() {
        let ids: Vec<String> = filter.agencies.iter().map(|a| a.to_string()).collect();
        q = q.filter(ae::seq.eq_any(aa::table.filter(aa::agency_id.eq_any(ids)).select(aa::seq)));
    }
    if !filter.subject_refs.is_empty() {
        q = q.filter(
            ae::seq.eq_any(
                asub::table
                    .filter(asub::subject_ref.eq_any(filter.subject_refs.clone()))
                    .select(asub::seq),
            ),
        );
    }
    if !filter.operations.is_empty() {
        let ops: Vec<&str> = filter.operations.iter().map(|o| o.as_str()).collect();
        q = q.filter(ae::operation.eq_any(ops));
    }
    if !filter.record_kinds.is_empty() {
        q = q.filter(ae::record_kind.eq_any(filter.record_kinds.clone()));
    }
    if !filter.record_ids.is_empty() {
        q = q.filter(ae::record_id.eq_any(filter.record_ids.clone()));
    }
    if !filter.decisions.is_empty() {
        let values: Vec<&str> = filter.decisions.iter().map(|d| d.as_str()).collect();
        let field = sql::<Text>(body_field(conn, BodyField::Decision));
        q = q.filter(field.eq_any(values));
    }
    if !filter.actors.is_empty() {
        let field = sql::<Text>(body_field(conn, BodyField::ActorSubject));
        q = q.filter(field.eq_any(filter.actors.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(ae::occurred_at.ge(to_db(from)));
    }
    if let Some(to) = filter.to {
        q = q.filter(ae::occurred_at.lt(to_db(to)));
    }
    Ok(q.order(ae::seq).limit(limit).load(conn)?)
}

/// One entry, whatever the scope (the caller checks [`involves`]).
pub fn get(conn: &mut DbConn, seq: i64) -> Result<Option<ShownRow>, AppError> {
    Ok(ae::table.find(seq).select(SHOWN).first(conn).optional()?)
}

/// Whether entry `seq` is in `agency`'s scope: the agency is its actor, a recipient or an
/// agency it concerns (a candidate it was withheld from is not).
pub fn involves(conn: &mut DbConn, seq: i64, agency: &str) -> Result<bool, AppError> {
    let n: i64 = aa::table
        .filter(aa::seq.eq(seq))
        .filter(aa::agency_id.eq(agency))
        .filter(aa::relation.ne(WITHHELD))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Every column of the entries after `after`, in seq order, for verification.
pub fn scan(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<EntryRow>, AppError> {
    Ok(ae::table
        .filter(ae::seq.gt(after))
        .order(ae::seq)
        .limit(limit)
        .load(conn)?)
}

/// The link rows of entries `first..=last`, sorted.
pub fn links_between(
    conn: &mut DbConn,
    first: i64,
    last: i64,
) -> Result<(Vec<AgencyLink>, Vec<SubjectLink>), AppError> {
    let agencies = aa::table
        .filter(aa::seq.between(first, last))
        .order((aa::seq, aa::agency_id, aa::relation))
        .load(conn)?;
    let subjects = asub::table
        .filter(asub::seq.between(first, last))
        .order((asub::seq, asub::subject_ref))
        .load(conn)?;
    Ok((agencies, subjects))
}

/// A signed tree head.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = th)]
#[diesel(treat_none_as_default_value = false)]
pub struct TreeHeadRow {
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub signed_at: NaiveDateTime,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// The signed tree head of the largest size, if any.
pub fn latest_tree_head(conn: &mut DbConn) -> Result<Option<TreeHeadRow>, AppError> {
    Ok(th::table
        .order(th::tree_size.desc())
        .first(conn)
        .optional()?)
}

/// Signed tree heads above size `after`, smallest first.
pub fn tree_heads_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> Result<Vec<TreeHeadRow>, AppError> {
    Ok(th::table
        .filter(th::tree_size.gt(after))
        .order(th::tree_size)
        .limit(limit)
        .load(conn)?)
}

/// The ids of the keys that signed the stored tree heads.
pub fn tree_head_key_ids(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    Ok(th::table
        .select(th::key_id)
        .distinct()
        .order(th::key_id)
        .load(conn)?)
}

/// Stores a signed tree head; one already stored for that size wins.
pub fn insert_tree_head(conn: &mut DbConn, row: &TreeHeadRow) -> Result<(), AppError> {
    match conn {
        DbConn::Pg(c) => diesel::insert_into(th::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(th::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(())
}
