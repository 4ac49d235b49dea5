//! Reading the log for verification: a page of entries in seq order and the link rows of the
//! same seqs, copied straight out of the database's row buffers into two buffers per page
//! (text and bytes). Nothing is allocated per row and no time is parsed: `occurred_at` comes
//! back as the database's text (`YYYY-MM-DD HH:MM:SS[.f]` on both backends).
use diesel::connection::{DefaultLoadingMode, LoadConnection};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::row::{Field, Row};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use crate::error::AppError;
use crate::service::store::schema::{
    audit_entries as ae, audit_entry_agencies as aa, audit_entry_subjects as asub,
};
use crate::service::store::DbConn;

/// Where one value lies in a page's text or bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

/// One entry row, its values as spans of the page.
#[derive(Debug, Clone, Copy)]
pub struct PageRow {
    pub seq: i64,
    pub receipt_tree_size: i64,
    pub operation: Span,
    pub occurred_at: Span,
    pub record_kind: Option<Span>,
    pub record_id: Option<Span>,
    pub purpose: Option<Span>,
    pub body: Span,
    pub leaf_hash: Span,
    pub subtree_hashes: Span,
    pub receipt_root: Span,
}

/// A link row: `(seq, agency_id, relation)` or `(seq, subject_ref)`.
#[derive(Debug, Clone, Copy)]
pub struct PageLink {
    pub seq: i64,
    pub name: Span,
    pub relation: Span,
}

/// Entries `after + 1 ..` (at most `limit`) and every link row of their seqs.
#[derive(Debug, Default)]
pub struct Page {
    text: String,
    bytes: Vec<u8>,
    pub rows: Vec<PageRow>,
    /// Sorted by (seq, agency_id, relation).
    pub agencies: Vec<PageLink>,
    /// Sorted by (seq, subject_ref).
    pub subjects: Vec<PageLink>,
}

impl Page {
    /// The text at `s`.
    pub fn text(&self, s: Span) -> &str {
        self.text
            .get(s.start as usize..s.end as usize)
            .unwrap_or("")
    }

    /// The bytes at `s`.
    pub fn bytes(&self, s: Span) -> &[u8] {
        self.bytes
            .get(s.start as usize..s.end as usize)
            .unwrap_or(&[])
    }

    fn push_text(&mut self, s: &str) -> Result<Span, AppError> {
        let start = offset(self.text.len())?;
        self.text.push_str(s);
        Ok(Span {
            start,
            end: offset(self.text.len())?,
        })
    }

    fn push_bytes(&mut self, b: &[u8]) -> Result<Span, AppError> {
        let start = offset(self.bytes.len())?;
        self.bytes.extend_from_slice(b);
        Ok(Span {
            start,
            end: offset(self.bytes.len())?,
        })
    }
}

fn offset(n: usize) -> Result<u32, AppError> {
    u32::try_from(n).map_err(|_| AppError::Internal("audit page too large".into()))
}

fn missing(column: usize) -> AppError {
    AppError::Internal(format!(
        "audit verification: column {column} of a row is NULL"
    ))
}

/// Copies the values of one backend's rows into a page.
trait Cells {
    type Db: diesel::backend::Backend;
    fn int<'a, R: Row<'a, Self::Db>>(row: &R, i: usize) -> Option<i64>;
    fn text<'a, R: Row<'a, Self::Db>>(
        row: &R,
        i: usize,
        page: &mut Page,
    ) -> Result<Option<Span>, AppError>;
    fn blob<'a, R: Row<'a, Self::Db>>(
        row: &R,
        i: usize,
        page: &mut Page,
    ) -> Result<Option<Span>, AppError>;
}

struct SqliteCells;

impl Cells for SqliteCells {
    type Db = Sqlite;

    fn int<'a, R: Row<'a, Sqlite>>(row: &R, i: usize) -> Option<i64> {
        let field = row.get(i)?;
        let mut v = field.value()?;
        Some(v.read_long())
    }

    fn text<'a, R: Row<'a, Sqlite>>(
        row: &R,
        i: usize,
        page: &mut Page,
    ) -> Result<Option<Span>, AppError> {
        let Some(field) = row.get(i) else {
            return Ok(None);
        };
        let Some(mut v) = field.value() else {
            return Ok(None);
        };
        page.push_text(v.read_text()).map(Some)
    }

    fn blob<'a, R: Row<'a, Sqlite>>(
        row: &R,
        i: usize,
        page: &mut Page,
    ) -> Result<Option<Span>, AppError> {
        let Some(field) = row.get(i) else {
            return Ok(None);
        };
        let Some(mut v) = field.value() else {
            return Ok(None);
        };
        page.push_bytes(v.read_blob()).map(Some)
    }
}

struct PgCells;

impl Cells for PgCells {
    type Db = Pg;

    fn int<'a, R: Row<'a, Pg>>(row: &R, i: usize) -> Option<i64> {
        let field = row.get(i)?;
        let v = field.value()?;
        let b: [u8; 8] = v.as_bytes().try_into().ok()?;
        Some(i64::from_be_bytes(b))
    }

    fn text<'a, R: Row<'a, Pg>>(
        row: &R,
        i: usize,
        page: &mut Page,
    ) -> Result<Option<Span>, AppError> {
        let Some(field) = row.get(i) else {
            return Ok(None);
        };
        let Some(v) = field.value() else {
            return Ok(None);
        };
        let s = std::str::from_utf8(v.as_bytes())
            .map_err(|_| AppError::Internal("audit verification: text is not UTF-8".into()))?;
        page.push_text(s).map(Some)
    }

    fn blob<'a, R: Row<'a, Pg>>(
        row: &R,
        i: usize,
        page: &mut Page,
    ) -> Result<Option<Span>, AppError> {
        let Some(field) = row.get(i) else {
            return Ok(None);
        };
        let Some(v) = field.value() else {
            return Ok(None);
        };
        page.push_bytes(v.as_bytes()).map(Some)
    }
}

/// Fills `page` through one backend's connection (the same queries on both).
macro_rules! read_with {
    ($cells:ty, $conn:expr, $after:expr, $limit:expr, $page:expr) => {{
        type C = $cells;
        let (conn, after, limit, page): (_, i64, i64, &mut Page) = ($conn, $after, $limit, $page);
        let entries = ae::table
            .select((
                ae::seq,
                ae::receipt_tree_size,
                ae::operation,
                sql::<Text>("CAST(occurred_at AS TEXT)"),
                ae::record_kind,
                ae::record_id,
                ae::purpose,
                ae::body,
                ae::leaf_hash,
                ae::subtree_hashes,
                ae::receipt_root,
            ))
            .filter(ae::seq.gt(after))
            .order(ae::seq)
            .limit(limit);
        for row in LoadConnection::<DefaultLoadingMode>::load(&mut *conn, entries)? {
            let row = row?;
            let need = |s: Option<Span>, i| s.ok_or_else(|| missing(i));
            let r = PageRow {
                seq: C::int(&row, 0).ok_or_else(|| missing(0))?,
                receipt_tree_size: C::int(&row, 1).ok_or_else(|| missing(1))?,
                operation: need(C::text(&row, 2, page)?, 2)?,
                occurred_at: need(C::text(&row, 3, page)?, 3)?,
                record_kind: C::text(&row, 4, page)?,
                record_id: C::text(&row, 5, page)?,
                purpose: C::text(&row, 6, page)?,
                body: need(C::text(&row, 7, page)?, 7)?,
                leaf_hash: need(C::blob(&row, 8, page)?, 8)?,
                subtree_hashes: need(C::blob(&row, 9, page)?, 9)?,
                receipt_root: need(C::blob(&row, 10, page)?, 10)?,
            };
            page.rows.push(r);
        }
        if let (Some(first), Some(last)) = (page.rows.first(), page.rows.last()) {
            let (first, last) = (first.seq, last.seq);
            let agencies = aa::table
                .select((aa::seq, aa::agency_id, aa::relation))
                .filter(aa::seq.between(first, last))
                .order((aa::seq, aa::agency_id, aa::relation));
            for row in LoadConnection::<DefaultLoadingMode>::load(&mut *conn, agencies)? {
                let row = row?;
                let link = PageLink {
                    seq: C::int(&row, 0).ok_or_else(|| missing(0))?,
                    name: C::text(&row, 1, page)?.ok_or_else(|| missing(1))?,
                    relation: C::text(&row, 2, page)?.ok_or_else(|| missing(2))?,
                };
                page.agencies.push(link);
            }
            let subjects = asub::table
                .select((asub::seq, asub::subject_ref))
                .filter(asub::seq.between(first, last))
                .order((asub::seq, asub::subject_ref));
            for row in LoadConnection::<DefaultLoadingMode>::load(&mut *conn, subjects)? {
                let row = row?;
                let link = PageLink {
                    seq: C::int(&row, 0).ok_or_else(|| missing(0))?,
                    name: C::text(&row, 1, page)?.ok_or_else(|| missing(1))?,
                    relation: Span::default(),
                };
                page.subjects.push(link);
            }
        }
    }};
}

/// How large the previous page's buffers grew, so the next one is allocated once.
#[derive(Debug, Clone, Copy, Default)]
pub struct SizeHint {
    text: usize,
    bytes: usize,
    rows: usize,
    links: usize,
}

/// Reads the next page: entries with seq > `after`, in seq order, at most `limit`.
pub fn read_page(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
    hint: &mut SizeHint,
) -> Result<Page, AppError> {
    let mut page = Page {
        text: String::with_capacity(hint.text),
        bytes: Vec::with_capacity(hint.bytes),
        rows: Vec::with_capacity(hint.rows),
        agencies: Vec::with_capacity(hint.links),
        subjects: Vec::with_capacity(hint.links),
    };
    match conn {
        DbConn::Sqlite(c) => read_with!(SqliteCells, c, after, limit, &mut page),
        DbConn::Pg(c) => read_with!(PgCells, c, after, limit, &mut page),
    }
    *hint = SizeHint {
        text: page.text.len() + page.text.len() / 8,
        bytes: page.bytes.len() + page.bytes.len() / 8,
        rows: page.rows.len(),
        links: page.agencies.len().max(page.subjects.len()) + 16,
    };
    Ok(page)
}

/// Readies a connection of its own for reading the whole log: on SQLite read-only, with the
/// file memory-mapped and a larger page cache, so pages are read without a copy per page.
pub fn prepare_for_scan(conn: &mut DbConn) -> Result<(), AppError> {
    if let DbConn::Sqlite(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "PRAGMA query_only = 1; PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -65536;",
        )?;
    }
    Ok(())
}
