//! Loading agreements: a fixed number of queries for any number of agreements, assembled
//! into domain values.
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{parse, parse_opt, signer, Details};
use crate::domain::agreement::{
    Agreement, AgreementTerms, AgreementVersion, DataItems, Lifted, Party, Signature, Suspension,
    Termination,
};
use crate::domain::ids::AgencyId;
use crate::domain::partnership::Signer;
use crate::domain::sharing::{Classification, PartyLawfulBasis, Purpose};
use crate::error::AppError;
use crate::service::store::schema::{
    agreement_data_items as di, agreement_parties as ap, agreement_signatures as sg,
    agreement_suspensions as su, agreement_versions as av, agreements as ag,
};
use crate::service::store::time::from_db;
use crate::service::store::DbConn;

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
