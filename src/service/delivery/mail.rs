//! E-mail through lettre: an SMTP relay at `mail.smtp_url` in production, or the local
//! mailbox `data_dir/mail/outbox.mbox` ([`super::mailbox`]) for the embedded default. A notification e-mail carries no personal data:
//! only that a notification of a given classification is waiting, its id and where to read it.
use lettre::message::header::ContentType;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::mailbox::Mailbox;
use crate::config::Settings;
use crate::error::AppError;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Mailbox(Arc<Mailbox>),
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Self, AppError> {
        let url = settings.mail.smtp_url.expose_secret();
        if url.trim().is_empty() {
            let dir = settings.data_path("mail");
            Ok(Mailer::Mailbox(Arc::new(Mailbox::open(&dir)?)))
        } else {
            let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| AppError::Config(format!("mail.smtp_url: {e}")))?
                .build();
            Ok(Mailer::Smtp(t))
        }
    }

    /// Sends `text` to `to` (`now` dates a local mailbox's entry).
    pub async fn send(
        &self,
        from: &str,
        to: &[String],
        subject: &str,
        text: String,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let mut builder = Message::builder()
            .from(from.parse().map_err(|e| format!("mail.from: {e}"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for addr in to {
            builder = builder.to(addr.parse().map_err(|e| format!("address: {e}"))?);
        }
        let message = builder.body(text).map_err(|e| format!("message: {e}"))?;
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Mailbox(m) => m.append(&message.formatted(), now),
        }
    }
}

/// The subject and text of a notification e-mail: classification, event and id only.
pub fn notification_text(
    event: &str,
    classification: &str,
    notification_id: &str,
    api: &str,
) -> (String, String) {
    let marking = classification.to_ascii_uppercase().replace('_', "-");
    let subject = format!("[{marking}] msht-hub: a notification is waiting");
    let text = format!(
        "A notification ({event}) marked {marking} is waiting for your agency in msht-hub.\n\n\
         Notification id: {notification_id}\n\
         Read it with your agency's sign-in: GET {api}/notifications/{notification_id}\n\n\
         This message deliberately contains no personal details.\n"
    );
    (subject, text)
}

/// The subject and text of an e-mail telling a referring agency that its referral moved on:
/// classification, event and the referral id only.
pub fn referral_update_text(
    event: &str,
    classification: &str,
    referral_id: &str,
    api: &str,
) -> (String, String) {
    let marking = classification.to_ascii_uppercase().replace('_', "-");
    let subject = format!("[{marking}] msht-hub: one of your referrals has an update");
    let text = format!(
        "There is an update ({event}) on a referral your agency made, marked {marking}.\n\n\
         Referral id: {referral_id}\n\
         Read it with your agency's sign-in: GET {api}/referrals/{referral_id}\n\n\
         This message deliberately contains no personal details.\n"
    );
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_text_is_marked_and_minimal() {
        let (s, t) = notification_text(
            "incident.notified",
            "official_sensitive",
            "n-1",
            "https://hub/api/v1",
        );
        assert!(s.starts_with("[OFFICIAL-SENSITIVE]"));
        assert!(t.contains("n-1"));
        assert!(t.contains("https://hub/api/v1/notifications/n-1"));
        let (s, t) = referral_update_text(
            "referral.status_changed",
            "official",
            "r-1",
            "https://hub/api/v1",
        );
        assert!(s.starts_with("[OFFICIAL]"));
        assert!(t.contains("https://hub/api/v1/referrals/r-1"));
    }
}
