//! Agreement request bodies and their parsing into domain terms, collecting every error with
//! its JSON pointer. Checks that need the database (agencies exist, parties are members) are
//! the use case's.
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

mod parts;

use parts::{parse_data_items, parse_party, parse_procedures};

use crate::domain::agreement::{check_dates, AgreementTerms, Party, MAX_RETENTION_DAYS};
use crate::domain::ids::PartnershipId;
use crate::domain::partnership::parse_date;
use crate::domain::sharing::{Classification, Purpose};
use crate::domain::validate::{required_text, Errors};
use crate::error::AppError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawfulBasisIn {
    pub regime: Option<String>,
    pub condition: Option<String>,
    pub special_category: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyIn {
    pub agency_id: Option<String>,
    pub role: Option<String>,
    pub lawful_basis: Option<LawfulBasisIn>,
    pub contact: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataItemsIn {
    pub recipient_agency_id: Option<String>,
    pub record_kind: Option<String>,
    pub fields: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProceduresIn {
    pub subject_access: Option<String>,
    pub breach: Option<String>,
    pub breach_notification_hours: Option<i32>,
    pub termination: Option<String>,
    pub on_termination: Option<String>,
    pub data_quality: Option<String>,
    pub security: Option<String>,
    pub training: Option<String>,
}

/// `POST /agreements` and `POST /agreements/{id}/versions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementIn {
    pub partnership_id: Option<String>,
    pub title: Option<String>,
    pub purposes: Option<Vec<String>>,
    pub parties: Option<Vec<PartyIn>>,
    pub data_items: Option<Vec<DataItemsIn>>,
    pub max_classification: Option<String>,
    pub handling_conditions: Option<String>,
    pub effective_from: Option<String>,
    pub expires_at: Option<String>,
    pub review_date: Option<String>,
    pub retention_days: Option<i64>,
    pub procedures: Option<ProceduresIn>,
    #[serde(default)]
    pub other_organisations: Vec<String>,
    #[serde(default)]
    pub special_category_data: bool,
    #[serde(default)]
    pub criminal_offence_data: bool,
}

/// An instant: RFC 3339, or a date `YYYY-MM-DD` meaning its start (00:00 UTC).
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| "must be an RFC 3339 date-time or a date YYYY-MM-DD".to_owned())
}

fn required<'a>(e: &mut Errors, pointer: &str, v: Option<&'a str>) -> Option<&'a str> {
    if v.is_none() {
        e.add(pointer, "is required");
    }
    v
}

fn text(e: &mut Errors, pointer: &str, v: Option<&str>, max: usize) -> Option<String> {
    required(e, pointer, v).and_then(|v| e.take(pointer, required_text(v, max)))
}

fn optional_text(e: &mut Errors, pointer: &str, v: Option<&str>, max: usize) -> Option<String> {
    v.and_then(|v| e.take(pointer, required_text(v, max)))
}

impl AgreementIn {
    /// Parses the body. `partnership` is the agreement's partnership when amending (the body
    /// may repeat it, not change it); when creating the body must name it.
    pub fn parse(
        self,
        partnership: Option<PartnershipId>,
    ) -> Result<(PartnershipId, AgreementTerms), AppError> {
        let mut e = Errors::new();
        let partnership_id = match (self.partnership_id.as_deref(), partnership) {
            (None, None) => {
                e.add("/partnership_id", "is required");
                None
            }
            (None, Some(p)) => Some(p),
            (Some(s), p) => match s.parse::<PartnershipId>() {
                Err(_) => {
                    e.add("/partnership_id", "is not a partnership id");
                    None
                }
                Ok(id) if p.is_some_and(|p| p != id) => {
                    e.add(
                        "/partnership_id",
                        "an amendment stays in the agreement's partnership",
                    );
                    None
                }
                Ok(id) => Some(id),
            },
        };
        let title = text(&mut e, "/title", self.title.as_deref(), 200);
        let mut purposes: Vec<Purpose> = Vec::new();
        match &self.purposes {
            None => e.add("/purposes", "is required"),
            Some(p) if p.is_empty() => e.add("/purposes", "name at least one purpose"),
            Some(p) => {
                for (i, s) in p.iter().enumerate() {
                    if let Some(purpose) = e.take(format!("/purposes/{i}"), s.parse::<Purpose>()) {
                        if !purposes.contains(&purpose) {
                            purposes.push(purpose);
                        }
                    }
                }
            }
        }
        let mut parties: Vec<Party> = Vec::new();
        match &self.parties {
            None => e.add("/parties", "is required"),
            Some(list) => {
                for (i, p) in list.iter().enumerate() {
                    let at = format!("/parties/{i}");
                    if let Some(party) = parse_party(&mut e, &at, p) {
                        if parties.iter().any(|q| q.agency_id == party.agency_id) {
                            e.add(format!("{at}/agency_id"), "is already a party");
                        } else {
                            parties.push(party);
                        }
                    }
                }
                if list.len() < 2 {
                    e.add("/parties", "an agreement needs at least two parties");
                } else if parties.len() == list.len() {
                    let shares = parties.iter().any(|d| {
                        d.role.discloses()
                            && parties
                                .iter()
                                .any(|r| r.agency_id != d.agency_id && r.role.receives())
                    });
                    if !shares {
                        e.add("/parties", "no party discloses to another party");
                    }
                }
            }
        }
        let data_items = parse_data_items(&mut e, self.data_items.as_deref(), &parties);
        let max_classification = required(
            &mut e,
            "/max_classification",
            self.max_classification.as_deref(),
        )
        .and_then(|c| e.take("/max_classification", c.parse::<Classification>()));
        let handling_conditions = optional_text(
            &mut e,
            "/handling_conditions",
            self.handling_conditions.as_deref(),
            2000,
        );
        let effective_from = required(&mut e, "/effective_from", self.effective_from.as_deref())
            .and_then(|s| e.take("/effective_from", parse_instant(s)));
        let expires_at = required(&mut e, "/expires_at", self.expires_at.as_deref())
            .and_then(|s| e.take("/expires_at", parse_instant(s)));
        let review_date = required(&mut e, "/review_date", self.review_date.as_deref())
            .and_then(|s| e.take("/review_date", parse_date(s)));
        if let (Some(f), Some(x), Some(r)) = (effective_from, expires_at, review_date) {
            for (pointer, detail) in check_dates(f, x, r) {
                e.add(pointer, detail);
            }
        }
        let retention_days = match self.retention_days {
            None => {
                e.add("/retention_days", "is required");
                None
            }
            Some(d) if (1..=MAX_RETENTION_DAYS).contains(&d) => Some(d),
            Some(_) => {
                e.add(
                    "/retention_days",
                    format!("must be 1 to {MAX_RETENTION_DAYS}"),
                );
                None
            }
        };
        let procedures = self
            .procedures
            .as_ref()
            .map(|p| parse_procedures(&mut e, p));
        let mut other_organisations = Vec::new();
        for (i, o) in self.other_organisations.iter().enumerate() {
            if let Some(o) = e.take(format!("/other_organisations/{i}"), required_text(o, 200)) {
                other_organisations.push(o);
            }
        }
        e.finish()?;
        let incomplete = || AppError::validation("", "invalid agreement");
        Ok((
            partnership_id.ok_or_else(incomplete)?,
            AgreementTerms {
                title: title.ok_or_else(incomplete)?,
                purposes,
                parties,
                data_items,
                max_classification: max_classification.ok_or_else(incomplete)?,
                handling_conditions,
                effective_from: effective_from.ok_or_else(incomplete)?,
                expires_at: expires_at.ok_or_else(incomplete)?,
                review_date: review_date.ok_or_else(incomplete)?,
                retention_days: retention_days.ok_or_else(incomplete)?,
                procedures: procedures.map(|p| p.ok_or_else(incomplete)).transpose()?,
                other_organisations,
                special_category_data: self.special_category_data,
                criminal_offence_data: self.criminal_offence_data,
            },
        ))
    }
}

/// `POST /agreements/{id}/signatures` (optional body).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The version being signed (required): it must be the latest.
    pub version: Option<i32>,
}

/// `POST /agreements/{id}/suspend` and `/terminate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    pub reason: Option<String>,
}

impl ReasonIn {
    pub fn parse(self) -> Result<String, AppError> {
        let mut e = Errors::new();
        let r = text(&mut e, "/reason", self.reason.as_deref(), 2000);
        e.finish()?;
        r.ok_or_else(|| AppError::validation("/reason", "is required"))
    }
}

/// `POST /agreements/{id}/resume` (optional body).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeIn {
    pub note: Option<String>,
}

impl ResumeIn {
    pub fn parse(self) -> Result<Option<String>, AppError> {
        let mut e = Errors::new();
        let n = optional_text(&mut e, "/note", self.note.as_deref(), 2000);
        e.finish()?;
        Ok(n)
    }
}
