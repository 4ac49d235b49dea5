//! The answer to a creating POST run through `Idempotency-Key`: the recorded status and body,
//! `Idempotent-Replayed: true` on a retry, `Location` of what was created, and the `ETag` of
//! its version when it has one.
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::Value;

use crate::domain::precondition::etag;
use crate::error::AppError;
use crate::usecase::idempotency::Response;

/// The header a replayed answer carries.
pub const REPLAYED: &str = "idempotent-replayed";

/// What an answer may carry besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers {
    /// `Location` from the body's `id`: this prefix (`/api/v1/incidents`) then `/{id}`.
    pub location: Option<&'static str>,
    /// `ETag` from the body's integer `version`.
    pub etag: bool,
}

/// Renders `r` as an HTTP answer.
pub fn answer(r: Response, h: Headers) -> Result<HttpResponse, AppError> {
    let status = StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if let (Some(prefix), Some(id)) = (h.location, r.body.get("id").and_then(Value::as_str)) {
        resp.insert_header((LOCATION, format!("{prefix}/{id}")));
    }
    if h.etag {
        if let Some(v) = r
            .body
            .get("version")
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
        {
            resp.insert_header((ETAG, etag(v)));
        }
    }
    if r.replayed {
        resp.insert_header((REPLAYED, "true"));
    }
    Ok(resp.json(r.body))
}
