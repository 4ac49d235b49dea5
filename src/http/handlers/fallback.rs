//! Answers for requests no route takes: 404 for unknown paths, 405 (with `Allow`) for known
//! paths with another method. Both are problem responses like every other error.
use actix_web::{HttpRequest, HttpResponse};

use crate::error::AppError;
use crate::http::routes;

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let pattern = req.match_pattern().unwrap_or_default();
    let allow = routes::methods_for(&pattern).join(", ");
    Err(AppError::MethodNotAllowed { allow })
}
