//! The bodies of the commissioned-support requests, their validation, and the records they
//! make: providers, services with their contracts, capacity exceptions and placements.
//! Vocabulary fields are parsed here (the 422 names the accepted values); money fields are
//! [`Amount`]s, which refuse JSON numbers while the body is read.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::super::agency::{parse_areas, parse_email, GssCode};
use super::super::ids::AgencyId;
use super::super::validate::{required_text, Errors};
use super::cost::UnitCost;
use super::money::{Amount, Currency};
use super::{CapacityUnit, Per, ServiceType, Stage, Vat};
use crate::error::AppError;

/// An inspection of a provider (CQC, Ofsted, the Care Inspectorate, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    pub body: String,
    pub rating: Option<String>,
    pub inspected_on: Option<NaiveDate>,
}

/// A provider's safeguarding lead (an organisation's contact, not a victim's data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// `POST /support/providers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    pub name: String,
    pub registration_number: Option<String>,
    pub inspection: Option<Inspection>,
    pub areas: Vec<String>,
    pub safeguarding_contact: Contact,
    /// The hub agency that runs the provider, when it is one (it may then record capacity
    /// exceptions for its services).
    pub agency_id: Option<AgencyId>,
}

/// A provider of commissioned support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub id: Uuid,
    /// The agency whose commissioner registered it.
    pub registered_by: AgencyId,
    pub name: String,
    pub registration_number: Option<String>,
    pub inspection: Option<Inspection>,
    pub areas: Vec<GssCode>,
    pub safeguarding_contact: Contact,
    pub agency_id: Option<AgencyId>,
    pub created_at: DateTime<Utc>,
}

fn text(e: &mut Errors, pointer: &str, v: &str, max: usize) -> Option<String> {
    e.take(pointer, required_text(v, max))
}

fn opt_text(e: &mut Errors, pointer: &str, v: Option<&str>, max: usize) -> Option<String> {
    v.and_then(|v| text(e, pointer, v, max))
}

impl ProviderInput {
    pub fn parse(&self, registered_by: AgencyId, now: DateTime<Utc>) -> Result<Provider, AppError> {
        let mut e = Errors::new();
        let name = text(&mut e, "/name", &self.name, 200);
        let registration_number = opt_text(
            &mut e,
            "/registration_number",
            self.registration_number.as_deref(),
            40,
        );
        let areas = parse_areas(&mut e, "/areas", &self.areas);
        let inspection = self.inspection.as_ref().and_then(|i| {
            Some(Inspection {
                body: text(&mut e, "/inspection/body", &i.body, 100)?,
                rating: opt_text(&mut e, "/inspection/rating", i.rating.as_deref(), 100),
                inspected_on: i.inspected_on,
            })
        });
        let c = &self.safeguarding_contact;
        let contact_name = text(&mut e, "/safeguarding_contact/name", &c.name, 200);
        let email = parse_email(&mut e, "/safeguarding_contact/email", &c.email);
        let phone = opt_text(
            &mut e,
            "/safeguarding_contact/phone",
            c.phone.as_deref(),
            40,
        );
        e.finish()?;
        match (name, areas, contact_name, email) {
            (Some(name), Some(areas), Some(cn), Some(email)) => Ok(Provider {
                id: Uuid::now_v7(),
                registered_by,
                name,
                registration_number,
                inspection,
                areas,
                safeguarding_contact: Contact {
                    name: cn,
                    email,
                    phone,
                },
                agency_id: self.agency_id,
                created_at: now,
            }),
            _ => Err(AppError::validation("", "invalid provider")),
        }
    }
}

/// `capacity` of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityInput {
    pub places: u32,
    pub unit: String,
}

/// `unit_cost` of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitCostInput {
    pub amount: Amount,
    pub currency: String,
    pub per: String,
    pub vat: Option<String>,
}

/// `contract` of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractInput {
    pub commissioner_agency_id: AgencyId,
    pub funding_stream: String,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub value: Amount,
}

/// `POST /support/services`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub provider_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub stages: Vec<String>,
    pub areas: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    pub capacity: CapacityInput,
    pub unit_cost: UnitCostInput,
    pub contract: ContractInput,
}

/// The contract a service runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub id: Uuid,
    pub commissioner: AgencyId,
    pub funding_stream: String,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub value: Amount,
}

impl Contract {
    pub fn in_force(&self, at: DateTime<Utc>) -> bool {
        let d = at.date_naive();
        self.starts <= d && d <= self.ends
    }
}

/// A commissioned service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub name: String,
    pub kind: ServiceType,
    pub stages: Vec<Stage>,
    pub areas: Vec<GssCode>,
    pub languages: Vec<String>,
    pub places: u32,
    pub capacity_unit: CapacityUnit,
    pub unit_cost: UnitCost,
    pub currency: Currency,
    pub contract: Contract,
    pub created_at: DateTime<Utc>,
}

fn vocab<T: std::str::FromStr<Err = String>>(e: &mut Errors, pointer: &str, v: &str) -> Option<T> {
    e.take(pointer, v.parse::<T>())
}

impl ServiceInput {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Service, AppError> {
        let mut e = Errors::new();
        let name = text(&mut e, "/name", &self.name, 200);
        let kind = vocab::<ServiceType>(&mut e, "/type", &self.kind);
        if self.stages.is_empty() {
            e.add(
                "/stages",
                "name at least one pathway stage the service serves",
            );
        }
        let mut stages = Vec::new();
        for (i, s) in self.stages.iter().enumerate() {
            if let Some(s) = vocab::<Stage>(&mut e, &format!("/stages/{i}"), s) {
                if !stages.contains(&s) {
                    stages.push(s);
                }
            }
        }
        stages.sort();
        let areas = parse_areas(&mut e, "/areas", &self.areas);
        let mut languages = Vec::new();
        for (i, l) in self.languages.iter().enumerate() {
            if let Some(l) = text(&mut e, &format!("/languages/{i}"), l, 60) {
                languages.push(l);
            }
        }
        if self.capacity.places == 0 {
            e.add("/capacity/places", "a service has at least one place");
        }
        let unit = vocab::<CapacityUnit>(&mut e, "/capacity/unit", &self.capacity.unit);
        let u = &self.unit_cost;
        let currency = vocab::<Currency>(&mut e, "/unit_cost/currency", &u.currency);
        let per = vocab::<Per>(&mut e, "/unit_cost/per", &u.per);
        let vat = match &u.vat {
            None => Some(Vat::Exempt),
            Some(v) => vocab::<Vat>(&mut e, "/unit_cost/vat", v),
        };
        let c = &self.contract;
        let funding = text(&mut e, "/contract/funding_stream", &c.funding_stream, 200);
        if c.ends < c.starts {
            e.add("/contract/ends", "a contract ends on or after it starts");
        }
        e.finish()?;
        match (name, kind, areas, unit, currency, per, vat, funding) {
            (
                Some(name),
                Some(kind),
                Some(areas),
                Some(capacity_unit),
                Some(currency),
                Some(per),
                Some(vat),
                Some(funding_stream),
            ) => Ok(Service {
                id: Uuid::now_v7(),
                provider_id: self.provider_id,
                name,
                kind,
                stages,
                areas,
                languages,
                places: self.capacity.places,
                capacity_unit,
                unit_cost: UnitCost {
                    amount: u.amount,
                    per,
                    vat,
                },
                currency,
                contract: Contract {
                    id: Uuid::now_v7(),
                    commissioner: c.commissioner_agency_id,
                    funding_stream,
                    starts: c.starts,
                    ends: c.ends,
                    value: c.value,
                },
                created_at: now,
            }),
            _ => Err(AppError::validation("", "invalid service")),
        }
    }
}

/// `POST /support/services/{id}/capacity-exceptions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionInput {
    pub extra_places: u32,
    pub reason: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// A validated capacity exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewException {
    pub extra_places: u32,
    pub reason: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl ExceptionInput {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewException, AppError> {
        let mut e = Errors::new();
        if self.extra_places == 0 {
            e.add(
                "/extra_places",
                "an exception allows at least one more place",
            );
        }
        let reason = text(&mut e, "/reason", &self.reason, 2000);
        let starts_at = self.starts_at.unwrap_or(now);
        if self.ends_at.is_some_and(|end| end <= starts_at) {
            e.add("/ends_at", "an exception ends after it starts");
        }
        e.finish()?;
        Ok(NewException {
            extra_places: self.extra_places,
            reason: reason.unwrap_or_default(),
            starts_at,
            ends_at: self.ends_at,
        })
    }
}

/// `POST /support/placements`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementInput {
    pub referral_id: Uuid,
    pub service_id: Uuid,
    pub started_at: DateTime<Utc>,
}

/// `POST /support/placements/{id}/end`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndInput {
    pub ended_at: DateTime<Utc>,
}

/// A person (by referral) placed with a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub id: Uuid,
    pub referral_id: String,
    pub service_id: Uuid,
    /// The agency that made the referral (the record's discloser).
    pub referrer: AgencyId,
    pub placed_by: AgencyId,
    /// The person's stage when placed (spend is counted against it).
    pub stage: Stage,
    pub area: GssCode,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Placement {
    /// Open at `at`: started, not yet ended.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.started_at <= at && self.ended_at.is_none_or(|e| at < e)
    }
}
