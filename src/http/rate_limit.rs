//! Per-caller rate limits, GCRA through the `governor` crate: every request is charged to its
//! authenticated principal (issuer and subject), or, without a valid token, to its client
//! address (an IPv6 client by its /64, which is what one site is given). A caller over its
//! budget gets a 429 problem with `Retry-After`. The budgets are per caller, so many
//! principals at once are never throttled by one another.
//!
//! Memory stays bounded: keys are 128-bit digests (a long subject costs no more than a short
//! one), keys whose state is back to fresh are evicted every [`TIDY_EVERY`] checks, and past
//! `max_clients` tracked addresses every further unauthenticated caller shares one budget
//! (principals come only from registered issuers, so their number is not the caller's to grow).
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

use crate::config::RateLimitSettings;
use crate::error::AppError;
use crate::identity::Principal;

/// Checks between two evictions of idle keys.
const TIDY_EVERY: u64 = 4096;

/// Checks between two evictions while the address table is full.
const TIDY_WHEN_FULL: u64 = 64;

/// The key shared by unauthenticated callers once `max_clients` addresses are tracked.
const OVERFLOW: u128 = u128::MAX;

/// The hub's two keyed limiters.
pub struct RateLimits {
    principals: DefaultKeyedRateLimiter<u128>,
    clients: DefaultKeyedRateLimiter<u128>,
    max_clients: usize,
    checks: AtomicU64,
    clock: DefaultClock,
}

fn quota(per_second: u32, burst: u32, what: &str) -> Result<Quota, AppError> {
    let rate = NonZeroU32::new(per_second)
        .ok_or_else(|| AppError::Config(format!("rate_limit.{what}_per_second must be > 0")))?;
    let burst = NonZeroU32::new(burst)
        .ok_or_else(|| AppError::Config(format!("rate_limit.{what}_burst must be > 0")))?;
    Ok(Quota::per_second(rate).allow_burst(burst))
}

/// The key of a principal: a digest of its issuer and subject.
fn principal_key(p: &Principal) -> u128 {
    let mut h = Sha256::new();
    h.update(p.issuer.as_bytes());
    h.update([0u8]);
    h.update(p.subject.as_bytes());
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(d.get(..16).unwrap_or(&[0u8; 16]));
    u128::from_be_bytes(k)
}

/// The key of a client address: an IPv4 address (or IPv4-mapped IPv6) as itself, an IPv6
/// address by its /64 prefix.
pub fn client_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)),
            None => u128::from(v6) & !u128::from(u64::MAX),
        },
    }
}

impl RateLimits {
    pub fn new(s: &RateLimitSettings) -> Result<Self, AppError> {
        Ok(RateLimits {
            principals: DefaultKeyedRateLimiter::keyed(quota(
                s.principal_per_second,
                s.principal_burst,
                "principal",
            )?),
            clients: DefaultKeyedRateLimiter::keyed(quota(
                s.client_per_second,
                s.client_burst,
                "client",
            )?),
            max_clients: s.max_clients.max(1),
            checks: AtomicU64::new(0),
            clock: DefaultClock::default(),
        })
    }

    /// Charges one request to `p`; a 429 when its budget is spent.
    pub fn check_principal(&self, p: &Principal) -> Result<(), AppError> {
        self.tidy();
        self.principals
            .check_key(&principal_key(p))
            .map_err(|not_until| self.limited(not_until.wait_time_from(self.clock.now())))
    }

    /// Charges one request to the client at `ip`; a 429 when its budget is spent.
    pub fn check_client(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.tidy();
        let key = match ip {
            Some(ip) if self.clients.len() < self.max_clients => client_key(ip),
            _ => OVERFLOW,
        };
        self.clients
            .check_key(&key)
            .map_err(|not_until| self.limited(not_until.wait_time_from(self.clock.now())))
    }

    fn limited(&self, wait: Duration) -> AppError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        AppError::RateLimited {
            retry_after_secs: secs.max(1),
        }
    }

    /// Evicts keys whose budget is full again, every [`TIDY_EVERY`] checks (and every
    /// [`TIDY_WHEN_FULL`] while the address table is full, so a flood of new addresses
    /// cannot make every request pay for a sweep).
    fn tidy(&self) {
        let n = self.checks.fetch_add(1, Ordering::Relaxed);
        let full = self.clients.len() >= self.max_clients;
        if n % TIDY_EVERY == TIDY_EVERY - 1 || (full && n % TIDY_WHEN_FULL == 0) {
            self.principals.retain_recent();
            self.clients.retain_recent();
            self.principals.shrink_to_fit();
            self.clients.shrink_to_fit();
        }
    }

    /// Keys tracked now (principals, client addresses).
    pub fn tracked(&self) -> (usize, usize) {
        (self.principals.len(), self.clients.len())
    }

    /// Evicts idle keys now.
    pub fn evict_idle(&self) {
        self.principals.retain_recent();
        self.clients.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::role::RoleSet;

    fn settings(burst: u32) -> RateLimitSettings {
        RateLimitSettings {
            principal_per_second: 1,
            principal_burst: burst,
            client_per_second: 1,
            client_burst: burst,
            max_clients: 8,
        }
    }

    fn principal(subject: &str) -> Principal {
        Principal {
            issuer: "https://idp.example".into(),
            subject: subject.into(),
            agency_id: None,
            roles: RoleSet::default(),
            client_id: None,
        }
    }

    #[test]
    fn a_principal_is_throttled_after_its_burst_and_others_are_not() {
        let r = RateLimits::new(&settings(3)).unwrap();
        let a = principal("a");
        for _ in 0..3 {
            r.check_principal(&a).unwrap();
        }
        match r.check_principal(&a) {
            Err(AppError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("{other:?}"),
        }
        for i in 0..100 {
            r.check_principal(&principal(&format!("p{i}"))).unwrap();
        }
    }

    #[test]
    fn idle_keys_are_evicted() {
        let r = RateLimits::new(&RateLimitSettings {
            principal_per_second: 1000,
            ..settings(1)
        })
        .unwrap();
        for i in 0..50 {
            r.check_principal(&principal(&format!("p{i}"))).unwrap();
        }
        assert_eq!(r.tracked().0, 50);
        std::thread::sleep(Duration::from_millis(20));
        r.evict_idle();
        assert_eq!(r.tracked().0, 0);
    }

    #[test]
    fn tracked_addresses_are_bounded() {
        let r = RateLimits::new(&settings(1)).unwrap();
        for i in 0..100u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = r.check_client(Some(ip));
        }
        assert!(r.tracked().1 <= 9, "{:?}", r.tracked());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(client_key(v4), client_key(mapped));
    }
}
