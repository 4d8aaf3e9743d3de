//! The values the `[server]` table and the routes write as text: listen
//! addresses, durations, sizes and upstream URLs.

use std::net::SocketAddr;
use std::time::Duration;

use http::uri::Scheme;
use http::Uri;

use super::model::Upstream;

/// `127.0.0.1:8080`, `[::1]:8080`; `localhost:8080` too.
pub(crate) fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }
    Err(format!("{text:?} is not a listen address (IP:port)"))
}

/// `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

/// `10MiB`, `512KiB`, `1GB`, `100kB`, `2048`, `2048B`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// An upstream URL: `http://` or `https://` (certificates verified against
/// the Web PKI roots), host, port, an optional path prefix; no
/// userinfo, query or fragment.
pub(crate) fn parse_upstream(text: &str) -> Result<Upstream, (String, &'static str)> {
    let help = "write it like \"http://127.0.0.1:3000\"";
    let uri: Uri = text
        .parse()
        .map_err(|e| (format!("{text:?} is not a URL: {e}"), help))?;
    let scheme = match uri.scheme() {
        Some(s) if *s == Scheme::HTTP => s.clone(),
        Some(s) if *s == Scheme::HTTPS => return Err((
            format!("{text:?}: https upstreams are not supported yet"),
            "reach the upstream over http:// on a private network, or terminate TLS in front of it",
        )),
        Some(s) => return Err((format!("{text:?}: the scheme {s} is not http"), help)),
        None => return Err((format!("{text:?} has no scheme"), help)),
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| (format!("{text:?} has no host"), help))?;
    if authority.as_str().contains('@') {
        return Err((
            format!("{text:?} has userinfo: credentials in an upstream URL would leak in logs"),
            "remove `user:password@`",
        ));
    }
    if authority.host().is_empty() {
        return Err((format!("{text:?} has no host"), help));
    }
    if uri.query().is_some() || text.contains('#') {
        return Err((format!("{text:?} has a query or fragment"), help));
    }
    let base_path = uri.path().trim_end_matches('/').to_string();
    Ok(Upstream {
        scheme,
        authority,
        base_path,
        raw: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("10MiB"), Some(10 << 20));
        assert_eq!(parse_size("5kB"), Some(5000));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("-1s"), None);
    }
}
