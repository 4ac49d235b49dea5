//! The commissioned support `serve --dev` seeds for the demo PCC office (slug `pcc`): one
//! provider and two services under its contracts in Birmingham, recorded through the same
//! use cases (and `governance` entries) as the API, acting as the office's commissioner, so
//! the coverage report fills in as demo referrals arrive. The PCC office joins the demo
//! partnership with the other demo agencies (`dev_sharing`). Seeding again changes nothing.
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::domain::agency::GssCode;
use crate::domain::role::{Role, RoleSet};
use crate::domain::support::cost::UnitCost;
use crate::domain::support::input::{Contact, Contract, Inspection, Provider, Service};
use crate::domain::support::money::{Amount, Currency};
use crate::domain::support::{CapacityUnit, Per, ServiceType, Stage, Vat};
use crate::error::AppError;
use crate::identity::dev::{DevIssuer, DevStateAgency};
use crate::identity::Principal;
use crate::service::store::{support, DbConn};

/// The demo provider's name.
pub const DEMO_PROVIDER: &str = "Demo Safe Haven Trust";

fn amount(s: &str) -> Result<Amount, AppError> {
    Amount::parse(s).map_err(AppError::internal)
}

/// The financial year (1 April to 31 March) that `now` falls in.
fn financial_year(now: DateTime<Utc>) -> Result<(NaiveDate, NaiveDate), AppError> {
    let d = now.date_naive();
    let y = if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    };
    let starts = NaiveDate::from_ymd_opt(y, 4, 1);
    let ends = NaiveDate::from_ymd_opt(y + 1, 3, 31);
    starts
        .zip(ends)
        .ok_or_else(|| AppError::internal("no financial year"))
}

/// Seeds the demo provider and its services unless the PCC office commissions any already.
pub fn seed(
    conn: &mut DbConn,
    agencies: &[DevStateAgency],
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(pcc) = agencies.iter().find(|a| a.slug == "pcc") else {
        return Err(AppError::internal("demo agency `pcc` missing"));
    };
    let pcc_id = pcc.id.parse().map_err(AppError::internal)?;
    if !support::commissioned_by(conn, pcc_id)?.is_empty() {
        return Ok(());
    }
    let commissioner = Principal {
        issuer: DevIssuer::issuer_url(base_url, &pcc.slug),
        subject: "dev-seed".to_owned(),
        agency_id: Some(pcc_id),
        roles: [Role::Commissioner].into_iter().collect::<RoleSet>(),
        client_id: None,
    };
    let birmingham = GssCode::parse("E08000025").map_err(AppError::internal)?;
    let provider = super::support::catalogue::create_provider_in(
        conn,
        &commissioner,
        Provider {
            id: uuid::Uuid::now_v7(),
            registered_by: pcc_id,
            name: DEMO_PROVIDER.to_owned(),
            registration_number: Some("1234567".to_owned()),
            inspection: Some(Inspection {
                body: "CQC".to_owned(),
                rating: Some("good".to_owned()),
                inspected_on: None,
            }),
            areas: vec![birmingham.clone()],
            safeguarding_contact: Contact {
                name: "Demo Safeguarding Lead".to_owned(),
                email: "safeguarding@haven.demo.invalid".to_owned(),
                phone: None,
            },
            agency_id: None,
            created_at: now,
        },
        now,
    )?;
    let (starts, ends) = financial_year(now)?;
    let service = |name: &str,
                   kind: ServiceType,
                   stages: Vec<Stage>,
                   places: u32,
                   unit: CapacityUnit,
                   cost: UnitCost,
                   funding: &str,
                   value: Amount| Service {
        id: uuid::Uuid::now_v7(),
        provider_id: provider.id,
        name: name.to_owned(),
        kind,
        stages,
        areas: vec![birmingham.clone()],
        languages: vec![
            "English".to_owned(),
            "Romanian".to_owned(),
            "Albanian".to_owned(),
        ],
        places,
        capacity_unit: unit,
        unit_cost: cost,
        currency: Currency::Gbp,
        contract: Contract {
            id: uuid::Uuid::now_v7(),
            commissioner: pcc_id,
            funding_stream: funding.to_owned(),
            starts,
            ends,
            value,
        },
        created_at: now,
    };
    let crisis = service(
        "Crisis accommodation before referral (up to 7 nights)",
        ServiceType::PlaceOfSafety,
        vec![Stage::PreNrm, Stage::DeclinedNrm],
        6,
        CapacityUnit::Beds,
        UnitCost {
            amount: amount("86.50")?,
            per: Per::Night,
            vat: Vat::Exempt,
        },
        "Ministry of Justice victim services grant",
        amount("199508.00")?,
    );
    let complex = service(
        "Complex needs advocacy",
        ServiceType::Advocacy,
        vec![Stage::NegativeDecision, Stage::PostCg, Stage::DeclinedNrm],
        10,
        CapacityUnit::Cases,
        UnitCost {
            amount: amount("860.00")?,
            per: Per::Case,
            vat: Vat::Exempt,
        },
        "PCC core victim services",
        amount("43000.00")?,
    );
    super::support::catalogue::create_service_in(conn, &commissioner, crisis, now)?;
    super::support::catalogue::create_service_in(conn, &commissioner, complex, now)?;
    Ok(())
}
