//! Bearer-token validation (RFC 9068 access tokens, RFC 8725 practices).
//!
//! The unverified `iss` only selects which registered issuer's keys to try; everything is
//! then checked against that issuer: the signature by a key from its JWKS, an algorithm from
//! the allow-list that fits the key (never `none`, never HMAC), exact `iss`, `aud` containing
//! its audience, `typ` `at+jwt` (plain `JWT` only where the issuer is registered so), `exp`
//! and `nbf` against the hub's clock with a small skew, and a `sub`.
//!
//! A token verified once is kept ([`super::token_cache`]) and answered from there while it,
//! its issuer's registration and its issuer's keys are unchanged. Values from the token's
//! unverified header (`kid`, `typ`) reach the log only cut short and with odd characters
//! replaced ([`shown`]).
use std::collections::HashSet;
use std::sync::Arc;

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::claims;
use super::keys::KeyCache;
use super::registry::Registry;
use super::token_cache::{TokenCache, Verified};
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

/// At most this much of an untrusted header value reaches the log.
const SHOWN_LEN: usize = 40;

/// An untrusted value (a token header's `kid` or `typ`) as the log may show it: at most
/// [`SHOWN_LEN`] characters, anything but letters, digits and `+-./:=_` replaced by `?`,
/// and a mark when it was cut.
pub fn shown(value: Option<&str>) -> String {
    let Some(v) = value else {
        return "none".to_owned();
    };
    let mut out: String = v
        .chars()
        .take(SHOWN_LEN)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-./:=_".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect();
    if v.chars().nth(SHOWN_LEN).is_some() {
        out.push_str("...");
    }
    format!("`{out}`")
}

/// Checks bearer tokens from every registered issuer.
pub struct Authenticator {
    pub registry: Arc<Registry>,
    keys: KeyCache,
    tokens: TokenCache,
    clock: Clock,
    skew: i64,
}

impl Authenticator {
    pub fn new(registry: Arc<Registry>, settings: &IdentitySettings, clock: Clock) -> Self {
        Authenticator {
            registry,
            keys: KeyCache::new(settings),
            tokens: TokenCache::new(settings.token_cache_entries, settings.token_cache_secs),
            clock,
            skew: settings.clock_skew_secs,
        }
    }

    /// How many verified tokens are kept.
    pub fn cached_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Checks `token` and returns who is calling: from the verified-token cache when it holds
    /// the token and everything it was verified under still holds, otherwise from scratch.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthFailure> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(AuthFailure::new("token missing or too long"));
        }
        let digest = self.tokens.digest(token);
        if let Some(v) = self.tokens.get(&digest) {
            if self.still_holds(&v).await {
                return Ok(v.principal.clone());
            }
            self.tokens.remove(&digest);
        }
        let verified = self.verify(token).await?;
        let principal = verified.principal.clone();
        self.tokens.insert(digest, verified);
        Ok(principal)
    }

    /// Whether a kept verification may answer now: the token is in date by the hub's clock,
    /// the entry young enough, and its issuer's registration and keys those it was verified
    /// under.
    async fn still_holds(&self, v: &Verified) -> bool {
        let now = self.clock.now().timestamp();
        if !v.fresh(now, self.skew, self.tokens.max_age_secs) {
            return false;
        }
        let same_registration = match self.registry.lookup(&v.issuer.issuer).await {
            Ok(Some(entry)) => Arc::ptr_eq(&entry, &v.issuer) || *entry == *v.issuer,
            _ => false,
        };
        same_registration && self.keys.generation(&v.issuer.issuer) == v.keys_generation
    }

    /// Verifies `token` from scratch.
    async fn verify(&self, token: &str) -> Result<Verified, AuthFailure> {
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
            return Err(fail(format!(
                "typ {} not accepted",
                shown(header.typ.as_deref())
            )));
        }

        let (key, keys_generation) = self
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
        let nbf = match claims.get("nbf") {
            Some(nbf) => Some(
                nbf.as_i64()
                    .ok_or_else(|| fail("nbf not a number".into()))?,
            ),
            None => None,
        };
        if nbf.is_some_and(|nbf| now.saturating_add(self.skew) < nbf) {
            return Err(fail("not yet valid".into()));
        }
        let iat = claims.get("iat").and_then(Value::as_i64);
        if iat.is_some_and(|iat| iat > now.saturating_add(self.skew)) {
            return Err(fail("issued in the future".into()));
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
        let principal = Principal {
            issuer: entry.issuer.clone(),
            subject,
            agency_id: entry.agency_id,
            roles,
            client_id,
        };
        Ok(Verified {
            principal,
            issuer: entry,
            keys_generation,
            exp,
            nbf,
            iat,
            verified_at: now,
        })
    }
}
