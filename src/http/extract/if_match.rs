//! The `If-Match` request header of a change to a versioned record: required (a request
//! without it is a 428 problem, so no client changes a record it has not read), and a value
//! that is not `*` or a list of entity tags is a 400.
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::IF_MATCH;
use actix_web::{FromRequest, HttpRequest};

use crate::domain::precondition::Expected;
use crate::error::AppError;

/// What a change's `If-Match` allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Expected);

fn parse(req: &HttpRequest) -> Result<IfMatch, AppError> {
    let Some(v) = req.headers().get(IF_MATCH) else {
        return Err(AppError::PreconditionRequired(
            "send If-Match with the ETag of the version you read (GET answers it), or * to \
             change whatever is current"
                .into(),
        ));
    };
    let v = v
        .to_str()
        .map_err(|_| AppError::BadRequest("If-Match must be ASCII".into()))?;
    Expected::parse(v)
        .map(IfMatch)
        .map_err(|e| AppError::BadRequest(format!("invalid If-Match: {e}")))
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req))
    }
}
