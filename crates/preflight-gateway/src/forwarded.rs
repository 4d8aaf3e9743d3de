//! Forwarding headers: what the upstream is told about the client
//! (`X-Forwarded-For`, `-Proto`, `-Host`), and which of the client's own
//! forwarding headers it may believe (`docs/behaviour.md`, "Forwarding
//! headers").
//!
//! A client can write any header. Only a peer listed in `[server]
//! trusted_proxies` (a load balancer in front of the gateway) is believed:
//! its headers are kept and the gateway appends to them. From any other peer
//! the headers that name a client, a host, a scheme or a path are dropped and
//! written afresh from the connection and the request's authority.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::header::{HeaderName, FORWARDED};
use http::{HeaderMap, HeaderValue};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that upstream frameworks read as the client's address, host,
/// scheme or path, besides `Forwarded` and every `X-Forwarded-*`.
const CLIENT_CLAIMS: [&str; 3] = ["x-real-ip", "x-original-url", "x-rewrite-url"];

/// An address block of `trusted_proxies`: `10.0.0.0/8`, `fd00::/8`, or one
/// address (a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `ADDR` or `ADDR/PREFIX`. Bits set beyond the prefix are refused,
    /// as they usually mean a typing mistake (`10.1.0.0/8`).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("the prefix length must be 0 to {max}")),
            },
        };
        let cidr = Cidr { addr, prefix };
        if cidr.network() != bits(addr) {
            return Err(format!(
                "bits are set beyond /{prefix} (the block starts at {})",
                cidr.network_addr()
            ));
        }
        Ok(cidr)
    }

    /// Is `ip` in the block? An IPv4 address mapped into IPv6
    /// (`::ffff:10.0.0.1`, as a dual-stack listener reports it) counts as
    /// the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        (bits(ip) & self.mask()) == self.network()
    }

    fn mask(&self) -> u128 {
        let width = if self.addr.is_ipv4() { 32 } else { 128 };
        let all = if width == 32 {
            u32::MAX as u128
        } else {
            u128::MAX
        };
        match self.prefix {
            0 => 0,
            p => all & !((1u128 << (width - u32::from(p))).wrapping_sub(1) & all),
        }
    }

    fn network(&self) -> u128 {
        bits(self.addr) & self.mask()
    }

    fn network_addr(&self) -> IpAddr {
        let n = self.network();
        match self.addr {
            IpAddr::V4(_) => IpAddr::from((n as u32).to_be_bytes()),
            IpAddr::V6(_) => IpAddr::from(n.to_be_bytes()),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Write the forwarding headers for a request from `peer`: kept and
/// appended to when the peer is trusted, replaced otherwise. `authority` is
/// the request's `Host` (or HTTP/2 `:authority`).
/// The peer's address as a header value. An IPv4 address is written by hand
/// (dotted decimal, RFC 791 §3.2 / RFC 3986 §3.2.2 `IPv4address`), which
/// costs a tenth of `Display` through `core::fmt`, on every proxied request.
fn ip_value(ip: IpAddr) -> HeaderValue {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 15];
            let mut len = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                let digits = [octet / 100, octet / 10 % 10, octet % 10];
                let skip = if octet >= 100 {
                    0
                } else if octet >= 10 {
                    1
                } else {
                    2
                };
                for d in &digits[skip..] {
                    buf[len] = b'0' + d;
                    len += 1;
                }
            }
            HeaderValue::from_bytes(&buf[..len]).unwrap_or(HeaderValue::from_static("unknown"))
        }
        IpAddr::V6(_) => {
            HeaderValue::from_str(&ip.to_string()).unwrap_or(HeaderValue::from_static("unknown"))
        }
    }
}

pub(crate) fn apply(
    headers: &mut HeaderMap,
    peer: SocketAddr,
    tls: bool,
    trusted: &[Cidr],
    authority: Option<HeaderValue>,
) {
    let peer_ip = match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer.ip(), IpAddr::V4),
        v4 => v4,
    };
    let believed = trusted.iter().any(|c| c.contains(peer_ip));
    let proto = HeaderValue::from_static(if tls { "https" } else { "http" });
    if !believed {
        drop_client_claims(headers);
        headers.insert(X_FORWARDED_FOR, ip_value(peer_ip));
        headers.insert(X_FORWARDED_PROTO, proto);
        match authority {
            Some(host) => {
                headers.insert(X_FORWARDED_HOST, host);
            }
            None => {
                headers.remove(X_FORWARDED_HOST);
            }
        }
        return;
    }
    // A trusted proxy's chain, one line, with this hop's peer at the end.
    let prior: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let ip = peer_ip.to_string();
    let chain = if prior.is_empty() {
        ip
    } else {
        format!("{}, {ip}", prior.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&chain) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    if !headers.contains_key(X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, proto);
    }
    if !headers.contains_key(X_FORWARDED_HOST) {
        if let Some(host) = authority {
            headers.insert(X_FORWARDED_HOST, host);
        }
    }
}

/// Remove `Forwarded`, every `X-Forwarded-*` and [`CLIENT_CLAIMS`].
fn drop_client_claims(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|k| {
            let k = k.as_str();
            k.starts_with("x-forwarded-") || CLIENT_CLAIMS.contains(&k)
        })
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
    headers.remove(FORWARDED);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.200.3.4".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.1.0.0/8", "10.0.0.0/33", "example.com", "10.0.0.0/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ip_value_writes_what_display_writes() {
        let mut n = 0u32;
        for a in [0u8, 1, 9, 10, 99, 100, 127, 199, 200, 255] {
            for b in [0u8, 7, 42, 255] {
                let v4 = std::net::Ipv4Addr::new(a, b, a.wrapping_mul(3), b.wrapping_add(a));
                let ip = IpAddr::V4(v4);
                assert_eq!(ip_value(ip).to_str().unwrap(), ip.to_string(), "{ip}");
                n += 1;
            }
        }
        assert_eq!(n, 40);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip_value(v6).to_str().unwrap(), "2001:db8::1");
    }
}
