//! msht-hub as a witness: one `add-checkpoint` request, checked and answered in one write
//! transaction (see `audit::witness`), and the cosignatures the hub's own checkpoints got.
use std::sync::Arc;

use crate::audit::witness::{self, Added, Witness};
use crate::audit::witnessing;
use crate::error::AppError;
use crate::usecase::hub::Hub;

/// `POST /witness/add-checkpoint`.
pub async fn add_checkpoint(
    hub: &Hub,
    witness: Arc<Witness>,
    body: String,
) -> Result<Added, AppError> {
    let now = hub.now();
    hub.write(move |c| witness::add_checkpoint(c, &witness, &body, now))
        .await
}

/// The witnesses' cosignature lines on the hub's checkpoint of `size` leaves.
pub async fn cosignatures(hub: &Hub, size: u64) -> Result<String, AppError> {
    hub.read(move |c| witnessing::cosignature_lines(c, size))
        .await
}
