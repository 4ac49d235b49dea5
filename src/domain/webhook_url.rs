//! The SSRF rules for webhook URLs that need no network (OWASP API7): https only (http where
//! `delivery.allow_insecure_http` allows it), no credentials in the URL, and which addresses
//! count as public (the IANA special-purpose registries). `delivery::ssrf` resolves hosts
//! and applies [`is_public`].
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
    #[error("host did not resolve in time")]
    DnsTimeout,
    /// The host is, or resolves to, an address that is not public. Which address is never
    /// said: the answer must not tell a caller what lies inside the hub's network.
    #[error("host is not allowed: it is not a public address")]
    NonPublic,
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
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// IPv6 per the IANA special-purpose address registry: only global unicast (`2000::/3`)
/// can be public, less the special ranges inside it. Everything outside `2000::/3`
/// (loopback, unspecified, IPv4-mapped and -compatible, NAT64 `64:ff9b::/96` and the
/// local-use `64:ff9b:1::/48`, discard-only `100::/64`, SRv6 `5f00::/16`, unique local
/// `fc00::/7`, link-local `fe80::/10`, site-local `fec0::/10`, multicast `ff00::/8`) is not.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [s0, s1, ..] = ip.segments();
    let global_unicast = (s0 & 0xe000) == 0x2000;
    // 2001::/23: IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID).
    let ietf = s0 == 0x2001 && s1 < 0x0200;
    // 2001:db8::/32 and 3fff::/20: documentation.
    let documentation = (s0 == 0x2001 && s1 == 0x0db8) || (s0 & 0xfff0) == 0x3ff0;
    // 2002::/16: 6to4 (embeds an IPv4 address).
    let six_to_four = s0 == 0x2002;
    global_unicast && !ietf && !documentation && !six_to_four
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
    fn the_refusal_never_names_an_address() {
        let text = Refusal::NonPublic.to_string();
        assert!(text.contains("not allowed"), "{text}");
        assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
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
    }

    #[test]
    fn ipv6_special_purpose_ranges_are_not_public() {
        for (ip, range) in [
            ("2002:7f00:1::1", "6to4 2002::/16 (embeds 127.0.0.1)"),
            ("2002:c0a8:101::1", "6to4 2002::/16 (embeds 192.168.1.1)"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo 2001::/32"),
            ("2001:2::1", "benchmarking 2001:2::/48"),
            ("2001:10::1", "ORCHID 2001:10::/28"),
            ("2001:20::1", "ORCHIDv2 2001:20::/28"),
            ("fec0::1", "site-local fec0::/10"),
            ("feff::1", "site-local fec0::/10 (top)"),
            ("64:ff9b:1::a00:1", "local-use NAT64 64:ff9b:1::/48"),
            ("64:ff9b::7f00:1", "NAT64 64:ff9b::/96"),
            ("100::1", "discard-only 100::/64"),
            ("5f00::1", "SRv6 SIDs 5f00::/16"),
            ("3fff::1", "documentation 3fff::/20"),
            ("::", "unspecified"),
            ("::127.0.0.1", "IPv4-compatible"),
            ("ff02::1", "multicast"),
            ("4000::1", "outside global unicast 2000::/3"),
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}: {range}");
        }
        for ip in ["2a00:1450:4009::200e", "2606:4700::1111", "2001:4860::8888"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ipv4_special_purpose_ranges_are_not_public() {
        for ip in [
            "192.88.99.1",
            "192.0.0.8",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "240.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2a00:1450:4009::200e"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
