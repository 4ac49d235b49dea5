//! The IG console's sign-in and sessions: a sign-in begins at the agency's own issuer and is
//! kept (state, nonce, PKCE verifier) under the hash of a random handle until its callback;
//! the callback takes it (once), lets the relying party exchange the code and verify the ID
//! token, and opens a session for an IG officer (a new random handle each time). Sign-in and
//! sign-out are `governance` entries about the session, concerning the agency; refusals are
//! the caller's to log (`AppState::on_sign_in_refusal`, `on_authorization_denial`).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::hub::Hub;
use crate::audit;
use crate::domain::agency::ClientSecret;
use crate::domain::audit::{Decision, NewEntry, Operation};
use crate::domain::console_session::{PendingSignIn, StoredSession, Timeouts};
use crate::domain::ids::AgencyId;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::registry::IssuerEntry;
use crate::identity::relying_party::{ConsoleClientConfig, RelyingParty, SignInFailure};
use crate::identity::Principal;
use crate::service::store::{console_sessions, identity_providers};

/// The roles that may use the console.
pub const CONSOLE_ROLES: [Role; 2] = [Role::IgOfficer, Role::HubAuditor];

/// A fresh random handle (256 bits, base64url).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a handle.
pub fn handle_hash(handle: &str) -> String {
    hex::encode(Sha256::digest(handle.as_bytes()))
}

/// Equality that takes the same time wherever the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A refused sign-in: why, and the issuer when it was known.
#[derive(Debug)]
pub enum SignInError {
    Refused {
        failure: SignInFailure,
        issuer: Option<String>,
    },
    Internal(AppError),
}

impl From<AppError> for SignInError {
    fn from(e: AppError) -> Self {
        SignInError::Internal(e)
    }
}

fn refused(category: &'static str, detail: &str, issuer: Option<&str>) -> SignInError {
    SignInError::Refused {
        failure: SignInFailure::new(category, detail),
        issuer: issuer.map(str::to_owned),
    }
}

/// The agencies an officer can sign in through: `(id, name)`.
pub async fn agencies(hub: &Hub) -> Result<Vec<(AgencyId, String)>, AppError> {
    let all = hub.read(identity_providers::console_agencies).await?;
    Ok(all.into_iter().map(|(id, name, _)| (id, name)).collect())
}

/// The issuers of the agencies an officer can sign in through.
pub async fn console_issuers(hub: &Hub) -> Result<Vec<String>, AppError> {
    let all = hub.read(identity_providers::console_agencies).await?;
    Ok(all.into_iter().map(|(_, _, issuer)| issuer).collect())
}

/// The console's client at `agency`'s issuer, with its secret opened.
async fn client_of(hub: &Hub, agency: AgencyId) -> Result<Option<ConsoleClientConfig>, AppError> {
    let Some(p) = hub
        .read(move |c| identity_providers::of_agency(c, agency))
        .await?
    else {
        return Ok(None);
    };
    let Some(console) = p.console.clone() else {
        return Ok(None);
    };
    let client_secret = match &console.client_secret {
        None => None,
        Some(ClientSecret::Sealed(s)) => Some(
            hub.secrets()
                .open(&super::agencies::console_secret_aad(agency), s)?,
        ),
        Some(ClientSecret::Plain(_)) => {
            return Err(AppError::internal("a stored console secret is not sealed"))
        }
    };
    Ok(Some(ConsoleClientConfig {
        issuer: IssuerEntry::for_agency(&p),
        client_id: console.client_id,
        client_secret,
        redirect_uri: console.redirect_uri,
    }))
}

/// A sign-in begun: the handle for the browser's cookie and where to send it.
#[derive(Debug)]
pub struct Begun {
    pub handle: String,
    pub authorize_url: String,
}

/// Begins a sign-in through `agency`'s issuer, returning to `next` (already checked).
pub async fn begin(
    hub: &Hub,
    rp: &RelyingParty,
    agency: AgencyId,
    next: String,
) -> Result<Begun, SignInError> {
    let client = client_of(hub, agency)
        .await?
        .ok_or_else(|| refused("console_not_registered", "no console client", None))?;
    let auth = rp
        .authorize(&client)
        .await
        .map_err(|failure| SignInError::Refused {
            failure,
            issuer: Some(client.issuer.issuer.clone()),
        })?;
    let handle = random_token();
    let hash = handle_hash(&handle);
    let now = hub.now();
    let stale = now - Duration::seconds(hub.settings().console.sign_in_timeout_secs);
    let pending = PendingSignIn {
        agency_id: agency,
        state: auth.state,
        nonce: auth.nonce,
        pkce_verifier: auth.pkce_verifier,
        next,
        created_at: now,
    };
    hub.write(move |c| console_sessions::insert_sign_in(c, &hash, &pending, stale))
        .await?;
    Ok(Begun {
        handle,
        authorize_url: auth.url,
    })
}

/// What a callback came to.
#[derive(Debug)]
pub enum Completed {
    /// A new session: its handle for the cookie, and the path to return to.
    Session {
        handle: String,
        session: Box<StoredSession>,
        principal: Principal,
        next: String,
    },
    /// Signed in at the issuer, but without a console role: no session.
    NotAllowed { principal: Principal },
}

/// The callback's parameters.
#[derive(Debug, Default)]
pub struct Callback<'a> {
    pub sign_in_handle: Option<&'a str>,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The issuer's `error`, when it refused.
    pub error: Option<&'a str>,
}

/// Completes a sign-in at its callback.
pub async fn complete(
    hub: &Hub,
    rp: &RelyingParty,
    cb: Callback<'_>,
) -> Result<Completed, SignInError> {
    let handle = cb
        .sign_in_handle
        .filter(|h| !h.is_empty() && h.len() <= 100)
        .ok_or_else(|| refused("no_sign_in_under_way", "no sign-in cookie", None))?;
    let hash = handle_hash(handle);
    let pending = hub
        .write(move |c| console_sessions::take_sign_in(c, &hash))
        .await?
        .ok_or_else(|| refused("no_sign_in_under_way", "unknown sign-in", None))?;
    let client = client_of(hub, pending.agency_id)
        .await?
        .ok_or_else(|| refused("console_not_registered", "no console client", None))?;
    let issuer = Some(client.issuer.issuer.as_str());
    let now = hub.now();
    let settings = &hub.settings().console;
    if now >= pending.created_at + Duration::seconds(settings.sign_in_timeout_secs) {
        return Err(refused(
            "sign_in_expired",
            "the sign-in took too long",
            issuer,
        ));
    }
    if !cb.state.is_some_and(|s| same(s, &pending.state)) {
        return Err(refused("state_mismatch", "state differs", issuer));
    }
    if let Some(e) = cb.error {
        let shown: String = e
            .chars()
            .take(40)
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        return Err(refused("issuer_refused", &shown, issuer));
    }
    let code = cb
        .code
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| refused("no_code", "no code", issuer))?;
    let signed_in = rp
        .complete(&client, code, &pending.pkce_verifier, &pending.nonce)
        .await
        .map_err(|failure| SignInError::Refused {
            failure,
            issuer: issuer.map(str::to_owned),
        })?;
    let principal = signed_in.principal;
    if !principal.has_any(&CONSOLE_ROLES) {
        return Ok(Completed::NotAllowed { principal });
    }
    let handle = random_token();
    let session = StoredSession {
        id: uuid::Uuid::new_v4(),
        agency_id: pending.agency_id,
        issuer: principal.issuer.clone(),
        subject: principal.subject.clone(),
        roles: principal.roles,
        display_name: signed_in.display_name,
        csrf_token: random_token(),
        purpose: None,
        created_at: now,
        last_seen_at: now,
        ended_at: None,
    };
    let entry = session_entry(
        &principal,
        session.id,
        session.agency_id,
        "signed in to the IG console",
        now,
    );
    let (hash, stored) = (handle_hash(&handle), session.clone());
    hub.write(move |c| {
        console_sessions::insert_session(c, &hash, &stored)?;
        audit::append(c, &entry)?;
        Ok(())
    })
    .await?;
    Ok(Completed::Session {
        handle,
        session: Box::new(session),
        principal,
        next: pending.next,
    })
}

fn session_entry(
    p: &Principal,
    id: uuid::Uuid,
    agency: AgencyId,
    what: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> NewEntry {
    NewEntry::new(
        Operation::Governance,
        crate::domain::audit::Actor::from(p),
        now,
    )
    .record("console_session", id)
    .concerns(vec![agency])
    .justification(what)
    .decision(Decision::Allowed, Vec::new())
}

/// The principal a session acts as.
pub fn principal_of(s: &StoredSession) -> Principal {
    Principal {
        issuer: s.issuer.clone(),
        subject: s.subject.clone(),
        agency_id: Some(s.agency_id),
        roles: s.roles,
        client_id: None,
    }
}

fn timeouts(hub: &Hub) -> Timeouts {
    let c = &hub.settings().console;
    Timeouts {
        idle: Duration::seconds(c.idle_timeout_secs),
        absolute: Duration::seconds(c.absolute_timeout_secs),
    }
}

/// The session whose cookie carries `handle`, when it still counts; its use is recorded (at
/// most once per `console.touch_interval_secs`). A session past a timeout is ended.
pub async fn find(hub: &Hub, handle: &str) -> Result<Option<StoredSession>, AppError> {
    if handle.is_empty() || handle.len() > 100 {
        return Ok(None);
    }
    let hash = handle_hash(handle);
    let Some(mut s) = hub
        .read(move |c| console_sessions::by_handle(c, &hash))
        .await?
    else {
        return Ok(None);
    };
    let now = hub.now();
    if let Some(why) = s.ended(now, timeouts(hub)) {
        if s.ended_at.is_none() {
            let id = s.id;
            hub.write(move |c| console_sessions::end(c, id, now, why.as_str()))
                .await?;
            tracing::info!(session = %s.id, reason = why.as_str(), "console session timed out");
        }
        return Ok(None);
    }
    if now >= s.last_seen_at + Duration::seconds(hub.settings().console.touch_interval_secs) {
        let id = s.id;
        hub.write(move |c| console_sessions::touch(c, id, now))
            .await?;
        s.last_seen_at = now;
    }
    Ok(Some(s))
}

/// Ends session `id` of `principal` at sign-out (logged once), and returns the console
/// client of its agency, for the issuer's end-session endpoint.
pub async fn sign_out(
    hub: &Hub,
    id: uuid::Uuid,
    principal: &Principal,
) -> Result<Option<ConsoleClientConfig>, AppError> {
    let now = hub.now();
    let agency = principal.agency()?;
    let entry = session_entry(principal, id, agency, "signed out of the IG console", now);
    hub.write(move |c| {
        if console_sessions::end(c, id, now, "signed_out")? {
            audit::append(c, &entry)?;
        }
        Ok(())
    })
    .await?;
    client_of(hub, agency).await
}

/// Ends the session whose cookie carries `handle`, if it still counts: a browser that signs
/// in again leaves no earlier session behind.
pub async fn end_replaced(hub: &Hub, handle: &str) -> Result<(), AppError> {
    if let Some(s) = find(hub, handle).await? {
        let (id, now) = (s.id, hub.now());
        hub.write(move |c| console_sessions::end(c, id, now, "replaced"))
            .await?;
    }
    Ok(())
}

/// Records the purpose an officer gave for this session's audit consultations.
pub async fn set_purpose(hub: &Hub, session: uuid::Uuid, purpose: String) -> Result<(), AppError> {
    let done = hub
        .write(move |c| console_sessions::set_purpose(c, session, &purpose))
        .await?;
    if done {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_random_and_stored_hashed() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(a.len(), 43);
        assert_eq!(handle_hash(&a).len(), 64);
        assert_ne!(handle_hash(&a), a);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
