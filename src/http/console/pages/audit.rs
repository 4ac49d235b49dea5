//! `/console/audit`: searching the audit log with several values per filter, a page at a
//! time, each search logged as a consultation with the session's purpose (through the same
//! use case as `GET /audit/events`), and `/console/audit/export`: the current filter as CSV
//! or JSON Lines, every page, with the signed tree head it was cut against.
use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};

use super::{consult_or_ask, encode, failure, when, Names, Params};
use crate::app::AppState;
use crate::audit::LoggedEntry;
use crate::domain::audit::{Decision, Operation};
use crate::domain::audit_query::EventFilter;
use crate::error::AppError;
use crate::http::console::context::ConsoleUser;
use crate::http::console::page::{self, Chrome};
use crate::http::handlers::audit::export_response;
use crate::http::wire::audit_query::ExportFormat;
use crate::usecase::{audit, directory};

const TITLE: &str = "Audit search";
const SECTION: &str = "audit";
/// The longest text a filter value may be.
const MAX_TEXT: usize = 200;
/// The most values one filter takes.
const MAX_VALUES: usize = 20;

/// One option of a select, as shown.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One text input of a repeatable text filter.
#[derive(Debug, Clone)]
pub struct TextInput {
    pub id: String,
    pub label: String,
    pub value: String,
}

/// What the search form shows: the values entered and, per field, what is wrong.
#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    pub operations: Vec<Choice>,
    pub agencies: Vec<Choice>,
    pub decisions: Vec<Choice>,
    pub records: Vec<TextInput>,
    pub people: Vec<TextInput>,
    pub actors: Vec<TextInput>,
    pub from: String,
    pub to: String,
    /// Field name -> message.
    pub errors: BTreeMap<&'static str, String>,
}

impl SearchForm {
    pub fn error(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }
}

/// One entry in the results table, names instead of ids.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub seq: i64,
    pub occurred_at: String,
    pub operation: String,
    pub actor: String,
    pub record: String,
    pub recipients: String,
    pub decision: String,
    pub purpose: String,
}

impl ResultRow {
    pub fn new(l: &LoggedEntry, names: &Names) -> ResultRow {
        let e = &l.entry;
        let record = match (&e.record_kind, &e.record_id) {
            (Some(k), Some(i)) => format!("{k} {i}"),
            (Some(k), None) => k.clone(),
            (None, Some(i)) => i.clone(),
            (None, None) => String::new(),
        };
        ResultRow {
            seq: l.seq,
            occurred_at: when(e.occurred_at),
            operation: e.operation.as_str().to_owned(),
            actor: actor_text(&e.actor, names),
            record,
            recipients: e
                .recipients
                .iter()
                .map(|r| names.of(r))
                .collect::<Vec<_>>()
                .join(", "),
            decision: e.decision.map(|d| d.as_str()).unwrap_or("").to_owned(),
            purpose: e.purpose.clone().unwrap_or_default(),
        }
    }
}

/// Who acted: the agency by name and the person as their identity provider names them.
pub fn actor_text(a: &crate::domain::audit::Actor, names: &Names) -> String {
    match a.agency_id {
        Some(id) => format!("{} ({})", a.subject, names.of(&id)),
        None => format!("{} (hub)", a.subject),
    }
}

#[derive(Template)]
#[template(path = "console/pages/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub form: SearchForm,
    /// Whether a search ran (the results table is shown).
    pub searched: bool,
    pub rows: Vec<ResultRow>,
    pub purpose: String,
    pub next_page: Option<String>,
    pub export_csv: String,
    pub export_jsonl: String,
}

fn text_inputs(name: &str, label: &str, values: &[String]) -> Vec<TextInput> {
    let mut out: Vec<TextInput> = values
        .iter()
        .enumerate()
        .map(|(i, v)| TextInput {
            id: format!("{name}-{}", i + 1),
            label: format!("{label} {}", i + 1),
            value: v.clone(),
        })
        .collect();
    let n = out.len() + 1;
    out.push(TextInput {
        id: format!("{name}-{n}"),
        label: if n == 1 {
            label.to_owned()
        } else {
            format!("{label} {n} (another)")
        },
        value: String::new(),
    });
    out
}

fn day(value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| "must be a date, e.g. 2026-06-01".to_owned())
}

fn texts(
    errors: &mut BTreeMap<&'static str, String>,
    field: &'static str,
    values: &[String],
) -> Vec<String> {
    if values.len() > MAX_VALUES {
        errors.insert(field, format!("at most {MAX_VALUES} values"));
    }
    if values.iter().any(|v| v.chars().count() > MAX_TEXT) {
        errors.insert(
            field,
            format!("each value must be at most {MAX_TEXT} characters"),
        );
    }
    values.to_vec()
}

/// Reads the search parameters: the filter, the page start, and the form to show again.
pub fn parse(params: &Params, names: &Names) -> (Result<EventFilter, ()>, i64, SearchForm) {
    let mut errors = BTreeMap::new();
    let ops = params.all("operation");
    let mut operations = Vec::new();
    for o in &ops {
        match o.parse::<Operation>() {
            Ok(op) => operations.push(op),
            Err(_) => {
                errors.insert("operation", format!("`{o}` is not an operation"));
            }
        }
    }
    let agency_names = params.all("agency");
    let mut agencies = Vec::new();
    for a in &agency_names {
        match names.find(a) {
            Some(id) => agencies.push(id),
            None => {
                errors.insert("agency", format!("no agency is called `{a}`"));
            }
        }
    }
    let decs = params.all("decision");
    let mut decisions = Vec::new();
    for d in &decs {
        match d.parse::<Decision>() {
            Ok(x) => decisions.push(x),
            Err(_) => {
                errors.insert("decision", format!("`{d}` is not a decision"));
            }
        }
    }
    let records = texts(&mut errors, "record", &params.all("record"));
    let people = texts(&mut errors, "person", &params.all("person"));
    let actors = texts(&mut errors, "actor", &params.all("actor"));
    let from_text = params.one("from").unwrap_or_default();
    let to_text = params.one("to").unwrap_or_default();
    let from = match from_text.as_str() {
        "" => None,
        v => day(v)
            .map_err(|m| {
                errors.insert("from", m);
            })
            .ok(),
    };
    // A date `to` includes that day.
    let to = match to_text.as_str() {
        "" => None,
        v => day(v)
            .map(|t| {
                if v.len() == 10 {
                    t + chrono::Duration::days(1)
                } else {
                    t
                }
            })
            .map_err(|m| {
                errors.insert("to", m);
            })
            .ok(),
    };
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            errors.insert("to", "must not be before the start date".to_owned());
        }
    }
    let after = match params.one("after") {
        None => 0,
        Some(a) => match a.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                errors.insert("after", "the page position is not valid".to_owned());
                0
            }
        },
    };
    let form = SearchForm {
        operations: Operation::ALL
            .iter()
            .map(|o| Choice {
                value: o.as_str().to_owned(),
                label: o.as_str().replace('_', " "),
                selected: ops.iter().any(|x| x == o.as_str()),
            })
            .collect(),
        agencies: names
            .sorted()
            .into_iter()
            .map(|n| Choice {
                selected: agency_names.contains(&n),
                label: n.clone(),
                value: n,
            })
            .collect(),
        decisions: Decision::ALL
            .iter()
            .map(|d| Choice {
                value: d.as_str().to_owned(),
                label: d.as_str().to_owned(),
                selected: decs.iter().any(|x| x == d.as_str()),
            })
            .collect(),
        records: text_inputs("record", "Record id", &records),
        people: text_inputs("person", "Person reference", &people),
        actors: text_inputs("actor", "Actor", &actors),
        from: from_text,
        to: to_text,
        errors,
    };
    let filter = if form.errors.is_empty() {
        Ok(EventFilter {
            operations,
            agencies,
            record_kinds: Vec::new(),
            record_ids: records,
            subject_refs: people,
            actors,
            decisions,
            from,
            to,
        })
    } else {
        Err(())
    };
    (filter, after, form)
}

fn here(req: &HttpRequest) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| "/console/audit".to_owned(), |p| p.as_str().to_owned())
}

/// `GET /console/audit`
pub async fn search(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = Chrome::new(&user, TITLE, SECTION);
    let consult = match consult_or_ask(&user, TITLE, SECTION, here(&req)) {
        Ok(c) => c,
        Err(form) => return Ok(*form),
    };
    let names = match directory::names(&state.hub).await {
        Ok(n) => Names(n),
        Err(e) => return failure(chrome, &e),
    };
    let params = Params::parse(req.query_string());
    let (filter, after, form) = parse(&params, &names);
    let kept = params.encode_without(&["after", "format"]);
    let mut shown = AuditPage {
        chrome: chrome.clone(),
        form,
        searched: false,
        rows: Vec::new(),
        purpose: consult.purpose.as_str().to_owned(),
        next_page: None,
        export_csv: format!("/console/audit/export?format=csv&{kept}"),
        export_jsonl: format!("/console/audit/export?format=jsonl&{kept}"),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(()) => return page::html_with(StatusCode::UNPROCESSABLE_ENTITY, &shown),
    };
    if params.0.is_empty() {
        return page::html(&shown);
    }
    let limit = state.settings.console.page_size;
    let rows = audit::events(
        &state.hub,
        user.principal.clone(),
        consult,
        filter,
        after,
        limit + 1,
    )
    .await;
    let mut rows = match rows {
        Ok(r) => r,
        Err(e) => return failure(chrome, &e),
    };
    if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        if let Some(last) = rows.last() {
            shown.next_page = Some(format!("/console/audit?{kept}&after={}", last.seq));
        }
    }
    shown.searched = true;
    shown.rows = rows.iter().map(|l| ResultRow::new(l, &names)).collect();
    page::html(&shown)
}

/// `GET /console/audit/export?format=csv|jsonl&...`: every entry the filter matches, up to
/// the signed tree head the export was cut against (sent in `Audit-Tree-*` headers).
pub async fn export(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = Chrome::new(&user, TITLE, SECTION);
    let params = Params::parse(req.query_string());
    let back = format!(
        "/console/audit?{}",
        params.encode_without(&["after", "format"])
    );
    let consult = match consult_or_ask(&user, TITLE, SECTION, back) {
        Ok(c) => c,
        Err(form) => return Ok(*form),
    };
    let names = match directory::names(&state.hub).await {
        Ok(n) => Names(n),
        Err(e) => return failure(chrome, &e),
    };
    let (filter, _, mut form) = parse(&params, &names);
    let format = match params.one("format").as_deref() {
        Some("csv") => Some(ExportFormat::Csv),
        Some("jsonl") | None => Some(ExportFormat::Jsonl),
        Some(_) => {
            form.errors
                .insert("format", "must be csv or jsonl".to_owned());
            None
        }
    };
    let (Ok(filter), Some(format)) = (filter, format) else {
        let kept = params.encode_without(&["after", "format"]);
        let shown = AuditPage {
            chrome,
            form,
            searched: false,
            rows: Vec::new(),
            purpose: consult.purpose.as_str().to_owned(),
            next_page: None,
            export_csv: format!("/console/audit/export?format=csv&{kept}"),
            export_jsonl: format!("/console/audit/export?format=jsonl&{kept}"),
        };
        return page::html_with(StatusCode::UNPROCESSABLE_ENTITY, &shown);
    };
    let started = audit::export_signed(
        &state.hub,
        user.principal.clone(),
        consult,
        filter,
        format.as_str(),
        &state.audit,
    )
    .await;
    let (export, head) = match started {
        Ok(x) => x,
        Err(e) => return failure(chrome, &e),
    };
    let signature = base64::engine::general_purpose::STANDARD.encode(&head.signature);
    Ok(export_response(export, format)
        .header("audit-tree-size", head.tree_size.to_string())
        .header("audit-tree-root-hash", hex::encode(head.root_hash))
        .header(
            "audit-tree-head-timestamp",
            head.timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
        .header("audit-tree-head-key-id", head.key_id.clone())
        .header("audit-tree-head-signature", signature)
        .header(
            "audit-tree-head-checkpoint",
            format!("/api/v1/audit/checkpoints?size={}", head.tree_size),
        )
        .header("cache-control", "no-store".to_owned())
        .finish_streaming())
}

/// A link to the entry page.
pub fn entry_link(seq: i64) -> String {
    format!("/console/audit/entries/{seq}")
}

/// A link to the person report of `reference`.
pub fn person_link(reference: &str) -> String {
    format!("/console/people?ref={}", encode(reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AgencyId;

    fn names() -> (Names, AgencyId) {
        let id = AgencyId::new();
        let mut m = BTreeMap::new();
        m.insert(id, "Northshire Police".to_owned());
        (Names(m), id)
    }

    #[test]
    fn several_values_per_filter_become_one_filter_and_agencies_are_chosen_by_name() {
        let (names, id) = names();
        let p = Params::parse(
            "operation=disclosure&operation=collection&agency=Northshire+Police&decision=withheld\
             &person=p-1&person=p-2&actor=officer-1&from=2026-01-01&to=2026-01-31",
        );
        let (filter, after, form) = parse(&p, &names);
        let f = filter.unwrap();
        assert_eq!(after, 0);
        assert_eq!(
            f.operations,
            vec![Operation::Disclosure, Operation::Collection]
        );
        assert_eq!(f.agencies, vec![id]);
        assert_eq!(f.subject_refs, vec!["p-1", "p-2"]);
        assert_eq!(f.decisions, vec![Decision::Withheld]);
        assert_eq!(
            f.to.unwrap().to_rfc3339(),
            "2026-02-01T00:00:00+00:00",
            "a `to` date includes its day"
        );
        // Two person inputs filled and one empty one to add another.
        assert_eq!(form.people.len(), 3);
        assert!(form.agencies[0].selected);
    }

    #[test]
    fn bad_values_mark_their_fields() {
        let (names, _) = names();
        let p = Params::parse("operation=gossip&agency=Nowhere&from=yesterday&decision=maybe");
        let (filter, _, form) = parse(&p, &names);
        assert!(filter.is_err());
        for field in ["operation", "agency", "from", "decision"] {
            assert!(form.has_error(field), "{field} not marked");
        }
        assert!(!form.has_error("to"));
    }
}
