//! SSRF checks that need the network: every address a webhook host resolves to must be public
//! unless `delivery.allow_private_networks` allows loopback, private and link-local ranges.
//! Checked when a subscription is made ([`resolve_checked`]) and again whenever the delivery
//! client opens a connection ([`CheckedResolver`], the client's only resolver), since DNS can
//! change: the client connects only to addresses that passed, and a pooled connection was
//! opened to one. Every lookup has a timeout. A refusal never names the address.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

pub use crate::domain::webhook_url::{check_syntax, is_public, Refusal, Rules};

/// Resolves `host` (a name, not a literal) within `timeout` and checks every address.
async fn lookup(
    host: &str,
    port: u16,
    rules: Rules,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, Refusal> {
    checked(tokio::net::lookup_host((host, port)), rules, timeout).await
}

/// The addresses a resolution `found` gives within `timeout`, if the rules allow them all.
async fn checked<F, I>(
    found: F,
    rules: Rules,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, Refusal>
where
    F: std::future::Future<Output = std::io::Result<I>>,
    I: Iterator<Item = SocketAddr>,
{
    let found = tokio::time::timeout(timeout, found)
        .await
        .map_err(|_| Refusal::DnsTimeout)?
        .map_err(|_| Refusal::Unresolvable)?;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    if !rules.allow_private_networks && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(Refusal::NonPublic);
    }
    Ok(addrs)
}

/// The URL's host when it is an address literal.
fn literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

/// Checks an address-literal host (which no resolver sees); a host name passes here and is
/// checked by the resolver.
pub fn check_literal(url: &Url, rules: Rules) -> Result<(), Refusal> {
    match literal(url) {
        Some(ip) if !rules.allow_private_networks && !is_public(ip) => Err(Refusal::NonPublic),
        _ => Ok(()),
    }
}

/// Resolves the URL's host within `timeout` and checks every address; returns them.
pub async fn resolve_checked(
    url: &Url,
    rules: Rules,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, Refusal> {
    let port = url.port_or_known_default().ok_or(Refusal::Invalid)?;
    if let Some(ip) = literal(url) {
        check_literal(url, rules)?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let host = url.host_str().ok_or(Refusal::Invalid)?;
    lookup(host, port, rules, timeout).await
}

/// The delivery client's resolver: each lookup within the timeout, and only addresses the
/// rules allow (all of a name's addresses must be, or none is used).
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    pub rules: Rules,
    pub timeout: Duration,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (rules, timeout) = (self.rules, self.timeout);
        Box::pin(async move {
            // The connector sets the URL's port on each address.
            let addrs = lookup(name.as_str(), 0, rules, timeout).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The SSRF refusal somewhere in an error's chain of causes (a resolver refusal comes back
/// from the client wrapped in its connection error).
pub fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    fn strict() -> Rules {
        Rules::default()
    }

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn literal_loopback_is_refused_unless_allowed() {
        let url = check_syntax("https://127.0.0.1:8443/hook", strict()).unwrap();
        assert_eq!(
            resolve_checked(&url, strict(), T).await,
            Err(Refusal::NonPublic)
        );
        let allowed = Rules {
            allow_private_networks: true,
            ..strict()
        };
        assert_eq!(resolve_checked(&url, allowed, T).await.unwrap().len(), 1);
        let url = check_syntax("https://[::1]:8443/hook", strict()).unwrap();
        assert_eq!(
            resolve_checked(&url, strict(), T).await,
            Err(Refusal::NonPublic)
        );
        let url = check_syntax("https://[2002:a00:1::1]/hook", strict()).unwrap();
        assert_eq!(check_literal(&url, strict()), Err(Refusal::NonPublic));
        let url = check_syntax("https://localhost:8443/hook", strict()).unwrap();
        assert!(resolve_checked(&url, strict(), T).await.is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_for_a_private_address_without_naming_it() {
        let r = CheckedResolver {
            rules: strict(),
            timeout: T,
        };
        let err = match r.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved through the strict resolver"),
            Err(e) => e,
        };
        assert_eq!(refusal_in(&*err), Some(Refusal::NonPublic));
        let text = err.to_string();
        assert!(
            !text.contains("127.0.0.1") && !text.contains("::1"),
            "{text}"
        );
        let open = CheckedResolver {
            rules: Rules {
                allow_private_networks: true,
                ..strict()
            },
            timeout: T,
        };
        assert!(open.resolve("localhost".parse().unwrap()).await.is_ok());
    }

    #[tokio::test]
    async fn a_lookup_that_takes_too_long_is_a_timeout() {
        let never = std::future::pending::<std::io::Result<std::vec::IntoIter<SocketAddr>>>();
        assert_eq!(
            checked(never, strict(), Duration::from_millis(50)).await,
            Err(Refusal::DnsTimeout)
        );
        let one_private: Vec<SocketAddr> = vec![
            "93.184.216.34:443".parse().unwrap(),
            "10.0.0.1:443".parse().unwrap(),
        ];
        let ready = std::future::ready(Ok(one_private.clone().into_iter()));
        assert_eq!(checked(ready, strict(), T).await, Err(Refusal::NonPublic));
        let ready = std::future::ready(Ok(one_private.into_iter()));
        let open = Rules {
            allow_private_networks: true,
            ..strict()
        };
        assert_eq!(checked(ready, open, T).await.unwrap().len(), 2);
    }
}
