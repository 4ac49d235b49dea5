//! Delivery of notifications to partners: Standard Webhooks signing, the SSRF rules for
//! webhook URLs, webhook secrets sealed at rest, and (with the outbox worker) retries with
//! backoff.
pub mod mail;
pub mod mailbox;
pub mod secrets;
pub mod ssrf;
pub mod webhook;
pub mod worker;
