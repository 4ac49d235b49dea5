//! The whole log in one snapshot, with one or more readers of it that may each run on a
//! thread of their own and read any range of seqs.
//!
//! - On an SQLite file, each reader is a read-only connection of its own. A later reader is
//!   kept only when its head row equals the first's: the log and its head change only
//!   together, in one transaction, so equal heads are the same log. One that keeps seeing
//!   another head (the hub is appending) is left out after a few tries.
//! - Otherwise the readers are connections already in one snapshot: the caller's own, and on
//!   PostgreSQL connections that imported its exported snapshot.
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::sqlite::Scan;
use super::{read_page, Page};
use crate::error::AppError;
use crate::service::store::audit::{self as rows, HeadRow, TreeHeadRow};
use crate::service::store::{ConnManager, DbConn};

/// How often a further SQLite reader is opened again to land on the first one's snapshot.
const SNAPSHOT_TRIES: usize = 3;

/// One reader of the snapshot.
pub enum Reader<'c> {
    /// An SQLite file on a connection of its own.
    Sqlite(Box<Scan>),
    /// A connection in the snapshot, lent by the caller.
    Conn(&'c mut DbConn),
    /// A connection in the snapshot, owned (closed with the scan).
    Own(Box<DbConn>),
}

impl Reader<'_> {
    /// Reads into `page` (emptied first) the entries with seqs from `lo` to `hi` and every
    /// link row of those seqs.
    pub fn read(&mut self, lo: i64, hi: i64, page: &mut Page) -> Result<(), AppError> {
        match self {
            Reader::Sqlite(s) => {
                page.clear();
                s.read(lo, hi, page)
            }
            Reader::Conn(c) => read_page(c, lo, hi, page),
            Reader::Own(c) => read_page(c, lo, hi, page),
        }
    }
}

/// The log head, the signed tree heads and the readers of one snapshot.
pub struct LogScan<'c> {
    head: HeadRow,
    tree_heads: Option<Vec<TreeHeadRow>>,
    readers: Vec<Reader<'c>>,
}

fn same_head(a: &HeadRow, b: &HeadRow) -> bool {
    a.tree_size == b.tree_size && a.root_hash == b.root_hash && a.frontier == b.frontier
}

impl<'c> LogScan<'c> {
    /// The SQLite file at `path`, read on up to `readers` read-only connections of its own,
    /// in a snapshot that starts now.
    pub fn sqlite_file(
        path: &Path,
        busy_timeout_ms: u64,
        readers: usize,
    ) -> Result<LogScan<'static>, AppError> {
        let first = Scan::open(path, busy_timeout_ms, true)?;
        let head = first.head().clone();
        let tree_heads = first.tree_heads().map(<[TreeHeadRow]>::to_vec);
        let mut all = vec![Reader::Sqlite(Box::new(first))];
        'more: for _ in 1..readers {
            for _ in 0..SNAPSHOT_TRIES {
                let next = Scan::open(path, busy_timeout_ms, false)?;
                if same_head(next.head(), &head) {
                    all.push(Reader::Sqlite(Box::new(next)));
                    continue 'more;
                }
            }
            tracing::info!(
                readers = all.len(),
                "the log grew while its readers opened; verifying with fewer"
            );
            break;
        }
        Ok(LogScan {
            head,
            tree_heads,
            readers: all,
        })
    }

    /// The log as `conn`'s snapshot holds it, read on `conn` alone.
    pub fn on(conn: &'c mut DbConn) -> Result<Self, AppError> {
        Self::with(conn, Vec::new())
    }

    /// The log as `conn`'s snapshot holds it, read on `conn` and on `more`, connections the
    /// caller put in the same snapshot.
    pub fn with(conn: &'c mut DbConn, more: Vec<DbConn>) -> Result<Self, AppError> {
        let head = rows::read_head(conn)?;
        let tree_heads = Some(all_tree_heads(conn)?);
        let mut readers = vec![Reader::Conn(conn)];
        readers.extend(more.into_iter().map(|c| Reader::Own(Box::new(c))));
        Ok(LogScan {
            head,
            tree_heads,
            readers,
        })
    }

    /// The log as `conn`'s snapshot holds it, read on `conn` and, on PostgreSQL, on up to
    /// `readers - 1` further connections from `manager` that import its snapshot
    /// (`pg_export_snapshot`; `conn` must be in a `REPEATABLE READ` transaction). A further
    /// connection that cannot be opened or set to the snapshot is left out.
    pub fn sharing(
        conn: &'c mut DbConn,
        manager: &ConnManager,
        readers: usize,
    ) -> Result<Self, AppError> {
        let mut more = Vec::new();
        if let (DbConn::Pg(pg), true) = (&mut *conn, readers > 1) {
            let id: String = diesel::select(sql::<Text>("pg_export_snapshot()")).get_result(pg)?;
            if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(AppError::Internal(format!(
                    "PostgreSQL exported a snapshot id of an unexpected form: {id:?}"
                )));
            }
            for _ in 1..readers {
                match import_snapshot(manager, &id) {
                    Ok(c) => more.push(c),
                    Err(e) => {
                        tracing::info!(error = %e, "a further reader of the log cannot share its snapshot");
                        break;
                    }
                }
            }
        }
        Self::with(conn, more)
    }

    /// The log head row.
    pub fn head(&self) -> &HeadRow {
        &self.head
    }

    /// Every signed tree head, smallest size first; `None` when one cannot be read this way
    /// (the step-by-step walk then reads it as the hub does).
    pub fn tree_heads(&self) -> Option<&[TreeHeadRow]> {
        self.tree_heads.as_deref()
    }

    /// The readers, each of which may be moved to a thread of its own.
    pub fn readers(&mut self) -> &mut [Reader<'c>] {
        &mut self.readers
    }
}

/// A new connection in the PostgreSQL snapshot `id` (checked to be hex digits and dashes).
fn import_snapshot(manager: &ConnManager, id: &str) -> Result<DbConn, AppError> {
    let mut c = manager
        .open()
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
    c.batch_execute(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{id}'"
    ))?;
    Ok(c)
}

/// Every signed tree head on `conn`, a thousand at a time.
fn all_tree_heads(conn: &mut DbConn) -> Result<Vec<TreeHeadRow>, AppError> {
    let (mut all, mut after) = (Vec::new(), -1);
    loop {
        let page = rows::tree_heads_after(conn, after, 1000)?;
        let full = page.len() == 1000;
        if let Some(last) = page.last() {
            after = last.tree_size;
        }
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}
