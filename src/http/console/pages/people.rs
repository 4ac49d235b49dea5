//! `/console/people?ref=...`: one person's report for a subject access request: every
//! collection, disclosure and consultation about the reference that the officer may see,
//! with dates, recipients by name, purposes, agreement and version and data items. Other
//! people an entry names are never shown (their references and consent states are left
//! out, as in `GET /reports/disclosures`). Printable; logged as a consultation.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{consult_or_ask, encode, failure, when, Names, Params};
use crate::app::AppState;
use crate::audit::LoggedEntry;
use crate::error::AppError;
use crate::http::console::context::ConsoleUser;
use crate::http::console::page::{self, Chrome};
use crate::http::wire::audit::EventOut;
use crate::usecase::{audit, directory};

const TITLE: &str = "Person report";
const SECTION: &str = "people";
const MAX_REF: usize = 200;

/// One entry of the report.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub seq: i64,
    pub occurred_at: String,
    pub operation: String,
    pub actor: String,
    pub recipients: String,
    pub purpose: String,
    pub agreement: String,
    pub data_items: String,
    pub decision: String,
    pub consent: String,
}

impl ReportRow {
    /// `l` as a report about `reference` shows it: nothing about anyone else.
    pub fn new(l: &LoggedEntry, reference: &str, names: &Names) -> ReportRow {
        let shown = EventOut::from(l).for_subject(reference);
        ReportRow {
            seq: shown.seq,
            occurred_at: when(l.entry.occurred_at),
            operation: shown.operation.as_str().replace('_', " "),
            actor: super::audit::actor_text(&l.entry.actor, names),
            recipients: shown
                .recipients
                .iter()
                .map(|r| names.of_text(r))
                .collect::<Vec<_>>()
                .join(", "),
            purpose: shown.purpose.unwrap_or_default(),
            agreement: match (&shown.agreement_id, shown.agreement_version) {
                (Some(a), Some(v)) => format!("{a} version {v}"),
                (Some(a), None) => a.clone(),
                _ => String::new(),
            },
            data_items: shown.data_items.join(", "),
            decision: shown.decision.map(|d| d.as_str()).unwrap_or("").to_owned(),
            consent: shown.consent.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/pages/people.html")]
pub struct PeoplePage {
    pub chrome: Chrome,
    pub reference: String,
    pub error: String,
    pub searched: bool,
    pub rows: Vec<ReportRow>,
    pub tree_size: u64,
    pub root_hash: String,
    pub next_page: Option<String>,
    pub made_at: String,
}

/// `GET /console/people?ref=...`
pub async fn report(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = Chrome::new(&user, TITLE, SECTION);
    let params = Params::parse(req.query_string());
    let reference = params.one("ref").unwrap_or_default();
    let mut shown = PeoplePage {
        chrome: chrome.clone(),
        reference: reference.clone(),
        error: String::new(),
        searched: false,
        rows: Vec::new(),
        tree_size: 0,
        root_hash: String::new(),
        next_page: None,
        made_at: when(state.hub.now()),
    };
    if reference.is_empty() {
        if params.0.iter().any(|(k, _)| k == "ref") {
            shown.error = "Enter the person's reference".to_owned();
            return page::html_with(StatusCode::UNPROCESSABLE_ENTITY, &shown);
        }
        return page::html(&shown);
    }
    if reference.chars().count() > MAX_REF {
        shown.error = format!("A reference is at most {MAX_REF} characters");
        return page::html_with(StatusCode::UNPROCESSABLE_ENTITY, &shown);
    }
    let after = match params.one("after").map(|a| a.parse::<i64>()) {
        None => 0,
        Some(Ok(n)) if n >= 0 => n,
        Some(_) => {
            shown.error = "The page position is not valid".to_owned();
            return page::html_with(StatusCode::UNPROCESSABLE_ENTITY, &shown);
        }
    };
    let here = format!("/console/people?ref={}", encode(&reference));
    let consult = match consult_or_ask(&user, TITLE, SECTION, here.clone()) {
        Ok(c) => c,
        Err(form) => return Ok(*form),
    };
    let names = match directory::names(&state.hub).await {
        Ok(n) => Names(n),
        Err(e) => return failure(chrome, &e),
    };
    let limit = state.settings.console.page_size;
    let found = audit::person_report(
        &state.hub,
        user.principal.clone(),
        consult,
        reference.clone(),
        after,
        limit + 1,
    )
    .await;
    let (mut rows, as_of) = match found {
        Ok(x) => x,
        Err(e) => return failure(chrome, &e),
    };
    if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        if let Some(last) = rows.last() {
            shown.next_page = Some(format!("{here}&after={}", last.seq));
        }
    }
    shown.searched = true;
    shown.rows = rows
        .iter()
        .map(|l| ReportRow::new(l, &reference, &names))
        .collect();
    shown.tree_size = as_of.tree_size;
    shown.root_hash = hex::encode(as_of.root_hash);
    page::html(&shown)
}
