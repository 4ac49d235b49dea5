//! Reading the log from an SQLite file for verification through SQLite's own interface, on a
//! read-only connection of its own in one read transaction: one statement per table,
//! prepared once and re-bound for each page's range of seqs, so a page is one seek and a
//! walk in the entries' rowid order and the link tables' primary-key order (no sort), and
//! each value is copied once, from SQLite's buffer into the page.
//!
//! A connection is opened without SQLite's own mutex: it and its statements may move to
//! another thread, but only one thread uses them at a time (the `Scan` is owned).
use std::ffi::{c_int, CStr, CString};
use std::path::Path;
use std::ptr::NonNull;

use chrono::NaiveDateTime;
use libsqlite3_sys as ffi;

use super::{Page, PageLink, PageRow, Span};
use crate::error::AppError;
use crate::service::store::audit::{HeadRow, TreeHeadRow};

const ENTRIES: &str = "SELECT seq, receipt_tree_size, operation, occurred_at, record_kind, \
    record_id, purpose, body, leaf_hash, subtree_hashes, receipt_root \
    FROM audit_entries WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq";
const AGENCIES: &str = "SELECT seq, agency_id, relation FROM audit_entry_agencies \
    WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq, agency_id, relation";
const SUBJECTS: &str = "SELECT seq, subject_ref FROM audit_entry_subjects \
    WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq, subject_ref";
const HEAD: &str = "SELECT tree_size, root_hash, frontier FROM audit_head WHERE id = 1";
const TREE_HEADS: &str = "SELECT tree_size, root_hash, signed_at, key_id, signature \
    FROM audit_tree_heads ORDER BY tree_size";

/// The last error message of connection `db`.
fn message(db: NonNull<ffi::sqlite3>) -> String {
    // SAFETY: the handle is open; the message is a NUL-terminated string owned by SQLite,
    // copied before any other call.
    unsafe {
        let m = ffi::sqlite3_errmsg(db.as_ptr());
        if m.is_null() {
            return String::new();
        }
        CStr::from_ptr(m).to_string_lossy().into_owned()
    }
}

fn failed(what: &str, detail: String) -> AppError {
    AppError::Unavailable(format!("database: {what}: {detail}"))
}

/// An open connection; closed on drop (after its statements).
struct Connection(NonNull<ffi::sqlite3>);

impl Connection {
    fn open(path: &Path, busy_timeout_ms: u64) -> Result<Self, AppError> {
        let name = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| failed("open", "the path holds a NUL byte".into()))?;
        let mut raw: *mut ffi::sqlite3 = std::ptr::null_mut();
        // SAFETY: `name` is a NUL-terminated string that outlives the call; `raw` receives
        // a handle (or null), which is closed below on failure or by `Drop`.
        let rc = unsafe {
            ffi::sqlite3_open_v2(
                name.as_ptr(),
                &mut raw,
                ffi::SQLITE_OPEN_READONLY | ffi::SQLITE_OPEN_NOMUTEX,
                std::ptr::null(),
            )
        };
        let Some(handle) = NonNull::new(raw) else {
            return Err(failed("open", format!("SQLite code {rc}")));
        };
        let conn = Connection(handle);
        if rc != ffi::SQLITE_OK {
            return Err(failed("open", conn.message()));
        }
        let timeout = c_int::try_from(busy_timeout_ms).unwrap_or(c_int::MAX);
        // SAFETY: the handle is open.
        unsafe { ffi::sqlite3_busy_timeout(conn.0.as_ptr(), timeout) };
        Ok(conn)
    }

    fn message(&self) -> String {
        message(self.0)
    }

    fn execute(&self, sql: &str) -> Result<(), AppError> {
        let sql = CString::new(sql).map_err(|_| failed("execute", "NUL byte".into()))?;
        // SAFETY: the handle is open and `sql` is NUL-terminated; no callback is passed.
        let rc = unsafe {
            ffi::sqlite3_exec(
                self.0.as_ptr(),
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(failed("execute", self.message()))
        }
    }

    fn prepare(&self, sql: &str) -> Result<Statement, AppError> {
        let sql = CString::new(sql).map_err(|_| failed("prepare", "NUL byte".into()))?;
        let mut raw: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
        // SAFETY: the handle is open, `sql` is NUL-terminated, `raw` receives the statement.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                self.0.as_ptr(),
                sql.as_ptr(),
                -1,
                &mut raw,
                std::ptr::null_mut(),
            )
        };
        match NonNull::new(raw) {
            Some(s) if rc == ffi::SQLITE_OK => Ok(Statement {
                raw: s,
                db: self.0,
                row: false,
                done: false,
            }),
            _ => Err(failed("prepare", self.message())),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: every statement of this connection was finalized before (the `Scan`
        // field order), so the handle closes here and is used no more.
        unsafe { ffi::sqlite3_close(self.0.as_ptr()) };
    }
}

/// A prepared statement and whether it stands on a row.
struct Statement {
    raw: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    row: bool,
    done: bool,
}

impl Statement {
    /// Resets the statement, binds `lo` and `hi` to its two parameters and steps to its
    /// first row.
    fn restart(&mut self, lo: i64, hi: i64) -> Result<bool, AppError> {
        // SAFETY: the statement is prepared and its connection open; parameters 1 and 2
        // exist in every statement restarted here.
        let rc = unsafe {
            ffi::sqlite3_reset(self.raw.as_ptr());
            let a = ffi::sqlite3_bind_int64(self.raw.as_ptr(), 1, lo);
            let b = ffi::sqlite3_bind_int64(self.raw.as_ptr(), 2, hi);
            if a != ffi::SQLITE_OK {
                a
            } else {
                b
            }
        };
        if rc != ffi::SQLITE_OK {
            self.row = false;
            self.done = true;
            return Err(failed("bind", message(self.db)));
        }
        self.done = false;
        self.step()
    }

    /// Steps to the next row; false at the end.
    fn step(&mut self) -> Result<bool, AppError> {
        if self.done {
            self.row = false;
            return Ok(false);
        }
        // SAFETY: the statement is prepared and its connection open.
        let rc = unsafe { ffi::sqlite3_step(self.raw.as_ptr()) };
        match rc {
            ffi::SQLITE_ROW => self.row = true,
            ffi::SQLITE_DONE => {
                self.row = false;
                self.done = true;
            }
            _ => {
                self.row = false;
                self.done = true;
                return Err(failed("read", message(self.db)));
            }
        }
        Ok(self.row)
    }

    /// Column `i` of the current row as an integer (`None` for NULL).
    fn int(&self, i: c_int) -> Option<i64> {
        // SAFETY: the statement stands on a row (callers step first); `i` is in range of
        // the statement's columns (out of range reads as NULL).
        unsafe {
            if ffi::sqlite3_column_type(self.raw.as_ptr(), i) == ffi::SQLITE_NULL {
                return None;
            }
            Some(ffi::sqlite3_column_int64(self.raw.as_ptr(), i))
        }
    }

    /// Column `i` as text or as a blob (`None` for NULL), borrowed until the next step. The
    /// pointer is taken before the length, as SQLite asks.
    fn value(&self, i: c_int, text: bool) -> Option<&[u8]> {
        // SAFETY: as for `int`; the returned slice lies in SQLite's buffer for this column,
        // which stays valid until the statement steps or is finalized, both of which need
        // `&mut self`, so the borrow cannot outlive it.
        unsafe {
            let s = self.raw.as_ptr();
            if ffi::sqlite3_column_type(s, i) == ffi::SQLITE_NULL {
                return None;
            }
            let ptr: *const u8 = if text {
                ffi::sqlite3_column_text(s, i)
            } else {
                ffi::sqlite3_column_blob(s, i).cast()
            };
            let len = usize::try_from(ffi::sqlite3_column_bytes(s, i)).unwrap_or(0);
            if ptr.is_null() || len == 0 {
                return Some(&[]);
            }
            Some(std::slice::from_raw_parts(ptr, len))
        }
    }
}

#[cfg(feature = "testkit")]
impl Statement {
    /// The length of column `i` read in the form it is stored (integers read as such).
    fn len_as_stored(&self, i: c_int) -> u64 {
        // SAFETY: as for `int`.
        let kind = unsafe { ffi::sqlite3_column_type(self.raw.as_ptr(), i) };
        match kind {
            ffi::SQLITE_TEXT => self.value(i, true).map_or(0, |v| v.len() as u64),
            ffi::SQLITE_BLOB => self.value(i, false).map_or(0, |v| v.len() as u64),
            _ => self.int(i).map_or(0, |v| u64::from(v != 0)),
        }
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement is prepared and finalized only here.
        unsafe { ffi::sqlite3_finalize(self.raw.as_ptr()) };
    }
}

/// The log of one SQLite file, read in one snapshot, a range of seqs at a time.
pub struct Scan {
    // Statements before the connection: fields drop in order, and closing the connection
    // ends the read transaction.
    entries: Statement,
    agencies: Statement,
    subjects: Statement,
    /// Kept open for the statements (and the snapshot) until they are done.
    _conn: Connection,
    head: HeadRow,
    tree_heads: Option<Vec<TreeHeadRow>>,
}

// SAFETY: the connection is opened with `SQLITE_OPEN_NOMUTEX` (SQLite's multi-thread mode),
// in which a connection and its statements may be used from any thread so long as no two
// threads use them at once. A `Scan` owns its connection and statements and hands out no
// handle, and every use takes `&mut self` or `&self` of the one owner, so moving it to
// another thread keeps that rule.
unsafe impl Send for Scan {}

fn need<T>(v: Option<T>, column: &str) -> Result<T, AppError> {
    v.ok_or_else(|| AppError::Internal(format!("audit verification: {column} is NULL")))
}

impl Scan {
    /// Opens the file read-only and starts its read transaction by reading the head row,
    /// which fixes the snapshot every later read sees; with `tree_heads`, the signed tree
    /// heads of the same snapshot too.
    pub fn open(path: &Path, busy_timeout_ms: u64, tree_heads: bool) -> Result<Self, AppError> {
        let conn = Connection::open(path, busy_timeout_ms)?;
        conn.execute("PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -65536; BEGIN")?;
        let mut row = conn.prepare(HEAD)?;
        if !row.step()? {
            return Err(AppError::Internal("audit head row is missing".into()));
        }
        let head = HeadRow {
            id: 1,
            tree_size: need(row.int(0), "audit_head.tree_size")?,
            root_hash: need(row.value(1, false), "audit_head.root_hash")?.to_vec(),
            frontier: need(row.value(2, false), "audit_head.frontier")?.to_vec(),
        };
        drop(row);
        let tree_heads = if tree_heads {
            read_tree_heads(&conn)?
        } else {
            None
        };
        Ok(Scan {
            entries: conn.prepare(ENTRIES)?,
            agencies: conn.prepare(AGENCIES)?,
            subjects: conn.prepare(SUBJECTS)?,
            _conn: conn,
            head,
            tree_heads,
        })
    }

    /// The head row of the snapshot.
    pub fn head(&self) -> &HeadRow {
        &self.head
    }

    /// Every signed tree head of the snapshot, smallest size first; `None` when they were
    /// not read here or one could not be.
    pub fn tree_heads(&self) -> Option<&[TreeHeadRow]> {
        self.tree_heads.as_deref()
    }

    /// Appends to `page` the entries with seqs from `lo` to `hi` and every link row of those
    /// seqs (link rows of seqs between entries come along and are the checks' to refuse).
    pub fn read(&mut self, lo: i64, hi: i64, page: &mut Page) -> Result<(), AppError> {
        let e = &mut self.entries;
        e.restart(lo, hi)?;
        while e.row {
            let t = |page: &mut Page, i, col| -> Result<Span, AppError> {
                page.push_text_bytes(need(e.value(i, true), col)?)
            };
            let opt = |page: &mut Page, i| -> Result<Option<Span>, AppError> {
                e.value(i, true)
                    .map(|v| page.push_text_bytes(v))
                    .transpose()
            };
            let b = |page: &mut Page, i, col| -> Result<Span, AppError> {
                page.push_bytes(need(e.value(i, false), col)?)
            };
            let row = PageRow {
                seq: need(e.int(0), "seq")?,
                receipt_tree_size: need(e.int(1), "receipt_tree_size")?,
                operation: t(page, 2, "operation")?,
                occurred_at: t(page, 3, "occurred_at")?,
                record_kind: opt(page, 4)?,
                record_id: opt(page, 5)?,
                purpose: opt(page, 6)?,
                body: t(page, 7, "body")?,
                leaf_hash: b(page, 8, "leaf_hash")?,
                subtree_hashes: b(page, 9, "subtree_hashes")?,
                receipt_root: b(page, 10, "receipt_root")?,
            };
            page.rows.push(row);
            e.step()?;
        }
        let a = &mut self.agencies;
        a.restart(lo, hi)?;
        while a.row {
            let link = PageLink {
                seq: need(a.int(0), "seq")?,
                name: page.push_text_bytes(need(a.value(1, true), "agency_id")?)?,
                relation: page.push_text_bytes(need(a.value(2, true), "relation")?)?,
            };
            page.agencies.push(link);
            a.step()?;
        }
        let s = &mut self.subjects;
        s.restart(lo, hi)?;
        while s.row {
            let link = PageLink {
                seq: need(s.int(0), "seq")?,
                name: page.push_text_bytes(need(s.value(1, true), "subject_ref")?)?,
                relation: Span::default(),
            };
            page.subjects.push(link);
            s.step()?;
        }
        Ok(())
    }

    /// Steps through every row of every table touching each value where SQLite holds it,
    /// copying nothing: what reading costs SQLite itself (for benchmarks). Returns the rows
    /// and the bytes of text and blobs seen.
    #[cfg(feature = "testkit")]
    pub fn skim(&mut self) -> Result<(u64, u64), AppError> {
        let (mut rows, mut bytes) = (0u64, 0u64);
        for (s, columns) in [
            (&mut self.entries, 11),
            (&mut self.agencies, 3),
            (&mut self.subjects, 2),
        ] {
            s.restart(i64::MIN, i64::MAX)?;
            while s.row {
                for i in 0..columns {
                    bytes += s.len_as_stored(i);
                }
                rows += 1;
                s.step()?;
            }
        }
        Ok((rows, bytes))
    }
}

/// Every signed tree head on `conn`, smallest size first; `None` when one cannot be read
/// here (the step-by-step walk then reads it as the hub does).
fn read_tree_heads(conn: &Connection) -> Result<Option<Vec<TreeHeadRow>>, AppError> {
    let mut heads = conn.prepare(TREE_HEADS)?;
    let mut list = Vec::new();
    while heads.step()? {
        let at = heads
            .value(2, true)
            .and_then(|t| std::str::from_utf8(t).ok());
        let at = at.and_then(|t| {
            NaiveDateTime::parse_from_str(t, "%F %T%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(t, "%F %T"))
                .ok()
        });
        let key = heads
            .value(3, true)
            .and_then(|t| std::str::from_utf8(t).ok());
        match (
            heads.int(0),
            heads.value(1, false),
            at,
            key,
            heads.value(4, false),
        ) {
            (Some(tree_size), Some(root), Some(signed_at), Some(key), Some(sig)) => {
                list.push(TreeHeadRow {
                    tree_size,
                    root_hash: root.to_vec(),
                    signed_at,
                    key_id: key.to_owned(),
                    signature: sig.to_vec(),
                })
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(list))
}
