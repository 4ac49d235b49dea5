//! The JSON shapes of commissioned support: providers, services with their contracts,
//! capacity exceptions, placements with their cost, and the coverage and spend reports.
//! Money is always a decimal string (`"86.50"`); computed amounts are rounded to pence once.
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::support::cost::Exact;
use crate::domain::support::coverage::Report;
use crate::domain::support::input::{NewException, Provider, Service};
use crate::domain::support::money::{display, Currency};
use crate::usecase::support::catalogue::ServiceView;
use crate::usecase::support::placements::PlacementView;
use crate::usecase::support::reports::Spend;

/// An exact cost as `{amount, currency}` in pence.
pub fn money(e: Exact) -> Value {
    json!({"amount": display(e.pence()), "currency": Currency::Gbp})
}

pub fn provider(p: &Provider) -> Value {
    json!({
        "id": p.id.to_string(),
        "name": p.name,
        "registration_number": p.registration_number,
        "inspection": p.inspection,
        "areas": p.areas,
        "safeguarding_contact": p.safeguarding_contact,
        "agency_id": p.agency_id.map(|a| a.to_string()),
        "registered_by_agency_id": p.registered_by.to_string(),
        "created_at": p.created_at,
    })
}

pub fn service(s: &Service) -> Value {
    let c = &s.contract;
    json!({
        "id": s.id.to_string(),
        "provider_id": s.provider_id.to_string(),
        "name": s.name,
        "type": s.kind,
        "stages": s.stages,
        "areas": s.areas,
        "languages": s.languages,
        "capacity": {"places": s.places, "unit": s.capacity_unit},
        "unit_cost": {
            "amount": s.unit_cost.amount,
            "currency": s.currency,
            "per": s.unit_cost.per,
            "vat": s.unit_cost.vat,
        },
        "contract": {
            "id": c.id.to_string(),
            "commissioner_agency_id": c.commissioner.to_string(),
            "funding_stream": c.funding_stream,
            "starts": c.starts,
            "ends": c.ends,
            "value": c.value,
        },
        "created_at": s.created_at,
    })
}

pub fn service_view(v: &ServiceView) -> Value {
    let mut out = service(&v.service);
    if let Some(o) = out.as_object_mut() {
        o.insert("provider".into(), provider(&v.provider));
        o.insert("occupied".into(), json!(v.occupied));
        o.insert("limit".into(), json!(v.limit));
        o.insert(
            "capacity_exceptions".into(),
            json!(v
                .exceptions
                .iter()
                .map(
                    |e| json!({"extra_places": e.extra_places, "starts_at": e.starts_at,
                                "ends_at": e.ends_at})
                )
                .collect::<Vec<_>>()),
        );
    }
    out
}

pub fn exception(service: Uuid, id: Uuid, x: &NewException) -> Value {
    json!({
        "id": id.to_string(),
        "service_id": service.to_string(),
        "extra_places": x.extra_places,
        "reason": x.reason,
        "starts_at": x.starts_at,
        "ends_at": x.ends_at,
    })
}

pub fn placement(v: &PlacementView) -> Value {
    let p = &v.placement;
    json!({
        "id": p.id.to_string(),
        "referral_id": p.referral_id,
        "service_id": p.service_id.to_string(),
        "service_name": v.service.name,
        "placed_by_agency_id": p.placed_by.to_string(),
        "stage": p.stage,
        "area": p.area,
        "started_at": p.started_at,
        "ended_at": p.ended_at,
        "unit_cost": {
            "amount": v.service.unit_cost.amount,
            "currency": v.service.currency,
            "per": v.service.unit_cost.per,
            "vat": v.service.unit_cost.vat,
        },
        "cost": money(v.cost),
    })
}

pub fn coverage(r: &Report) -> Value {
    json!(r)
}

pub fn spend(s: &Spend) -> Value {
    json!({
        "commissioner_agency_id": s.commissioner.to_string(),
        "as_of": s.as_of,
        "currency": Currency::Gbp,
        "value": display(s.value.pence()),
        "spend": display(s.total.pence()),
        "remaining": display(s.value.checked_sub(s.total).unwrap_or(Exact::ZERO).pence()),
        "contracts": s.contracts.iter().map(|k| json!({
            "id": k.id.to_string(),
            "funding_stream": k.funding_stream,
            "starts": k.starts,
            "ends": k.ends,
            "value": k.value,
            "spend": display(k.spend.pence()),
            "remaining": display(k.remaining.pence()),
            "services": k.services.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "services": s.services.iter().map(|x| json!({
            "id": x.id.to_string(),
            "name": x.name,
            "contract_id": x.contract_id.to_string(),
            "placements": x.placements,
            "occupied": x.occupied,
            "spend": display(x.spend.pence()),
        })).collect::<Vec<_>>(),
        "areas": s.areas.iter().map(|(a, e)| json!({"area": a, "spend": display(e.pence())}))
            .collect::<Vec<_>>(),
        "stages": s.stages.iter().map(|(st, e)| json!({"stage": st, "spend": display(e.pence())}))
            .collect::<Vec<_>>(),
    })
}
