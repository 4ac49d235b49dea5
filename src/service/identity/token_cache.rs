//! Tokens verified once: a bounded cache from a keyed hash of the bearer token to the
//! principal it was verified as, so a client presenting the same token again costs a hash and
//! a few comparisons instead of three decodes and a signature check.
//!
//! - The key is HMAC-SHA-256 of the token under a random key made when the process starts:
//!   the token itself is never kept, and the digest means nothing outside this process.
//! - An entry is used only while its token is still valid by the hub's clock (`exp` and
//!   `nbf` with the allowed skew, `iat` not in the future), and for at most
//!   `token_cache_secs` after it was verified: expiry is checked on every hit.
//! - It is used only while the issuer's registration is the one the token was verified under
//!   and the issuer's keys are still the same generation: a changed or removed registration
//!   or a new key set drops every entry of that issuer (it is verified from scratch).
//! - Size is bounded (`token_cache_entries`) by `quick_cache`, which evicts with S3-FIFO.
use std::sync::Arc;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::registry::IssuerEntry;
use super::Principal;

/// The keyed hash of a token.
pub type Digest = [u8; 32];

/// A token's verification, as kept.
#[derive(Debug)]
pub struct Verified {
    pub principal: Principal,
    /// The registration it was verified under.
    pub issuer: Arc<IssuerEntry>,
    /// The generation of the issuer's keys it was verified with.
    pub keys_generation: u64,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    /// When it was verified (hub clock, seconds).
    pub verified_at: i64,
}

impl Verified {
    /// Whether the token is still within its validity at `now` (seconds) with `skew`, and the
    /// entry within `max_age` of its verification.
    pub fn fresh(&self, now: i64, skew: i64, max_age: i64) -> bool {
        now <= self.exp.saturating_add(skew)
            && self.nbf.is_none_or(|nbf| now.saturating_add(skew) >= nbf)
            && self.iat.is_none_or(|iat| iat <= now.saturating_add(skew))
            && now >= self.verified_at
            && now < self.verified_at.saturating_add(max_age)
    }
}

/// The verified-token cache.
pub struct TokenCache {
    key: [u8; 32],
    entries: quick_cache::sync::Cache<Digest, Arc<Verified>>,
    pub max_age_secs: i64,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (0: none kept), each for at most `max_age_secs`.
    pub fn new(capacity: usize, max_age_secs: i64) -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        TokenCache {
            key,
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            max_age_secs: if capacity == 0 { 0 } else { max_age_secs },
        }
    }

    /// The keyed hash of `token`.
    pub fn digest(&self, token: &str) -> Digest {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn get(&self, digest: &Digest) -> Option<Arc<Verified>> {
        self.entries.get(digest)
    }

    pub fn insert(&self, digest: Digest, verified: Verified) {
        if self.max_age_secs > 0 {
            self.entries.insert(digest, Arc::new(verified));
        }
    }

    pub fn remove(&self, digest: &Digest) {
        self.entries.remove(digest);
    }

    /// How many tokens are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::role::RoleSet;

    fn verified(exp: i64, at: i64) -> Verified {
        Verified {
            principal: Principal {
                issuer: "https://idp.example".into(),
                subject: "s".into(),
                agency_id: None,
                roles: RoleSet::empty(),
                client_id: None,
            },
            issuer: Arc::new(IssuerEntry {
                issuer: "https://idp.example".into(),
                audience: "hub".into(),
                roles_path: vec!["roles".into()],
                role_map: Default::default(),
                accept_jwt_typ: false,
                agency_id: None,
            }),
            keys_generation: 1,
            exp,
            nbf: Some(at - 5),
            iat: Some(at),
            verified_at: at,
        }
    }

    #[test]
    fn entries_live_no_longer_than_the_token_nor_the_cache_allows() {
        let v = verified(1_000, 900);
        assert!(v.fresh(900, 30, 60));
        assert!(v.fresh(959, 30, 60));
        assert!(!v.fresh(960, 30, 60), "at most max_age after verification");
        let v = verified(920, 900);
        assert!(v.fresh(950, 30, 60));
        assert!(!v.fresh(951, 30, 60), "never past exp (with the skew)");
        assert!(!v.fresh(899, 30, 60), "a clock moved back re-verifies");
        assert!(!verified(1_000, 900).fresh(860, 30, 600));
    }

    #[test]
    fn digests_are_keyed_and_distinct() {
        let (a, b) = (TokenCache::new(10, 60), TokenCache::new(10, 60));
        assert_eq!(a.digest("t"), a.digest("t"));
        assert_ne!(a.digest("t"), a.digest("u"));
        assert_ne!(a.digest("t"), b.digest("t"), "a key of its own per process");
    }
}
