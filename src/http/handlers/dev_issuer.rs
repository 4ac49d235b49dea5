//! The dev issuers' discovery documents and JWKS (mounted only by `serve --dev`).
use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::error::AppError;
use crate::identity::dev::DevIssuer;

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
