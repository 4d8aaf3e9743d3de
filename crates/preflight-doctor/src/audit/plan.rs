//! Which origins to probe for a target, in a fixed order.

use url::{Host, Url};

use super::class::Bypass;

/// CORScanner's special characters (`+` once); `%60` and `%0b` are sent literally.
const SPECIAL_CHARS: [&str; 22] = [
    "_", "-", "\"", "{", "}", "+", "^", "%60", "!", "~", "`", ";", "|", "&", "'", "(", ")", "*",
    ",", "$", "=", "%0b",
];

/// Third-party hosting origins (CORScanner's `origins.json`).
const THIRD_PARTIES: [&str; 6] = [
    "https://whatever.github.io",
    "http://jsbin.com",
    "https://codepen.io",
    "https://jsfiddle.net",
    "http://www.webdevout.net",
    "https://repl.it",
];

/// The probe origins for a target: (class, origin), in a fixed order. What
/// cannot be probed for this host is said in `notes`.
pub(crate) fn probes_for(url: &Url, notes: &mut Vec<String>) -> Vec<(Bypass, String)> {
    let scheme = url.scheme();
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let root = format!("{host}{port}");
    let mut out: Vec<(Bypass, String)> = vec![
        (Bypass::ReflectOrigin, format!("{scheme}://evil.example")),
        (
            Bypass::PrefixMatch,
            format!("{scheme}://{root}.evil.example"),
        ),
    ];
    // The registrable domain: psl for a name; the whole host for an IPv4
    // address or a name without one (localhost), so that naive string checks
    // relative to the host are still probed.
    let domain = match url.host() {
        Some(Host::Domain(name)) => Some(
            psl::domain(name.as_bytes())
                .and_then(|d| std::str::from_utf8(d.as_bytes()).ok())
                .unwrap_or(name)
                .to_string(),
        ),
        Some(Host::Ipv4(_)) => {
            notes.push(format!(
                "{host} is an IP address: the suffix and include probes use the whole address"
            ));
            Some(host.clone())
        }
        _ => {
            notes.push(format!(
                "{host} is an IPv6 address: suffix_match, include_match and not_escape_dot are skipped"
            ));
            None
        }
    };
    if let Some(d) = &domain {
        out.push((Bypass::SuffixMatch, format!("{scheme}://evil{d}{port}")));
    }
    out.push((Bypass::TrustNull, "null".to_string()));
    if let Some(rest) = domain.as_deref().and_then(|d| d.get(1..)) {
        if !rest.is_empty() {
            out.push((Bypass::IncludeMatch, format!("{scheme}://{rest}{port}")));
        }
    }
    if domain.is_some() {
        // CORScanner: the last `.` as `a`; Corsy: the first `.` as `x`.
        if let Some(i) = host.rfind('.') {
            out.push((
                Bypass::NotEscapeDot,
                format!("{scheme}://{}a{}{port}", &host[..i], &host[i + 1..]),
            ));
        }
        if host.matches('.').count() > 1 {
            if let Some(i) = host.find('.') {
                out.push((
                    Bypass::NotEscapeDot,
                    format!("{scheme}://{}x{}{port}", &host[..i], &host[i + 1..]),
                ));
            }
        }
    }
    for c in SPECIAL_CHARS {
        out.push((
            Bypass::SpecialCharactersBypass,
            format!("{scheme}://{root}{c}.evil.example"),
        ));
    }
    out.push((Bypass::TrustAnySubdomain, format!("{scheme}://evil.{root}")));
    if scheme == "https" {
        out.push((Bypass::HttpsTrustHttp, format!("http://{root}")));
    }
    for o in THIRD_PARTIES {
        // Auditing a third-party host itself: its own origin is not a finding.
        let same_site = domain
            .as_deref()
            .is_some_and(|d| o.ends_with(&format!("://{d}")) || o.ends_with(&format!(".{d}")));
        if !same_site {
            out.push((Bypass::ThirdParty, o.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(url: &str) -> Vec<(Bypass, String)> {
        probes_for(&Url::parse(url).unwrap(), &mut Vec::new())
    }

    #[test]
    fn probes_follow_corscanner() {
        let p = classes("https://www.example.com/api");
        let has = |c: Bypass, o: &str| p.iter().any(|(k, v)| *k == c && v == o);
        assert!(has(Bypass::ReflectOrigin, "https://evil.example"));
        assert!(has(
            Bypass::PrefixMatch,
            "https://www.example.com.evil.example"
        ));
        assert!(has(Bypass::SuffixMatch, "https://evilexample.com"));
        assert!(has(Bypass::TrustNull, "null"));
        assert!(has(Bypass::IncludeMatch, "https://xample.com"));
        assert!(has(Bypass::NotEscapeDot, "https://www.exampleacom"));
        assert!(has(Bypass::NotEscapeDot, "https://wwwxexample.com"));
        assert!(has(
            Bypass::SpecialCharactersBypass,
            "https://www.example.com_.evil.example"
        ));
        assert!(has(
            Bypass::TrustAnySubdomain,
            "https://evil.www.example.com"
        ));
        assert!(has(Bypass::HttpsTrustHttp, "http://www.example.com"));
        assert!(has(Bypass::ThirdParty, "https://whatever.github.io"));
        assert!(p.len() < 45, "bounded: {}", p.len());
    }

    #[test]
    fn ip_hosts_keep_the_port_and_ipv6_skips_domain_probes() {
        let p = classes("http://127.0.0.1:8080/");
        assert!(p.contains(&(
            Bypass::PrefixMatch,
            "http://127.0.0.1:8080.evil.example".into()
        )));
        assert!(p.contains(&(Bypass::SuffixMatch, "http://evil127.0.0.1:8080".into())));
        assert!(!p.iter().any(|(c, _)| *c == Bypass::HttpsTrustHttp));
        let p = classes("http://[::1]:8080/");
        assert!(!p.iter().any(|(c, _)| *c == Bypass::SuffixMatch));
    }

    #[test]
    fn auditing_a_third_party_host_skips_its_own_origin() {
        let p = classes("https://codepen.io/");
        assert!(!p.contains(&(Bypass::ThirdParty, "https://codepen.io".into())));
    }
}
