//! The one error type of the hub and its explicit mapping to RFC 9457 problem responses.
//!
//! Every failure a client can see is one of these variants; anything unmapped is an opaque 500
//! whose cause is logged (never sent). Database and pool errors are converted here, in one
//! place: not found is 404, a unique violation 409, an exhausted pool 503.
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One invalid field of a request, located by a JSON pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

/// Every error the hub can return.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed JSON but breaks the rules (422, with pointers).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request cannot be read at all (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The bearer token is missing or invalid (401). The reason is logged, not sent.
    #[error("invalid token: {0}")]
    Unauthenticated(String),
    /// A valid caller without the role or relationship the action needs (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing there, or nothing the caller may know is there (404).
    #[error("not found")]
    NotFound,
    /// The path exists with other methods (405).
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// The request conflicts with the current state (409).
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        extra: Option<serde_json::Value>,
    },
    /// The body is larger than allowed (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body is not JSON (415).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The caller has spent its request budget (429, with `Retry-After`).
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// `If-Match` names a version that is no longer current (412).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The change needs `If-Match` and the request has none (428).
    #[error("precondition required: {0}")]
    PreconditionRequired(String),
    /// A dependency (database, pool) is not available right now (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The audit log is behind a checkpoint it once had witnessed (a restored or truncated
    /// database): writes are refused until an operator resolves it (503).
    #[error("audit log rolled back: {0}")]
    RolledBack(String),
    /// Configuration is invalid (start-up only).
    #[error("configuration: {0}")]
    Config(String),
    /// Anything else: logged with its cause, sent as an opaque 500.
    #[error("internal error: {0}")]
    Internal(String),
    /// A write was planned on a policy epoch that a governance change has since moved on;
    /// the use case plans again (503 if it keeps happening).
    #[error("the plan is stale: governance changed while it was made")]
    StalePlan,
    /// A refusal after authentication: answered as `error`, and `entry` (an `access_denied`
    /// entry) is appended on its own after the refusing transaction rolls back, so no
    /// refusal is lost with the work it refused.
    #[error("{error}")]
    Denied {
        error: Box<AppError>,
        entry: Box<crate::domain::audit::NewEntry>,
    },
}

impl AppError {
    pub fn validation(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(pointer, detail)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// A refusal answered as `error` that leaves `entry` in the audit trail.
    pub fn denied(error: AppError, entry: crate::domain::audit::NewEntry) -> Self {
        AppError::Denied {
            error: Box::new(error),
            entry: Box::new(entry),
        }
    }

    /// The error the caller sees: a refusal's answer, or the error itself.
    pub fn answer(&self) -> &AppError {
        match self {
            AppError::Denied { error, .. } => error.answer(),
            other => other,
        }
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        AppError::Conflict {
            detail: detail.into(),
            extra: None,
        }
    }

    fn slug_title(&self) -> (&'static str, &'static str) {
        match self {
            AppError::Validation(_) => ("validation", "The request is not valid"),
            AppError::BadRequest(_) => ("bad-request", "The request cannot be read"),
            AppError::Unauthenticated(_) => ("invalid-token", "Authentication required"),
            AppError::Forbidden(_) => ("forbidden", "Not allowed"),
            AppError::NotFound => ("not-found", "Not found"),
            AppError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            AppError::Conflict { .. } => ("conflict", "Conflict with the current state"),
            AppError::PayloadTooLarge => ("payload-too-large", "Request body too large"),
            AppError::UnsupportedMediaType => (
                "unsupported-media-type",
                "Request body must be application/json",
            ),
            AppError::RateLimited { .. } => ("rate-limited", "Too many requests"),
            AppError::PreconditionFailed(_) => ("precondition-failed", "The version has changed"),
            AppError::PreconditionRequired(_) => ("precondition-required", "If-Match is required"),
            AppError::Unavailable(_) => ("unavailable", "Service temporarily unavailable"),
            AppError::RolledBack(_) => ("audit-log-rolled-back", "The audit log was rolled back"),
            AppError::Config(_) | AppError::Internal(_) => ("internal", "Internal error"),
            AppError::Denied { error, .. } => error.slug_title(),
            AppError::StalePlan => ("unavailable", "Service temporarily unavailable"),
        }
    }

    /// The text sent to the client: never internal causes or token reasons.
    fn public_detail(&self) -> String {
        match self {
            AppError::Validation(errors) => {
                format!("{} field(s) are not valid; see `errors`", errors.len())
            }
            AppError::BadRequest(d) => d.clone(),
            AppError::Unauthenticated(_) => {
                "a valid bearer token from a registered issuer is required".to_owned()
            }
            AppError::Forbidden(d) => d.clone(),
            AppError::NotFound => "no such resource".to_owned(),
            AppError::MethodNotAllowed { allow } => format!("allowed methods: {allow}"),
            AppError::Conflict { detail, .. } => detail.clone(),
            AppError::PayloadTooLarge => "the request body exceeds the configured limit".into(),
            AppError::UnsupportedMediaType => "send the body as application/json".to_owned(),
            AppError::RateLimited { retry_after_secs } => {
                format!("this caller has used its request budget; retry after {retry_after_secs} s")
            }
            AppError::PreconditionFailed(d) | AppError::PreconditionRequired(d) => d.clone(),
            AppError::Unavailable(_) => "a dependency is unavailable; retry later".to_owned(),
            AppError::RolledBack(why) => format!(
                "the hub refuses writes: its audit log was rolled back ({why}); an operator \
                 must restore the log's missing entries"
            ),
            AppError::Config(_) | AppError::Internal(_) => {
                "an internal error occurred; it has been logged".to_owned()
            }
            AppError::Denied { error, .. } => error.public_detail(),
            AppError::StalePlan => "agreements changed while the request was handled; retry".into(),
        }
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The `type` URI of a problem.
pub fn problem_type(slug: &str) -> String {
    format!("urn:msht-hub:problem:{slug}")
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::Unavailable(_) | AppError::RolledBack(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Config(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Denied { error, .. } => error.status_code(),
            AppError::StalePlan => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Denied { error, .. } = self {
            return error.error_response();
        }
        let status = self.status_code();
        match self {
            AppError::Internal(cause) | AppError::Config(cause) => {
                tracing::error!(error = %cause, "internal error");
            }
            AppError::Unavailable(cause) => tracing::warn!(error = %cause, "unavailable"),
            AppError::RolledBack(why) => tracing::error!(why = %why, "audit log rolled back"),
            AppError::Unauthenticated(reason) => {
                tracing::info!(reason = %reason, "bearer token rejected");
            }
            _ => {}
        }
        let (slug, title) = self.slug_title();
        let extra = match self {
            AppError::Conflict {
                extra: Some(serde_json::Value::Object(m)),
                ..
            } => Some(m.clone()),
            _ => None,
        };
        let body = Problem {
            type_: problem_type(slug),
            title,
            status: status.as_u16(),
            detail: self.public_detail(),
            errors: match self {
                AppError::Validation(e) => Some(e.clone()),
                _ => None,
            },
            extra,
        };
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            AppError::Unauthenticated(_) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                ));
            }
            AppError::MethodNotAllowed { allow } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    resp.insert_header((header::ALLOW, v));
                }
            }
            AppError::Unavailable(_) | AppError::StalePlan => {
                resp.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            AppError::RateLimited { retry_after_secs } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        resp.body(json)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::debug!(constraint = ?info.constraint_name(), "unique violation");
                AppError::conflict("a resource with the same unique value already exists")
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Unavailable("serialization failure; retry".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::Unavailable("database connection closed".into())
            }
            // Transient contention the client can retry (with its Idempotency-Key): a
            // PostgreSQL deadlock victim (SQLSTATE 40P01, reported by its message) or an
            // SQLite lock that outlasted the busy timeout.
            Error::DatabaseError(_, info) if is_transient(info.message()) => {
                tracing::warn!(cause = %info.message(), "transient database contention");
                AppError::Unavailable("the database was busy; retry".into())
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

/// Whether a database error message names contention that goes away on a retry.
fn is_transient(message: &str) -> bool {
    message.starts_with("deadlock detected")
        || message.starts_with("database is locked")
        || message.starts_with("database table is locked")
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {e}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn deadlocks_and_busy_databases_are_retryable_not_internal() {
        use diesel::result::{DatabaseErrorKind, Error};
        for message in ["deadlock detected", "database is locked"] {
            let e = AppError::from(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(message.to_owned()),
            ));
            assert_eq!(
                e.status_code(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{message}"
            );
        }
        let other = AppError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("syntax error at or near".to_owned()),
        ));
        assert_eq!(other.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let resp = AppError::Internal("password=hunter2".into()).error_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = resp.into_body().try_into_bytes().unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("\"status\":500"));
    }

    #[test]
    fn unauthenticated_sets_www_authenticate() {
        let resp = AppError::Unauthenticated("expired".into()).error_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let h = resp.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert_eq!(h, r#"Bearer error="invalid_token""#);
    }
}
