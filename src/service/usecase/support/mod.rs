//! Commissioned support, each action in the caller's transaction with its audit entry:
//! commissioners register providers and the services they fund (`catalogue`), practitioners
//! place referred people with services against capacity (`placements`), and commissioners
//! and partnership members read the coverage of an area and commissioners the spend of their
//! contracts (`reports`).
//!
//! Scoping: a service's contract and spend are its commissioner's alone; a placement is
//! referral data, seen in full by the referrer and the agency that placed the person, and by
//! anyone else only where the policy function permits the referral's disclosure to them for
//! `victim_support`.
pub mod catalogue;
pub mod placements;
pub mod reports;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::domain::support::cost::{placement_cost, Exact};
use crate::domain::support::input::{Placement, Service};
use crate::error::AppError;

pub const PROVIDER: &str = "support_provider";
pub const SERVICE: &str = "support_service";
pub const PLACEMENT: &str = "support_placement";

/// The exact cost of `p` with `s` up to its end, or up to `now` while it is open.
pub fn cost_to(
    p: &Placement,
    s: &Service,
    now: DateTime<Utc>,
    vat_rate: Decimal,
) -> Result<Exact, AppError> {
    let end = p.ended_at.unwrap_or(now).max(p.started_at);
    placement_cost(&s.unit_cost, p.started_at, end, vat_rate)
        .map_err(|_| AppError::internal("a placement's cost is too large to compute"))
}
