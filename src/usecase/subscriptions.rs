//! Creating and removing subscriptions, and the operators' view of deliveries.
use super::refusal;
use chrono::{DateTime, Utc};

use crate::audit;
use crate::delivery::webhook;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::delivery::Delivery;
use crate::domain::ids::{AgencyId, DeliveryId, SubscriptionId};
use crate::domain::subscription::{Channel, NewSubscription, Subscription};
use crate::error::AppError;
use crate::store::{outbox, subscriptions, DbConn};

/// Stores a new subscription for `agency`; a webhook gets a fresh `whsec_` secret.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    new: NewSubscription,
    now: DateTime<Utc>,
) -> Result<Subscription, AppError> {
    let secret = match new.channel {
        Channel::Webhook { .. } => Some(webhook::new_secret()),
        Channel::Email { .. } => None,
    };
    let sub = Subscription {
        id: SubscriptionId::new(),
        agency_id: agency,
        events: new.events,
        filters: new.filters,
        channel: new.channel,
        secret,
        active: true,
        disabled_reason: None,
        created_at: now,
    };
    subscriptions::insert(conn, &sub)?;
    audit::append(
        conn,
        &NewEntry::new(Operation::Governance, actor.clone(), now)
            .record("subscription", sub.id)
            .data_items(vec!["events".into(), "filters".into(), "channel".into()])
            .justification(format!(
                "subscription created ({} channel)",
                sub.channel.kind()
            )),
    )?;
    Ok(sub)
}

/// Removes a subscription of `agency` and cancels what was still queued for it.
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    id: SubscriptionId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !subscriptions::delete(conn, agency, id, now)? {
        return Err(refusal::not_found(actor, "subscription", id, now));
    }
    let cancelled = outbox::cancel_for_subscription(conn, &id.to_string())?;
    audit::append(
        conn,
        &NewEntry::new(Operation::Governance, actor.clone(), now)
            .record("subscription", id)
            .justification(format!(
                "subscription removed; {cancelled} queued deliveries cancelled"
            )),
    )?;
    Ok(())
}

/// Puts a delivery back in the queue (operator, or the recipient agency's admin).
pub fn retry(
    conn: &mut DbConn,
    actor: &Actor,
    scope: Option<AgencyId>,
    id: DeliveryId,
    now: DateTime<Utc>,
) -> Result<Delivery, AppError> {
    let d = outbox::get(conn, scope, id)?
        .ok_or_else(|| refusal::not_found(actor, "delivery", id, now))?;
    if d.state == crate::domain::delivery::DeliveryState::Delivered {
        return Err(AppError::conflict(
            "this delivery has already been delivered",
        ));
    }
    outbox::requeue(conn, id, now)?;
    outbox::get(conn, scope, id)?.ok_or(AppError::NotFound)
}
