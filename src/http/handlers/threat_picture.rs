//! `GET /reports/threat-picture`: the aggregate picture for analysts and IG officers, as
//! JSON or, with `Accept: text/csv` or `format=csv`, as CSV.
use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::ids::PartnershipId;
use crate::domain::report::threat_picture::{to_csv, Dimension, Period, Query};
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::http::extract::roles::ThreatPictureReader;
use crate::http::extract::{parse_id, Authorized};
use crate::usecase::threat_picture;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatPictureQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub period: Option<String>,
    pub by: Option<String>,
    pub partnership_id: Option<String>,
    pub format: Option<String>,
}

fn date(e: &mut Errors, name: &str, v: &Option<String>) -> Option<NaiveDate> {
    match v {
        None => {
            e.add(format!("/{name}"), "is required (YYYY-MM-DD)");
            None
        }
        Some(s) => e.take(
            format!("/{name}"),
            s.parse::<NaiveDate>()
                .map_err(|_| "must be a date (YYYY-MM-DD)"),
        ),
    }
}

impl ThreatPictureQuery {
    fn parse(&self) -> Result<Query, AppError> {
        let mut e = Errors::new();
        let from = date(&mut e, "from", &self.from);
        let to = date(&mut e, "to", &self.to);
        let period = e.take(
            "/period",
            self.period.as_deref().unwrap_or("month").parse::<Period>(),
        );
        let mut by = Vec::new();
        for (i, d) in self.by.as_deref().unwrap_or("").split(',').enumerate() {
            let d = d.trim();
            if d.is_empty() {
                continue;
            }
            if let Some(d) = e.take(format!("/by/{i}"), d.parse::<Dimension>()) {
                if !by.contains(&d) {
                    by.push(d);
                }
            }
        }
        if self.by.is_none() {
            e.add(
                "/by",
                format!("name one or more of: {}", Dimension::names()),
            );
        }
        if let Some(f) = self.format.as_deref() {
            if f != "json" && f != "csv" {
                e.add("/format", "must be json or csv");
            }
        }
        e.finish()?;
        match (from, to, period) {
            (Some(from), Some(to), Some(period)) => Ok(Query {
                period,
                by,
                from,
                to,
            }),
            _ => Err(AppError::validation("", "invalid query")),
        }
    }
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<ThreatPictureReader>,
    req: HttpRequest,
    query: web::Query<ThreatPictureQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.parse()?;
    let partnership: Option<PartnershipId> =
        query.partnership_id.as_deref().map(parse_id).transpose()?;
    let accepts_csv = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        Some(_) => false,
        None => accepts_csv,
    };
    let report = threat_picture::threat_picture(&state.hub, auth.principal, partnership, q).await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
            .body(to_csv(&report.picture)));
    }
    Ok(HttpResponse::Ok().json(report))
}
