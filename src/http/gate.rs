//! The gate every request passes before routing: a served route that needs a bearer token
//! has it checked first (so a bad body or query is never answered before a missing token,
//! and every refused token leaves its `access_denied` entry), then the request is charged to
//! its caller's rate limit (the principal, or the client address without a valid token;
//! only the liveness probe, which does no work, is not charged).
//! Every API answer except the operations endpoints carries `Cache-Control: no-store`: they
//! can hold personal data, which no cache may keep.
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL};
use actix_web::middleware::Next;
use actix_web::web;

use crate::app::AppState;
use crate::error::AppError;
use crate::http::extract::caller;
use crate::http::routes;

/// Wraps every request (inside the request-id and metrics middleware).
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let pattern = req.match_pattern();
    let public = pattern.as_deref().is_none_or(routes::is_public);
    let personal = req.path().starts_with(routes::API) && !public;
    let protected = pattern
        .as_deref()
        .is_some_and(|p| routes::needs_token(req.method().as_str(), p));
    let peer = req.peer_addr().map(|a| a.ip());
    let verdict = if protected {
        let http = req.request().clone();
        match caller::authenticate(&state, &http).await {
            Ok(p) => state.rate.check_principal(&p),
            // A refused token still costs its client address.
            Err(refused) => Err(state.rate.check_client(peer).err().unwrap_or(refused)),
        }
    } else if pattern.as_deref().is_some_and(routes::is_liveness) {
        // Liveness answers without any work; a 429 there would only get a healthy hub
        // restarted by its orchestrator.
        Ok(())
    } else {
        state.rate.check_client(peer)
    };
    if let Err(AppError::RateLimited { retry_after_secs }) = &verdict {
        tracing::info!(
            path = %pattern.as_deref().unwrap_or("unmatched"),
            retry_after_secs,
            "rate limited"
        );
    }
    let mut res = match verdict {
        Ok(()) => next.call(req).await?.map_into_left_body(),
        Err(e) => req.error_response(e).map_into_right_body(),
    };
    if personal {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
