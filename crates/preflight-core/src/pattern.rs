//! Origin patterns as a configuration writes them.
//!
//! - exact: `https://app.example.com`
//! - subdomain: `https://*.example.com` (one or more whole DNS labels before the
//!   suffix, never part of a label)
//! - any port: `http://localhost:*`
//! - any origin: `*`
//! - the opaque origin: `null` (refused by the policy unless allowed dangerously)
//! - the origin of a browser extension or hybrid app, exact only:
//!   `chrome-extension://<id>`, `capacitor://localhost` ([`NON_WEB_SCHEMES`])
//!
//! No regular expressions, no "reflect anything" (docs/configuration.md,
//! "allow_origins").

use thiserror::Error;

use crate::origin::{never_sent, Origin, OriginError};

/// One entry of `allow_origins`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// `*`: every origin (never with credentials).
    Any,
    /// `null`: the opaque origin.
    Null,
    /// One serialized origin.
    Exact(String),
    /// `scheme://*.suffix[:port]`: any host made of one or more whole labels
    /// followed by `.suffix`.
    Subdomain {
        scheme: String,
        /// The registrable part after `*.`, without the leading dot.
        suffix: String,
        port: PortSpec,
    },
    /// `scheme://host:*`: the host on any port (the default one included).
    AnyPort { scheme: String, host: String },
}

/// The port part of a subdomain pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortSpec {
    /// No port written: the scheme's default port only.
    Default,
    /// One explicit, non-default port.
    Port(u16),
    /// `:*`: any port.
    Any,
}

/// Why an `allow_origins` entry is not a valid pattern.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("`*` may only stand alone, as the whole first label (`https://*.example.com`) or as the port (`http://localhost:*`)")]
    MisplacedWildcard,
    #[error("a subdomain wildcard needs a domain name after `*.`, not an IP address")]
    WildcardOverIp,
    #[error("a `{0}:` origin names one extension or app: write it whole, like `{0}://<id>`; no wildcard may stand for part of it")]
    NonWebWildcard(String),
    #[error("write a `{0}:` origin exactly as the browser sends it: `{0}://` and the extension's ID or the app's host, with no port, path or user name")]
    NonWebOrigin(String),
    #[error("a file: page has an opaque origin and sends `Origin: null`, so it cannot be listed; serve the page from http://localhost instead")]
    FileOrigin,
}

/// Schemes whose origins browser extensions and hybrid apps send: allowed as
/// exact patterns only (docs/configuration.md, "allow_origins").
pub const NON_WEB_SCHEMES: [&str; 6] = [
    "chrome-extension",
    "moz-extension",
    "safari-web-extension",
    "capacitor",
    "ionic",
    "tauri",
];

/// `scheme://host` of an extension or a hybrid app, as the browser sends it:
/// the host is the extension's ID (or UUID) or the app's host name, kept
/// byte for byte (Safari writes its UUIDs upper case).
fn non_web_origin(s: &str, scheme: &str, rest: &str) -> Result<OriginPattern, PatternError> {
    if rest.contains('*') {
        return Err(PatternError::NonWebWildcard(scheme.to_ascii_lowercase()));
    }
    let host_ok = !rest.is_empty()
        && rest.len() <= 253
        && !rest.starts_with('.')
        && !rest.contains("..")
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !host_ok || scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(PatternError::NonWebOrigin(scheme.to_ascii_lowercase()));
    }
    Ok(OriginPattern::Exact(s.to_string()))
}

impl OriginPattern {
    /// Parse one pattern. Validation that needs the whole policy (credentials,
    /// public suffixes) is done by [`crate::Policy`].
    pub fn parse(s: &str) -> Result<OriginPattern, PatternError> {
        if s == "*" {
            return Ok(OriginPattern::Any);
        }
        if s == "null" {
            return Ok(OriginPattern::Null);
        }
        if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("file:")) {
            return Err(PatternError::FileOrigin);
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            // Let the origin parser explain what is wrong.
            Origin::parse_serialized(s)?;
            return Err(PatternError::MisplacedWildcard);
        };
        if NON_WEB_SCHEMES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(scheme))
        {
            return non_web_origin(s, scheme, rest);
        }
        if let Some(host_and_port) = rest.strip_prefix("*.") {
            let (host, port) = match host_and_port.rsplit_once(':') {
                Some((h, "*")) => (h, PortSpec::Any),
                _ => (host_and_port, PortSpec::Default),
            };
            // `*.` needs a domain after it: an empty suffix (`https://*.`) or one
            // starting with an empty label would cover every trailing-dot host.
            if host.contains('*') || host.is_empty() || host.starts_with('.') {
                return Err(PatternError::MisplacedWildcard);
            }
            // Validate with a stand-in first label: the rest must be canonical.
            let probe = format!("{scheme}://x.{host}");
            let origin = Origin::parse_serialized(&probe)?;
            let tuple = origin.tuple().ok_or(PatternError::MisplacedWildcard)?;
            never_sent(tuple)?;
            let canonical_host = &tuple.host()[2..];
            if canonical_host.is_empty() || canonical_host.starts_with('.') {
                return Err(PatternError::MisplacedWildcard);
            }
            if canonical_host.starts_with('[')
                || canonical_host.parse::<std::net::Ipv4Addr>().is_ok()
                || is_ipv4_like(canonical_host)
            {
                return Err(PatternError::WildcardOverIp);
            }
            let port = match (port, tuple.port()) {
                (PortSpec::Any, _) => PortSpec::Any,
                (_, Some(p)) => PortSpec::Port(p),
                (_, None) => PortSpec::Default,
            };
            return Ok(OriginPattern::Subdomain {
                scheme: tuple.scheme().to_string(),
                suffix: canonical_host.to_string(),
                port,
            });
        }
        if let Some(host_part) = s.strip_suffix(":*") {
            if host_part.contains('*') {
                return Err(PatternError::MisplacedWildcard);
            }
            let origin = Origin::parse_serialized(host_part)?;
            let tuple = origin.tuple().ok_or(PatternError::MisplacedWildcard)?;
            never_sent(tuple)?;
            if tuple.port().is_some() {
                return Err(PatternError::MisplacedWildcard);
            }
            return Ok(OriginPattern::AnyPort {
                scheme: tuple.scheme().to_string(),
                host: tuple.host().to_string(),
            });
        }
        if s.contains('*') {
            return Err(PatternError::MisplacedWildcard);
        }
        let origin = Origin::parse_serialized(s)?;
        if let Some(tuple) = origin.tuple() {
            never_sent(tuple)?;
        }
        Ok(OriginPattern::Exact(origin.serialize().to_string()))
    }

    /// The pattern written back in canonical form.
    pub fn to_pattern_string(&self) -> String {
        match self {
            OriginPattern::Any => "*".into(),
            OriginPattern::Null => "null".into(),
            OriginPattern::Exact(s) => s.clone(),
            OriginPattern::Subdomain {
                scheme,
                suffix,
                port,
            } => match port {
                PortSpec::Default => format!("{scheme}://*.{suffix}"),
                PortSpec::Port(p) => format!("{scheme}://*.{suffix}:{p}"),
                PortSpec::Any => format!("{scheme}://*.{suffix}:*"),
            },
            OriginPattern::AnyPort { scheme, host } => format!("{scheme}://{host}:*"),
        }
    }

    /// The scheme the pattern allows, when it names one.
    pub fn scheme(&self) -> Option<&str> {
        match self {
            OriginPattern::Exact(s) => s.split_once("://").map(|(scheme, _)| scheme),
            OriginPattern::Subdomain { scheme, .. } | OriginPattern::AnyPort { scheme, .. } => {
                Some(scheme)
            }
            OriginPattern::Any | OriginPattern::Null => None,
        }
    }
}

/// The `url` crate treats a last label made of digits as IPv4; so do we.
fn is_ipv4_like(host: &str) -> bool {
    host.rsplit('.')
        .next()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(OriginPattern::parse("*"), Ok(OriginPattern::Any));
        assert_eq!(OriginPattern::parse("null"), Ok(OriginPattern::Null));
        assert_eq!(
            OriginPattern::parse("https://app.example.com"),
            Ok(OriginPattern::Exact("https://app.example.com".into()))
        );
        assert_eq!(
            OriginPattern::parse("https://*.example.com"),
            Ok(OriginPattern::Subdomain {
                scheme: "https".into(),
                suffix: "example.com".into(),
                port: PortSpec::Default
            })
        );
        assert_eq!(
            OriginPattern::parse("https://*.example.com:8443"),
            Ok(OriginPattern::Subdomain {
                scheme: "https".into(),
                suffix: "example.com".into(),
                port: PortSpec::Port(8443)
            })
        );
        assert_eq!(
            OriginPattern::parse("http://localhost:*"),
            Ok(OriginPattern::AnyPort {
                scheme: "http".into(),
                host: "localhost".into()
            })
        );
    }

    #[test]
    fn refuses_misplaced_wildcards_and_bad_origins() {
        for bad in [
            "https://*example.com",
            "https://a.*.example.com",
            "https://*",
            "*.example.com",
            "https://example.*",
            "https://*.*.example.com",
            "https://*.10.0.0.1",
            "https://*.[::1]",
            "https://example.com/",
            "https://*.example.com/",
            "https://*.Example.com",
            "http://localhost:80:*",
        ] {
            assert!(
                OriginPattern::parse(bad).is_err(),
                "{bad} should be refused"
            );
        }
    }
}
