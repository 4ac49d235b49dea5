//! Subscription and delivery response bodies.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::delivery::Delivery;
use crate::domain::subscription::{Channel, Subscription};

#[derive(Debug, Serialize)]
pub struct SubscriptionOut {
    pub id: String,
    pub agency_id: String,
    pub events: Vec<&'static str>,
    pub filters: Value,
    pub channel: Value,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Only in the response that creates a webhook subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl SubscriptionOut {
    pub fn new(s: &Subscription, with_secret: bool) -> Self {
        SubscriptionOut {
            id: s.id.to_string(),
            agency_id: s.agency_id.to_string(),
            events: s.events.iter().map(|e| e.as_str()).collect(),
            filters: serde_json::to_value(&s.filters).unwrap_or(Value::Null),
            channel: match &s.channel {
                Channel::Webhook { url } => json!({"type": "webhook", "url": url}),
                Channel::Email { addresses } => json!({"type": "email", "addresses": addresses}),
            },
            active: s.active,
            disabled_reason: s.disabled_reason.clone(),
            created_at: s.created_at,
            secret: if with_secret { s.secret.clone() } else { None },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DeliveryOut {
    pub id: String,
    pub agency_id: String,
    pub subscription_id: Option<String>,
    pub channel: String,
    pub event_type: &'static str,
    pub state: &'static str,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Delivery> for DeliveryOut {
    fn from(d: &Delivery) -> Self {
        DeliveryOut {
            id: d.id.to_string(),
            agency_id: d.agency_id.to_string(),
            subscription_id: d.subscription_id.map(|s| s.to_string()),
            channel: d.channel.clone(),
            event_type: d.event_type.as_str(),
            state: d.state.as_str(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at,
        }
    }
}
