//! Audit query parameters: parsed at the edge into the purpose, the filters and the page,
//! with every invalid one named by a JSON pointer in one 422.
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::audit::Operation;
use crate::domain::audit_query::{AuditPurpose, EventFilter};
use crate::domain::ids::AgencyId;
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::http::wire::page::PageQuery;
use crate::usecase::audit::Consult;

const MAX_JUSTIFICATION: usize = 1000;
const MAX_TEXT: usize = 200;

/// `GET /audit/events` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub purpose: Option<String>,
    pub justification: Option<String>,
    pub operation: Option<String>,
    pub agency_id: Option<String>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub subject_ref: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// `GET /audit/export` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub format: Option<String>,
    pub purpose: Option<String>,
    pub justification: Option<String>,
    pub operation: Option<String>,
    pub agency_id: Option<String>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub subject_ref: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Parameters of the audit queries that take only a purpose: `GET /audit/events/{seq}`
/// and `GET /audit/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeQuery {
    pub purpose: Option<String>,
    pub justification: Option<String>,
}

/// `GET /reports/disclosures` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureReportQuery {
    pub subject_ref: Option<String>,
    pub purpose: Option<String>,
    pub justification: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// `GET /audit/proofs/inclusion` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    pub seq: Option<i64>,
    pub tree_size: Option<u64>,
}

/// `GET /audit/checkpoints` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    pub size: Option<u64>,
}

/// `GET /audit/proofs/consistency` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub first: Option<u64>,
    pub second: Option<u64>,
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }
}

fn parse_consult(
    e: &mut Errors,
    purpose: Option<&str>,
    justification: Option<&str>,
) -> Option<Consult> {
    let purpose = match purpose {
        None => {
            e.add(
                "/purpose",
                format!("is required: {}", AuditPurpose::expected()),
            );
            None
        }
        Some(p) => e.take("/purpose", p.parse::<AuditPurpose>()),
    };
    let justification = match justification.map(str::trim).filter(|j| !j.is_empty()) {
        Some(j) if j.chars().count() > MAX_JUSTIFICATION => {
            e.add(
                "/justification",
                format!("must be at most {MAX_JUSTIFICATION} characters"),
            );
            None
        }
        other => other.map(str::to_owned),
    };
    purpose.map(|purpose| Consult {
        purpose,
        justification,
    })
}

fn text(e: &mut Errors, pointer: &str, value: Option<&str>) -> Option<String> {
    let v = value?;
    if v.is_empty() || v.chars().count() > MAX_TEXT {
        e.add(pointer, format!("must be 1 to {MAX_TEXT} characters"));
        return None;
    }
    Some(v.to_owned())
}

fn time(e: &mut Errors, pointer: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
    let v = value?;
    e.take(
        pointer,
        DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "must be an RFC 3339 time, e.g. 2026-06-01T09:00:00Z"),
    )
}

struct FilterFields<'a> {
    operation: Option<&'a str>,
    agency_id: Option<&'a str>,
    record_kind: Option<&'a str>,
    record_id: Option<&'a str>,
    subject_ref: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
}

fn parse_filter(e: &mut Errors, f: FilterFields<'_>) -> EventFilter {
    let operation = f.operation.and_then(|o| {
        e.take(
            "/operation",
            o.parse::<Operation>().map_err(|_| {
                let names: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            }),
        )
    });
    let agency_id = f.agency_id.and_then(|a| {
        e.take(
            "/agency_id",
            a.parse::<AgencyId>()
                .map_err(|_| "must be an agency id (a UUID)"),
        )
    });
    let from = time(e, "/from", f.from);
    let to = time(e, "/to", f.to);
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            e.add("/to", "must be after from");
        }
    }
    EventFilter {
        operations: operation.into_iter().collect(),
        agencies: agency_id.into_iter().collect(),
        record_kinds: text(e, "/record_kind", f.record_kind).into_iter().collect(),
        record_ids: text(e, "/record_id", f.record_id).into_iter().collect(),
        subject_refs: text(e, "/subject_ref", f.subject_ref).into_iter().collect(),
        actors: Vec::new(),
        decisions: Vec::new(),
        from,
        to,
    }
}

/// The seq after which a page starts.
fn after(cursor: &Option<String>, limit: Option<i64>) -> Result<(i64, i64), AppError> {
    let paging = PageQuery {
        cursor: cursor.clone(),
        limit,
    };
    let limit = paging.limit()?;
    let after = match paging.position()? {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .map_err(|_| AppError::BadRequest("invalid cursor".into()))?,
    };
    Ok((after, limit))
}

/// A parsed events query: why, which entries, and the page.
pub struct EventsRequest {
    pub consult: Consult,
    pub filter: EventFilter,
    pub after: i64,
    pub limit: i64,
}

impl EventsQuery {
    pub fn parse(&self) -> Result<EventsRequest, AppError> {
        let mut e = Errors::new();
        let consult = parse_consult(
            &mut e,
            self.purpose.as_deref(),
            self.justification.as_deref(),
        );
        let filter = parse_filter(
            &mut e,
            FilterFields {
                operation: self.operation.as_deref(),
                agency_id: self.agency_id.as_deref(),
                record_kind: self.record_kind.as_deref(),
                record_id: self.record_id.as_deref(),
                subject_ref: self.subject_ref.as_deref(),
                from: self.from.as_deref(),
                to: self.to.as_deref(),
            },
        );
        e.finish()?;
        let (after, limit) = after(&self.cursor, self.limit)?;
        let consult = consult.ok_or_else(|| AppError::internal("purpose parsed without value"))?;
        Ok(EventsRequest {
            consult,
            filter,
            after,
            limit,
        })
    }
}

impl ExportQuery {
    pub fn parse(&self) -> Result<(ExportFormat, Consult, EventFilter), AppError> {
        let mut e = Errors::new();
        let format = match self.format.as_deref() {
            None | Some("jsonl") => Some(ExportFormat::Jsonl),
            Some("csv") => Some(ExportFormat::Csv),
            Some(_) => {
                e.add("/format", "must be csv or jsonl");
                None
            }
        };
        let consult = parse_consult(
            &mut e,
            self.purpose.as_deref(),
            self.justification.as_deref(),
        );
        let filter = parse_filter(
            &mut e,
            FilterFields {
                operation: self.operation.as_deref(),
                agency_id: self.agency_id.as_deref(),
                record_kind: self.record_kind.as_deref(),
                record_id: self.record_id.as_deref(),
                subject_ref: self.subject_ref.as_deref(),
                from: self.from.as_deref(),
                to: self.to.as_deref(),
            },
        );
        e.finish()?;
        match (format, consult) {
            (Some(f), Some(c)) => Ok((f, c, filter)),
            _ => Err(AppError::internal("export query parsed without value")),
        }
    }
}

impl PurposeQuery {
    pub fn parse(&self) -> Result<Consult, AppError> {
        let mut e = Errors::new();
        let consult = parse_consult(
            &mut e,
            self.purpose.as_deref(),
            self.justification.as_deref(),
        );
        e.finish()?;
        consult.ok_or_else(|| AppError::internal("purpose parsed without value"))
    }
}

/// A parsed disclosure report request.
pub struct DisclosureReportRequest {
    pub consult: Consult,
    pub subject_ref: String,
    pub after: i64,
    pub limit: i64,
}

impl DisclosureReportQuery {
    pub fn parse(&self) -> Result<DisclosureReportRequest, AppError> {
        let mut e = Errors::new();
        let subject_ref = match self.subject_ref.as_deref() {
            None => {
                e.add("/subject_ref", "is required");
                None
            }
            some => text(&mut e, "/subject_ref", some),
        };
        let consult = parse_consult(
            &mut e,
            self.purpose.as_deref(),
            self.justification.as_deref(),
        );
        e.finish()?;
        let (after, limit) = after(&self.cursor, self.limit)?;
        match (subject_ref, consult) {
            (Some(subject_ref), Some(consult)) => Ok(DisclosureReportRequest {
                consult,
                subject_ref,
                after,
                limit,
            }),
            _ => Err(AppError::internal("report query parsed without value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_unknown_purpose_is_a_422_with_a_pointer() {
        let q = PurposeQuery {
            purpose: None,
            justification: None,
        };
        match q.parse() {
            Err(AppError::Validation(v)) => assert_eq!(v[0].pointer, "/purpose"),
            other => panic!("{other:?}"),
        }
        let q = PurposeQuery {
            purpose: Some("curiosity".into()),
            justification: None,
        };
        assert!(matches!(q.parse(), Err(AppError::Validation(_))));
    }
}
