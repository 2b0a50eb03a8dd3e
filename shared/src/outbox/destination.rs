//! Where the platform may send requests on a partner's behalf (no SSRF).
//!
//! A destination must be `https` and resolve only to public addresses: never loopback,
//! private, link-local (the instance metadata service), carrier-grade NAT, multicast or
//! unspecified ones. The request then connects to the addresses that were checked, so a
//! DNS answer that changes between check and connect cannot redirect it. Local runs and
//! tests may allow `http` and private addresses; production refuses that setting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("destination URL is not valid")]
    BadUrl,
    #[error("destination must use https")]
    NotHttps,
    #[error("destination host does not resolve")]
    Unresolved,
    #[error("destination resolves to a non-public address ({0})")]
    NotPublic(IpAddr),
}

/// A checked destination: the URL and the addresses to connect to.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: Url,
    pub host: String,
    pub addresses: Vec<SocketAddr>,
}

pub async fn check(raw: &str, allow_insecure: bool) -> Result<Destination, Refused> {
    let url = Url::parse(raw).map_err(|_| Refused::BadUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err(Refused::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::BadUrl);
    }
    let host = url.host_str().ok_or(Refused::BadUrl)?.to_owned();
    let port = url.port_or_known_default().ok_or(Refused::BadUrl)?;
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|_| Refused::Unresolved)?
        .collect();
    if addresses.is_empty() {
        return Err(Refused::Unresolved);
    }
    if !allow_insecure {
        if let Some(bad) = addresses
            .iter()
            .map(SocketAddr::ip)
            .find(|ip| !is_public(*ip))
        {
            return Err(Refused::NotPublic(bad));
        }
    }
    Ok(Destination {
        url,
        host,
        addresses,
    })
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 one carries, where the address reaches that IPv4 host:
/// mapped (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`), the deprecated compatible
/// form (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`). That host is the one
/// to judge.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(from(hi, lo)),
        // `::` and `::1` are judged as IPv6 (unspecified, loopback).
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(from(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Carrier-grade NAT 100.64.0.0/10 and the 198.18.0.0/15 benchmark range.
        || (a == 100 && (64..=127).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        // IETF protocol assignments 192.0.0.0/24.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [a, b, c, ..] = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, the deprecated site-local fec0::/10.
        || (a & 0xfe00) == 0xfc00
        || (a & 0xffc0) == 0xfe80
        || (a & 0xffc0) == 0xfec0
        // Local-use NAT64 64:ff9b:1::/48, which translates to whatever the network chose.
        || (a == 0x64 && b == 0xff9b && c == 1)
        // Discard-only 100::/64.
        || (a == 0x100 && b == 0 && c == 0 && ip.segments()[3] == 0)
        // IETF protocol assignments 2001::/23 (Teredo, benchmarking, ORCHID) and
        // documentation 2001:db8::/32.
        || (a == 0x2001 && b < 0x200)
        || (a == 0x2001 && b == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "192.0.0.8",
            "::127.0.0.1",
            "::169.254.169.254",
            "::ffff:0:127.0.0.1",
            "::ffff:0:10.0.0.1",
            "fec0::1",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::808:808",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:10::1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in [
            "8.8.8.8",
            "52.94.236.248",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    #[tokio::test]
    async fn destinations_are_checked_before_any_request() {
        assert_eq!(
            check("http://example.com/hook", false)
                .await
                .expect_err("http"),
            Refused::NotHttps
        );
        assert_eq!(
            check("ftp://example.com/hook", true)
                .await
                .expect_err("ftp"),
            Refused::NotHttps
        );
        assert_eq!(
            check("not a url", false).await.expect_err("url"),
            Refused::BadUrl
        );
        assert_eq!(
            check("https://user:pw@example.com/", false)
                .await
                .expect_err("creds"),
            Refused::BadUrl
        );
        for internal in [
            "https://127.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8443/",
            "https://localhost/hook",
            "https://10.0.0.8/",
        ] {
            assert!(
                matches!(check(internal, false).await, Err(Refused::NotPublic(_))),
                "{internal}"
            );
        }
        let local = check("http://127.0.0.1:9/hook", true)
            .await
            .expect("allowed locally");
        assert_eq!(local.addresses[0].port(), 9);
    }
}
