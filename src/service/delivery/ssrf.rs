//! SSRF checks that need the network: every address a webhook host resolves to must be public
//! unless `delivery.allow_private_networks` allows loopback, private and link-local ranges.
//! Checked when a subscription is made and again at delivery time, since DNS can change; the
//! delivery then connects to the addresses that were checked, not to a fresh resolution.
use std::net::{IpAddr, SocketAddr};

use url::Url;

pub use crate::domain::webhook_url::{check_syntax, is_public, Refusal, Rules};

/// Resolves the URL's host and checks every address; returns the addresses to connect to.
pub async fn resolve_checked(url: &Url, rules: Rules) -> Result<Vec<SocketAddr>, Refusal> {
    let host = url.host_str().ok_or(Refusal::Invalid)?;
    let port = url.port_or_known_default().ok_or(Refusal::Invalid)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Refusal::Unresolvable)?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    if !rules.allow_private_networks {
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(Refusal::NonPublic(bad.ip()));
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Rules {
        Rules::default()
    }

    #[tokio::test]
    async fn literal_loopback_is_refused_unless_allowed() {
        let url = check_syntax("https://127.0.0.1:8443/hook", strict()).unwrap();
        assert!(matches!(
            resolve_checked(&url, strict()).await,
            Err(Refusal::NonPublic(_))
        ));
        let allowed = Rules {
            allow_private_networks: true,
            ..strict()
        };
        assert_eq!(resolve_checked(&url, allowed).await.unwrap().len(), 1);
        let url = check_syntax("https://[::1]:8443/hook", strict()).unwrap();
        assert!(matches!(
            resolve_checked(&url, strict()).await,
            Err(Refusal::NonPublic(_))
        ));
        let url = check_syntax("https://localhost:8443/hook", strict()).unwrap();
        assert!(resolve_checked(&url, strict()).await.is_err());
    }
}
