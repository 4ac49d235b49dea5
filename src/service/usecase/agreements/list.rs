//! Listing agreements scoped to the caller, filtered by party, partnership, derived status
//! and what falls due for review or expiry.
use chrono::{DateTime, Utc};

use super::sees_all;
use crate::domain::agreement::{Agreement, Status};
use crate::domain::ids::{AgencyId, AgreementId, PartnershipId};
use crate::domain::policy::AgreementView;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agreements, DbConn};

/// Filters of `GET /agreements`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub party: Option<AgencyId>,
    pub partnership: Option<PartnershipId>,
    /// Matches when any version that still governs or may come to govern has this status.
    pub status: Option<Status>,
    /// Review date or expiry within this many days from now (an overdue review included).
    pub due_within_days: Option<i64>,
    pub after: Option<AgreementId>,
}

/// Whether `a` needs attention within `days`: a version not superseded, on an agreement not
/// terminated, whose review date falls on or before the horizon (an overdue review counts),
/// or whose expiry falls between now and the horizon.
pub fn due_within(a: &Agreement, now: DateTime<Utc>, days: i64) -> bool {
    if a.terminated(now).is_some() {
        return false;
    }
    let horizon = now + chrono::Duration::days(days);
    a.live_versions(now).iter().any(|v| {
        let expired = v.terms.expires_at <= now;
        !expired && (v.terms.review_date <= horizon.date_naive() || v.terms.expires_at <= horizon)
    })
}

/// The agreements the caller may read that match `f`, in id order, at most `limit`.
pub fn list(
    conn: &mut DbConn,
    actor: &Principal,
    f: &ListFilter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AgreementView>, AppError> {
    let scope = if sees_all(actor) {
        None
    } else {
        Some(actor.agency_id.ok_or(AppError::NotFound)?)
    };
    // An agency sees only its own agreements; a party filter narrows further.
    if let (Some(s), Some(p)) = (scope, f.party) {
        if s != p {
            let own = agreements::ids(conn, Some(s), f.partnership)?;
            let other = agreements::ids(conn, Some(p), f.partnership)?;
            let both: Vec<String> = own.into_iter().filter(|i| other.contains(i)).collect();
            return finish(conn, both, f, now, limit);
        }
    }
    let ids = agreements::ids(conn, scope.or(f.party), f.partnership)?;
    finish(conn, ids, f, now, limit)
}

fn finish(
    conn: &mut DbConn,
    ids: Vec<String>,
    f: &ListFilter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AgreementView>, AppError> {
    let after = f.after.map(|a| a.to_string());
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| i > a))
        .collect();
    let mut out = Vec::new();
    // Statuses are derived, so filtering happens here; load in chunks until the page fills.
    for chunk in ids.chunks(100) {
        for a in agreements::load(conn, chunk)? {
            let status_ok = f.status.is_none_or(|s| {
                let live = a.live_versions(now);
                if s == Status::Superseded {
                    a.versions.iter().any(|v| a.status(v, now) == s)
                } else {
                    live.iter().any(|v| a.status(v, now) == s)
                }
            });
            let due_ok = f.due_within_days.is_none_or(|d| due_within(&a, now, d));
            if status_ok && due_ok {
                out.push(a);
            }
            if out.len() as i64 >= limit {
                return agreements::with_terms(conn, out);
            }
        }
    }
    agreements::with_terms(conn, out)
}
