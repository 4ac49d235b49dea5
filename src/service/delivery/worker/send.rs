//! One attempt at one delivery: the signed webhook (SSRF rules checked again, the request
//! sent to the checked addresses) or the e-mail, and what the answer means for the retry
//! policy.
use std::time::Duration;

use super::Worker;
use crate::delivery::mail::{notification_text, referral_update_text};
use crate::delivery::{ssrf, webhook};
use crate::domain::delivery::{Attempt, Delivery};
use crate::error::AppError;
use crate::service::store::{agencies, subscriptions};

impl Worker {
    /// Sends one webhook; `None` when its subscription no longer exists or is disabled.
    pub(super) async fn send_webhook(&self, d: &Delivery) -> Result<Option<Attempt>, AppError> {
        let Some(sub_id) = d.subscription_id else {
            return Ok(None);
        };
        let sub = self
            .db
            .read(move |c| subscriptions::get_for_delivery(c, sub_id))
            .await?;
        let Some(sub) = sub.filter(|s| s.active) else {
            return Ok(None);
        };
        let crate::domain::subscription::Channel::Webhook { url } = &sub.channel else {
            return Ok(None);
        };
        let key = sub
            .secret
            .as_deref()
            .and_then(webhook::secret_key)
            .unwrap_or_default();
        Ok(Some(self.post(url, &key, d).await))
    }

    async fn post(&self, raw_url: &str, key: &[u8], d: &Delivery) -> Attempt {
        let failed = |error: String| Attempt::Failed {
            status: None,
            error,
            retry_after: None,
        };
        let url = match ssrf::check_syntax(raw_url, self.rules) {
            Ok(u) => u,
            Err(e) => return failed(format!("url refused: {e}")),
        };
        // Checked again now (DNS can change), and the request goes to the checked addresses.
        let addrs = match ssrf::resolve_checked(&url, self.rules).await {
            Ok(a) => a,
            Err(e) => return failed(format!("url refused: {e}")),
        };
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(
                self.settings.delivery.request_timeout_secs,
            ));
        if let Some(host) = url
            .host_str()
            .filter(|h| h.parse::<std::net::IpAddr>().is_err())
        {
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        let client = match builder.build() {
            Ok(c) => c,
            Err(e) => return failed(format!("client: {e}")),
        };
        let body = match serde_json::to_vec(&d.payload) {
            Ok(b) => b,
            Err(e) => return failed(format!("payload: {e}")),
        };
        let id = d.id.to_string();
        let ts = self.clock.now().timestamp();
        let signature = webhook::sign(key, &id, ts, &body);
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match resp {
            Err(e) => failed(format!("request failed: {}", e.without_url())),
            Ok(r) if r.status().is_success() => Attempt::Delivered {
                status: Some(r.status().as_u16()),
            },
            Ok(r) if r.status().as_u16() == 410 => Attempt::Gone,
            Ok(r) => {
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, self.clock.now()));
                Attempt::Failed {
                    status: Some(r.status().as_u16()),
                    error: format!("endpoint answered {}", r.status()),
                    retry_after,
                }
            }
        }
    }

    pub(super) async fn send_email(&self, d: &Delivery) -> Result<Option<Attempt>, AppError> {
        let to: Vec<String> = match d.subscription_id {
            Some(sub_id) => {
                let sub = self
                    .db
                    .read(move |c| subscriptions::get_for_delivery(c, sub_id))
                    .await?;
                match sub.filter(|s| s.active).map(|s| s.channel) {
                    Some(crate::domain::subscription::Channel::Email { addresses }) => addresses,
                    _ => return Ok(None),
                }
            }
            None => {
                let agency = d.agency_id;
                match self.db.read(move |c| agencies::get(c, agency)).await? {
                    Some(a) => vec![a.contact_email],
                    None => return Ok(None),
                }
            }
        };
        let data = d.payload.get("data");
        let id_of = |k: &str| {
            data.and_then(|v| v.get(k))
                .and_then(serde_json::Value::as_str)
        };
        let (subject, text) = match (id_of("notification_id"), id_of("referral_id")) {
            // A referral's own agency is told of its referral: it reads the referral itself.
            (None, Some(referral)) => referral_update_text(
                d.event_type.as_str(),
                &d.classification,
                referral,
                &self.api_url,
            ),
            (notification, _) => notification_text(
                d.event_type.as_str(),
                &d.classification,
                notification.unwrap_or("-"),
                &self.api_url,
            ),
        };
        Ok(Some(
            match self
                .mailer
                .send(&self.settings.mail.from, &to, &subject, text)
                .await
            {
                Ok(()) => Attempt::Delivered { status: None },
                Err(e) => Attempt::Failed {
                    status: None,
                    error: format!("mail: {e}"),
                    retry_after: None,
                },
            },
        ))
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
