//! The coverage of an area (`GET /reports/support-coverage`) and the spend of a
//! commissioner's contracts (`GET /reports/support-spend`). Costs are summed exactly and
//! rounded to pence once, when shown.
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::cost_to;
use crate::audit;
use crate::domain::agency::GssCode;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::ids::AgencyId;
use crate::domain::partnership::MemberStatus;
use crate::domain::support::capacity::limit;
use crate::domain::support::cost::Exact;
use crate::domain::support::coverage::{report, Capacity, Person, Report, ServiceLoad};
use crate::domain::support::input::Service;
use crate::domain::support::money::Amount;
use crate::domain::support::{stage_of, Stage};
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{partnerships, support, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::refusal;

/// Whether `agency` is a member of a partnership covering `area`.
fn member_for(c: &mut DbConn, agency: AgencyId, area: &GssCode) -> Result<bool, AppError> {
    let ps = partnerships::list(c, None, Some(agency), 1000)?;
    Ok(ps.iter().any(|p| {
        p.areas.contains(area)
            && p.members
                .iter()
                .any(|m| m.agency_id == agency && m.status == MemberStatus::Member)
    }))
}

/// `GET /reports/support-coverage?area=`: for members of a partnership covering the area and
/// commissioners of a service serving it; anyone else gets a logged 403.
pub async fn coverage(hub: &Hub, p: Principal, area: GssCode) -> Result<Report, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let rule = hub.settings().reports.rule();
    let (out, entry) = hub
        .snapshot(move |c| {
            let actor = Actor::from(&p);
            let services = support::serving(c, &area)?;
            let commissions = services.iter().any(|s| s.contract.commissioner == agency);
            if !commissions && !member_for(c, agency, &area)? {
                return Err(refusal::forbidden(
                    &actor,
                    "support_coverage",
                    &area,
                    now,
                    "the coverage of an area is for the members of a partnership covering it \
                     and the commissioners of its services",
                ));
            }
            let mut loads = Vec::new();
            for s in services.iter().filter(|s| s.contract.in_force(now)) {
                let occupied = support::occupied(c, s.id, now)?;
                let cap = limit(s.places, &support::exceptions(c, s.id)?, now);
                loads.push(ServiceLoad {
                    id: s.id,
                    name: s.name.clone(),
                    kind: s.kind,
                    capacity: Capacity {
                        places: s.places,
                        unit: s.capacity_unit,
                    },
                    occupied,
                    available: cap.saturating_sub(occupied),
                    stages: s.stages.clone(),
                });
            }
            let referrals = support::open_referrals_in(c, &area)?;
            let ids: Vec<String> = referrals.iter().map(|r| r.id.clone()).collect();
            let received = support::received_of(c, agency, &ids)?;
            let placements = support::placements_in(c, &area)?;
            let people: Vec<Person> = referrals
                .iter()
                .filter_map(|r| {
                    let stage = stage_of(&r.lifecycle)?;
                    let mine: Vec<_> = placements
                        .iter()
                        .filter(|x| x.referral_id == r.id)
                        .collect();
                    let supported = mine.iter().any(|x| x.open_at(now));
                    let since = mine
                        .iter()
                        .filter_map(|x| x.ended_at)
                        .filter(|e| *e <= now)
                        .max()
                        .unwrap_or(r.created_at)
                        .max(r.created_at);
                    Some(Person {
                        referral_id: r.id.clone(),
                        stage,
                        held: r.referrer == agency || received.contains(&r.id),
                        supported,
                        since,
                    })
                })
                .collect();
            let out = report(area.clone(), now, rule, &loads, &people);
            let listed: usize = out
                .stages
                .iter()
                .map(|s| s.without_support.people.len())
                .sum();
            let entry = NewEntry::new(Operation::Consultation, actor, now)
                .record("support_coverage", &area)
                .purpose("victim_support")
                .justification(format!(
                    "support coverage of {area}: {} service(s), {} uncovered stage(s), {listed} \
                     referral(s) held by the reader listed, others counted under the \
                     small-number rule",
                    loads.len(),
                    out.uncovered_stages.len()
                ));
            Ok((out, entry))
        })
        .await?;
    hub.write(move |c| audit::append(c, &entry).map(|_| ()))
        .await?;
    Ok(out)
}

/// One contract with its value and spend.
#[derive(Debug, Clone)]
pub struct ContractSpend {
    pub id: Uuid,
    pub funding_stream: String,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub value: Amount,
    pub spend: Exact,
    pub remaining: Exact,
    pub services: Vec<Uuid>,
}

/// One service's spend.
#[derive(Debug, Clone)]
pub struct ServiceSpend {
    pub id: Uuid,
    pub name: String,
    pub contract_id: Uuid,
    pub placements: usize,
    pub occupied: u32,
    pub spend: Exact,
}

/// The spend of a commissioner's contracts, exact, as of `as_of`.
#[derive(Debug, Clone)]
pub struct Spend {
    pub commissioner: AgencyId,
    pub as_of: DateTime<Utc>,
    pub total: Exact,
    pub value: Exact,
    pub contracts: Vec<ContractSpend>,
    pub services: Vec<ServiceSpend>,
    pub areas: BTreeMap<GssCode, Exact>,
    pub stages: BTreeMap<Stage, Exact>,
}

fn add(map_value: &mut Exact, c: Exact) -> Result<(), AppError> {
    *map_value = map_value
        .checked_add(c)
        .map_err(|_| AppError::internal("spend too large to compute"))?;
    Ok(())
}

/// `GET /reports/support-spend`: the caller's agency's contracts, with spend per service,
/// contract, area and stage (open placements count up to now).
pub async fn spend(hub: &Hub, p: Principal) -> Result<Spend, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let vat = hub.settings().support.vat_rate();
    let (out, entry) = hub
        .snapshot(move |c| {
            let services: Vec<Service> = support::commissioned_by(c, agency)?;
            let ids: Vec<Uuid> = services.iter().map(|s| s.id).collect();
            let placements = support::placements_with(c, &ids)?;
            let mut out = Spend {
                commissioner: agency,
                as_of: now,
                total: Exact::ZERO,
                value: Exact::ZERO,
                contracts: Vec::new(),
                services: Vec::new(),
                areas: BTreeMap::new(),
                stages: BTreeMap::new(),
            };
            for s in &services {
                let mut spent = Exact::ZERO;
                let mut n = 0;
                for x in placements.iter().filter(|x| x.service_id == s.id) {
                    let cost = cost_to(x, s, now, vat)?;
                    add(&mut spent, cost)?;
                    add(out.areas.entry(x.area.clone()).or_default(), cost)?;
                    add(out.stages.entry(x.stage).or_default(), cost)?;
                    n += 1;
                }
                add(&mut out.total, spent)?;
                out.services.push(ServiceSpend {
                    id: s.id,
                    name: s.name.clone(),
                    contract_id: s.contract.id,
                    placements: n,
                    occupied: support::occupied(c, s.id, now)?,
                    spend: spent,
                });
                let value = Exact::of(s.contract.value)
                    .map_err(|_| AppError::internal("contract value too large"))?;
                match out.contracts.iter_mut().find(|k| k.id == s.contract.id) {
                    Some(k) => {
                        add(&mut k.spend, spent)?;
                        k.services.push(s.id);
                    }
                    None => {
                        add(&mut out.value, value)?;
                        out.contracts.push(ContractSpend {
                            id: s.contract.id,
                            funding_stream: s.contract.funding_stream.clone(),
                            starts: s.contract.starts,
                            ends: s.contract.ends,
                            value: s.contract.value,
                            spend: spent,
                            remaining: Exact::ZERO,
                            services: vec![s.id],
                        });
                    }
                }
            }
            for k in &mut out.contracts {
                let value = Exact::of(k.value)
                    .map_err(|_| AppError::internal("contract value too large"))?;
                k.remaining = value
                    .checked_sub(k.spend)
                    .map_err(|_| AppError::internal("contract value too large"))?;
            }
            let entry = NewEntry::new(Operation::Consultation, Actor::from(&p), now)
                .record("support_spend", agency)
                .justification(format!(
                    "spend of {} contract(s) and {} service(s) read by their commissioner",
                    out.contracts.len(),
                    out.services.len()
                ));
            Ok((out, entry))
        })
        .await?;
    hub.write(move |c| audit::append(c, &entry).map(|_| ()))
        .await?;
    Ok(out)
}
