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

/// Ready when the database answers and the audit log was not found rolled back; with
/// witnesses configured, how far witnessing lags (entries not yet cosigned).
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.hub.ping().await?;
    let witnessing = state
        .witnessing
        .is_configured()
        .then(|| state.witnessing.status());
    if let Some(why) = state.hub.halted() {
        return Ok(HttpResponse::ServiceUnavailable().json(json!({
            "status": "audit_log_rolled_back",
            "detail": why,
            "witnessing": witnessing,
        })));
    }
    Ok(HttpResponse::Ok().json(match witnessing {
        Some(w) => json!({"status": "ready", "witnessing": w}),
        None => json!({"status": "ready"}),
    }))
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
