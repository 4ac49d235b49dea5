//! The dev issuers (mounted only by `serve --dev`): discovery documents and JWKS, and for the
//! IG console an authorization endpoint (a plain page to choose a demo officer and role) and
//! a token endpoint (authorization code with PKCE S256, public client).
use std::collections::HashMap;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::{AppState, DevMode};
use crate::domain::agency::CONSOLE_CALLBACK_PATH;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::dev::{DevGrant, DevIssuer, DEV_CONSOLE_CLIENT};

fn known(state: &AppState, slug: &str) -> Result<String, AppError> {
    let dev = state.dev.as_ref().ok_or(AppError::NotFound)?;
    dev.state
        .agencies
        .iter()
        .map(|a| a.slug.as_str())
        .chain(std::iter::once(crate::identity::dev::OPERATOR_SLUG))
        .find(|s| *s == slug)
        .map(|s| DevIssuer::issuer_url(&dev.state.base_url, s))
        .ok_or(AppError::NotFound)
}

pub async fn discovery(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let issuer = known(&state, &slug)?;
    let dev = state.dev.as_ref().ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(dev.issuer.discovery(&issuer)))
}

pub async fn jwks(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    known(&state, &slug)?;
    let dev = state.dev.as_ref().ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(dev.issuer.jwks()))
}

/// The parameters of an authorization request, as the console's relying party sends them.
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    code_challenge: String,
}

/// The roles a demo agency's officers can sign in with.
const DEMO_ROLES: [Role; 5] = [
    Role::IgOfficer,
    Role::Practitioner,
    Role::AgencyAdmin,
    Role::Analyst,
    Role::Commissioner,
];

fn params_of(
    dev: &DevMode,
    slug: &str,
    p: &HashMap<String, String>,
) -> Result<AuthorizeParams, &'static str> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let bounded = |v: &str| v.len() <= 512;
    if get("response_type") != Some("code") {
        return Err("response_type must be code");
    }
    let client_id = get("client_id").ok_or("client_id is required")?;
    if client_id != DEV_CONSOLE_CLIENT {
        return Err("unknown client_id");
    }
    let expected = format!(
        "{}{CONSOLE_CALLBACK_PATH}",
        dev.state.base_url.trim_end_matches('/')
    );
    let redirect_uri = get("redirect_uri").ok_or("redirect_uri is required")?;
    if redirect_uri != expected {
        return Err("redirect_uri is not the console's");
    }
    if get("code_challenge_method") != Some("S256") {
        return Err("PKCE with code_challenge_method S256 is required");
    }
    let code_challenge = get("code_challenge")
        .filter(|c| bounded(c))
        .ok_or("code_challenge is required")?;
    let state = get("state")
        .filter(|s| bounded(s))
        .ok_or("state is required")?;
    let nonce = get("nonce").filter(|n| bounded(n)).map(str::to_owned);
    if !dev.state.agencies.iter().any(|a| a.slug == slug) {
        return Err("this dev issuer has no officers to sign in");
    }
    Ok(AuthorizeParams {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        nonce,
        code_challenge: code_challenge.to_owned(),
    })
}

fn bad_request(why: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(format!("LOCAL DEVELOPMENT ISSUER: {why}\n"))
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[derive(Template)]
#[template(path = "dev_issuer/authorize.html")]
struct AuthorizePage {
    agency: String,
    action: String,
    hidden: Vec<(&'static str, String)>,
    officers: Vec<(String, String)>,
}

/// `GET /dev-issuer/{slug}/authorize`: a page to choose a demo officer and role (option
/// values read `police:ig_officer`, so scripts can sign in too).
pub async fn authorize(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    known(&state, &slug)?;
    let dev = state.dev.as_ref().ok_or(AppError::NotFound)?;
    let p = match params_of(dev, &slug, &query) {
        Ok(p) => p,
        Err(why) => return Ok(bad_request(why)),
    };
    let agency = dev
        .state
        .agencies
        .iter()
        .find(|a| a.slug == *slug)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let mut hidden = vec![
        ("response_type", "code".to_owned()),
        ("client_id", p.client_id),
        ("redirect_uri", p.redirect_uri),
        ("state", p.state),
        ("code_challenge", p.code_challenge),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(n) = p.nonce {
        hidden.push(("nonce", n));
    }
    let officers = DEMO_ROLES
        .iter()
        .map(|r| {
            (
                format!("{}:{}", slug.as_str(), r.as_str()),
                format!("{} ({})", r.as_str(), agency),
            )
        })
        .collect();
    let page = AuthorizePage {
        action: format!(
            "{}/authorize",
            DevIssuer::issuer_url(&dev.state.base_url, &slug)
        ),
        agency,
        hidden,
        officers,
    };
    let body = page
        .render()
        .map_err(|e| AppError::internal(format!("dev issuer template: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ))
        .body(body))
}

/// `POST /dev-issuer/{slug}/authorize`: signs in the chosen officer and sends the browser
/// back to the console with a code.
pub async fn authorize_submit(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let issuer = known(&state, &slug)?;
    let dev = state.dev.as_ref().ok_or(AppError::NotFound)?;
    let fields = form(&body);
    let p = match params_of(dev, &slug, &fields) {
        Ok(p) => p,
        Err(why) => return Ok(bad_request(why)),
    };
    let officer = fields
        .get("officer")
        .map(String::as_str)
        .unwrap_or_default();
    let role = match officer.split_once(':') {
        Some((s, r)) if s == slug.as_str() => DEMO_ROLES.iter().find(|x| x.as_str() == r),
        _ => None,
    };
    let Some(role) = role.copied() else {
        return Ok(bad_request("officer must read `slug:role` for this agency"));
    };
    let agency = dev
        .state
        .agencies
        .iter()
        .find(|a| a.slug == *slug)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let now = state.clock.now();
    let grant = DevGrant {
        issuer,
        subject: format!("{}-{}", slug.as_str(), role.as_str()),
        name: format!("Demo {} of {agency}", role.as_str()),
        role,
        client_id: p.client_id,
        redirect_uri: p.redirect_uri.clone(),
        nonce: p.nonce,
        code_challenge: p.code_challenge,
        expires_at: now + chrono::Duration::seconds(60),
    };
    let code = dev.grants.issue(grant, now);
    let mut back = url::Url::parse(&p.redirect_uri).map_err(AppError::internal)?;
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &p.state);
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, back.to_string()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish())
}

fn token_error(error: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": error }))
}

/// `POST /dev-issuer/{slug}/token`: redeems a code (with its PKCE verifier) for an ID token
/// and an access token.
pub async fn token(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let issuer = known(&state, &slug)?;
    let dev = state.dev.as_ref().ok_or(AppError::NotFound)?;
    let f = form(&body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "authorization_code" {
        return Ok(token_error("unsupported_grant_type"));
    }
    let now = state.clock.now();
    let Some(grant) = dev.grants.redeem(get("code"), get("code_verifier"), now) else {
        return Ok(token_error("invalid_grant"));
    };
    if grant.issuer != issuer
        || grant.redirect_uri != get("redirect_uri")
        || grant.client_id != get("client_id")
    {
        return Ok(token_error("invalid_grant"));
    }
    let id_token = dev.issuer.mint_id_token(&grant, now)?;
    let access_token = dev
        .issuer
        .mint(&issuer, &grant.subject, &[grant.role], now, 300)?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
            "scope": "openid profile",
        })))
}
