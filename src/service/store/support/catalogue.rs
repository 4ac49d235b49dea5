//! Providers, the services under them with their contracts, and capacity exceptions.
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::super::schema::{
    support_capacity_exceptions as ex, support_contracts as sc, support_providers as sp,
    support_service_areas as sa, support_services as ss,
};
use super::super::time::{from_db, to_db};
use super::super::DbConn;
use super::{json, parse};
use crate::domain::agency::GssCode;
use crate::domain::ids::AgencyId;
use crate::domain::support::capacity::CapacityException;
use crate::domain::support::cost::UnitCost;
use crate::domain::support::input::{Contract, NewException, Provider, Service};
use crate::domain::support::money::Amount;
use crate::error::AppError;

#[derive(Queryable)]
struct ProviderRow {
    id: String,
    registered_by_agency_id: String,
    name: String,
    registration_number: Option<String>,
    inspection: Option<String>,
    areas: String,
    safeguarding_contact: String,
    agency_id: Option<String>,
    created_at: NaiveDateTime,
}

impl ProviderRow {
    fn into_domain(self) -> Result<Provider, AppError> {
        Ok(Provider {
            id: parse("provider id", &self.id)?,
            registered_by: parse("agency id", &self.registered_by_agency_id)?,
            name: self.name,
            registration_number: self.registration_number,
            inspection: self.inspection.as_deref().map(json).transpose()?,
            areas: json(&self.areas)?,
            safeguarding_contact: json(&self.safeguarding_contact)?,
            agency_id: self
                .agency_id
                .as_deref()
                .map(|a| parse("agency id", a))
                .transpose()?,
            created_at: from_db(self.created_at),
        })
    }
}

pub fn insert_provider(conn: &mut DbConn, p: &Provider) -> Result<(), AppError> {
    diesel::insert_into(sp::table)
        .values((
            sp::id.eq(p.id.to_string()),
            sp::registered_by_agency_id.eq(p.registered_by.to_string()),
            sp::name.eq(&p.name),
            sp::registration_number.eq(&p.registration_number),
            sp::inspection.eq(p
                .inspection
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?),
            sp::areas.eq(serde_json::to_string(&p.areas)?),
            sp::safeguarding_contact.eq(serde_json::to_string(&p.safeguarding_contact)?),
            sp::agency_id.eq(p.agency_id.map(|a| a.to_string())),
            sp::created_at.eq(to_db(p.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn provider(conn: &mut DbConn, id: Uuid) -> Result<Option<Provider>, AppError> {
    let row: Option<ProviderRow> = sp::table.find(id.to_string()).first(conn).optional()?;
    row.map(ProviderRow::into_domain).transpose()
}

type ServiceRow = (
    (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i32,
        String,
        String,
        String,
        String,
        String,
        NaiveDateTime,
    ),
    (
        String,
        String,
        String,
        NaiveDate,
        NaiveDate,
        String,
        NaiveDateTime,
    ),
);

fn service_from(row: ServiceRow) -> Result<Service, AppError> {
    let (s, c) = row;
    let amount = Amount::parse(&s.10).map_err(AppError::internal)?;
    let value = Amount::parse(&c.5).map_err(AppError::internal)?;
    Ok(Service {
        id: parse("service id", &s.0)?,
        provider_id: parse("provider id", &s.1)?,
        name: s.3,
        kind: parse("service type", &s.4)?,
        stages: json(&s.5)?,
        areas: json(&s.6)?,
        languages: json(&s.7)?,
        places: u32::try_from(s.8).map_err(AppError::internal)?,
        capacity_unit: parse("capacity unit", &s.9)?,
        unit_cost: UnitCost {
            amount,
            per: parse("cost unit", &s.12)?,
            vat: parse("VAT treatment", &s.13)?,
        },
        currency: parse("currency", &s.11)?,
        contract: Contract {
            id: parse("contract id", &c.0)?,
            commissioner: parse("agency id", &c.1)?,
            funding_stream: c.2,
            starts: c.3,
            ends: c.4,
            value,
        },
        created_at: from_db(s.14),
    })
}

/// Stores a service with its contract and areas.
pub fn insert_service(conn: &mut DbConn, s: &Service) -> Result<(), AppError> {
    let c = &s.contract;
    diesel::insert_into(sc::table)
        .values((
            sc::id.eq(c.id.to_string()),
            sc::commissioner_agency_id.eq(c.commissioner.to_string()),
            sc::funding_stream.eq(&c.funding_stream),
            sc::starts.eq(c.starts),
            sc::ends.eq(c.ends),
            sc::value.eq(c.value.to_text()),
            sc::created_at.eq(to_db(s.created_at)),
        ))
        .execute(conn)?;
    let id = s.id.to_string();
    diesel::insert_into(ss::table)
        .values((
            ss::id.eq(&id),
            ss::provider_id.eq(s.provider_id.to_string()),
            ss::contract_id.eq(c.id.to_string()),
            ss::name.eq(&s.name),
            ss::service_type.eq(s.kind.as_str()),
            ss::stages.eq(serde_json::to_string(&s.stages)?),
            ss::areas.eq(serde_json::to_string(&s.areas)?),
            ss::languages.eq(serde_json::to_string(&s.languages)?),
            ss::places.eq(i32::try_from(s.places).map_err(AppError::internal)?),
            ss::capacity_unit.eq(s.capacity_unit.as_str()),
            ss::unit_amount.eq(s.unit_cost.amount.to_text()),
            ss::currency.eq(s.currency.as_str()),
            ss::unit_per.eq(s.unit_cost.per.as_str()),
            ss::vat.eq(s.unit_cost.vat.as_str()),
            ss::created_at.eq(to_db(s.created_at)),
        ))
        .execute(conn)?;
    for a in &s.areas {
        diesel::insert_into(sa::table)
            .values((sa::service_id.eq(&id), sa::area.eq(a.as_str())))
            .execute(conn)?;
    }
    Ok(())
}

/// One service with its contract.
pub fn service(conn: &mut DbConn, id: Uuid) -> Result<Option<Service>, AppError> {
    let row: Option<ServiceRow> = ss::table
        .inner_join(sc::table)
        .filter(ss::id.eq(id.to_string()))
        .select((ss::all_columns, sc::all_columns))
        .first(conn)
        .optional()?;
    row.map(service_from).transpose()
}

/// The services serving `area`, in id order.
pub fn serving(conn: &mut DbConn, area: &GssCode) -> Result<Vec<Service>, AppError> {
    let ids = sa::table
        .filter(sa::area.eq(area.as_str()))
        .select(sa::service_id);
    let rows: Vec<ServiceRow> = ss::table
        .inner_join(sc::table)
        .filter(ss::id.eq_any(ids))
        .select((ss::all_columns, sc::all_columns))
        .order(ss::id)
        .load(conn)?;
    rows.into_iter().map(service_from).collect()
}

/// The services whose contracts `commissioner` holds, in id order.
pub fn commissioned_by(
    conn: &mut DbConn,
    commissioner: AgencyId,
) -> Result<Vec<Service>, AppError> {
    let rows: Vec<ServiceRow> = ss::table
        .inner_join(sc::table)
        .filter(sc::commissioner_agency_id.eq(commissioner.to_string()))
        .select((ss::all_columns, sc::all_columns))
        .order(ss::id)
        .load(conn)?;
    rows.into_iter().map(service_from).collect()
}

/// Records a capacity exception for a service; returns its id.
pub fn insert_exception(
    conn: &mut DbConn,
    service: Uuid,
    x: &NewException,
    agency: AgencyId,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    diesel::insert_into(ex::table)
        .values((
            ex::id.eq(id.to_string()),
            ex::service_id.eq(service.to_string()),
            ex::extra_places.eq(i32::try_from(x.extra_places).map_err(AppError::internal)?),
            ex::reason.eq(&x.reason),
            ex::starts_at.eq(to_db(x.starts_at)),
            ex::ends_at.eq(x.ends_at.map(to_db)),
            ex::recorded_by_agency_id.eq(agency.to_string()),
            ex::recorded_by_subject.eq(subject),
            ex::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A service's capacity exceptions.
pub fn exceptions(conn: &mut DbConn, service: Uuid) -> Result<Vec<CapacityException>, AppError> {
    let rows: Vec<(i32, NaiveDateTime, Option<NaiveDateTime>)> = ex::table
        .filter(ex::service_id.eq(service.to_string()))
        .select((ex::extra_places, ex::starts_at, ex::ends_at))
        .order(ex::starts_at)
        .load(conn)?;
    rows.into_iter()
        .map(|(n, s, e)| {
            Ok(CapacityException {
                extra_places: u32::try_from(n).map_err(AppError::internal)?,
                starts_at: from_db(s),
                ends_at: e.map(from_db),
            })
        })
        .collect()
}
