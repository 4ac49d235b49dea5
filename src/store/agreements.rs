//! Data-sharing agreements: the agreement row (partnership, termination), its versions with
//! parties, data items and signatures, and its suspensions. Loading is batched: a handful of
//! queries load any number of agreements, which is what the policy function needs on every
//! disclosure ([`views_between`]).
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::partnerships::histories;
use super::schema::{
    agreement_data_items as di, agreement_parties as ap, agreement_signatures as sg,
    agreement_suspensions as su, agreement_versions as av, agreements as ag,
};
use super::time::{from_db, to_db};
use super::DbConn;
use crate::domain::agreement::{
    Agreement, AgreementTerms, AgreementVersion, DataItems, Lifted, Party, Procedures, Signature,
    Suspension, Termination,
};
use crate::domain::ids::{AgencyId, AgreementId, PartnershipId};
use crate::domain::partnership::Signer;
use crate::domain::policy::AgreementView;
use crate::domain::sharing::{Classification, PartyLawfulBasis, Purpose};
use crate::error::AppError;

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

type AgreementRow = (
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[derive(Queryable)]
struct VersionRow {
    agreement_id: String,
    version: i32,
    title: String,
    purposes: String,
    max_classification: String,
    effective_from: NaiveDateTime,
    expires_at: NaiveDateTime,
    review_date: NaiveDate,
    retention_days: i64,
    details: String,
    created_at: NaiveDateTime,
    created_by_agency_id: Option<String>,
    created_by_issuer: String,
    created_by_subject: String,
}

type PartyRow = (
    String,
    i32,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);
type ItemRow = (String, i32, String, String, String);
type SignatureRow = (String, i32, String, NaiveDateTime, String, String);
type SuspensionRow = (
    String,
    NaiveDateTime,
    Option<String>,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Loads the agreements with these ids (those that exist), in id order.
pub fn load(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Agreement>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let heads: Vec<AgreementRow> = ag::table
        .filter(ag::id.eq_any(ids))
        .select((
            ag::id,
            ag::partnership_id,
            ag::created_at,
            ag::terminated_at,
            ag::terminated_by_agency_id,
            ag::terminated_by_issuer,
            ag::terminated_by_subject,
            ag::termination_reason,
        ))
        .order(ag::id)
        .load(conn)?;
    let versions: Vec<VersionRow> = av::table
        .filter(av::agreement_id.eq_any(ids))
        .order((av::agreement_id, av::version))
        .load(conn)?;
    let parties: Vec<PartyRow> = ap::table
        .filter(ap::agreement_id.eq_any(ids))
        .select((
            ap::agreement_id,
            ap::version,
            ap::agency_id,
            ap::role,
            ap::regime,
            ap::lawful_condition,
            ap::special_category,
            ap::contact,
        ))
        .order((ap::agreement_id, ap::version, ap::position))
        .load(conn)?;
    let items: Vec<ItemRow> = di::table
        .filter(di::agreement_id.eq_any(ids))
        .select((
            di::agreement_id,
            di::version,
            di::recipient_agency_id,
            di::record_kind,
            di::fields,
        ))
        .order((di::agreement_id, di::version, di::position))
        .load(conn)?;
    let signatures: Vec<SignatureRow> = sg::table
        .filter(sg::agreement_id.eq_any(ids))
        .select((
            sg::agreement_id,
            sg::version,
            sg::agency_id,
            sg::signed_at,
            sg::signer_issuer,
            sg::signer_subject,
        ))
        .order((sg::agreement_id, sg::version, sg::signed_at, sg::agency_id))
        .load(conn)?;
    let suspensions: Vec<SuspensionRow> = su::table
        .filter(su::agreement_id.eq_any(ids))
        .select((
            su::agreement_id,
            su::suspended_at,
            su::suspended_by_agency_id,
            su::suspended_by_issuer,
            su::suspended_by_subject,
            su::reason,
            su::lifted_at,
            su::lifted_by_agency_id,
            su::lifted_by_issuer,
            su::lifted_by_subject,
            su::lift_note,
        ))
        .order((su::agreement_id, su::suspended_at))
        .load(conn)?;

    let mut out = Vec::with_capacity(heads.len());
    for (id, pid, created_at, t_at, t_agency, t_issuer, t_subject, t_reason) in heads {
        let mut vs = Vec::new();
        for v in versions.iter().filter(|v| v.agreement_id == id) {
            vs.push(version_of(v, &parties, &items, &signatures)?);
        }
        let sus = suspensions
            .iter()
            .filter(|s| s.0 == id)
            .map(|s| {
                Ok(Suspension {
                    suspended_at: from_db(s.1),
                    suspended_by: signer(s.2.as_deref(), s.3.clone(), s.4.clone())?,
                    reason: s.5.clone(),
                    lifted: match s.6 {
                        None => None,
                        Some(at) => Some(Lifted {
                            at: from_db(at),
                            by: signer(
                                s.7.as_deref(),
                                s.8.clone().unwrap_or_default(),
                                s.9.clone().unwrap_or_default(),
                            )?,
                            note: s.10.clone(),
                        }),
                    },
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let termination = match t_at {
            None => None,
            Some(at) => Some(Termination {
                at: from_db(at),
                by: signer(
                    t_agency.as_deref(),
                    t_issuer.unwrap_or_default(),
                    t_subject.unwrap_or_default(),
                )?,
                reason: t_reason.unwrap_or_default(),
            }),
        };
        out.push(Agreement {
            id: parse(&id)?,
            partnership_id: parse(&pid)?,
            created_at: from_db(created_at),
            versions: vs,
            suspensions: sus,
            termination,
        });
    }
    Ok(out)
}

fn version_of(
    v: &VersionRow,
    parties: &[PartyRow],
    items: &[ItemRow],
    signatures: &[SignatureRow],
) -> Result<AgreementVersion, AppError> {
    let mine = |a: &str, n: i32| a == v.agreement_id && n == v.version;
    let purposes: Vec<String> = serde_json::from_str(&v.purposes)?;
    let details: Details = serde_json::from_str(&v.details)?;
    Ok(AgreementVersion {
        version: v.version,
        terms: AgreementTerms {
            title: v.title.clone(),
            purposes: purposes
                .iter()
                .map(|p| parse::<Purpose>(p))
                .collect::<Result<_, _>>()?,
            parties: parties
                .iter()
                .filter(|p| mine(&p.0, p.1))
                .map(|p| {
                    let basis = PartyLawfulBasis::new(
                        parse(&p.4)?,
                        parse(&p.5)?,
                        parse_opt(p.6.as_deref())?,
                    )
                    .map_err(|e| AppError::internal(e.detail))?;
                    Ok(Party {
                        agency_id: parse(&p.2)?,
                        role: parse(&p.3)?,
                        lawful_basis: basis,
                        contact: p.7.clone(),
                    })
                })
                .collect::<Result<_, AppError>>()?,
            data_items: items
                .iter()
                .filter(|d| mine(&d.0, d.1))
                .map(|d| {
                    Ok(DataItems {
                        recipient: parse(&d.2)?,
                        record_kind: parse(&d.3)?,
                        fields: serde_json::from_str(&d.4)?,
                    })
                })
                .collect::<Result<_, AppError>>()?,
            max_classification: parse::<Classification>(&v.max_classification)?,
            handling_conditions: details.handling_conditions,
            effective_from: from_db(v.effective_from),
            expires_at: from_db(v.expires_at),
            review_date: v.review_date,
            retention_days: v.retention_days,
            procedures: details.procedures,
            other_organisations: details.other_organisations,
            special_category_data: details.special_category_data,
            criminal_offence_data: details.criminal_offence_data,
        },
        created_at: from_db(v.created_at),
        created_by: signer(
            v.created_by_agency_id.as_deref(),
            v.created_by_issuer.clone(),
            v.created_by_subject.clone(),
        )?,
        signatures: signatures
            .iter()
            .filter(|s| mine(&s.0, s.1))
            .map(|s| {
                let agency_id: AgencyId = parse(&s.2)?;
                Ok(Signature {
                    agency_id,
                    signed_at: from_db(s.3),
                    signed_by: Signer {
                        agency_id: Some(agency_id),
                        issuer: s.4.clone(),
                        subject: s.5.clone(),
                    },
                })
            })
            .collect::<Result<_, AppError>>()?,
    })
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
