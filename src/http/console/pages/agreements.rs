//! `/console/agreements`: the agreements the officer's agency is party to (all of them for
//! the hub auditor), read through the same use case as `GET /agreements`: status, parties by
//! name, purposes, lawful bases, data items, signatures, versions, terms acceptance, review
//! and expiry dates, those due within `console.due_soon_days` marked (by the hub's clock). Signing,
//! suspending and resuming are POST forms calling the same use case as the API; a refused
//! action answers the page with a message, bad input with the field marked.
use std::collections::BTreeMap;

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{failure, when, Names};
use crate::app::AppState;
use crate::domain::agreement::Status;
use crate::domain::ids::AgreementId;
use crate::domain::policy::AgreementView;
use crate::error::AppError;
use crate::http::console::context::ConsoleUser;
use crate::http::console::page::{self, Chrome};
use crate::http::extract::Idempotent;
use crate::http::wire::agreement_out::AgreementOut;
use crate::http::wire::agreements::{ReasonIn, ResumeIn};
use crate::http::wire::page::MAX_LIMIT;
use crate::usecase::agreements::{self, Change, ListFilter};
use crate::usecase::directory;

const TITLE: &str = "Agreements";
const SECTION: &str = "agreements";

#[derive(Debug, Clone)]
pub struct PartyRow {
    pub name: String,
    pub role: String,
    pub lawful_basis: String,
    pub signed: String,
}

#[derive(Debug, Clone)]
pub struct ItemsRow {
    pub recipient: String,
    pub record_kind: String,
    pub fields: String,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: i32,
    pub status: String,
    pub effective_from: String,
    pub expires_at: String,
}

/// One agreement as the register shows it (its latest version).
#[derive(Debug, Clone)]
pub struct AgreementCard {
    pub id: String,
    pub title: String,
    pub status: String,
    pub version: i32,
    pub in_force_version: String,
    pub purposes: String,
    pub parties: Vec<PartyRow>,
    pub data_items: Vec<ItemsRow>,
    pub versions: Vec<VersionRow>,
    pub terms: String,
    pub review_date: String,
    pub expires_at: String,
    pub due_soon: bool,
    pub suspension: String,
    pub can_sign: bool,
    pub can_suspend: bool,
    pub can_resume: bool,
    /// Field name -> message, for a form of this agreement answered with its fields marked.
    pub errors: BTreeMap<&'static str, String>,
}

impl AgreementCard {
    pub fn error(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }

    /// The latest version of `view` at `now`; due when its review or expiry falls within
    /// `due_days`.
    pub fn new(
        view: &AgreementView,
        names: &Names,
        now: DateTime<Utc>,
        due_days: i64,
    ) -> Option<AgreementCard> {
        let out = AgreementOut::latest(view, now)?;
        let status = out.status;
        Some(AgreementCard {
            id: out.id.clone(),
            title: out.title.clone(),
            status: status.as_str().replace('_', " "),
            version: out.version,
            in_force_version: out
                .in_force_version
                .map_or_else(|| "none".to_owned(), |v| v.to_string()),
            purposes: out
                .purposes
                .iter()
                .map(|p| p.as_str().replace('_', " "))
                .collect::<Vec<_>>()
                .join(", "),
            parties: out
                .parties
                .iter()
                .map(|p| PartyRow {
                    name: names.of_text(&p.agency_id),
                    role: p.role.to_owned(),
                    lawful_basis: {
                        let lb = &p.lawful_basis;
                        match lb.special_category {
                            Some(s) => format!(
                                "{} {} (special category: {})",
                                lb.regime.as_str(),
                                lb.condition.as_str(),
                                s.as_str()
                            ),
                            None => format!("{} {}", lb.regime.as_str(), lb.condition.as_str()),
                        }
                    },
                    signed: match p.signed_at {
                        Some(t) => {
                            let by = out
                                .signatures
                                .iter()
                                .find(|s| s.agency_id == p.agency_id)
                                .map(|s| s.signed_by.subject.clone())
                                .unwrap_or_default();
                            format!("signed {} by {by}", when(t))
                        }
                        None => "not signed".to_owned(),
                    },
                })
                .collect(),
            data_items: out
                .data_items
                .iter()
                .map(|d| ItemsRow {
                    recipient: names.of_text(&d.recipient_agency_id),
                    record_kind: d.record_kind.as_str().to_owned(),
                    fields: d.fields.join(", "),
                })
                .collect(),
            versions: out
                .versions
                .iter()
                .map(|v| VersionRow {
                    version: v.version,
                    status: v.status.as_str().replace('_', " "),
                    effective_from: when(v.effective_from),
                    expires_at: when(v.expires_at),
                })
                .collect(),
            terms: match &out.terms_of_reference {
                None => "the partnership has no terms of reference".to_owned(),
                Some(t) if t.not_accepted_by.is_empty() => {
                    format!("version {} accepted by every party", t.version)
                }
                Some(t) => format!(
                    "version {} not yet accepted by {}",
                    t.version,
                    t.not_accepted_by
                        .iter()
                        .map(|a| names.of_text(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            review_date: out.review_date.format("%Y-%m-%d").to_string(),
            expires_at: when(out.expires_at),
            due_soon: agreements::due_within(&view.agreement, now, due_days),
            suspension: out
                .suspension
                .as_ref()
                .map(|s| {
                    format!(
                        "suspended {} by {}: {}",
                        when(s.suspended_at),
                        s.agency_id
                            .as_deref()
                            .map_or_else(|| "the hub".to_owned(), |a| names.of_text(a)),
                        s.reason
                    )
                })
                .unwrap_or_default(),
            can_sign: status == Status::Draft,
            can_suspend: status == Status::Active,
            can_resume: status == Status::Suspended,
            errors: BTreeMap::new(),
        })
    }
}

#[derive(Template)]
#[template(path = "console/pages/agreements.html")]
pub struct AgreementsPage {
    pub chrome: Chrome,
    pub agreements: Vec<AgreementCard>,
    /// What the last action did, or why it was refused.
    pub message: String,
    pub refused: bool,
    pub due_days: i64,
    pub today: String,
}

/// The register as `user` may see it, with `message`, answered with `status`.
async fn register(
    state: &AppState,
    user: &ConsoleUser,
    status: StatusCode,
    message: String,
    marked: Option<(String, &'static str, String)>,
) -> Result<HttpResponse, AppError> {
    let chrome = Chrome::new(user, TITLE, SECTION);
    let names = match directory::names(&state.hub).await {
        Ok(n) => Names(n),
        Err(e) => return failure(chrome, &e),
    };
    let found = agreements::find(
        &state.hub,
        user.principal.clone(),
        ListFilter::default(),
        MAX_LIMIT,
    )
    .await;
    let views = match found {
        Ok(v) => v,
        Err(e) => return failure(chrome, &e),
    };
    let now = state.hub.now();
    let due_days = state.settings.console.due_soon_days;
    let mut cards: Vec<AgreementCard> = views
        .iter()
        .filter_map(|v| AgreementCard::new(v, &names, now, due_days))
        .collect();
    if let Some((id, field, msg)) = marked {
        if let Some(c) = cards.iter_mut().find(|c| c.id == id) {
            c.errors.insert(field, msg);
        }
    }
    page::html_with(
        status,
        &AgreementsPage {
            chrome,
            agreements: cards,
            refused: status != StatusCode::OK,
            message,
            due_days,
            today: now.format("%Y-%m-%d").to_string(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// `GET /console/agreements`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, AppError> {
    let message = match query.done.as_deref() {
        Some("sign") => "The agreement was signed.",
        Some("suspend") => "The agreement was suspended.",
        Some("resume") => "The agreement was resumed.",
        _ => "",
    };
    register(&state, &user, StatusCode::OK, message.to_owned(), None).await
}

/// The fields of the action forms (unknown fields are ignored).
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    pub csrf_token: Option<String>,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// `POST /console/agreements/{id}/{action}` (`sign`, `suspend`, `resume`).
pub async fn act(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let (id_text, action) = path.into_inner();
    let form = form.into_inner();
    if form.csrf_token.as_deref() != Some(user.session.csrf_token.as_str()) {
        let chrome = Chrome::new(&user, TITLE, SECTION);
        return failure(
            chrome,
            &AppError::Forbidden("the form has expired: reload the page and try again".into()),
        );
    }
    let Ok(id) = id_text.parse::<AgreementId>() else {
        return failure(Chrome::new(&user, TITLE, SECTION), &AppError::NotFound);
    };
    let mark = |field: &'static str, msg: &str| Some((id_text.clone(), field, msg.to_owned()));
    let change = match action.as_str() {
        "sign" => match form.version.as_deref().map(str::parse::<i32>) {
            Some(Ok(version)) => Change::Sign { version },
            _ => {
                let m = "Say which version you sign";
                return register(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    m.into(),
                    mark("version", m),
                )
                .await;
            }
        },
        "suspend" => match (ReasonIn {
            reason: form.reason.filter(|r| !r.trim().is_empty()),
        })
        .parse()
        {
            Ok(reason) => Change::Suspend { reason },
            Err(_) => {
                let m = "Give the reason for suspending (at most 2000 characters)";
                return register(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    m.into(),
                    mark("reason", m),
                )
                .await;
            }
        },
        "resume" => match (ResumeIn {
            note: form.note.filter(|n| !n.trim().is_empty()),
        })
        .parse()
        {
            Ok(note) => Change::Resume { note },
            Err(_) => {
                let m = "A note is at most 2000 characters";
                return register(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    m.into(),
                    mark("note", m),
                )
                .await;
            }
        },
        _ => return failure(Chrome::new(&user, TITLE, SECTION), &AppError::NotFound),
    };
    // A console form carries no Idempotency-Key: a resubmitted form is a second request.
    let once = Idempotent {
        key: None,
        scope: format!("POST /console/agreements/{id}/{action}"),
    }
    .once(&user.principal, serde_json::Value::Null);
    let shape = |_: &AgreementView| Ok((200, serde_json::Value::Null));
    match agreements::change(&state.hub, user.principal.clone(), id, change, once, shape).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((LOCATION, format!("/console/agreements?done={action}")))
            .insert_header(("cache-control", "no-store"))
            .finish()),
        Err(e) => {
            let answer = e.answer();
            let (status, message) = match answer {
                AppError::NotFound => return failure(Chrome::new(&user, TITLE, SECTION), &e),
                AppError::Forbidden(why) => (StatusCode::FORBIDDEN, format!("Refused: {why}")),
                AppError::Conflict { detail, .. } => {
                    (StatusCode::CONFLICT, format!("Not possible now: {detail}"))
                }
                AppError::Validation(v) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    v.iter()
                        .map(|f| format!("{}: {}", f.pointer.trim_start_matches('/'), f.detail))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                _ => return failure(Chrome::new(&user, TITLE, SECTION), &e),
            };
            register(&state, &user, status, message, None).await
        }
    }
}
