//! Who is using the console: the signed-in session (put in the request's extensions by the
//! console's session middleware), the response's CSP nonce, and `ConsoleUser<R>`, the
//! extractor every page takes. Without a session a page answers with a redirect to sign-in;
//! a signed-in user without one of `R`'s roles is refused (logged, like any refusal).
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use uuid::Uuid;

use crate::app::AppState;
use crate::http::extract::roles::Requirement;
use crate::identity::Principal;

/// A signed-in console session, as its middleware found it for this request.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The session's id (server-side; the cookie carries only an unguessable handle).
    pub id: Uuid,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
    /// The purpose the officer gave for this session's audit consultations, once asked.
    pub purpose: Option<String>,
    /// Display name of the signed-in person, from the ID token (`name`, else the subject).
    pub display_name: String,
}

/// The per-response nonce of the Content-Security-Policy.
#[derive(Debug, Clone, Default)]
pub struct CspNonce(pub String);

/// The path console pages redirect to when nobody is signed in.
pub const SIGN_IN_PATH: &str = "/console/sign-in";

/// Why a console page was not shown.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleRefusal {
    /// Nobody is signed in: go to sign-in, then come back to `next`.
    #[error("sign-in required")]
    SignIn { next: String },
    /// Signed in, but without a role the page needs.
    #[error("this page needs {0}")]
    Forbidden(&'static str),
}

impl ResponseError for ConsoleRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleRefusal::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleRefusal::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleRefusal::SignIn { next } => {
                let target = format!("{SIGN_IN_PATH}?next={}", percent_encode(next.as_str()));
                HttpResponse::SeeOther()
                    .insert_header((LOCATION, target))
                    .insert_header((CACHE_CONTROL, "no-store"))
                    .finish()
            }
            ConsoleRefusal::Forbidden(needed) => HttpResponse::Forbidden()
                .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((CACHE_CONTROL, "no-store"))
                .body(super::page::refused_html(needed)),
        }
    }
}

/// Percent-encodes a console path for a query string (only unreserved characters and `/`
/// are kept).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The console's users: information-governance officers and hub auditors.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleReader;

impl Requirement for ConsoleReader {
    const ROLES: &'static [crate::domain::role::Role] = &[
        crate::domain::role::Role::IgOfficer,
        crate::domain::role::Role::HubAuditor,
    ];
    const DESCRIPTION: &'static str = "the ig_officer or hub_auditor role";
}

/// A signed-in console user holding one of `R`'s roles.
#[derive(Debug, Clone)]
pub struct ConsoleUser<R: Requirement = ConsoleReader> {
    pub principal: Principal,
    pub session: ConsoleSession,
    pub nonce: CspNonce,
    _requirement: PhantomData<R>,
}

type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T, ConsoleRefusal>>>>;

impl<R: Requirement> FromRequest for ConsoleUser<R> {
    type Error = ConsoleRefusal;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = {
            let ext = req.extensions();
            match (ext.get::<ConsoleSession>(), ext.get::<Principal>()) {
                (Some(s), Some(p)) => Some((
                    s.clone(),
                    p.clone(),
                    ext.get::<CspNonce>().cloned().unwrap_or_default(),
                )),
                _ => None,
            }
        };
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let Some((session, principal, nonce)) = found else {
                let next = match req.uri().path_and_query() {
                    Some(pq) => pq.as_str().to_owned(),
                    None => "/console".to_owned(),
                };
                return Err(ConsoleRefusal::SignIn { next });
            };
            if !principal.has_any(R::ROLES) {
                if let Some(state) = state {
                    state
                        .on_authorization_denial(&req, &principal, R::DESCRIPTION)
                        .await;
                }
                return Err(ConsoleRefusal::Forbidden(R::DESCRIPTION));
            }
            Ok(ConsoleUser {
                principal,
                session,
                nonce,
                _requirement: PhantomData,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_are_encoded_for_the_query_string() {
        assert_eq!(
            percent_encode("/console/audit?op=a&b=c d"),
            "/console/audit%3Fop%3Da%26b%3Dc%20d"
        );
    }
}
