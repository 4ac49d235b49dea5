//! Rendering console pages: the chrome every page shares (title, who is signed in, the
//! CSP nonce, the session's form token) and one function that turns a template into an
//! HTML response. A template that fails to render is an internal error, never a partial page.
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::HttpResponse;
use askama::Template;

use super::context::ConsoleUser;
use crate::error::AppError;
use crate::http::extract::roles::Requirement;

/// What the base layout (`templates/console/base.html`) needs from every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    /// Which navigation item is current (`audit`, `verify`, `agreements`, `people`).
    pub section: &'static str,
    pub signed_in_as: String,
    pub nonce: String,
    pub csrf_token: String,
}

impl Chrome {
    /// The chrome of a page shown to `user`.
    pub fn new<R: Requirement>(
        user: &ConsoleUser<R>,
        title: impl Into<String>,
        section: &'static str,
    ) -> Chrome {
        Chrome {
            title: title.into(),
            section,
            signed_in_as: user.session.display_name.clone(),
            nonce: user.nonce.0.clone(),
            csrf_token: user.session.csrf_token.clone(),
        }
    }
}

/// Renders `page` as a `200 OK` HTML response.
pub fn html<T: Template>(page: &T) -> Result<HttpResponse, AppError> {
    html_with(actix_web::http::StatusCode::OK, page)
}

/// Renders `page` with `status` (a form answered with its fields marked is `422`).
pub fn html_with<T: Template>(
    status: actix_web::http::StatusCode,
    page: &T,
) -> Result<HttpResponse, AppError> {
    let body = page
        .render()
        .map_err(|e| AppError::internal(format!("console template: {e}")))?;
    Ok(HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body))
}

#[derive(Template)]
#[template(path = "console/refused.html")]
struct Refused<'a> {
    needed: &'a str,
}

/// The page a signed-in user without the needed role sees.
pub fn refused_html(needed: &str) -> String {
    Refused { needed }
        .render()
        .unwrap_or_else(|_| "This page is not available to you.".to_owned())
}

#[derive(Template)]
#[template(path = "console/form_refused.html")]
struct FormRefused;

/// The page a refused form (cross-site, or without this session's token) gets.
pub fn form_refused_html() -> String {
    FormRefused
        .render()
        .unwrap_or_else(|_| "This form was not accepted.".to_owned())
}
