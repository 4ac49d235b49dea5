//! One attempt at one delivery: the signed webhook through the worker's shared client (the
//! URL's rules checked again; a host name is checked by the client's resolver on every new
//! connection) or the e-mail, and what the answer means for the retry policy.
use std::time::Duration;

use super::Worker;
use crate::delivery::mail::{notification_text, referral_update_text};
use crate::delivery::secrets::SecretBox;
use crate::delivery::{ssrf, webhook};
use crate::domain::delivery::{Attempt, Delivery};
use crate::service::store::outbox::Target;

/// Bytes of a receiver's answer read (and dropped) so its connection can be reused.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

fn failed(error: String) -> Attempt {
    Attempt::Failed {
        status: None,
        error,
        retry_after: None,
    }
}

/// An error and its causes, without the URL (a refusal names no address either).
fn describe(e: reqwest::Error) -> String {
    if let Some(r) = ssrf::refusal_in(&e) {
        return format!("url refused: {r}");
    }
    let mut causes = String::new();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        causes.push_str(": ");
        causes.push_str(&c.to_string());
        cause = c.source();
    }
    format!("request failed: {}{causes}", e.without_url())
}

impl Worker {
    /// Sends one claimed delivery to its target.
    pub(super) async fn send(&self, d: &Delivery, target: &Target) -> Attempt {
        match target {
            Target::Webhook { url, secret } => self.post(d, url, secret.as_deref()).await,
            Target::Email { to } => self.mail(d, to).await,
            Target::Gone => failed("nothing to deliver to".into()),
        }
    }

    /// The key of a stored (sealed) webhook secret.
    fn key_of(&self, d: &Delivery, stored: Option<&str>) -> Result<Vec<u8>, String> {
        let Some(stored) = stored else {
            return Err("the subscription has no secret".into());
        };
        let secret = if SecretBox::is_sealed(stored) {
            let sub = d.subscription_id.map(|s| s.to_string()).unwrap_or_default();
            self.secrets
                .open(&sub, stored)
                .map_err(|_| "the webhook secret does not open with this hub's key".to_owned())?
        } else {
            stored.to_owned()
        };
        webhook::secret_key(&secret).ok_or_else(|| "the webhook secret is malformed".to_owned())
    }

    async fn post(&self, d: &Delivery, raw_url: &str, secret: Option<&str>) -> Attempt {
        let url = match ssrf::check_syntax(raw_url, self.rules) {
            Ok(u) => u,
            Err(e) => return failed(format!("url refused: {e}")),
        };
        if let Err(e) = ssrf::check_literal(&url, self.rules) {
            return failed(format!("url refused: {e}"));
        }
        let key = match self.key_of(d, secret) {
            Ok(k) => k,
            Err(e) => return failed(e),
        };
        let body = match serde_json::to_vec(&d.payload) {
            Ok(b) => b,
            Err(e) => return failed(format!("payload: {e}")),
        };
        let id = d.id.to_string();
        let ts = self.clock.now().timestamp();
        let signature = webhook::sign(&key, &id, ts, &body);
        let resp = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut r = match resp {
            Err(e) => return failed(describe(e)),
            Ok(r) => r,
        };
        let status = r.status();
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        // Read the answer (bounded) so the connection goes back to the pool.
        let mut read = 0usize;
        while let Ok(Some(chunk)) = r.chunk().await {
            read = read.saturating_add(chunk.len());
            if read > MAX_ANSWER_BYTES {
                break;
            }
        }
        if status.is_success() {
            Attempt::Delivered {
                status: Some(status.as_u16()),
            }
        } else if status.as_u16() == 410 {
            Attempt::Gone
        } else {
            Attempt::Failed {
                status: Some(status.as_u16()),
                error: format!("endpoint answered {status}"),
                retry_after,
            }
        }
    }

    async fn mail(&self, d: &Delivery, to: &[String]) -> Attempt {
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
        match self
            .mailer
            .send(
                &self.settings.mail.from,
                to,
                &subject,
                text,
                self.clock.now(),
            )
            .await
        {
            Ok(()) => Attempt::Delivered { status: None },
            Err(e) => failed(format!("mail: {e}")),
        }
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
