//! Logging refused requests without letting a flood of them flood the log.
//!
//! Every authentication failure and authorization denial becomes an `access_denied` entry
//! (never with token content: the reason is reduced to a fixed category). So that a stream of
//! bad tokens can neither fill the log nor queue every request behind the audit append, each
//! minute (by the hub's clock) logs at most `per_source` refusals per source (client address
//! for bad tokens, issuer and subject for denials) and `total` in all; the rest are counted,
//! and the first refusal or tick after the minute writes one summary entry with the count.
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::domain::audit::{Actor, Decision, NewEntry, Operation};

/// Sources remembered per window before all further ones share one budget.
const MAX_SOURCES: usize = 4096;

/// The per-minute budget of individually logged refusals.
#[derive(Debug)]
pub struct DenialBudget {
    per_source: u32,
    total: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Option<DateTime<Utc>>,
    logged: u32,
    by_source: HashMap<String, u32>,
    suppressed: u64,
    suppressed_sources: HashSet<String>,
}

/// What to write for one refusal.
#[derive(Debug, Default)]
pub struct Admission {
    /// The summary of an earlier window that had suppressed refusals.
    pub summary: Option<NewEntry>,
    /// Whether this refusal is logged on its own.
    pub log_this: bool,
}

impl DenialBudget {
    pub fn new(per_source: u32, total: u32) -> Self {
        DenialBudget {
            per_source,
            total,
            window: Mutex::new(Window {
                start: None,
                logged: 0,
                by_source: HashMap::new(),
                suppressed: 0,
                suppressed_sources: HashSet::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides about one refusal from `source` at `now`.
    pub fn admit(&self, source: &str, now: DateTime<Utc>) -> Admission {
        let mut w = self.lock();
        let summary = self.roll(&mut w, now);
        let known = w.by_source.len() < MAX_SOURCES || w.by_source.contains_key(source);
        let key = if known { source } else { "(other sources)" };
        let count = w.by_source.get(key).copied().unwrap_or(0);
        let log_this = count < self.per_source && w.logged < self.total;
        if log_this {
            w.logged += 1;
            w.by_source.insert(key.to_owned(), count + 1);
        } else {
            w.suppressed += 1;
            if w.suppressed_sources.len() < MAX_SOURCES {
                w.suppressed_sources.insert(key.to_owned());
            }
        }
        Admission { summary, log_this }
    }

    /// The summary of a finished window, if it suppressed anything (for the periodic tick).
    pub fn flush(&self, now: DateTime<Utc>) -> Option<NewEntry> {
        let mut w = self.lock();
        match w.start {
            Some(start) if now >= start + Duration::minutes(1) => self.roll(&mut w, now),
            _ => None,
        }
    }

    /// Starts a new window when the current one is over; returns its summary.
    fn roll(&self, w: &mut Window, now: DateTime<Utc>) -> Option<NewEntry> {
        let start = match w.start {
            Some(s) if now < s + Duration::minutes(1) && now >= s => return None,
            Some(s) => s,
            None => {
                w.start = Some(now);
                return None;
            }
        };
        let summary = (w.suppressed > 0).then(|| {
            NewEntry::new(Operation::AccessDenied, Actor::system(), now)
                .record("refused_requests", start.to_rfc3339())
                .decision(
                    Decision::Denied,
                    vec![format!(
                        "{} refused request(s) from {} source(s) between {} and {} were \
                             not logged one by one (limit {} per source and {} in all per minute)",
                        w.suppressed,
                        w.suppressed_sources.len(),
                        start.to_rfc3339(),
                        (start + Duration::minutes(1)).to_rfc3339(),
                        self.per_source,
                        self.total
                    )],
                )
        });
        w.start = Some(now);
        w.logged = 0;
        w.by_source.clear();
        w.suppressed = 0;
        w.suppressed_sources.clear();
        summary
    }
}

/// A fixed category for an authentication failure reason, so no token content (header
/// values, key ids, claim values) reaches the log.
pub fn failure_category(reason: &str) -> &'static str {
    const CATEGORIES: [(&str, &str); 14] = [
        ("no bearer token", "no_token"),
        ("token missing", "token_missing_or_too_long"),
        ("malformed", "malformed_token"),
        ("algorithm", "algorithm_not_allowed"),
        ("no issuer", "no_issuer"),
        ("issuer not registered", "issuer_not_registered"),
        ("issuer registry", "registry_unavailable"),
        ("typ", "token_type_not_accepted"),
        ("expired", "expired"),
        ("not yet valid", "not_yet_valid"),
        ("issued in the future", "issued_in_the_future"),
        ("sub missing", "subject_missing"),
        ("rejected", "signature_or_claims_rejected"),
        ("nbf", "invalid_claims"),
    ];
    CATEGORIES
        .iter()
        .find(|(prefix, _)| reason.starts_with(prefix))
        .map(|(_, c)| *c)
        .unwrap_or("key_or_claims_rejected")
}

/// The entry for a refused bearer token. The actor is not known: the issuer is recorded only
/// when it is a registered one, and never the subject or anything else from the token.
pub fn authentication_failure(
    request: &str,
    reason: &str,
    claimed_issuer: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> NewEntry {
    let actor = Actor {
        agency_id: None,
        issuer: claimed_issuer
            .map(str::to_owned)
            .unwrap_or_else(|| "urn:msht-hub:unauthenticated".to_owned()),
        subject: "unauthenticated".to_owned(),
        roles: Vec::new(),
    };
    let mut reasons = vec![format!(
        "authentication failed: {}",
        failure_category(reason)
    )];
    if claimed_issuer.is_some() {
        reasons.push("issuer as claimed by the refused token (unverified)".to_owned());
    }
    reasons.push(format!("client {source}"));
    NewEntry::new(Operation::AccessDenied, actor, now)
        .record("api_request", request)
        .decision(Decision::Denied, reasons)
}

/// The entry for a refused IG console sign-in: the refusal's fixed category, the issuer when
/// the sign-in named a registered one, and the client address; nothing from the issuer's
/// answer (no code, no token, no subject of an unverified token).
pub fn sign_in_refusal(
    request: &str,
    category: &str,
    issuer: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> NewEntry {
    let actor = Actor {
        agency_id: None,
        issuer: issuer
            .map(str::to_owned)
            .unwrap_or_else(|| "urn:msht-hub:unauthenticated".to_owned()),
        subject: "unauthenticated".to_owned(),
        roles: Vec::new(),
    };
    NewEntry::new(Operation::AccessDenied, actor, now)
        .record("console_sign_in", request)
        .decision(
            Decision::Denied,
            vec![
                format!("console sign-in refused: {category}"),
                format!("client {source}"),
            ],
        )
}

/// The entry for a caller refused because it lacks a role.
pub fn authorization_denial(
    request: &str,
    actor: Actor,
    needed: &str,
    now: DateTime<Utc>,
) -> NewEntry {
    NewEntry::new(Operation::AccessDenied, actor, now)
        .record("api_request", request)
        .decision(
            Decision::Denied,
            vec![format!("this action needs {needed}")],
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-06-01T09:{s}Z").parse().unwrap()
    }

    #[test]
    fn a_flood_is_logged_up_to_the_budget_then_summarised() {
        let b = DenialBudget::new(3, 5);
        let logged = (0..10)
            .filter(|_| b.admit("10.0.0.1", t("00:01")).log_this)
            .count();
        assert_eq!(logged, 3, "per source");
        assert!(b.admit("10.0.0.2", t("00:02")).log_this);
        assert!(b.admit("10.0.0.3", t("00:03")).log_this);
        assert!(!b.admit("10.0.0.4", t("00:04")).log_this, "in all");
        assert!(b.flush(t("00:30")).is_none(), "window not over");
        let next = b.admit("10.0.0.1", t("01:30"));
        assert!(next.log_this);
        let summary = next.summary.unwrap();
        assert_eq!(summary.operation, Operation::AccessDenied);
        assert!(
            summary.reasons[0].starts_with("8 refused request(s) from 2 source(s)"),
            "{:?}",
            summary.reasons
        );
        assert!(b.flush(t("05:00")).is_none(), "nothing suppressed since");
    }

    #[test]
    fn reasons_become_fixed_categories() {
        assert_eq!(
            failure_category("typ Some(\"evil\") not accepted"),
            "token_type_not_accepted"
        );
        assert_eq!(failure_category("expired"), "expired");
        assert_eq!(
            failure_category("unknown kid abc"),
            "key_or_claims_rejected"
        );
        let e = authentication_failure(
            "GET /api/v1/me",
            "rejected: InvalidSignature",
            None,
            "127.0.0.1",
            t("00:00"),
        );
        assert_eq!(e.actor.subject, "unauthenticated");
        assert_eq!(
            e.reasons[0],
            "authentication failed: signature_or_claims_rejected"
        );
    }
}
