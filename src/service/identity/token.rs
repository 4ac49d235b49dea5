//! Bearer-token validation (RFC 9068 access tokens, RFC 8725 practices).
//!
//! The unverified `iss` only selects which registered issuer's keys to try; everything is
//! then checked against that issuer: the signature by a key from its JWKS, an algorithm from
//! the allow-list that fits the key (never `none`, never HMAC), exact `iss`, `aud` containing
//! its audience, `typ` `at+jwt` (plain `JWT` only where the issuer is registered so), `exp`
//! and `nbf` against the hub's clock with a small skew, and a `sub`.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::claims;
use super::keys::KeyCache;
use super::registry::Registry;
use super::Principal;
use crate::clock::Clock;
use crate::config::IdentitySettings;

/// The algorithms the hub accepts.
pub const ALLOWED_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Longest token the hub reads.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused. The text is for the log (no token content), never the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub reason: String,
    /// The issuer the token claimed, when it was a registered one.
    pub issuer: Option<String>,
}

impl AuthFailure {
    fn new(reason: impl Into<String>) -> Self {
        AuthFailure {
            reason: reason.into(),
            issuer: None,
        }
    }
}

#[derive(Deserialize)]
struct IssOnly {
    iss: Option<String>,
}

/// Checks bearer tokens from every registered issuer.
pub struct Authenticator {
    pub registry: Arc<Registry>,
    keys: KeyCache,
    clock: Clock,
    skew: i64,
}

impl Authenticator {
    pub fn new(registry: Arc<Registry>, settings: &IdentitySettings, clock: Clock) -> Self {
        Authenticator {
            registry,
            keys: KeyCache::new(
                Duration::from_secs(settings.fetch_timeout_secs),
                Duration::from_secs(settings.jwks_min_refresh_secs),
                Duration::from_secs(settings.jwks_max_age_secs),
            ),
            clock,
            skew: settings.clock_skew_secs,
        }
    }

    /// Checks `token` and returns who is calling.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthFailure> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(AuthFailure::new("token missing or too long"));
        }
        let header = decode_header(token).map_err(|_| AuthFailure::new("malformed header"))?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(AuthFailure::new(format!(
                "algorithm {:?} not allowed",
                header.alg
            )));
        }
        let iss = jsonwebtoken::dangerous::insecure_decode_claims::<IssOnly>(token)
            .ok()
            .and_then(|c| c.iss)
            .ok_or_else(|| AuthFailure::new("no issuer"))?;
        let entry = self
            .registry
            .lookup(&iss)
            .await
            .map_err(|_| AuthFailure::new("issuer registry unavailable"))?
            .ok_or_else(|| AuthFailure::new("issuer not registered"))?;
        let fail = |reason: String| AuthFailure {
            reason,
            issuer: Some(entry.issuer.clone()),
        };

        let typ = header.typ.as_deref().map(|t| t.to_ascii_lowercase());
        let typ_ok = match typ.as_deref().map(|t| t.trim_start_matches("application/")) {
            Some("at+jwt") => true,
            Some("jwt") => entry.accept_jwt_typ,
            _ => false,
        };
        if !typ_ok {
            return Err(fail(format!("typ {:?} not accepted", header.typ)));
        }

        let key = self
            .keys
            .key_for(&entry.issuer, header.kid.as_deref(), header.alg)
            .await
            .map_err(|e| fail(e.to_string()))?;

        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&entry.issuer]);
        validation.set_audience(&[&entry.audience]);
        validation.validate_exp = false; // checked below against the hub's clock
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .into_iter()
            .map(str::to_owned)
            .collect::<HashSet<_>>();
        let data = decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| fail(format!("rejected: {:?}", e.kind())))?;
        let claims = data.claims;

        let now = self.clock.now().timestamp();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| fail("exp".into()))?;
        if now > exp.saturating_add(self.skew) {
            return Err(fail("expired".into()));
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf
                .as_i64()
                .ok_or_else(|| fail("nbf not a number".into()))?;
            if now.saturating_add(self.skew) < nbf {
                return Err(fail("not yet valid".into()));
            }
        }
        if let Some(iat) = claims.get("iat").and_then(Value::as_i64) {
            if iat > now.saturating_add(self.skew) {
                return Err(fail("issued in the future".into()));
            }
        }
        let subject = match claims.get("sub").and_then(Value::as_str) {
            Some(s) if !s.is_empty() && s.len() <= 255 => s.to_owned(),
            _ => return Err(fail("sub missing".into())),
        };
        let roles = claims::roles(&claims, &entry.roles_path, &entry.role_map);
        let client_id = claims
            .get("client_id")
            .or_else(|| claims.get("azp"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Principal {
            issuer: entry.issuer.clone(),
            subject,
            agency_id: entry.agency_id,
            roles,
            client_id,
        })
    }
}
