//! Disclosures under one agreement, counted from the audit log: shared disclosures that name
//! the agreement, by recipient, purpose and month, and the disclosures withheld between its
//! parties for its purposes (a withheld decision names no agreement: the policy found none
//! it could rely on) by reason.
//!
//! The agreement is read as `GET /agreements/{id}` reads it (one the caller's agency is not
//! party to is a logged 404), the entries as the caller's audit scope allows, and the count
//! is logged as a consultation of the log with the caller's purpose.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{consultation, parse_rows, scope_of, Consult};
use crate::audit::{self, LoggedEntry};
use crate::domain::agreement::Agreement;
use crate::domain::audit::{Decision, Operation};
use crate::domain::audit_query::EventFilter;
use crate::domain::ids::{AgencyId, AgreementId};
use crate::domain::policy::AgreementView;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::audit as rows;
use crate::service::store::DbConn;
use crate::usecase::agreements;
use crate::usecase::hub::Hub;

/// Entries read per query while counting.
const COUNT_PAGE: i64 = 1000;

/// Shared and withheld disclosures of one month (`YYYY-MM`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthCount {
    pub shared: u64,
    pub withheld: u64,
}

/// The counts for one agreement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisclosureCounts {
    pub shared: u64,
    pub withheld: u64,
    pub by_recipient: BTreeMap<AgencyId, u64>,
    pub by_purpose: BTreeMap<String, u64>,
    pub by_month: BTreeMap<String, MonthCount>,
    pub withheld_by_reason: BTreeMap<String, u64>,
}

/// Counts `entries` (disclosure entries, in any order) for `agreement`.
pub fn tally(agreement: &Agreement, entries: &[LoggedEntry]) -> DisclosureCounts {
    let id = agreement.id.to_string();
    let parties: BTreeSet<AgencyId> = agreement
        .versions
        .iter()
        .flat_map(|v| v.terms.parties.iter().map(|p| p.agency_id))
        .collect();
    let purposes: BTreeSet<&str> = agreement
        .versions
        .iter()
        .flat_map(|v| v.terms.purposes.iter().map(|p| p.as_str()))
        .collect();
    let mut c = DisclosureCounts::default();
    for l in entries {
        let e = &l.entry;
        if e.operation != Operation::Disclosure {
            continue;
        }
        let month = e.occurred_at.format("%Y-%m").to_string();
        match e.decision {
            Some(Decision::Shared) if e.agreement.as_ref().is_some_and(|a| a.id == id) => {
                c.shared += 1;
                for r in &e.recipients {
                    *c.by_recipient.entry(*r).or_default() += 1;
                }
                if let Some(p) = &e.purpose {
                    *c.by_purpose.entry(p.clone()).or_default() += 1;
                }
                c.by_month.entry(month).or_default().shared += 1;
            }
            Some(Decision::Withheld) => {
                let between_parties = e.actor.agency_id.is_some_and(|a| parties.contains(&a))
                    && e.withheld_from.iter().any(|w| parties.contains(w));
                let for_its_purpose = e.purpose.as_deref().is_some_and(|p| purposes.contains(p));
                if !(between_parties && for_its_purpose && e.occurred_at >= agreement.created_at) {
                    continue;
                }
                c.withheld += 1;
                c.by_month.entry(month).or_default().withheld += 1;
                if e.reasons.is_empty() {
                    *c.withheld_by_reason
                        .entry("no reason recorded".to_owned())
                        .or_default() += 1;
                }
                for r in &e.reasons {
                    *c.withheld_by_reason.entry(r.clone()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    c
}

fn count_in(
    conn: &mut DbConn,
    p: &Principal,
    consult: &Consult,
    id: AgreementId,
    now: DateTime<Utc>,
) -> Result<(AgreementView, DisclosureCounts), AppError> {
    let view = agreements::get_in(conn, p, id, now)?;
    let scope = scope_of(p)?;
    let filter = EventFilter {
        operations: vec![Operation::Disclosure],
        ..EventFilter::default()
    };
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = parse_rows(rows::list(conn, &filter, scope, after, None, COUNT_PAGE)?)?;
        let full = page.len() as i64 == COUNT_PAGE;
        after = page.last().map_or(after, |l| l.seq);
        entries.extend(page);
        if !full {
            break;
        }
    }
    let counts = tally(&view.agreement, &entries);
    let mut log = consultation(
        p,
        consult,
        now,
        "agreement_disclosures",
        vec![
            format!("GET /console/agreements/{id}/disclosures"),
            format!(
                "counted {} shared and {} withheld disclosures",
                counts.shared, counts.withheld
            ),
        ],
    );
    log.record_id = Some(id.to_string());
    audit::append(conn, &log)?;
    Ok((view, counts))
}

/// The disclosures under agreement `id` the caller may see, counted; the agreement is
/// read as `GET /agreements/{id}` reads it, and the count is logged as a consultation.
pub async fn agreement_disclosures(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    id: AgreementId,
) -> Result<(AgreementView, DisclosureCounts), AppError> {
    let now = hub.now();
    hub.write(move |c| count_in(c, &p, &consult, id, now)).await
}
