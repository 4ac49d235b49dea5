//! A referral's routing decisions, one per candidate recipient.
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::super::schema::referral_routing as rr;
use super::super::time::{from_db, to_db};
use super::super::DbConn;
use crate::domain::audit::AgreementRef;

use crate::domain::records::Decision;
use crate::domain::routing::Route;
use crate::error::AppError;

#[derive(Queryable, Insertable)]
#[diesel(table_name = rr)]
#[diesel(treat_none_as_default_value = false)]
struct DecisionRow {
    referral_id: String,
    agency_id: String,
    route: String,
    purpose: String,
    decision: String,
    reasons: String,
    agreement_id: Option<String>,
    agreement_version: Option<i32>,
    fields: String,
    notification_id: Option<String>,
    decided_at: NaiveDateTime,
}

pub fn insert_decision(conn: &mut DbConn, referral: &str, d: &Decision) -> Result<(), AppError> {
    let row = DecisionRow {
        referral_id: referral.to_owned(),
        agency_id: d.agency_id.to_string(),
        route: d.route.as_str().to_owned(),
        purpose: d.purpose.clone(),
        decision: if d.notified { "notified" } else { "withheld" }.to_owned(),
        reasons: serde_json::to_string(&d.reasons)?,
        agreement_id: d.agreement.as_ref().map(|a| a.id.clone()),
        agreement_version: d.agreement.as_ref().map(|a| a.version),
        fields: serde_json::to_string(&d.fields)?,
        notification_id: d.notification_id.map(|n| n.to_string()),
        decided_at: to_db(d.decided_at),
    };
    diesel::insert_into(rr::table).values(row).execute(conn)?;
    Ok(())
}

/// Every routing decision of a referral, police first, then the MASH, the children's
/// partnership and the ICTG service (the caller has checked the referral's scope).
pub fn decisions(conn: &mut DbConn, referral: &str) -> Result<Vec<Decision>, AppError> {
    let rows: Vec<DecisionRow> = rr::table
        .filter(rr::referral_id.eq(referral))
        .order(rr::agency_id)
        .load(conn)?;
    let mut out = rows
        .into_iter()
        .map(|x| {
            Ok(Decision {
                agency_id: x.agency_id.parse().map_err(AppError::internal)?,
                route: Route::parse(&x.route).ok_or_else(|| AppError::internal("bad route"))?,
                purpose: x.purpose,
                notified: x.decision == "notified",
                reasons: serde_json::from_str(&x.reasons)?,
                agreement: match (x.agreement_id, x.agreement_version) {
                    (Some(id), Some(version)) => Some(AgreementRef { id, version }),
                    _ => None,
                },
                fields: serde_json::from_str(&x.fields)?,
                record_version: None,
                notification_id: x
                    .notification_id
                    .map(|n| n.parse().map_err(AppError::internal))
                    .transpose()?,
                decided_at: from_db(x.decided_at),
            })
        })
        .collect::<Result<Vec<Decision>, AppError>>()?;
    out.sort_by_key(|d| d.route);
    Ok(out)
}
