//! Queuing what partners are told: inside the caller's transaction, one outbox delivery per
//! active subscription of the recipient that wants the event, or, when it has none, one
//! e-mail to its contact address (no partner is left untold). Bodies are thin:
//! `{type, timestamp, data}` with ids, never the record.
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::domain::delivery::{Delivery, DeliveryState};
use crate::domain::ids::{AgencyId, DeliveryId};
use crate::domain::msht::EventType;
use crate::domain::subscription::Channel;
use crate::error::AppError;
use crate::store::{outbox, subscriptions, DbConn};

/// Queues `event` with `data` for `agency`; returns the deliveries written.
pub fn enqueue(
    conn: &mut DbConn,
    agency: AgencyId,
    event: EventType,
    data: Value,
    classification: &str,
    now: DateTime<Utc>,
) -> Result<Vec<DeliveryId>, AppError> {
    let payload = json!({
        "type": event.as_str(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    });
    let subs: Vec<_> = subscriptions::active_of(conn, agency)?
        .into_iter()
        .filter(|s| s.wants(event))
        .collect();
    let targets: Vec<(Option<_>, &str)> = if subs.is_empty() {
        vec![(None, "email")]
    } else {
        subs.iter()
            .map(|s| {
                let kind = match s.channel {
                    Channel::Webhook { .. } => "webhook",
                    Channel::Email { .. } => "email",
                };
                (Some(s.id), kind)
            })
            .collect()
    };
    let mut ids = Vec::with_capacity(targets.len());
    for (subscription_id, channel) in targets {
        let d = Delivery {
            id: DeliveryId::new(),
            agency_id: agency,
            subscription_id,
            channel: channel.to_owned(),
            event_type: event,
            payload: payload.clone(),
            classification: classification.to_owned(),
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            delivered_at: None,
        };
        outbox::insert(conn, &d)?;
        ids.push(d.id);
    }
    Ok(ids)
}
