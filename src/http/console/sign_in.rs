//! Signing in and out of the console, and the purpose of a session's audit consultations:
//!
//! - `GET /console/sign-in`: choose your agency; with `agency`, a sign-in begins at that
//!   agency's issuer (a short-lived cookie carries the handle of the state, nonce and PKCE
//!   verifier kept server-side) and the browser is sent there. `next` is kept only when it is
//!   a console path.
//! - `GET /console/callback`: the issuer's answer. A verified IG officer gets a new session
//!   (a new random handle in the session cookie) and returns to `next`; anyone else is
//!   refused: a 403 page for a signed-in person without a console role, the sign-in page with
//!   a message otherwise. Every refusal is logged in the audit trail.
//! - `POST /console/sign-out`: ends the session and sends the browser to the issuer's
//!   end-session endpoint when its discovery names one.
//! - `GET|POST /console/purpose`: the purpose (one of the uses DPA 2018 s.62(4) allows)
//!   recorded with this session's audit consultations; bad input answers the form with the
//!   field marked.
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::context::{ConsoleSession, ConsoleUser, SIGN_IN_PATH};
use super::cookies;
use super::guard::{origin_of, FormTargets};
use super::page::{html_with, Chrome};
use super::pages::purpose_choices;
use crate::app::AppState;
use crate::domain::console_session::{parse_purpose, safe_next};
use crate::error::AppError;
use crate::identity::Principal;
use crate::usecase::console::{self as sessions, Callback, Completed, SignInError};

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    agencies: Vec<(String, String)>,
    next: String,
    message: Option<String>,
    signed_out: bool,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    agency: Option<String>,
    next: Option<String>,
    signed_out: Option<String>,
}

fn secure(state: &AppState) -> bool {
    state.dev.is_none()
}

/// The sign-in page, with `message` when a sign-in did not complete.
async fn sign_in_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    next: String,
    message: Option<String>,
    signed_out: bool,
) -> Result<HttpResponse, AppError> {
    let agencies = sessions::agencies(&state.hub).await?;
    // The form's redirect goes on to an agency's issuer: the CSP's form-action names them.
    let mut origins = Vec::new();
    for issuer in sessions::console_issuers(&state.hub).await? {
        if let Some(o) = origin_of(&issuer) {
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
    }
    req.extensions_mut().insert(FormTargets(origins));
    let page = SignInPage {
        agencies: agencies
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        next,
        message,
        signed_out,
    };
    html_with(status, &page)
}

/// `GET /console/sign-in`
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let next = safe_next(q.next.as_deref());
    let Some(agency) = q.agency.filter(|a| !a.is_empty()) else {
        let signed_out = q.signed_out.is_some();
        return sign_in_page(&state, &req, StatusCode::OK, next, None, signed_out).await;
    };
    let Ok(agency) = agency.parse() else {
        let msg = Some("Choose your agency from the list.".to_owned());
        return sign_in_page(&state, &req, StatusCode::BAD_REQUEST, next, msg, false).await;
    };
    match sessions::begin(&state.hub, &state.console, agency, next.clone()).await {
        Ok(begun) => {
            let ttl = state.settings.console.sign_in_timeout_secs;
            let mut res = HttpResponse::SeeOther();
            res.insert_header((LOCATION, begun.authorize_url));
            res.insert_header((CACHE_CONTROL, "no-store"));
            if let Some(c) = cookies::set(cookies::SIGN_IN, &begun.handle, ttl, secure(&state)) {
                res.append_header((SET_COOKIE, c));
            }
            Ok(res.finish())
        }
        Err(e) => refused_sign_in(&state, &req, e, next).await,
    }
}

/// Logs a refused sign-in and answers with the sign-in page and a message.
async fn refused_sign_in(
    state: &AppState,
    req: &HttpRequest,
    e: SignInError,
    next: String,
) -> Result<HttpResponse, AppError> {
    let (failure, issuer) = match e {
        SignInError::Internal(e) => return Err(e),
        SignInError::Refused { failure, issuer } => (failure, issuer),
    };
    state
        .on_sign_in_refusal(req, failure.category, &failure.detail, issuer.as_deref())
        .await;
    let message = match failure.category {
        "console_not_registered" => "That agency has not registered the console.",
        "discovery_failed" => "Your agency's identity provider cannot be reached. Try again later.",
        "sign_in_expired" => "The sign-in took too long. Start again.",
        "issuer_refused" => "Your agency's identity provider did not sign you in.",
        _ => "The sign-in could not be verified. Start again.",
    };
    let mut res = sign_in_page(
        state,
        req,
        StatusCode::BAD_REQUEST,
        next,
        Some(message.to_owned()),
        false,
    )
    .await?;
    if let Some(c) = cookies::clear(cookies::SIGN_IN, secure(state)) {
        res.headers_mut().append(SET_COOKIE, c);
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /console/callback`
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let handle = cookies::read(&req, cookies::SIGN_IN);
    let q = query.into_inner();
    let cb = Callback {
        sign_in_handle: handle.as_deref(),
        state: q.state.as_deref(),
        code: q.code.as_deref(),
        error: q.error.as_deref(),
    };
    let done = match sessions::complete(&state.hub, &state.console, cb).await {
        Ok(done) => done,
        Err(e) => return refused_sign_in(&state, &req, e, "/console".to_owned()).await,
    };
    let secure = secure(&state);
    match done {
        Completed::Session {
            handle,
            session,
            principal,
            next,
        } => {
            tracing::info!(
                session = %session.id,
                issuer = %principal.issuer,
                subject = %principal.subject,
                "console sign-in"
            );
            if let Some(earlier) = cookies::read(&req, cookies::SESSION) {
                sessions::end_replaced(&state.hub, &earlier).await?;
            }
            let max_age = state.settings.console.absolute_timeout_secs;
            let mut res = HttpResponse::SeeOther();
            res.insert_header((LOCATION, next));
            if let Some(c) = cookies::set(cookies::SESSION, &handle, max_age, secure) {
                res.append_header((SET_COOKIE, c));
            }
            if let Some(c) = cookies::clear(cookies::SIGN_IN, secure) {
                res.append_header((SET_COOKIE, c));
            }
            Ok(res.finish())
        }
        Completed::NotAllowed { principal } => {
            state
                .on_authorization_denial(&req, &principal, CONSOLE_ROLES_TEXT)
                .await;
            let mut res = HttpResponse::Forbidden();
            res.insert_header((CONTENT_TYPE, "text/html; charset=utf-8"));
            if let Some(c) = cookies::clear(cookies::SIGN_IN, secure) {
                res.append_header((SET_COOKIE, c));
            }
            Ok(res.body(super::page::refused_html(CONSOLE_ROLES_TEXT)))
        }
    }
}

/// What the console needs, as refusals say it.
const CONSOLE_ROLES_TEXT: &str = "the ig_officer or hub_auditor role";

/// `POST /console/sign-out` (the middleware has checked the form's token).
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let secure = secure(&state);
    let signed_out = format!("{SIGN_IN_PATH}?signed_out=1");
    let found = {
        let ext = req.extensions();
        ext.get::<ConsoleSession>()
            .cloned()
            .zip(ext.get::<Principal>().cloned())
    };
    let mut target = signed_out;
    if let Some((s, principal)) = found {
        let client = sessions::sign_out(&state.hub, s.id, &principal).await?;
        tracing::info!(session = %s.id, "console sign-out");
        if let Some(client) = client {
            let back = post_logout_url(&client.redirect_uri);
            if let Some(url) = state.console.end_session_url(&client, &back).await {
                target = url;
            }
        }
    }
    let mut res = HttpResponse::SeeOther();
    res.insert_header((LOCATION, target));
    if let Some(c) = cookies::clear(cookies::SESSION, secure) {
        res.append_header((SET_COOKIE, c));
    }
    Ok(res.finish())
}

/// Where the issuer sends the browser after its end-session page: the sign-in page next to
/// the registered callback, saying the officer signed out (the URI to register at the
/// issuer as the client's post-logout redirect URI).
fn post_logout_url(redirect_uri: &str) -> String {
    match redirect_uri.strip_suffix(crate::domain::agency::CONSOLE_CALLBACK_PATH) {
        Some(base) => format!("{base}{SIGN_IN_PATH}?signed_out=1"),
        None => redirect_uri.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "console/purpose.html")]
struct PurposePage {
    chrome: Chrome,
    /// The purpose chosen so far (its wire name), if any.
    purpose: String,
    purposes: Vec<(&'static str, &'static str)>,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PurposeQuery {
    next: Option<String>,
}

const PURPOSE_TITLE: &str = "Purpose of your audit consultations";

/// `GET /console/purpose`
pub async fn purpose_form(
    user: ConsoleUser,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, AppError> {
    let page = PurposePage {
        purpose: user.session.purpose.clone().unwrap_or_default(),
        purposes: purpose_choices(),
        chrome: Chrome::new(&user, PURPOSE_TITLE, "audit"),
        next: safe_next(query.next.as_deref()),
        error: None,
    };
    html_with(StatusCode::OK, &page)
}

/// `POST /console/purpose` (form fields `purpose`, `next`, `csrf_token`).
pub async fn purpose(
    state: web::Data<AppState>,
    user: ConsoleUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let mut purpose = None;
    let mut next = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "purpose" => purpose = Some(v.into_owned()),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    let next = safe_next(next.as_deref());
    let raw = purpose.unwrap_or_default();
    match parse_purpose(&raw) {
        Ok(p) => {
            sessions::set_purpose(&state.hub, user.session.id, p.as_str().to_owned()).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header((LOCATION, next))
                .finish())
        }
        Err(message) => {
            let page = PurposePage {
                chrome: Chrome::new(&user, PURPOSE_TITLE, "audit"),
                purpose: String::new(),
                purposes: purpose_choices(),
                next,
                error: Some(message),
            };
            html_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// `GET /console`: the audit search is the console's home.
pub async fn home(user: Option<web::ReqData<Principal>>) -> HttpResponse {
    let target = if user.is_some() {
        "/console/audit"
    } else {
        SIGN_IN_PATH
    };
    HttpResponse::SeeOther()
        .insert_header((LOCATION, target))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_post_logout_uri_is_the_sign_in_page_beside_the_callback() {
        assert_eq!(
            post_logout_url("https://hub.example.org/console/callback"),
            "https://hub.example.org/console/sign-in?signed_out=1"
        );
    }
}
