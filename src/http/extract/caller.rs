//! `Caller` (any valid bearer token) and `Authorized<R>` (a caller holding one of the roles of
//! requirement `R`). The token is checked once per request (by the gate middleware, before
//! any body or query is read) and kept in the request's extensions; it never reaches a log.
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::roles::Requirement;
use crate::app::AppState;
use crate::error::AppError;
use crate::identity::{AuthFailure, Principal};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Checks the request's bearer token once: the principal is kept in the request's
/// extensions (later extractors take it from there); a missing or refused token is logged
/// as `access_denied` (within the refusal budget) and answered 401.
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Principal, AppError> {
    if let Some(p) = req.extensions().get::<Principal>() {
        return Ok(p.clone());
    }
    let Some(token) = bearer(req) else {
        let failure = AuthFailure {
            reason: "no bearer token".into(),
            issuer: None,
        };
        state.on_authentication_failure(req, &failure).await;
        return Err(AppError::Unauthenticated(failure.reason));
    };
    match state.auth.authenticate(&token).await {
        Ok(p) => {
            req.extensions_mut().insert(p.clone());
            Ok(p)
        }
        Err(f) => {
            state.on_authentication_failure(req, &f).await;
            Err(AppError::Unauthenticated(f.reason))
        }
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(p) = req.extensions().get::<Principal>() {
            let p = p.clone();
            return Box::pin(async move { Ok(Caller(p)) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            authenticate(&state, &req).await.map(Caller)
        })
    }
}

/// An authenticated caller that holds at least one role of `R`; others get 403.
#[derive(Debug, Clone)]
pub struct Authorized<R: Requirement> {
    pub principal: Principal,
    _requirement: PhantomData<R>,
}

impl<R: Requirement> FromRequest for Authorized<R> {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let Caller(principal) = caller.await?;
            if principal.has_any(R::ROLES) {
                Ok(Authorized {
                    principal,
                    _requirement: PhantomData,
                })
            } else {
                if let Some(state) = state {
                    state
                        .on_authorization_denial(&req, &principal, R::DESCRIPTION)
                        .await;
                }
                Err(AppError::Forbidden(format!(
                    "this action needs {}",
                    R::DESCRIPTION
                )))
            }
        })
    }
}
