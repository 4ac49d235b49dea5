//! IG console sessions as the hub keeps them: who signed in, through which agency's issuer,
//! with which hub roles, and when a session stops counting (sign-out, revocation, its idle
//! or absolute timeout). Also the purpose an officer gives for a session's audit
//! consultations, and the console path a sign-in returns to.
use chrono::{DateTime, Duration, Utc};

use super::audit_query::AuditPurpose;
use super::ids::AgencyId;
use super::role::RoleSet;

/// A sign-in under way: what the callback must find again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    pub agency_id: AgencyId,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The console path to return to.
    pub next: String,
    pub created_at: DateTime<Utc>,
}

/// A console session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub id: uuid::Uuid,
    pub agency_id: AgencyId,
    pub issuer: String,
    pub subject: String,
    pub roles: RoleSet,
    pub display_name: String,
    pub csrf_token: String,
    pub purpose: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Why a session no longer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Earlier,
    Idle,
    Absolute,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Earlier => "ended",
            Ended::Idle => "idle_timeout",
            Ended::Absolute => "absolute_timeout",
        }
    }
}

impl StoredSession {
    /// Whether the session still counts at `now`, and if not, why.
    pub fn ended(&self, now: DateTime<Utc>, t: Timeouts) -> Option<Ended> {
        if self.ended_at.is_some() {
            Some(Ended::Earlier)
        } else if now >= self.created_at + t.absolute {
            Some(Ended::Absolute)
        } else if now >= self.last_seen_at + t.idle {
            Some(Ended::Idle)
        } else {
            None
        }
    }
}

/// The purpose of a session's audit consultations: one of the uses of the log DPA 2018
/// s.62(4) allows, by its wire name.
pub fn parse_purpose(raw: &str) -> Result<AuditPurpose, String> {
    raw.trim()
        .parse::<AuditPurpose>()
        .map_err(|_| "Choose why you are consulting the audit log".to_owned())
}

/// The console path a sign-in returns to: `next` when it is a path under `/console` (no
/// scheme, no host, no `//`, no dot segments, no backslash, no control characters), else
/// `/console`.
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/console";
    let Some(n) = next else {
        return HOME.to_owned();
    };
    let under_console = n == HOME || n.starts_with("/console/") || n.starts_with("/console?");
    let path = n.split(['?', '#']).next().unwrap_or_default();
    let dots = path
        .to_ascii_lowercase()
        .replace("%2e", ".")
        .split('/')
        .any(|seg| seg == "." || seg == "..");
    let plain = !dots
        && !n.contains("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        && n.len() <= 1000;
    if under_console && plain && !n.starts_with("/console/callback") {
        n.to_owned()
    } else {
        HOME.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-06-01T{s}Z").parse().unwrap()
    }

    fn session() -> StoredSession {
        StoredSession {
            id: uuid::Uuid::nil(),
            agency_id: "00000000-0000-0000-0000-000000000001".parse().unwrap(),
            issuer: "https://idp.example.org".into(),
            subject: "s".into(),
            roles: RoleSet::empty(),
            display_name: "S".into(),
            csrf_token: "c".into(),
            purpose: None,
            created_at: t("09:00:00"),
            last_seen_at: t("09:00:00"),
            ended_at: None,
        }
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let to = Timeouts {
            idle: Duration::minutes(30),
            absolute: Duration::hours(8),
        };
        let mut s = session();
        assert_eq!(s.ended(t("09:29:59"), to), None);
        assert_eq!(s.ended(t("09:30:00"), to), Some(Ended::Idle));
        s.last_seen_at = t("16:50:00");
        assert_eq!(s.ended(t("16:59:00"), to), None);
        assert_eq!(s.ended(t("17:00:00"), to), Some(Ended::Absolute));
        s.ended_at = Some(t("10:00:00"));
        assert_eq!(s.ended(t("10:00:01"), to), Some(Ended::Earlier));
    }

    #[test]
    fn next_is_kept_only_for_console_paths() {
        assert_eq!(
            safe_next(Some("/console/audit?op=a")),
            "/console/audit?op=a"
        );
        assert_eq!(safe_next(Some("/console")), "/console");
        for bad in [
            "https://evil.example/console",
            "//evil.example/console",
            "/console/../api",
            "/console/%2E%2e/api",
            "/consolex",
            "/console/\\evil",
            "/console//evil",
            "/api/v1/me",
            "/console/callback?code=x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(safe_next(None), "/console");
    }

    #[test]
    fn purposes_are_the_uses_the_act_allows() {
        assert_eq!(
            parse_purpose(" verify_lawfulness ").unwrap(),
            AuditPurpose::VerifyLawfulness
        );
        assert!(parse_purpose("").is_err());
        assert!(parse_purpose("curiosity").is_err());
    }
}
