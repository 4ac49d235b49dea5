//! The console's pages, one file each, and what they share: agency names for ids, repeated
//! query parameters, the session's purpose for audit consultations (asked once, by a form),
//! and the HTML page a refusal or failure answers with.
pub mod agreements;
pub mod audit;
pub mod disclosures;
pub mod entry;
pub mod people;
pub mod verify;

#[cfg(test)]
mod rendering;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use super::context::ConsoleUser;
use super::page::{self, Chrome};
use crate::domain::audit_query::AuditPurpose;
use crate::domain::ids::AgencyId;
use crate::error::AppError;
use crate::http::extract::roles::Requirement;
use crate::usecase::audit::Consult;

/// Agency names by id, for showing agencies by name.
#[derive(Debug, Clone, Default)]
pub struct Names(pub BTreeMap<AgencyId, String>);

impl Names {
    /// The agency's name, or a note that the hub does not know it.
    pub fn of(&self, id: &AgencyId) -> String {
        self.0
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("unregistered agency {id}"))
    }

    /// Like [`Names::of`] for an id as text.
    pub fn of_text(&self, id: &str) -> String {
        match id.parse::<AgencyId>() {
            Ok(a) => self.of(&a),
            Err(_) => id.to_owned(),
        }
    }

    /// The id of the agency called `name`.
    pub fn find(&self, name: &str) -> Option<AgencyId> {
        self.0
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// Every name, sorted.
    pub fn sorted(&self) -> Vec<String> {
        let mut v: Vec<String> = self.0.values().cloned().collect();
        v.sort();
        v
    }
}

/// A query string's parameters in order, keys repeated as given.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Params {
        Params(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Every non-empty value of `key`, trimmed.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The first non-empty value of `key`.
    pub fn one(&self, key: &str) -> Option<String> {
        self.all(key).into_iter().next()
    }

    /// The parameters without `keys`, encoded again (for links that keep the filter).
    pub fn encode_without(&self, keys: &[&str]) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if !keys.contains(&k.as_str()) && !v.trim().is_empty() {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// Encodes one query-string value.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The purpose form: shown instead of a page that consults the audit log while the session
/// has no purpose yet.
#[derive(Template)]
#[template(path = "console/pages/purpose.html")]
pub struct PurposeForm {
    pub chrome: Chrome,
    pub next: String,
    pub purposes: Vec<(&'static str, &'static str)>,
}

/// The purposes an officer may give (DPA 2018 s.62(4)), with their labels.
pub fn purpose_choices() -> Vec<(&'static str, &'static str)> {
    AuditPurpose::ALL
        .iter()
        .map(|p| {
            let label = match p {
                AuditPurpose::VerifyLawfulness => "Verifying the lawfulness of processing",
                AuditPurpose::SelfMonitoring => {
                    "Self-monitoring, including disciplinary proceedings"
                }
                AuditPurpose::IntegritySecurity => {
                    "Ensuring the integrity and security of personal data"
                }
                AuditPurpose::CriminalProceedings => "Criminal proceedings",
            };
            (p.as_str(), label)
        })
        .collect()
}

/// Why this session consults the audit log, or the purpose form to ask it (`next`: where
/// the form returns to; a form that fails to render answers as its error).
pub fn consult_or_ask<R: Requirement>(
    user: &ConsoleUser<R>,
    title: &str,
    section: &'static str,
    next: String,
) -> Result<Consult, Box<HttpResponse>> {
    // A session's purpose is one of the uses DPA 2018 s.62(4) allows; anything else is asked
    // again.
    let purpose = user
        .session
        .purpose
        .as_deref()
        .and_then(|p| p.trim().parse::<AuditPurpose>().ok());
    match purpose {
        Some(purpose) => Ok(Consult {
            purpose,
            justification: None,
        }),
        None => {
            let form = PurposeForm {
                chrome: Chrome::new(user, title, section),
                next,
                purposes: purpose_choices(),
            };
            Err(Box::new(page::html(&form).unwrap_or_else(|e| {
                actix_web::ResponseError::error_response(&e)
            })))
        }
    }
}

/// The page a refused or failed request answers with.
#[derive(Template)]
#[template(path = "console/pages/problem.html")]
pub struct ProblemPage {
    pub chrome: Chrome,
    pub message: String,
}

/// `err` as an HTML page with its status: a 404 says nothing more than that, a 403 says
/// why, anything else is the plain message of its kind (an internal error stays opaque).
pub fn failure(mut chrome: Chrome, err: &AppError) -> Result<HttpResponse, AppError> {
    let answer = err.answer();
    let (status, title, message) = match answer {
        AppError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here that you may see.".to_owned(),
        ),
        AppError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", why.clone()),
        AppError::Conflict { detail, .. } => {
            (StatusCode::CONFLICT, "Not possible now", detail.clone())
        }
        AppError::Validation(v) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Check what you entered",
            v.iter()
                .map(|f| format!("{}: {}", f.pointer.trim_start_matches('/'), f.detail))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
        _ => {
            tracing::error!(error = %err, "console page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be shown. Try again later.".to_owned(),
            )
        }
    };
    chrome.title = title.to_owned();
    page::html_with(status, &ProblemPage { chrome, message })
}

/// A page's outcome: the page, or its failure as a page.
pub fn or_failure(
    chrome: Chrome,
    r: Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError> {
    match r {
        Ok(resp) => Ok(resp),
        Err(e) => failure(chrome, &e),
    }
}

/// A time as the console shows it.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_all_kept_and_blanks_dropped() {
        let p =
            Params::parse("operation=disclosure&operation=collection&actor=&agency=Met%20Police");
        assert_eq!(p.all("operation"), vec!["disclosure", "collection"]);
        assert!(p.all("actor").is_empty());
        assert_eq!(p.one("agency").as_deref(), Some("Met Police"));
        assert_eq!(
            p.encode_without(&["cursor", "operation"]),
            "agency=Met+Police"
        );
    }
}
