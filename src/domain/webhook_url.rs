//! The SSRF rules for webhook URLs that need no network (OWASP API7): https only (http where
//! `delivery.allow_insecure_http` allows it), no credentials in the URL, and which addresses
//! count as public. `delivery::ssrf` resolves hosts and applies [`is_public`].
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

/// What the configuration allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    pub allow_insecure_http: bool,
    pub allow_private_networks: bool,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is not a valid absolute URL")]
    Invalid,
    #[error("must use https")]
    Scheme,
    #[error("must not carry credentials")]
    Credentials,
    #[error("host does not resolve")]
    Unresolvable,
    #[error("resolves to a non-public address ({0})")]
    NonPublic(IpAddr),
}

/// Checks the parts of a URL that need no DNS.
pub fn check_syntax(raw: &str, rules: Rules) -> Result<Url, Refusal> {
    let url = Url::parse(raw).map_err(|_| Refusal::Invalid)?;
    match url.scheme() {
        "https" => {}
        "http" if rules.allow_insecure_http => {}
        _ => return Err(Refusal::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    if url.host().is_none() || raw.len() > 2000 {
        return Err(Refusal::Invalid);
    }
    Ok(url)
}

/// Whether an address is globally routable (not loopback, private, link-local, shared,
/// unspecified, multicast, broadcast, documentation or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    let first = seg.first().copied().unwrap_or(0);
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && seg.get(1).copied() == Some(0x0db8)) // documentation
        || (first == 0x0064 && seg.get(1).copied() == Some(0xff9b)) // NAT64 (embeds IPv4)
        || ip.to_ipv4().is_some()) // IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Rules {
        Rules::default()
    }

    #[test]
    fn schemes_and_credentials() {
        assert_eq!(
            check_syntax("http://example.org/h", strict()),
            Err(Refusal::Scheme)
        );
        assert!(check_syntax(
            "http://example.org/h",
            Rules {
                allow_insecure_http: true,
                ..strict()
            }
        )
        .is_ok());
        assert_eq!(
            check_syntax("ftp://example.org/h", strict()),
            Err(Refusal::Scheme)
        );
        assert_eq!(
            check_syntax("https://u:p@example.org/h", strict()),
            Err(Refusal::Credentials)
        );
        assert_eq!(check_syntax("not a url", strict()), Err(Refusal::Invalid));
    }

    #[test]
    fn non_public_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2a00:1450:4009::200e"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
