//! `allow_origins`: each pattern parsed, and the refusals that need the whole
//! table (credentials, public suffixes, `null`, an empty list).

use crate::origin::is_loopback_host;
use crate::pattern::OriginPattern;

use super::{CorsConfig, PolicyError, PolicyErrorKind};

pub(super) fn parse_origins(
    config: &CorsConfig,
    credentials: bool,
    errors: &mut Vec<PolicyError>,
) -> Option<Vec<OriginPattern>> {
    let Some(list) = &config.allow_origins else {
        errors.push(PolicyError::new(
            "allow_origins",
            None,
            "(missing)",
            PolicyErrorKind::MissingOrigins,
        ));
        return None;
    };
    if list.is_empty() {
        errors.push(PolicyError::new(
            "allow_origins",
            None,
            "[]",
            PolicyErrorKind::EmptyOrigins,
        ));
        return None;
    }
    let allow_null = config.dangerously_allow_null_origin.unwrap_or(false);
    let allow_suffix = config
        .dangerously_allow_public_suffix_wildcard
        .unwrap_or(false);
    let allow_insecure = config
        .dangerously_allow_insecure_origins_with_credentials
        .unwrap_or(false);
    let before = errors.len();
    let mut patterns = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let err = |kind| PolicyError::new("allow_origins", Some(i), raw.clone(), kind);
        let pattern = match OriginPattern::parse(raw) {
            Ok(p) => p,
            Err(e) => {
                errors.push(err(PolicyErrorKind::MalformedOrigin(e)));
                continue;
            }
        };
        match &pattern {
            OriginPattern::Any if credentials => {
                errors.push(err(PolicyErrorKind::WildcardWithCredentials))
            }
            OriginPattern::Null if !allow_null => errors.push(err(PolicyErrorKind::NullOrigin)),
            OriginPattern::Subdomain { suffix, .. }
                if !allow_suffix && is_public_suffix(suffix) =>
            {
                errors.push(err(PolicyErrorKind::PublicSuffixWildcard(suffix.clone())))
            }
            _ => {}
        }
        // Only `http://` can be impersonated on the network path. The exact
        // origins of extensions and hybrid apps pass with credentials: no web
        // page can send them, and an app's web view has its own cookie jar
        // (docs/configuration.md, "allow_origins").
        if credentials
            && !allow_insecure
            && pattern.scheme() == Some("http")
            && !pattern_is_loopback(&pattern)
        {
            errors.push(err(PolicyErrorKind::InsecureOriginWithCredentials));
        }
        patterns.push(pattern);
    }
    (errors.len() == before).then_some(patterns)
}

/// True when `name` is itself a public suffix (`co.uk`, `github.io`, `com`),
/// by the list built into the `psl` crate (ICANN and private sections).
fn is_public_suffix(name: &str) -> bool {
    // `localhost` is reserved for loopback (W3C Secure Contexts), and
    // `localhost.` is the same name written fully qualified.
    if name == "localhost" || name == "localhost." {
        return false;
    }
    match psl::suffix(name.as_bytes()) {
        Some(suffix) => suffix.as_bytes() == name.as_bytes(),
        None => true,
    }
}

fn pattern_is_loopback(p: &OriginPattern) -> bool {
    let host = match p {
        OriginPattern::Exact(s) => s
            .split_once("://")
            .map(|(_, rest)| {
                rest.rsplit_once(':').map_or(rest, |(h, port)| {
                    if port.bytes().all(|b| b.is_ascii_digit()) {
                        h
                    } else {
                        rest
                    }
                })
            })
            .unwrap_or(""),
        OriginPattern::AnyPort { host, .. } => host,
        OriginPattern::Subdomain { suffix, .. } => suffix,
        _ => return false,
    };
    is_loopback_host(host)
}
