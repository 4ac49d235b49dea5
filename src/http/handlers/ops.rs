//! Operations: liveness, readiness (the database answers), Prometheus metrics and the
//! OpenAPI document.
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;

/// The contract, compiled in.
pub const OPENAPI_YAML: &str = include_str!("../../../api-spec/openapi.yaml");

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.hub.ping().await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let body = state.metrics.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
