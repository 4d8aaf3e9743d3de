//! The admin listener answers only requests addressed to it
//! (`docs/behaviour.md`, "Admin endpoints"): a web page can point its own
//! name at 127.0.0.1 (DNS rebinding) and then read the dashboard as a
//! same-origin page, unless the listener refuses a `Host` that names
//! another site. Any other `Host` gets 421 (RFC 9110 §15.5.20).

use std::net::{IpAddr, SocketAddr};

use http::header::HOST;
use http::Request;

/// Does the request's `Host` (or HTTP/2 `:authority`) name the admin
/// listener bound at `bound`? Accepted: an IP address with the listener's
/// port, `localhost` with that port, and the names of `admin_hosts`
/// (`name` for any port, `name:port` for that port).
pub(crate) fn allowed<B>(req: &Request<B>, bound: SocketAddr, admin_hosts: &[String]) -> bool {
    let authority = match req.headers().get(HOST) {
        Some(h) => match h.to_str() {
            Ok(h) => h.to_string(),
            Err(_) => return false,
        },
        None => match req.uri().authority() {
            Some(a) => a.as_str().to_string(),
            None => return false,
        },
    };
    let authority = authority.trim().to_ascii_lowercase();
    let Some((host, port)) = split(&authority) else {
        return false;
    };
    // The admin listener is plain HTTP: no port means 80.
    let port_ok = port.unwrap_or(80) == bound.port();
    if host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
    {
        return port_ok;
    }
    if host == "localhost" {
        return port_ok;
    }
    admin_hosts.iter().any(|entry| match split(entry) {
        Some((name, None)) => name == host,
        Some((name, Some(p))) => name == host && port == Some(p),
        None => false,
    })
}

/// `host[:port]` and `[v6][:port]`; `None` for a bad port.
fn split(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (h, rest) = authority.split_at(end + 1);
        (h, rest.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str) -> Request<()> {
        Request::builder().header(HOST, host).body(()).unwrap()
    }

    #[test]
    fn hosts() {
        let bound: SocketAddr = "127.0.0.1:9901".parse().unwrap();
        let names = ["admin.internal".to_string(), "ops.example:9901".to_string()];
        for ok in [
            "127.0.0.1:9901",
            "[::1]:9901",
            "localhost:9901",
            "LOCALHOST:9901",
            "admin.internal",
            "admin.internal:1234",
            "ops.example:9901",
        ] {
            assert!(allowed(&req(ok), bound, &names), "{ok}");
        }
        for bad in [
            "evil.example:9901",
            "127.0.0.1:9902",
            "127.0.0.1",
            "ops.example:9902",
            "ops.example",
            "localhost:x",
            "",
        ] {
            assert!(!allowed(&req(bad), bound, &names), "{bad}");
        }
        let none = Request::builder().body(()).unwrap();
        assert!(!allowed(&none, bound, &names));
    }
}
