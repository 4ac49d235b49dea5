//! What anyone holding a receipt or a signed head asks of the log: the current signed tree
//! head, and inclusion and consistency proofs (RFC 9162), with sizes beyond the current tree
//! refused as 422 with a pointer.
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audit::heads::{self, SignedTreeHead, TreeHeadSigner};
use crate::audit::proofs::{self, Consistency, Inclusion};
use crate::audit::runtime::AuditRuntime;
use crate::error::{AppError, FieldError};
use crate::service::store::DbConn;
use crate::usecase::hub::Hub;

/// `GET /audit/tree-head`: the signed head of the log as it is now.
fn tree_head_in(
    conn: &mut DbConn,
    signer: &TreeHeadSigner,
    now: DateTime<Utc>,
) -> Result<SignedTreeHead, AppError> {
    heads::current(conn, signer, now)
}

fn out_of_range(pointer: &str, detail: String) -> AppError {
    AppError::Validation(vec![FieldError::new(pointer, detail)])
}

/// `GET /audit/proofs/inclusion`: entry `seq` in the tree of `tree_size` leaves (default:
/// the current size).
fn inclusion_in(
    conn: &mut DbConn,
    seq: i64,
    tree_size: Option<u64>,
) -> Result<Inclusion, AppError> {
    let current = proofs::current_size(conn)?;
    let size = tree_size.unwrap_or(current);
    if size > current {
        return Err(out_of_range(
            "/tree_size",
            format!("must not exceed the current tree size {current}"),
        ));
    }
    if seq < 1 || seq as u64 > size {
        return Err(out_of_range(
            "/seq",
            format!("must be from 1 to the tree size {size}"),
        ));
    }
    proofs::inclusion(conn, seq, size)
}

/// `GET /audit/proofs/consistency`: from `first` to `second` leaves (default: the current
/// size).
fn consistency_in(
    conn: &mut DbConn,
    first: u64,
    second: Option<u64>,
) -> Result<Consistency, AppError> {
    let current = proofs::current_size(conn)?;
    let second = second.unwrap_or(current);
    if second > current {
        return Err(out_of_range(
            "/second",
            format!("must not exceed the current tree size {current}"),
        ));
    }
    if first == 0 || first > second {
        return Err(out_of_range(
            "/first",
            format!("must be from 1 to second ({second})"),
        ));
    }
    proofs::consistency(conn, first, second)
}

/// `GET /audit/tree-head`: the current head, signed with the hub's key (a new head is
/// stored when the log has grown).
pub async fn tree_head(hub: &Hub, runtime: &Arc<AuditRuntime>) -> Result<SignedTreeHead, AppError> {
    let now = hub.now();
    let runtime = runtime.clone();
    hub.write(move |c| tree_head_in(c, &runtime.signer, now))
        .await
}

/// `GET /audit/checkpoints?size=N`: the signed head stored for that size (404 if none).
pub async fn stored_tree_head(hub: &Hub, size: u64) -> Result<SignedTreeHead, AppError> {
    hub.snapshot(move |c| heads::stored(c, size)?.ok_or(AppError::NotFound))
        .await
}

/// `GET /audit/proofs/inclusion`, in one snapshot.
pub async fn inclusion(hub: &Hub, seq: i64, tree_size: Option<u64>) -> Result<Inclusion, AppError> {
    hub.snapshot(move |c| inclusion_in(c, seq, tree_size)).await
}

/// `GET /audit/proofs/consistency`, in one snapshot.
pub async fn consistency(
    hub: &Hub,
    first: u64,
    second: Option<u64>,
) -> Result<Consistency, AppError> {
    hub.snapshot(move |c| consistency_in(c, first, second))
        .await
}
