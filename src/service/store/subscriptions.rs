//! Subscriptions, always read and changed within one agency's scope (the operator's list is
//! the only unscoped read).
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::subscriptions as s;
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::ids::{AgencyId, SubscriptionId};
use crate::domain::subscription::{Channel, Subscription};
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = s)]
#[diesel(treat_none_as_default_value = false)]
struct Row {
    id: String,
    agency_id: String,
    events: String,
    filters: String,
    channel_type: String,
    url: Option<String>,
    addresses: Option<String>,
    secret: Option<String>,
    active: bool,
    disabled_reason: Option<String>,
    created_at: NaiveDateTime,
    deleted_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_domain(self) -> Result<Subscription, AppError> {
        let channel = match (self.channel_type.as_str(), self.url, self.addresses) {
            ("webhook", Some(url), _) => Channel::Webhook { url },
            ("email", _, Some(a)) => Channel::Email {
                addresses: serde_json::from_str(&a)?,
            },
            _ => return Err(AppError::internal("subscription row has no channel")),
        };
        Ok(Subscription {
            id: self.id.parse().map_err(AppError::internal)?,
            agency_id: self.agency_id.parse().map_err(AppError::internal)?,
            events: serde_json::from_str(&self.events)?,
            filters: serde_json::from_str(&self.filters)?,
            channel,
            secret: self.secret,
            active: self.active,
            disabled_reason: self.disabled_reason,
            created_at: from_db(self.created_at),
        })
    }
}

pub fn insert(conn: &mut DbConn, sub: &Subscription) -> Result<(), AppError> {
    let (url, addresses) = match &sub.channel {
        Channel::Webhook { url } => (Some(url.clone()), None),
        Channel::Email { addresses } => (None, Some(serde_json::to_string(addresses)?)),
    };
    let row = Row {
        id: sub.id.to_string(),
        agency_id: sub.agency_id.to_string(),
        events: serde_json::to_string(&sub.events)?,
        filters: serde_json::to_string(&sub.filters)?,
        channel_type: sub.channel.kind().to_owned(),
        url,
        addresses,
        secret: sub.secret.clone(),
        active: sub.active,
        disabled_reason: sub.disabled_reason.clone(),
        created_at: to_db(sub.created_at),
        deleted_at: None,
    };
    diesel::insert_into(s::table).values(row).execute(conn)?;
    Ok(())
}

/// One live subscription of `agency`.
pub fn get(
    conn: &mut DbConn,
    agency: AgencyId,
    id: SubscriptionId,
) -> Result<Option<Subscription>, AppError> {
    let row: Option<Row> = s::table
        .find(id.to_string())
        .filter(s::agency_id.eq(agency.to_string()))
        .filter(s::deleted_at.is_null())
        .first(conn)
        .optional()?;
    row.map(Row::into_domain).transpose()
}

/// The live subscriptions among `ids` (active or not), for the delivery worker's claim.
pub fn live_by_ids(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Subscription>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = s::table
        .filter(s::id.eq_any(ids))
        .filter(s::deleted_at.is_null())
        .load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Webhook secrets still stored as plaintext (written before secrets were sealed): id and
/// secret.
pub fn plaintext_secrets(
    conn: &mut DbConn,
    sealed_prefix: &str,
) -> Result<Vec<(String, String)>, AppError> {
    let rows: Vec<(String, Option<String>)> = s::table
        .filter(s::secret.is_not_null())
        .filter(s::secret.not_like(format!("{sealed_prefix}%")))
        .select((s::id, s::secret))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, secret)| secret.map(|v| (id, v)))
        .collect())
}

/// Replaces a subscription's stored secret (with its sealed form).
pub fn set_secret(conn: &mut DbConn, id: &str, stored: &str) -> Result<(), AppError> {
    diesel::update(s::table.find(id))
        .set(s::secret.eq(Some(stored)))
        .execute(conn)?;
    Ok(())
}

/// A page of live subscriptions, of one agency or (operator) of all.
pub fn list(
    conn: &mut DbConn,
    agency: Option<AgencyId>,
    after: Option<SubscriptionId>,
    limit: i64,
) -> Result<Vec<Subscription>, AppError> {
    let mut q = s::table.filter(s::deleted_at.is_null()).into_boxed();
    if let Some(a) = agency {
        q = q.filter(s::agency_id.eq(a.to_string()));
    }
    if let Some(after) = after {
        q = q.filter(s::id.gt(after.to_string()));
    }
    let rows: Vec<Row> = q.order(s::id).limit(limit).load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Every live, active subscription of `agency`.
pub fn active_of(conn: &mut DbConn, agency: AgencyId) -> Result<Vec<Subscription>, AppError> {
    let rows: Vec<Row> = s::table
        .filter(s::agency_id.eq(agency.to_string()))
        .filter(s::deleted_at.is_null())
        .filter(s::active.eq(true))
        .order(s::id)
        .load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Every live, active subscription (for matching subscription filters during routing).
pub fn all_active(conn: &mut DbConn) -> Result<Vec<Subscription>, AppError> {
    let rows: Vec<Row> = s::table
        .filter(s::deleted_at.is_null())
        .filter(s::active.eq(true))
        .order(s::id)
        .load(conn)?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Soft-deletes a subscription of `agency`; false if there was none.
pub fn delete(
    conn: &mut DbConn,
    agency: AgencyId,
    id: SubscriptionId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, AppError> {
    let n = diesel::update(
        s::table
            .find(id.to_string())
            .filter(s::agency_id.eq(agency.to_string()))
            .filter(s::deleted_at.is_null()),
    )
    .set((s::deleted_at.eq(Some(to_db(now))), s::active.eq(false)))
    .execute(conn)?;
    Ok(n > 0)
}

/// Disables a subscription (its endpoint answered 410 Gone).
pub fn disable(conn: &mut DbConn, id: SubscriptionId, reason: &str) -> Result<(), AppError> {
    diesel::update(s::table.find(id.to_string()))
        .set((s::active.eq(false), s::disabled_reason.eq(Some(reason))))
        .execute(conn)?;
    // Routing plans read the active subscriptions: they are stale now.
    super::epoch::bump(conn)?;
    Ok(())
}
