//! What the writer's open batch keeps between its intents, on the writer thread only.
//!
//! An *appending* intent ([`super::Db::write_appending`]) adds rows that no other intent of
//! its batch reads: new incidents with their routing decisions, audit entries with their
//! links, notifications and deliveries. Its rows wait here and are written with those of
//! the batch's other appending intents, many rows per cached statement ([`super::insert`]),
//! when the batch ends or before the next intent that is not
//! appending runs (so that intent sees the database as if nothing had waited). The audit
//! head is read, and on PostgreSQL locked, once for them all and written once; the policy
//! epoch is held once. An intent that fails gives back what it added ([`Mark`]). The one
//! read that may need a waiting row, a retried incident finding the incident its key names
//! (recorded earlier in the same batch), looks here first ([`waiting`]).
//!
//! Outside the writer thread, and while an intent that is not appending runs, every write
//! goes straight to the database: the functions here then answer "not waiting".
use std::cell::RefCell;

use super::audit::{self, AgencyLink, EntryRow, HeadRow, SubjectLink};
use super::{incidents, notifications, outbox, DbConn};
use crate::error::AppError;

thread_local! {
    static OPEN: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// The open batch's state.
#[derive(Default)]
struct Batch {
    /// Whether the intent running now is appending.
    appending: bool,
    /// The audit head after the batch's last waiting append (locked by the batch), and
    /// whether the stored head is older than it.
    head: Option<(HeadRow, bool)>,
    /// The policy epoch, held by the batch.
    epoch: Option<i64>,
    waiting: Rows,
}

/// Rows waiting for the flush, in the order it writes them (each table's references first).
#[derive(Default)]
pub(super) struct Rows {
    pub(super) incidents: Vec<incidents::Row>,
    pub(super) decisions: Vec<incidents::DecisionRow>,
    pub(super) entries: Vec<EntryRow>,
    pub(super) agencies: Vec<AgencyLink>,
    pub(super) subjects: Vec<SubjectLink>,
    pub(super) notifications: Vec<notifications::Row>,
    pub(super) deliveries: Vec<outbox::Row>,
}

/// How far the batch had got when an intent started: restored if the intent fails.
pub(super) struct Mark {
    head: Option<(HeadRow, bool)>,
    epoch: Option<i64>,
    lens: [usize; 7],
}

impl Rows {
    fn lens(&self) -> [usize; 7] {
        [
            self.incidents.len(),
            self.decisions.len(),
            self.entries.len(),
            self.agencies.len(),
            self.subjects.len(),
            self.notifications.len(),
            self.deliveries.len(),
        ]
    }

    fn truncate(&mut self, lens: [usize; 7]) {
        self.incidents.truncate(lens[0]);
        self.decisions.truncate(lens[1]);
        self.entries.truncate(lens[2]);
        self.agencies.truncate(lens[3]);
        self.subjects.truncate(lens[4]);
        self.notifications.truncate(lens[5]);
        self.deliveries.truncate(lens[6]);
    }
}

/// Starts a batch on this (the writer's) thread, dropping whatever a failed one left.
pub(super) fn open() {
    OPEN.with(|b| *b.borrow_mut() = Some(Batch::default()));
}

/// Ends the batch: nothing waits any more (called after its commit or rollback).
pub(super) fn close() {
    OPEN.with(|b| *b.borrow_mut() = None);
}

/// Marks the start of an intent. One that is not appending may move the head and the epoch
/// itself, so the batch reads them again afterwards ([`end_intent`]).
pub(super) fn start_intent(appending: bool) {
    with_open(|b| b.appending = appending);
}

/// Marks the end of an intent.
pub(super) fn end_intent() {
    with_open(|b| {
        if !b.appending {
            b.head = None;
            b.epoch = None;
        }
        b.appending = false;
    });
}

/// Where the batch stands, for [`restore`] if the intent fails; `None` outside a batch.
pub(super) fn mark() -> Option<Mark> {
    OPEN.with(|b| {
        b.borrow().as_ref().map(|b| Mark {
            head: b.head.clone(),
            epoch: b.epoch,
            lens: b.waiting.lens(),
        })
    })
}

/// Gives back what a failed intent added: its savepoint rolled back its own writes and the
/// locks it took, and this drops its waiting rows and the head and epoch it read.
pub(super) fn restore(mark: Option<Mark>) {
    let Some(m) = mark else { return };
    with_open(|b| {
        b.head = m.head;
        b.epoch = m.epoch;
        b.waiting.truncate(m.lens);
    });
}

/// Writes every waiting row and the head, outside any intent's savepoint. The head and the
/// epoch stay held for the batch's next appending intents.
pub(super) fn flush(conn: &mut DbConn) -> Result<(), AppError> {
    let Some((head, w)) = OPEN.with(|b| {
        b.borrow_mut().as_mut().map(|b| {
            let head = match &mut b.head {
                Some((row, behind)) if *behind => {
                    *behind = false;
                    Some(row.clone())
                }
                _ => None,
            };
            (head, std::mem::take(&mut b.waiting))
        })
    }) else {
        return Ok(());
    };
    incidents::write_rows(conn, &w.incidents)?;
    incidents::write_decisions(conn, &w.decisions)?;
    audit::write_entries(conn, &w.entries, &w.agencies, &w.subjects)?;
    notifications::write_rows(conn, &w.notifications)?;
    outbox::write_rows(conn, &w.deliveries)?;
    if let Some(h) = head {
        audit::write_head(conn, h.tree_size, &h.root_hash, &h.frontier)?;
    }
    Ok(())
}

/// Runs `f` on the batch if one is open and an appending intent is running.
fn appending<T>(f: impl FnOnce(&mut Batch) -> T) -> Option<T> {
    OPEN.with(|b| b.borrow_mut().as_mut().filter(|b| b.appending).map(f))
}

fn with_open(f: impl FnOnce(&mut Batch)) {
    OPEN.with(|b| {
        if let Some(b) = b.borrow_mut().as_mut() {
            f(b);
        }
    });
}

/// The head the batch holds, for an appending intent.
pub(super) fn held_head() -> Option<HeadRow> {
    appending(|b| b.head.as_ref().map(|(h, _)| h.clone())).flatten()
}

/// Keeps `head`, just read and locked by an appending intent, for the rest of the batch.
pub(super) fn hold_head(head: &HeadRow) {
    appending(|b| b.head = Some((head.clone(), false)));
}

/// Moves the held head for an appending intent; false if the caller must write it.
pub(super) fn move_head(tree_size: i64, root_hash: &[u8], frontier: &[u8]) -> bool {
    appending(|b| match &mut b.head {
        Some((h, behind)) => {
            h.tree_size = tree_size;
            h.root_hash = root_hash.to_vec();
            h.frontier = frontier.to_vec();
            *behind = true;
            true
        }
        None => false,
    })
    .unwrap_or(false)
}

/// The epoch the batch holds, for an appending intent.
pub(super) fn held_epoch() -> Option<i64> {
    appending(|b| b.epoch).flatten()
}

/// Keeps `epoch`, just held by an appending intent, for the rest of the batch.
pub(super) fn hold_epoch(epoch: i64) {
    appending(|b| b.epoch = Some(epoch));
}

/// The epoch moved: the batch reads it again when it next needs it.
pub(super) fn forget_epoch() {
    with_open(|b| b.epoch = None);
}

/// Leaves an appending intent's rows of one table (`table` picks it) to the batch's flush;
/// hands them back when the caller must write them itself.
pub(super) fn defer<R>(rows: Vec<R>, table: fn(&mut Rows) -> &mut Vec<R>) -> Option<Vec<R>> {
    let mut rows = Some(rows);
    match appending(|b| table(&mut b.waiting).extend(rows.take().unwrap_or_default())) {
        Some(()) => None,
        None => rows,
    }
}

/// The waiting rows of one table that `keep` picks (none outside a batch).
pub(super) fn waiting<R: Clone>(
    table: fn(&mut Rows) -> &mut Vec<R>,
    keep: impl Fn(&R) -> bool,
) -> Vec<R> {
    OPEN.with(|b| {
        b.borrow_mut()
            .as_mut()
            .map(|b| {
                table(&mut b.waiting)
                    .iter()
                    .filter(|r| keep(r))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    })
}
