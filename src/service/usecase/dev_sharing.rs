//! The sharing arrangements `serve --dev` seeds beside the demo agencies: one partnership of
//! all of them whose terms every member has accepted, and one signed agreement under which
//! the police, the MASH and the NGO share what safeguarding partners need. Everything goes
//! through the same use cases (and audit entries) as the API, acting as each demo agency's
//! own officers. Seeding again changes nothing.
use chrono::{DateTime, Duration, Utc};

use crate::domain::agency::GssCode;
use crate::domain::agreement::{AgreementTerms, DataItems, Party, PartyRole};
use crate::domain::fields::{RecordKind, REFERRAL_FIELDS};
use crate::domain::ids::AgencyId;
use crate::domain::partnership::{NewPartnership, Responsibility, TermsContent};
use crate::domain::role::{Role, RoleSet};
use crate::domain::sharing::{
    Classification, Condition, PartyLawfulBasis, Purpose, Regime, SpecialCategory,
};
use crate::error::AppError;
use crate::identity::dev::{DevIssuer, DevStateAgency};
use crate::identity::Principal;
use crate::service::store::{partnerships, DbConn};
use crate::usecase::partnerships::Answer;

/// The demo partnership's name.
pub const DEMO_PARTNERSHIP: &str = "Demo Birmingham Modern Slavery Partnership";

/// What safeguarding partners receive of an incident.
const SAFEGUARDING_FIELDS: &[&str] = &[
    "reference",
    "occurred_at",
    "area",
    "exploitation_types",
    "threats",
    "classification",
    "handling_code",
    "handling_conditions",
    "narrative",
    "victims[].reference",
    "victims[].age_band",
    "victims[].is_child",
    "victims[].gender",
    "victims[].nationality",
    "victims[].needs",
    "victims[].consent_to_share",
    "victims[].consent_absent_reason",
    "victims[].nrm_status",
    "victims[].ictg_referral",
    "victims[].adult_at_risk",
];

/// What the NGO receives of an incident: enough to offer support, nothing identifying.
const NGO_FIELDS: &[&str] = &[
    "area",
    "exploitation_types",
    "victims[].age_band",
    "victims[].needs",
];

/// What the ICTG service receives of a child's referral: enough to allocate a guardian.
const ICTG_REFERRAL_FIELDS: &[&str] = &[
    "area",
    "potential_victim.name",
    "potential_victim.age",
    "potential_victim.age_band",
    "potential_victim.age_disputed",
    "potential_victim.is_child",
    "potential_victim.gender",
    "potential_victim.nationality",
    "potential_victim.language",
    "potential_victim.interpreter_needed",
    "exploitation_types",
    "immediate_needs",
    "status",
];

fn officer(base_url: &str, a: &DevStateAgency, role: Role) -> Result<Principal, AppError> {
    Ok(Principal {
        issuer: DevIssuer::issuer_url(base_url, &a.slug),
        subject: "dev-seed".to_owned(),
        agency_id: Some(a.id.parse().map_err(AppError::internal)?),
        roles: [role].into_iter().collect::<RoleSet>(),
        client_id: None,
    })
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Seeds the demo partnership and agreement unless the partnership exists already.
pub fn seed(
    conn: &mut DbConn,
    agencies: &[DevStateAgency],
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if partnerships::name_taken(conn, DEMO_PARTNERSHIP)? {
        return Ok(());
    }
    let find = |slug: &str| {
        agencies
            .iter()
            .find(|a| a.slug == slug)
            .ok_or_else(|| AppError::internal(format!("demo agency `{slug}` missing")))
    };
    let id_of = |slug: &str| -> Result<AgencyId, AppError> {
        find(slug)?.id.parse().map_err(AppError::internal)
    };
    let police = find("police")?;
    let lead = officer(base_url, police, Role::AgencyAdmin)?;
    let p = super::partnerships::create_in(
        conn,
        &lead,
        NewPartnership {
            name: DEMO_PARTNERSHIP.to_owned(),
            areas: vec![GssCode::parse("E08000025").map_err(AppError::internal)?],
            lead_agency_id: None,
        },
        now,
    )?;
    for a in agencies.iter().filter(|a| a.slug != "police") {
        let agency: AgencyId = a.id.parse().map_err(AppError::internal)?;
        super::partnerships::add_member_in(conn, &lead, p.id, agency, now)?;
        // Each demo agency joins by its own agency_admin's act, as any agency does.
        let admin = officer(base_url, a, Role::AgencyAdmin)?;
        super::partnerships::answer_in(conn, &admin, p.id, agency, Answer::Accept, now)?;
    }
    let terms = super::partnerships::publish_terms_in(
        conn,
        &lead,
        p.id,
        TermsContent {
            purpose: "Identify, safeguard and support victims of modern slavery in Birmingham \
                      and disrupt those who exploit them."
                .to_owned(),
            scope: "Adults and children in Birmingham (E08000025) who may be victims of modern \
                    slavery or human trafficking, and the people and places linked to them."
                .to_owned(),
            responsibilities: vec![Responsibility {
                agency_id: id_of("police")?,
                text: "Record MSHT incidents, share them with safeguarding partners, investigate."
                    .to_owned(),
                powers: Some(
                    "Police and Criminal Evidence Act 1984; Modern Slavery Act 2015".to_owned(),
                ),
            }],
            review_date: (now + Duration::days(365)).date_naive(),
        },
        now,
    )?;
    for a in agencies {
        let admin = officer(base_url, a, Role::AgencyAdmin)?;
        super::partnerships::accept_terms_in(conn, &admin, p.id, terms.version, now)?;
    }

    let gdpr = PartyLawfulBasis::new(
        Regime::UkGdpr,
        Condition::Art6_1ePublicTask,
        Some(SpecialCategory::Art9_2gSch1Para18),
    )
    .map_err(|e| AppError::internal(e.detail))?;
    let ngo_basis = PartyLawfulBasis::new(
        Regime::UkGdpr,
        Condition::Art6_1fLegitimateInterests,
        Some(SpecialCategory::Art9_2gSch1Para18),
    )
    .map_err(|e| AppError::internal(e.detail))?;
    let police_basis =
        PartyLawfulBasis::new(Regime::Dpa2018Part3, Condition::Sch8Safeguarding, None)
            .map_err(|e| AppError::internal(e.detail))?;
    let party =
        |slug: &str, role: PartyRole, lawful_basis: PartyLawfulBasis| -> Result<Party, AppError> {
            Ok(Party {
                agency_id: id_of(slug)?,
                role,
                lawful_basis,
                contact: None,
            })
        };
    let items = |slug: &str, kind: RecordKind, fields: &[&str]| -> Result<DataItems, AppError> {
        Ok(DataItems {
            recipient: id_of(slug)?,
            record_kind: kind,
            fields: strings(fields),
        })
    };
    let mut data_items = Vec::new();
    for slug in ["mash", "children", "adults", "ictg"] {
        data_items.push(items(slug, RecordKind::Incident, SAFEGUARDING_FIELDS)?);
    }
    data_items.push(items("ngo", RecordKind::Incident, NGO_FIELDS)?);
    data_items.push(items("police", RecordKind::Referral, REFERRAL_FIELDS)?);
    data_items.push(items("mash", RecordKind::Referral, REFERRAL_FIELDS)?);
    // A child's referral also goes to the children's partnership and the ICTG service.
    data_items.push(items("children", RecordKind::Referral, REFERRAL_FIELDS)?);
    data_items.push(items("ictg", RecordKind::Referral, ICTG_REFERRAL_FIELDS)?);
    let terms = AgreementTerms {
        title: "Demo Birmingham MSHT information sharing agreement".to_owned(),
        purposes: vec![
            Purpose::Safeguarding,
            Purpose::Investigation,
            Purpose::VictimSupport,
            Purpose::NrmReferral,
            Purpose::StrategicAnalysis,
        ],
        parties: vec![
            party("police", PartyRole::Both, police_basis)?,
            party("mash", PartyRole::Both, gdpr)?,
            party("children", PartyRole::Recipient, gdpr)?,
            party("adults", PartyRole::Recipient, gdpr)?,
            party("ictg", PartyRole::Recipient, gdpr)?,
            party("ngo", PartyRole::Both, ngo_basis)?,
        ],
        data_items,
        max_classification: Classification::OfficialSensitive,
        handling_conditions: Some("Share onward only with the agencies named here.".to_owned()),
        effective_from: now - Duration::days(1),
        expires_at: now + Duration::days(730),
        review_date: (now + Duration::days(365)).date_naive(),
        retention_days: 365,
        procedures: None,
        other_organisations: Vec::new(),
        special_category_data: true,
        criminal_offence_data: true,
    };
    let drafter = officer(base_url, police, Role::IgOfficer)?;
    let a = super::agreements::create_in(conn, &drafter, p.id, terms, now)?;
    // The PCC office is a member of the partnership but no party to this agreement.
    for ag in agencies.iter().filter(|a| a.slug != "pcc") {
        let ig = officer(base_url, ag, Role::IgOfficer)?;
        super::agreements::sign_in(conn, &ig, a.id, 1, now)?;
    }
    Ok(())
}
