//! Queuing what partners are told outside a planned routing (lifecycle events, escalations,
//! consent withdrawal): the recipient's active subscriptions are read inside the caller's
//! transaction, then `usecase::routing::Told` writes one outbox delivery per subscription
//! that wants the event, or one e-mail to its contact address (no partner is left untold).
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::ids::{AgencyId, DeliveryId};
use crate::domain::msht::EventType;
use crate::error::AppError;
use crate::service::store::{subscriptions, DbConn};
use crate::usecase::routing::Told;

/// Queues `event` with `data` for `agency`; returns the deliveries written.
pub fn enqueue(
    conn: &mut DbConn,
    agency: AgencyId,
    event: EventType,
    data: Value,
    classification: &str,
    now: DateTime<Utc>,
) -> Result<Vec<DeliveryId>, AppError> {
    let subs = subscriptions::active_of(conn, agency)?;
    let mut told = Told::default();
    told.queue(agency, event, data, classification, &subs, now);
    told.write(conn)
}
