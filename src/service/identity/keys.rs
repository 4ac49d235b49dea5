//! Discovery and signing keys, per issuer.
//!
//! Discovery goes through the openidconnect crate, which insists that the document's `issuer`
//! equals the registered issuer; keys come only from that document's `jwks_uri`. Keys are
//! cached per issuer. A token whose `kid` is not in the cache causes at most one refresh per
//! `jwks_min_refresh_secs`, so rotation works without a restart and a stream of forged `kid`s
//! cannot turn the hub into a request amplifier. Concurrent refreshes of one issuer coalesce.
//! After a failed discovery the issuer is left alone for a while (doubling with each failure),
//! so tokens for an issuer that is down do not each cause a fetch. Documents are read up to a
//! size limit ([`super::fetch`]). Each change of an issuer's keys moves its generation, which
//! drops the tokens verified with the earlier keys ([`super::token_cache`]).
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use openidconnect::core::CoreProviderMetadata;
use openidconnect::IssuerUrl;

use super::fetch::BoundedHttp;
use crate::config::IdentitySettings;

/// One usable verification key.
#[derive(Clone)]
pub struct VerifyKey {
    pub kid: Option<String>,
    /// The algorithms this key may verify (from its type and curve, narrowed by its `alg`).
    pub algorithms: Vec<Algorithm>,
    pub key: DecodingKey,
}

impl VerifyKey {
    /// Turns a JWK into a verification key, or `None` if the hub must not use it: encryption
    /// keys, symmetric keys, curves other than P-256 and Ed25519.
    pub fn from_jwk(jwk: &Jwk) -> Option<VerifyKey> {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return None;
        }
        let family: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => vec![Algorithm::RS256, Algorithm::PS256],
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                vec![Algorithm::ES256]
            }
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                vec![Algorithm::EdDSA]
            }
            _ => return None,
        };
        let algorithms = match jwk.common.key_algorithm {
            None => family,
            Some(ka) => {
                let a = key_algorithm(ka)?;
                if !family.contains(&a) {
                    return None;
                }
                vec![a]
            }
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(VerifyKey {
            kid: jwk.common.key_id.clone(),
            algorithms,
            key,
        })
    }
}

fn key_algorithm(ka: KeyAlgorithm) -> Option<Algorithm> {
    match ka {
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    }
}

#[derive(Default)]
struct Snapshot {
    keys: Vec<VerifyKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    /// Failed discoveries since the last one that worked.
    failures: u32,
    /// Moves whenever the keys are replaced.
    generation: u64,
}

#[derive(Default)]
struct IssuerKeys {
    snapshot: RwLock<Arc<Snapshot>>,
    refresh: tokio::sync::Mutex<()>,
}

/// Why no key could be found.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// `kid` is as [`super::token::shown`] gives it (it comes from an unverified header).
    #[error("no key with kid {kid} for {alg:?}")]
    UnknownKey { kid: String, alg: Algorithm },
}

/// The per-issuer key cache.
pub struct KeyCache {
    http: BoundedHttp,
    min_refresh: Duration,
    max_age: Duration,
    retry_min: Duration,
    retry_max: Duration,
    issuers: RwLock<HashMap<String, Arc<IssuerKeys>>>,
}

impl KeyCache {
    pub fn new(settings: &IdentitySettings) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.fetch_timeout_secs))
            .build()
            .unwrap_or_default();
        KeyCache {
            http: BoundedHttp::new(http, settings.max_document_bytes),
            min_refresh: Duration::from_secs(settings.jwks_min_refresh_secs),
            max_age: Duration::from_secs(settings.jwks_max_age_secs),
            retry_min: Duration::from_millis(settings.discovery_retry_min_ms),
            retry_max: Duration::from_secs(settings.discovery_retry_max_secs),
            issuers: RwLock::new(HashMap::new()),
        }
    }

    /// The generation of `issuer`'s keys: it moves whenever they are replaced.
    pub fn generation(&self, issuer: &str) -> u64 {
        current(&self.issuer(issuer)).generation
    }

    /// How long to leave an issuer alone after `failures` failed discoveries in a row.
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.retry_min
            .saturating_mul(1u32 << doublings)
            .min(self.retry_max.max(self.retry_min))
    }

    fn issuer(&self, issuer: &str) -> Arc<IssuerKeys> {
        if let Ok(map) = self.issuers.read() {
            if let Some(k) = map.get(issuer) {
                return k.clone();
            }
        }
        match self.issuers.write() {
            Ok(mut map) => map.entry(issuer.to_owned()).or_default().clone(),
            Err(_) => Arc::new(IssuerKeys::default()),
        }
    }

    /// The key that verifies a token of `issuer` with this `kid` and `alg`, and the
    /// generation of the key set it is from.
    pub async fn key_for(
        &self,
        issuer: &str,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(VerifyKey, u64), KeyError> {
        let entry = self.issuer(issuer);
        let snap = current(&entry);
        let stale = snap.fetched_at.is_none_or(|t| t.elapsed() >= self.max_age);
        if stale {
            self.refresh(issuer, &entry, |s| {
                s.fetched_at.is_none_or(|t| t.elapsed() >= self.max_age)
            })
            .await?;
        }
        let snap = current(&entry);
        if let Some(k) = find(&snap, kid, alg) {
            return Ok((k, snap.generation));
        }
        // Unknown kid: one rate-limited refresh, for rotation.
        let _ = self
            .refresh(issuer, &entry, |s| {
                find(s, kid, alg).is_none()
                    && s.last_attempt
                        .is_none_or(|t| t.elapsed() >= self.min_refresh)
            })
            .await;
        let snap = current(&entry);
        find(&snap, kid, alg)
            .map(|k| (k, snap.generation))
            .ok_or_else(|| KeyError::UnknownKey {
                kid: super::token::shown(kid),
                alg,
            })
    }

    /// Refreshes the issuer's keys if `needed` still holds once this task has the refresh
    /// lock (another task may have refreshed meanwhile).
    async fn refresh(
        &self,
        issuer: &str,
        entry: &IssuerKeys,
        needed: impl Fn(&Snapshot) -> bool,
    ) -> Result<(), KeyError> {
        let _guard = entry.refresh.lock().await;
        let snap = current(entry);
        if !needed(&snap) {
            return Ok(());
        }
        if snap.failures > 0
            && snap
                .last_attempt
                .is_some_and(|t| t.elapsed() < self.backoff(snap.failures))
        {
            return Err(KeyError::Discovery(
                "the issuer's discovery failed recently; not asked again yet".into(),
            ));
        }
        let started = Instant::now();
        let result = self.discover(issuer).await;
        let next = match &result {
            Ok(keys) => Snapshot {
                keys: keys.clone(),
                fetched_at: Some(started),
                last_attempt: Some(started),
                failures: 0,
                generation: snap.generation.wrapping_add(1),
            },
            Err(_) => Snapshot {
                keys: snap.keys.clone(),
                fetched_at: snap.fetched_at,
                last_attempt: Some(started),
                failures: snap.failures.saturating_add(1),
                generation: snap.generation,
            },
        };
        if let Ok(mut s) = entry.snapshot.write() {
            *s = Arc::new(next);
        }
        result.map(|_| ())
    }

    async fn discover(&self, issuer: &str) -> Result<Vec<VerifyKey>, KeyError> {
        let url =
            IssuerUrl::new(issuer.to_owned()).map_err(|e| KeyError::Discovery(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| KeyError::Discovery(describe(&e)))?;
        // openidconnect fetched the JWKS from the document's jwks_uri; re-read it as
        // jsonwebtoken's JWK type, which builds the verification keys.
        let value = serde_json::to_value(metadata.jwks())
            .map_err(|e| KeyError::Discovery(format!("jwks: {e}")))?;
        let set: JwkSet =
            serde_json::from_value(value).map_err(|e| KeyError::Discovery(format!("jwks: {e}")))?;
        let keys: Vec<VerifyKey> = set.keys.iter().filter_map(VerifyKey::from_jwk).collect();
        tracing::info!(issuer, keys = keys.len(), "issuer keys fetched");
        Ok(keys)
    }
}

fn current(entry: &IssuerKeys) -> Arc<Snapshot> {
    match entry.snapshot.read() {
        Ok(s) => s.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn find(s: &Snapshot, kid: Option<&str>, alg: Algorithm) -> Option<VerifyKey> {
    let mut candidates = s.keys.iter().filter(|k| k.algorithms.contains(&alg));
    match kid {
        Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None => {
            // Without a kid, only an unambiguous key is used.
            let first = candidates.next()?;
            candidates.next().is_none().then(|| first.clone())
        }
    }
}

fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
