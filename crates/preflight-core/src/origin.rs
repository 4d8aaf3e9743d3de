//! Origins as the WHATWG URL standard defines them, parsed with the `url` crate.
//!
//! An origin is either a tuple (scheme, host, port) or opaque. Its *serialization*
//! (docs/browser-model.md#origin-serialization) is `scheme://host[:port]`: lower case, the default port omitted, IPv6 in
//! brackets and compressed, internationalized names as punycode; an opaque origin
//! serializes as `null`.

use std::fmt;

use thiserror::Error;
use url::Url;

/// An origin: a (scheme, host, port) tuple or the opaque origin.
///
/// Three ways to get one, by where the text comes from:
/// [`Origin::parse_serialized`] for an `Origin` header or a configuration
/// (strict: only the exact serialization), [`Origin::of_url`] for the origin of
/// a URL already parsed, and [`Origin::of_page`] for a page named by a person
/// (any URL of the page, or `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An opaque origin (sandboxed documents, `data:`, redirect-tainted requests).
    Opaque,
    /// A tuple origin, held in its serialized form (`https://example.com:8443`).
    Tuple(TupleOrigin),
}

/// A tuple origin, kept with its serialization so that comparisons are byte
/// comparisons (docs/browser-model.md#cors-check: the CORS check is byte-equal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TupleOrigin {
    serialized: String,
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl TupleOrigin {
    /// The scheme, lower case (`https`).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }
    /// The host as serialized (punycode, IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The port when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// The port, the scheme's default filled in.
    pub fn port_or_default(&self) -> Option<u16> {
        self.port.or_else(|| default_port(&self.scheme))
    }
}

/// Why a string is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginError {
    #[error("not a URL: {0}")]
    NotAUrl(String),
    #[error("the scheme `{0}` has no origin a browser sends; allowed are http, https and, exactly, the origins of browser extensions and hybrid apps (chrome-extension, moz-extension, safari-web-extension, capacitor, ionic, tauri)")]
    UnsupportedScheme(String),
    #[error("an origin has no path, query or fragment; write `{0}`")]
    HasPath(String),
    #[error("an origin has no user name or password; write `{0}`")]
    HasUserinfo(String),
    #[error("the default port is never part of a serialized origin; write `{0}`")]
    DefaultPort(String),
    #[error("browsers send this origin as `{0}`; write it that way")]
    NotCanonical(String),
    #[error("the origin is empty")]
    Empty,
    #[error("port 0 is never a port a page is served from, so no browser sends it")]
    PortZero,
    #[error("the host is {0} characters long; a DNS name has at most 253, so no browser sends it")]
    HostTooLong(usize),
    #[error(
        "the host has an empty label (two dots in a row, or a leading dot); no browser sends it"
    )]
    EmptyLabel,
    #[error("an IPv4-mapped IPv6 address is never a page's host: a browser sends the IPv4 address {0} instead; write that")]
    Ipv4MappedIpv6(String),
}

/// The default port of a special scheme.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

impl Origin {
    /// The origin of a URL (`new URL(s).origin` in a browser): any URL is
    /// reduced to its origin; one without a tuple origin (`data:`) is opaque.
    pub fn of_url(url: &Url) -> Origin {
        match url.origin() {
            url::Origin::Opaque(_) => Origin::Opaque,
            url::Origin::Tuple(scheme, host, port) => {
                let default = default_port(&scheme);
                let port = if Some(port) == default {
                    None
                } else {
                    Some(port)
                };
                let host = host.to_string();
                let serialized = match port {
                    Some(p) => format!("{scheme}://{host}:{p}"),
                    None => format!("{scheme}://{host}"),
                };
                Origin::Tuple(TupleOrigin {
                    serialized,
                    scheme,
                    host,
                    port,
                })
            }
        }
    }

    /// The origin of the page a user names (`--origin`, a dashboard field):
    /// `null` for a page with an opaque origin (a sandboxed iframe), otherwise
    /// any URL, reduced to its origin as [`Origin::of_url`] does. Lenient, as a
    /// browser is with a page's URL; for the strict form a configuration holds,
    /// see [`Origin::parse_serialized`].
    ///
    /// ```
    /// use preflight_core::Origin;
    /// assert_eq!(Origin::of_page("HTTPS://App.Example/x?y").unwrap().serialize(), "https://app.example");
    /// assert!(Origin::of_page("null").unwrap().is_opaque());
    /// assert!(Origin::of_page("app.example").is_err());
    /// ```
    pub fn of_page(s: &str) -> Result<Origin, OriginError> {
        if s == "null" {
            return Ok(Origin::Opaque);
        }
        let url = Url::parse(s).map_err(|e| OriginError::NotAUrl(format!("{s}: {e}")))?;
        Ok(Origin::of_url(&url))
    }

    /// Parse a string that must already be a serialized origin, exactly as a
    /// browser writes it in the `Origin` header (docs/browser-model.md#origin-serialization). This is what a
    /// configuration holds: anything else is refused with the canonical form.
    pub fn parse_serialized(s: &str) -> Result<Origin, OriginError> {
        if s.is_empty() {
            return Err(OriginError::Empty);
        }
        if s == "null" {
            return Ok(Origin::Opaque);
        }
        let url = Url::parse(s).map_err(|e| OriginError::NotAUrl(format!("{e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(OriginError::UnsupportedScheme(url.scheme().to_string()));
        }
        let origin = Origin::of_url(&url);
        let canonical = origin.serialize().to_string();
        if canonical == s {
            return Ok(origin);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OriginError::HasUserinfo(canonical));
        }
        let after_scheme = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
        let authority_end = after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len());
        if authority_end < after_scheme.len() {
            return Err(OriginError::HasPath(canonical));
        }
        let authority = &after_scheme[..authority_end];
        if let Some(default) = default_port(url.scheme()) {
            if authority.ends_with(&format!(":{default}")) {
                return Err(OriginError::DefaultPort(canonical));
            }
        }
        Err(OriginError::NotCanonical(canonical))
    }

    /// The serialization (docs/browser-model.md#origin-serialization): `scheme://host[:port]` or `null`.
    pub fn serialize(&self) -> &str {
        match self {
            Origin::Opaque => "null",
            Origin::Tuple(t) => &t.serialized,
        }
    }

    /// True for the opaque origin.
    pub fn is_opaque(&self) -> bool {
        matches!(self, Origin::Opaque)
    }

    /// The tuple, when there is one.
    pub fn tuple(&self) -> Option<&TupleOrigin> {
        match self {
            Origin::Opaque => None,
            Origin::Tuple(t) => Some(t),
        }
    }

    /// Same origin (docs/browser-model.md#origin-serialization): two tuple origins with equal scheme, host and port.
    /// An opaque origin is never same-origin with anything here.
    pub fn same_origin(&self, other: &Origin) -> bool {
        match (self, other) {
            (Origin::Tuple(a), Origin::Tuple(b)) => a.serialized == b.serialized,
            _ => false,
        }
    }

    /// True when the host is a loopback address or `localhost` (a *potentially
    /// trustworthy* origin even over http).
    pub fn is_loopback(&self) -> bool {
        self.tuple().is_some_and(|t| is_loopback_host(&t.host))
    }
}

/// Refuse, in a configuration, an origin that parses but that no browser sends
/// as a page's: port 0, a host longer than a DNS name can be (RFC 1035,
/// section 2.3.4: 253 characters written out), an empty label, an
/// IPv4-mapped IPv6 address (RFC 4291, section 2.5.5.2: the page's host is
/// then the IPv4 address). [`Origin::parse_serialized`] itself accepts them,
/// as the serialization of a URL the `url` crate parses.
pub(crate) fn never_sent(t: &TupleOrigin) -> Result<(), OriginError> {
    if t.port == Some(0) {
        return Err(OriginError::PortZero);
    }
    let host = t.host.as_str();
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        if let Some(v4) = v6
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .and_then(|ip| ip.to_ipv4_mapped())
        {
            return Err(OriginError::Ipv4MappedIpv6(v4.to_string()));
        }
        return Ok(());
    }
    // One trailing dot is a fully qualified name, which browsers do send.
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return Err(OriginError::HostTooLong(name.len()));
    }
    if name.split('.').any(str::is_empty) {
        return Err(OriginError::EmptyLabel);
    }
    Ok(())
}

/// W3C Secure Contexts, "potentially trustworthy origin": `localhost` and its
/// subdomains (also written fully qualified, with a trailing dot), `[::1]` and
/// 127.0.0.0/8. The host is a serialized one (lower case, IPv6 in brackets).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    name == "localhost"
        || name.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.serialize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_url_standard_does() {
        let cases = [
            ("https://example.com/path?q#f", "https://example.com"),
            ("HTTPS://EXAMPLE.COM:443/", "https://example.com"),
            ("http://example.com:8080", "http://example.com:8080"),
            ("http://[0:0::1]:3000/x", "http://[::1]:3000"),
            ("https://bücher.de", "https://xn--bcher-kva.de"),
            ("http://0x7f.1/", "http://127.0.0.1"),
            ("https://user:pw@example.com", "https://example.com"),
            ("data:text/plain,hi", "null"),
        ];
        for (input, want) in cases {
            assert_eq!(Origin::of_page(input).unwrap().serialize(), want, "{input}");
        }
    }

    #[test]
    fn strict_parse_accepts_only_serialized_origins() {
        assert!(Origin::parse_serialized("https://app.example.com").is_ok());
        assert!(Origin::parse_serialized("http://127.0.0.1:8081").is_ok());
        assert!(Origin::parse_serialized("http://[::1]:8081").is_ok());
        assert_eq!(Origin::parse_serialized("null"), Ok(Origin::Opaque));
        let refused = [
            ("https://example.com/", "HasPath"),
            ("https://example.com/app", "HasPath"),
            ("https://u:p@example.com", "HasUserinfo"),
            ("https://example.com:443", "DefaultPort"),
            ("http://example.com:80", "DefaultPort"),
            ("https://EXAMPLE.com", "NotCanonical"),
            ("http://0x7f.1", "NotCanonical"),
            ("https://bücher.de", "NotCanonical"),
            ("ftp://example.com", "UnsupportedScheme"),
            ("example.com", "NotAUrl"),
            ("", "Empty"),
        ];
        for (input, kind) in refused {
            let err = Origin::parse_serialized(input).unwrap_err();
            assert!(format!("{err:?}").starts_with(kind), "{input}: {err:?}");
        }
    }

    /// What only a configuration refuses (port 0, empty labels, IPv4-mapped
    /// IPv6) is still the serialization of a URL's origin, so the strict
    /// parser takes it back as it is.
    #[test]
    fn the_strict_parser_takes_back_every_url_origin() {
        for page in [
            "http://localhost:0/x",
            "https://example..com/",
            "http://[::ffff:127.0.0.1]:8080/",
        ] {
            let origin = Origin::of_page(page).unwrap();
            assert_eq!(
                Origin::parse_serialized(origin.serialize()).as_ref(),
                Ok(&origin),
                "{page}"
            );
            let t = origin.tuple().unwrap();
            assert!(never_sent(t).is_err(), "{page}");
        }
    }

    #[test]
    fn the_page_origin_null_is_opaque() {
        assert_eq!(Origin::of_page("null"), Ok(Origin::Opaque));
        assert_eq!(
            Origin::of_page("https://a.test/x").unwrap().serialize(),
            "https://a.test"
        );
        assert!(Origin::of_page("a.test").is_err());
    }

    #[test]
    fn loopback_origins() {
        for o in [
            "http://localhost:3000",
            "http://127.0.0.1",
            "http://[::1]:8080",
        ] {
            assert!(Origin::parse_serialized(o).unwrap().is_loopback(), "{o}");
        }
        assert!(!Origin::parse_serialized("http://example.com")
            .unwrap()
            .is_loopback());
        // W3C Secure Contexts: the fully qualified `localhost.` is the same
        // name; `notlocalhost.` is not.
        for o in [
            "http://localhost.",
            "http://localhost.:3000",
            "http://a.localhost.",
        ] {
            assert!(Origin::parse_serialized(o).unwrap().is_loopback(), "{o}");
        }
        assert!(!Origin::parse_serialized("http://notlocalhost.")
            .unwrap()
            .is_loopback());
    }
}
