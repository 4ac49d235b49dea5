//! An agency's subscriptions: creating one (its webhook URL checked against the SSRF rules,
//! DNS included and within its timeout, before anything is stored; its secret stored sealed),
//! listing, reading and removing them. A caller
//! sees only their own agency's subscriptions; another agency's is a logged 404. The async
//! functions are the use cases, one write intent or one read each.
use super::hub::Hub;
use super::refusal;
use chrono::{DateTime, Utc};

use crate::audit;
use crate::delivery::secrets::{SecretBox, SEALED_PREFIX};
use crate::delivery::{ssrf, webhook};
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::ids::{AgencyId, SubscriptionId};
use crate::domain::limits::Limits;
use crate::domain::subscription::{
    check_mail_domains, Channel, NewSubscription, Subscription, SubscriptionInput,
};
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, outbox, subscriptions, DbConn};
use crate::usecase::idempotency::{self, Done, Once, Shape};

/// What the settings allow a webhook URL to be.
fn rules(hub: &Hub) -> ssrf::Rules {
    let delivery = &hub.settings().delivery;
    ssrf::Rules {
        allow_insecure_http: delivery.allow_insecure_http,
        allow_private_networks: delivery.allow_private_networks,
    }
}

/// Refuses a webhook URL whose host is not allowed or resolves to an address that is not.
async fn check_url(hub: &Hub, new: &NewSubscription) -> Result<(), AppError> {
    if let Channel::Webhook { url } = &new.channel {
        let refused = |e: ssrf::Refusal| AppError::validation("/channel/url", e.to_string());
        let parsed = ssrf::check_syntax(url, rules(hub)).map_err(refused)?;
        let timeout = std::time::Duration::from_millis(hub.settings().delivery.dns_timeout_ms);
        ssrf::resolve_checked(&parsed, rules(hub), timeout)
            .await
            .map_err(refused)?;
    }
    Ok(())
}

/// Stores a new subscription for `agency`, within its cap and (for e-mail) its own mail
/// domain; a webhook gets a fresh `whsec_` secret, stored sealed under the hub's key and
/// returned in the clear this once.
fn create_in(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    new: NewSubscription,
    secrets: &SecretBox,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Subscription, AppError> {
    let held = subscriptions::active_of(conn, agency)?.len();
    if held >= limits.subscriptions_per_agency {
        return Err(AppError::validation(
            "",
            format!(
                "the agency already holds {held} subscriptions, the most it may \
                 (limits.subscriptions_per_agency = {}); remove one first",
                limits.subscriptions_per_agency
            ),
        ));
    }
    let owner = agencies::get(conn, agency)?.ok_or(AppError::NotFound)?;
    check_mail_domains(&new.channel, &owner.contact_email)?;
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
    let stored = Subscription {
        secret: sub
            .secret
            .as_deref()
            .map(|plain| secrets.seal(&sub.id.to_string(), plain))
            .transpose()?,
        ..sub.clone()
    };
    subscriptions::insert(conn, &stored)?;
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
fn delete_in(
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

/// Creates a subscription for the caller's agency from the request `input`: validated, its
/// webhook URL's addresses checked, then stored.
pub async fn create(
    hub: &Hub,
    actor: Principal,
    input: SubscriptionInput,
    once: Once,
    shape: impl Shape<Subscription>,
) -> Result<Done<Subscription>, AppError> {
    let agency = actor.agency()?;
    let limits = hub.settings().limits;
    let new = input.parse(rules(hub), &limits)?;
    check_url(hub, &new).await?;
    let now = hub.now();
    let who = Actor::from(&actor);
    let secrets = hub.secrets().clone();
    let action = move |c: &mut DbConn| create_in(c, &who, agency, new, &secrets, &limits, now);
    idempotency::write(hub, once, action, shape).await
}

/// Seals every webhook secret still stored in the clear (written before secrets were
/// sealed); returns how many. Run once at start.
pub async fn seal_stored_secrets(hub: &Hub) -> Result<usize, AppError> {
    let secrets = hub.secrets().clone();
    hub.write(move |c| {
        let plain = subscriptions::plaintext_secrets(c, SEALED_PREFIX)?;
        for (id, secret) in &plain {
            subscriptions::set_secret(c, id, &secrets.seal(id, secret)?)?;
        }
        Ok(plain.len())
    })
    .await
}

/// The caller's agency's subscriptions after `after`, in id order, at most `limit`.
pub async fn find(
    hub: &Hub,
    actor: Principal,
    after: Option<SubscriptionId>,
    limit: i64,
) -> Result<Vec<Subscription>, AppError> {
    let agency = actor.agency()?;
    hub.read(move |c| subscriptions::list(c, Some(agency), after, limit))
        .await
}

/// One of the caller's agency's subscriptions.
pub async fn get(
    hub: &Hub,
    actor: Principal,
    id: SubscriptionId,
) -> Result<Subscription, AppError> {
    let agency = actor.agency()?;
    let now = hub.now();
    hub.read(move |c| {
        subscriptions::get(c, agency, id)?
            .ok_or_else(|| refusal::not_found(&Actor::from(&actor), "subscription", id, now))
    })
    .await
}

/// Removes one of the caller's agency's subscriptions.
pub async fn delete(hub: &Hub, actor: Principal, id: SubscriptionId) -> Result<(), AppError> {
    let agency = actor.agency()?;
    let now = hub.now();
    hub.write(move |c| delete_in(c, &Actor::from(&actor), agency, id, now))
        .await
}
