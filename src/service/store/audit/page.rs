//! Reading the log for verification: a page of entries in seq order and the link rows of the
//! same seqs, copied straight out of the database's row buffers into two buffers per page
//! (text and bytes, kept and reused from page to page). Nothing is allocated per row, no
//! time is parsed (`occurred_at` comes back as the database's text, `YYYY-MM-DD
//! HH:MM:SS[.f]` on both backends) and text is checked to be UTF-8 once per page, by
//! whoever checks the page ([`Page::texts`]), not by the reader.
//!
//! A page is a range of seqs. [`LogScan`] is the whole log in one snapshot, read by one or
//! more readers at once ([`scan`]): on an SQLite file, connections of their own through
//! SQLite's interface ([`sqlite`]); otherwise the queries here on connections already in
//! the snapshot.
mod scan;
mod sqlite;

pub use scan::{LogScan, Reader};

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

/// Entries in seq order and every link row of their seqs.
#[derive(Debug, Default)]
pub struct Page {
    /// Every text value, one after the other (UTF-8 unless the database holds otherwise).
    text: Vec<u8>,
    bytes: Vec<u8>,
    pub rows: Vec<PageRow>,
    /// Sorted by (seq, agency_id, relation).
    pub agencies: Vec<PageLink>,
    /// Sorted by (seq, subject_ref).
    pub subjects: Vec<PageLink>,
}

/// A page's text, checked to be UTF-8.
#[derive(Debug, Clone, Copy)]
pub struct Texts<'p>(&'p str);

impl<'p> Texts<'p> {
    /// The text at `s`; `None` when `s` does not fall on character boundaries (a value
    /// that was not UTF-8 on its own).
    pub fn get(&self, s: Span) -> Option<&'p str> {
        self.0.get(s.start as usize..s.end as usize)
    }
}

impl Page {
    /// The page's text, once checked to be UTF-8 as a whole; `None` when it is not.
    pub fn texts(&self) -> Option<Texts<'_>> {
        std::str::from_utf8(&self.text).ok().map(Texts)
    }

    /// Empties the page, keeping its buffers for the next.
    pub fn clear(&mut self) {
        self.text.clear();
        self.bytes.clear();
        self.rows.clear();
        self.agencies.clear();
        self.subjects.clear();
    }

    /// The bytes at `s`.
    pub fn bytes(&self, s: Span) -> &[u8] {
        self.bytes
            .get(s.start as usize..s.end as usize)
            .unwrap_or(&[])
    }

    fn push_text(&mut self, s: &str) -> Result<Span, AppError> {
        self.push_text_bytes(s.as_bytes())
    }

    fn push_text_bytes(&mut self, s: &[u8]) -> Result<Span, AppError> {
        let start = offset(self.text.len())?;
        self.text.extend_from_slice(s);
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
    ($cells:ty, $conn:expr, $lo:expr, $hi:expr, $page:expr) => {{
        type C = $cells;
        let (conn, lo, hi, page): (_, i64, i64, &mut Page) = ($conn, $lo, $hi, $page);
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
            .filter(ae::seq.between(lo, hi))
            .order(ae::seq);
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
        {
            let agencies = aa::table
                .select((aa::seq, aa::agency_id, aa::relation))
                .filter(aa::seq.between(lo, hi))
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
                .filter(asub::seq.between(lo, hi))
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

/// Reads into `page` (emptied first) the entries with seqs from `lo` to `hi`, in seq
/// order, and every link row of those seqs (link rows of seqs between entries come along
/// and are the checks' to refuse).
pub fn read_page(conn: &mut DbConn, lo: i64, hi: i64, page: &mut Page) -> Result<(), AppError> {
    page.clear();
    match conn {
        DbConn::Sqlite(c) => read_with!(SqliteCells, c, lo, hi, page),
        DbConn::Pg(c) => read_with!(PgCells, c, lo, hi, page),
    }
    Ok(())
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
