//! The console's middleware, around every request under `/console`:
//!
//! - finds the signed-in session from its cookie (the database keeps only the handle's hash)
//!   and puts [`ConsoleSession`] and the session's [`Principal`] in the request's extensions;
//! - makes a fresh Content-Security-Policy nonce ([`CspNonce`]) for the response;
//! - refuses (403, logged) a state-changing request that is cross-site by its
//!   `Sec-Fetch-Site` (or, without it, its `Origin`), or, in a session, whose form does not
//!   carry the session's `csrf_token`;
//! - gives every console response its browser-security headers: a strict CSP with the nonce
//!   (`default-src 'none'`, no inline script or style without the nonce, `frame-ancestors
//!   'none'`, `base-uri 'none'`, `form-action` limited to the hub and the signed-in agency's
//!   issuer, for sign-out), `Cache-Control: no-store` (except for the stylesheet),
//!   `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use super::context::{ConsoleSession, CspNonce};
use super::{cookies, routes};
use crate::app::AppState;
use crate::usecase::console as sessions;

/// Extra origins a response's forms may be submitted to (and redirected through): the sign-in
/// page names the agencies' issuers. Handlers put it in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct FormTargets(pub Vec<String>);

/// The origin (`scheme://host[:port]`) of a URL, for CSP source lists.
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn is_state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from a page of this hub: `Sec-Fetch-Site` must be
/// `same-origin` (or `none`, typed by the user); without it, `Origin` must be this hub's.
/// A client that sends neither (not a browser) is judged by the form token alone.
fn same_origin(req: &ServiceRequest) -> Result<(), &'static str> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(site) = header("sec-fetch-site") {
        return match site.as_str() {
            "same-origin" | "none" => Ok(()),
            _ => Err("cross-site request (Sec-Fetch-Site)"),
        };
    }
    if let Some(origin) = header("origin") {
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        return if origin == own {
            Ok(())
        } else {
            Err("cross-site request (Origin)")
        };
    }
    Ok(())
}

/// The `csrf_token` field of a URL-encoded form.
fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned())
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The page a refused form gets.
fn refused_form() -> HttpResponse {
    HttpResponse::Forbidden()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(super::page::form_refused_html())
}

/// Wraps every request; does nothing outside `/console`.
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let path = req.path();
    if !(path == routes::PREFIX || path.starts_with("/console/")) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let stylesheet = req.path().starts_with("/console/static/");
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));

    let mut session_issuer = None;
    let mut session_token = None;
    let mut principal = None;
    let handle = if stylesheet {
        None
    } else {
        cookies::read(req.request(), cookies::SESSION)
    };
    if let Some(handle) = handle {
        match sessions::find(&state.hub, &handle).await {
            Ok(Some(s)) => {
                let p = sessions::principal_of(&s);
                session_issuer = Some(s.issuer.clone());
                session_token = Some(s.csrf_token.clone());
                principal = Some(p.clone());
                req.extensions_mut().insert(ConsoleSession {
                    id: s.id,
                    csrf_token: s.csrf_token,
                    purpose: s.purpose,
                    display_name: s.display_name,
                });
                req.extensions_mut().insert(p);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "console session lookup failed"),
        }
    }

    let mut refusal: Option<&'static str> = None;
    if is_state_changing(req.method()) {
        if let Err(why) = same_origin(&req) {
            refusal = Some(why);
        } else if let Some(expected) = &session_token {
            let body = req.extract::<web::Bytes>().await.unwrap_or_default();
            let urlencoded = req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            let given = urlencoded.then(|| form_token(&body)).flatten();
            if !given.is_some_and(|g| equal(&g, expected)) {
                refusal = Some("form token missing or not this session's");
            }
            let (_, mut payload) = actix_http::h1::Payload::create(true);
            payload.unread_data(body);
            req.set_payload(payload.into());
        }
    }

    let mut res = match refusal {
        Some(why) => {
            tracing::warn!(
                path = %req.path(),
                method = %req.method(),
                reason = why,
                "console form refused"
            );
            if let Some(p) = &principal {
                state
                    .on_authorization_denial(
                        req.request(),
                        p,
                        "a form of this console session, sent from the console itself",
                    )
                    .await;
            }
            let (http, _) = req.into_parts();
            ServiceResponse::new(http, refused_form()).map_into_right_body()
        }
        None => next.call(req).await?.map_into_left_body(),
    };

    let mut targets = vec!["'self'".to_owned()];
    if let Some(o) = session_issuer.as_deref().and_then(origin_of) {
        targets.push(o);
    }
    if let Some(extra) = res.request().extensions().get::<FormTargets>() {
        for t in &extra.0 {
            if !targets.contains(t) {
                targets.push(t.clone());
            }
        }
    }
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; form-action {}; frame-ancestors 'none'; \
         base-uri 'none'",
        targets.join(" ")
    );
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !stylesheet {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_tokens() {
        assert_eq!(
            origin_of("http://127.0.0.1:9400/session/end").as_deref(),
            Some("http://127.0.0.1:9400")
        );
        assert_eq!(
            origin_of("https://idp.example.org/realms/x").as_deref(),
            Some("https://idp.example.org")
        );
        assert_eq!(origin_of("not a url"), None);
        assert_eq!(
            form_token(b"a=1&csrf_token=abc%2Bd&b=2").as_deref(),
            Some("abc+d")
        );
        assert_eq!(form_token(b"a=1"), None);
        assert!(equal("abc", "abc") && !equal("abc", "abd") && !equal("ab", "abc"));
    }
}
