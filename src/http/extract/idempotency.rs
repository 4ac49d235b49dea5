//! The optional `Idempotency-Key` request header: 1 to 255 visible ASCII characters (a UUID
//! is a good choice). Anything else is a 400. [`Idempotent`] also takes the request's scope
//! (`METHOD path`), so a key names one request to one resource.
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::error::AppError;
use crate::identity::Principal;
use crate::usecase::idempotency::{Once, Owner};

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// The `Idempotency-Key` of a request, if it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

fn parse(req: &HttpRequest) -> Result<IdempotencyKey, AppError> {
    let Some(v) = req.headers().get(HEADER) else {
        return Ok(IdempotencyKey(None));
    };
    let bad =
        || AppError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into());
    let s = v.to_str().map_err(|_| bad())?.trim();
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(IdempotencyKey(Some(s.to_owned())))
}

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req))
    }
}

/// The `Idempotency-Key` of a creating request and the request's scope.
#[derive(Debug, Clone)]
pub struct Idempotent {
    pub key: Option<String>,
    pub scope: String,
}

impl Idempotent {
    /// The request as the idempotency layer runs it: sent by `caller` with `body`.
    pub fn once(self, caller: &Principal, body: serde_json::Value) -> Once {
        Once {
            owner: Owner::of(caller),
            key: self.key,
            scope: self.scope,
            body,
        }
    }
}

impl FromRequest for Idempotent {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req).map(|k| Idempotent {
            key: k.0,
            scope: format!("{} {}", req.method(), req.path()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn keys_are_visible_ascii() {
        let ok = TestRequest::default()
            .insert_header((HEADER, "0190f0c2-7b1e-7c4e-9d1a-1c2b3d4e5f60"))
            .to_http_request();
        assert!(parse(&ok).unwrap().0.is_some());
        let none = TestRequest::default().to_http_request();
        assert_eq!(parse(&none).unwrap(), IdempotencyKey(None));
        let bad = TestRequest::default()
            .insert_header((HEADER, "has space"))
            .to_http_request();
        assert!(matches!(parse(&bad), Err(AppError::BadRequest(_))));
        let long = TestRequest::default()
            .insert_header((HEADER, "k".repeat(256)))
            .to_http_request();
        assert!(parse(&long).is_err());
    }
}
