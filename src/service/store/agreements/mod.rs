//! Data-sharing agreements: the agreement row (partnership, termination), its versions with
//! parties, data items and signatures, and its suspensions. Loading is batched: a handful of
//! queries load any number of agreements, which is what the policy function needs on every
//! disclosure ([`views_between`]).
use chrono::{DateTime, Utc};
use diesel::prelude::*;

mod load;

pub use load::load;

use crate::domain::agreement::{
    Agreement, AgreementVersion, Lifted, Procedures, Signature, Suspension, Termination,
};
use crate::domain::ids::{AgencyId, AgreementId, PartnershipId};
use crate::domain::partnership::Signer;
use crate::domain::policy::AgreementView;
use crate::error::AppError;
use crate::service::store::partnerships::histories;
use crate::service::store::schema::{
    agreement_data_items as di, agreement_parties as ap, agreement_signatures as sg,
    agreement_suspensions as su, agreement_versions as av, agreements as ag,
};
use crate::service::store::time::to_db;
use crate::service::store::DbConn;

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, AppError>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| AppError::internal(format!("stored value `{s}`: {e}")))
}

fn parse_opt<T: std::str::FromStr>(s: Option<&str>) -> Result<Option<T>, AppError>
where
    T::Err: std::fmt::Display,
{
    s.map(parse).transpose()
}

/// The parts of a version kept together as JSON text: free text and flags that are shown,
/// never queried.
#[derive(serde::Serialize, serde::Deserialize)]
struct Details {
    handling_conditions: Option<String>,
    procedures: Option<Procedures>,
    other_organisations: Vec<String>,
    special_category_data: bool,
    criminal_offence_data: bool,
}

fn signer(agency: Option<&str>, issuer: String, subject: String) -> Result<Signer, AppError> {
    Ok(Signer {
        agency_id: parse_opt(agency)?,
        issuer,
        subject,
    })
}

/// Stores a new agreement with its first version.
pub fn insert(conn: &mut DbConn, a: &Agreement) -> Result<(), AppError> {
    diesel::insert_into(ag::table)
        .values((
            ag::id.eq(a.id.to_string()),
            ag::partnership_id.eq(a.partnership_id.to_string()),
            ag::created_at.eq(to_db(a.created_at)),
            ag::updated_at.eq(to_db(a.created_at)),
        ))
        .execute(conn)?;
    for v in &a.versions {
        insert_version(conn, a.id, v)?;
    }
    Ok(())
}

/// Marks the agreement changed and takes its row lock (PostgreSQL) for the rest of the
/// transaction, so concurrent signatures, amendments and suspensions queue. False if absent.
pub fn touch(conn: &mut DbConn, id: AgreementId, now: DateTime<Utc>) -> Result<bool, AppError> {
    let n = diesel::update(ag::table.find(id.to_string()))
        .set(ag::updated_at.eq(to_db(now)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Stores a version with its parties and data items (and any signatures it carries).
pub fn insert_version(
    conn: &mut DbConn,
    id: AgreementId,
    v: &AgreementVersion,
) -> Result<(), AppError> {
    let key = id.to_string();
    let t = &v.terms;
    let purposes: Vec<&str> = t.purposes.iter().map(|p| p.as_str()).collect();
    let details = Details {
        handling_conditions: t.handling_conditions.clone(),
        procedures: t.procedures.clone(),
        other_organisations: t.other_organisations.clone(),
        special_category_data: t.special_category_data,
        criminal_offence_data: t.criminal_offence_data,
    };
    diesel::insert_into(av::table)
        .values((
            av::agreement_id.eq(&key),
            av::version.eq(v.version),
            av::title.eq(&t.title),
            av::purposes.eq(serde_json::to_string(&purposes)?),
            av::max_classification.eq(t.max_classification.as_str()),
            av::effective_from.eq(to_db(t.effective_from)),
            av::expires_at.eq(to_db(t.expires_at)),
            av::review_date.eq(t.review_date),
            av::retention_days.eq(t.retention_days),
            av::details.eq(serde_json::to_string(&details)?),
            av::created_at.eq(to_db(v.created_at)),
            av::created_by_agency_id.eq(v.created_by.agency_id.map(|a| a.to_string())),
            av::created_by_issuer.eq(&v.created_by.issuer),
            av::created_by_subject.eq(&v.created_by.subject),
        ))
        .execute(conn)?;
    for (i, p) in t.parties.iter().enumerate() {
        diesel::insert_into(ap::table)
            .values((
                ap::agreement_id.eq(&key),
                ap::version.eq(v.version),
                ap::agency_id.eq(p.agency_id.to_string()),
                ap::position.eq(i32::try_from(i).map_err(AppError::internal)?),
                ap::role.eq(p.role.as_str()),
                ap::regime.eq(p.lawful_basis.regime.as_str()),
                ap::lawful_condition.eq(p.lawful_basis.condition.as_str()),
                ap::special_category.eq(p.lawful_basis.special_category.map(|s| s.as_str())),
                ap::contact.eq(p.contact.as_deref()),
            ))
            .execute(conn)?;
    }
    for (i, d) in t.data_items.iter().enumerate() {
        diesel::insert_into(di::table)
            .values((
                di::agreement_id.eq(&key),
                di::version.eq(v.version),
                di::recipient_agency_id.eq(d.recipient.to_string()),
                di::record_kind.eq(d.record_kind.as_str()),
                di::position.eq(i32::try_from(i).map_err(AppError::internal)?),
                di::fields.eq(serde_json::to_string(&d.fields)?),
            ))
            .execute(conn)?;
    }
    for s in &v.signatures {
        insert_signature(conn, id, v.version, s)?;
    }
    Ok(())
}

pub fn insert_signature(
    conn: &mut DbConn,
    id: AgreementId,
    version: i32,
    s: &Signature,
) -> Result<(), AppError> {
    diesel::insert_into(sg::table)
        .values((
            sg::agreement_id.eq(id.to_string()),
            sg::version.eq(version),
            sg::agency_id.eq(s.agency_id.to_string()),
            sg::signed_at.eq(to_db(s.signed_at)),
            sg::signer_issuer.eq(&s.signed_by.issuer),
            sg::signer_subject.eq(&s.signed_by.subject),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_suspension(
    conn: &mut DbConn,
    id: AgreementId,
    s: &Suspension,
) -> Result<(), AppError> {
    diesel::insert_into(su::table)
        .values((
            su::id.eq(uuid::Uuid::now_v7().to_string()),
            su::agreement_id.eq(id.to_string()),
            su::suspended_at.eq(to_db(s.suspended_at)),
            su::suspended_by_agency_id.eq(s.suspended_by.agency_id.map(|a| a.to_string())),
            su::suspended_by_issuer.eq(&s.suspended_by.issuer),
            su::suspended_by_subject.eq(&s.suspended_by.subject),
            su::reason.eq(&s.reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Lifts the suspension not yet lifted. False if there was none.
pub fn lift_suspension(conn: &mut DbConn, id: AgreementId, l: &Lifted) -> Result<bool, AppError> {
    let n = diesel::update(
        su::table
            .filter(su::agreement_id.eq(id.to_string()))
            .filter(su::lifted_at.is_null()),
    )
    .set((
        su::lifted_at.eq(to_db(l.at)),
        su::lifted_by_agency_id.eq(l.by.agency_id.map(|a| a.to_string())),
        su::lifted_by_issuer.eq(&l.by.issuer),
        su::lifted_by_subject.eq(&l.by.subject),
        su::lift_note.eq(l.note.as_deref()),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn terminate(conn: &mut DbConn, id: AgreementId, t: &Termination) -> Result<(), AppError> {
    diesel::update(ag::table.find(id.to_string()))
        .set((
            ag::terminated_at.eq(to_db(t.at)),
            ag::terminated_by_agency_id.eq(t.by.agency_id.map(|a| a.to_string())),
            ag::terminated_by_issuer.eq(&t.by.issuer),
            ag::terminated_by_subject.eq(&t.by.subject),
            ag::termination_reason.eq(&t.reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// One agreement by id.
pub fn get(conn: &mut DbConn, id: AgreementId) -> Result<Option<Agreement>, AppError> {
    Ok(load(conn, &[id.to_string()])?.into_iter().next())
}

/// The ids of agreements, in id order, to which `party` is a party in some version and that
/// belong to `partnership` (each filter only when given).
pub fn ids(
    conn: &mut DbConn,
    party: Option<AgencyId>,
    partnership: Option<PartnershipId>,
) -> Result<Vec<String>, AppError> {
    let mut q = ag::table.select(ag::id).into_boxed();
    if let Some(a) = party {
        let of_party = ap::table
            .filter(ap::agency_id.eq(a.to_string()))
            .select(ap::agreement_id);
        q = q.filter(ag::id.eq_any(of_party));
    }
    if let Some(p) = partnership {
        q = q.filter(ag::partnership_id.eq(p.to_string()));
    }
    Ok(q.order(ag::id).load(conn)?)
}

/// Every agreement to which both agencies are parties in some version, with the terms history
/// of its partnership: the candidates the policy function weighs for a disclosure between
/// them. A fixed number of queries, whatever the number of agreements.
pub fn views_between(
    conn: &mut DbConn,
    a: AgencyId,
    b: AgencyId,
) -> Result<Vec<AgreementView>, AppError> {
    let rows: Vec<(String, String)> = ap::table
        .filter(ap::agency_id.eq_any([a.to_string(), b.to_string()]))
        .select((ap::agreement_id, ap::agency_id))
        .distinct()
        .load(conn)?;
    let (sa, sb) = (a.to_string(), b.to_string());
    let mut ids: Vec<String> = rows
        .iter()
        .filter(|(id, agency)| {
            *agency == sa
                && rows
                    .iter()
                    .any(|(id2, agency2)| id2 == id && *agency2 == sb)
        })
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let agreements = load(conn, &ids)?;
    with_terms(conn, agreements)
}

/// Every agreement `agency` is a party to in some version, with the terms history of its
/// partnership (for routing: the candidates' views are picked out of these).
pub fn views_of(conn: &mut DbConn, agency: AgencyId) -> Result<Vec<AgreementView>, AppError> {
    let mut ids: Vec<String> = ap::table
        .filter(ap::agency_id.eq(agency.to_string()))
        .select(ap::agreement_id)
        .distinct()
        .load(conn)?;
    ids.sort();
    ids.dedup();
    let agreements = load(conn, &ids)?;
    with_terms(conn, agreements)
}

/// Pairs agreements with their partnerships' terms history.
pub fn with_terms(
    conn: &mut DbConn,
    agreements: Vec<Agreement>,
) -> Result<Vec<AgreementView>, AppError> {
    let mut pids: Vec<PartnershipId> = agreements.iter().map(|a| a.partnership_id).collect();
    pids.sort();
    pids.dedup();
    let terms = histories(conn, &pids)?;
    Ok(agreements
        .into_iter()
        .map(|agreement| {
            let terms = terms
                .get(&agreement.partnership_id)
                .cloned()
                .unwrap_or_default();
            AgreementView { agreement, terms }
        })
        .collect())
}
