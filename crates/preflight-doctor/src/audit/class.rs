//! The audit's vocabulary: what each probe is, what each finding is, how bad
//! it is, what it means and how to fix it; and the verdicts. Every class has
//! its words here, so a new class cannot be a finding without them.
//!
//! The probe classes are CORScanner's and Corsy's, the severities PortSwigger's.

use std::fmt;

use serde::{Serialize, Serializer};

/// An origin that a flawed origin check lets through: the class of an origin
/// probe, by CORScanner's and Corsy's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bypass {
    /// Any origin is echoed.
    ReflectOrigin,
    /// A starts-with check: `HOST.evil.example`.
    PrefixMatch,
    /// An ends-with check on the registrable domain: `evilDOMAIN`.
    SuffixMatch,
    /// The `null` origin of sandboxed iframes and data: pages.
    TrustNull,
    /// A contains check: the domain minus its first letter.
    IncludeMatch,
    /// A regular expression with an unescaped `.`.
    NotEscapeDot,
    /// A loose parser: `HOST<c>.evil.example`.
    SpecialCharactersBypass,
    /// Every subdomain: `evil.HOST`.
    TrustAnySubdomain,
    /// The `http://` twin of an https origin.
    HttpsTrustHttp,
    /// A third-party hosting origin (github.io, codepen.io, ...).
    ThirdParty,
}

impl Bypass {
    /// The class's name, as printed and in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Bypass::ReflectOrigin => "reflect_origin",
            Bypass::PrefixMatch => "prefix_match",
            Bypass::SuffixMatch => "suffix_match",
            Bypass::TrustNull => "trust_null",
            Bypass::IncludeMatch => "include_match",
            Bypass::NotEscapeDot => "not_escape_dot",
            Bypass::SpecialCharactersBypass => "special_characters_bypass",
            Bypass::TrustAnySubdomain => "trust_any_subdomain",
            Bypass::HttpsTrustHttp => "https_trust_http",
            Bypass::ThirdParty => "third_party",
        }
    }
}

/// What one probe sends: the trusted origin (the baseline, for the passive
/// checks) or an origin of a [`Bypass`] class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeClass {
    Baseline,
    Bypass(Bypass),
}

impl ProbeClass {
    /// The class's name, as printed and in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            ProbeClass::Baseline => "baseline",
            ProbeClass::Bypass(b) => b.name(),
        }
    }
}

/// What a finding is: a probe origin the server trusts, or what a passive
/// check saw in the answers to the trusted origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingClass {
    /// The server trusts an origin of this class.
    Bypass(Bypass),
    /// Several `Access-Control-Allow-Origin` values.
    MultipleAcao,
    /// `Access-Control-Allow-Origin: *`.
    Wildcard,
    /// `*` with `Access-Control-Allow-Credentials: true`.
    WildcardWithCredentials,
    /// An ACAO that changes with the Origin, without `Vary: Origin`.
    MissingVary,
}

impl FindingClass {
    /// The class's name, as printed and in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            FindingClass::Bypass(b) => b.name(),
            FindingClass::MultipleAcao => "multiple_acao",
            FindingClass::Wildcard => "wildcard",
            FindingClass::WildcardWithCredentials => "wildcard_with_credentials",
            FindingClass::MissingVary => "missing_vary",
        }
    }

    /// How bad it is, when the answer allows credentials or not.
    pub fn severity(self, credentials: bool) -> Risk {
        // A name anyone can own or register reads the responses: with the
        // user's cookies when the answer allows credentials.
        let anyone_reads = if credentials {
            Risk::High
        } else {
            Risk::Medium
        };
        match self {
            FindingClass::Bypass(
                Bypass::ReflectOrigin
                | Bypass::PrefixMatch
                | Bypass::SuffixMatch
                | Bypass::TrustNull
                | Bypass::IncludeMatch
                | Bypass::NotEscapeDot
                | Bypass::SpecialCharactersBypass,
            ) => anyone_reads,
            FindingClass::Bypass(Bypass::HttpsTrustHttp | Bypass::ThirdParty)
            | FindingClass::MissingVary => Risk::Medium,
            FindingClass::Bypass(Bypass::TrustAnySubdomain)
            | FindingClass::MultipleAcao
            | FindingClass::Wildcard
            | FindingClass::WildcardWithCredentials => Risk::Low,
        }
    }

    /// What it means, for the origin `sent` and an answer that allows
    /// credentials or not.
    pub(crate) fn meaning(self, credentials: bool, sent: &str) -> String {
        let who = if credentials {
            "can read its responses with the user's cookies"
        } else {
            "can read its responses (without cookies: still a leak on an intranet or IP-restricted API)"
        };
        match self {
            FindingClass::Bypass(Bypass::ReflectOrigin) => {
                format!("the server echoes any Origin: any website {who}")
            }
            FindingClass::Bypass(Bypass::PrefixMatch) => format!("the Origin is checked with a starts-with test: {sent} is trusted, and whoever owns such a name {who}"),
            FindingClass::Bypass(Bypass::SuffixMatch) => format!("the Origin is checked with an ends-with test without the dot: {sent} is trusted, and whoever registers such a name {who}"),
            FindingClass::Bypass(Bypass::TrustNull) => format!("the `null` origin is trusted: any page can get it from a sandboxed iframe or a data: URL, and {who}"),
            FindingClass::Bypass(Bypass::IncludeMatch) => format!("the Origin is checked with a contains test: {sent} is trusted, and whoever registers such a name {who}"),
            FindingClass::Bypass(Bypass::NotEscapeDot) => format!("the Origin is matched with a regular expression whose `.` is not escaped: the look-alike {sent} is trusted, and whoever registers such a name {who}"),
            FindingClass::Bypass(Bypass::SpecialCharactersBypass) => format!("the Origin is parsed loosely: {sent} is trusted (most such names reach servers only from Safari; `_` from every browser), and whoever owns one {who}"),
            FindingClass::Bypass(Bypass::TrustAnySubdomain) => "every subdomain is trusted: an XSS or a takeover on any subdomain becomes an attack on this API; fine only if you control them all".to_string(),
            FindingClass::Bypass(Bypass::HttpsTrustHttp) => "the http:// twin of an https origin is trusted: an attacker on the network can inject a page into that origin and read the responses (breaks TLS)".to_string(),
            FindingClass::Bypass(Bypass::ThirdParty) => "a third-party hosting origin is trusted: anyone can publish a page there and read the responses".to_string(),
            FindingClass::MultipleAcao => "several Access-Control-Allow-Origin values: browsers refuse the response (broken, not a hole)".to_string(),
            FindingClass::Wildcard => "ACAO *: any website can read the responses without cookies; fine for public data, not for an intranet or IP-restricted API".to_string(),
            FindingClass::WildcardWithCredentials => "ACAO * with Access-Control-Allow-Credentials: true: browsers refuse every credentialed request (broken, not a hole)".to_string(),
            FindingClass::MissingVary => "the ACAO changes with the Origin but the response has no Vary: Origin: a cache can serve one origin's answer to another (cache poisoning, or CORS failures)".to_string(),
        }
    }

    /// How to fix it, for a server meant to trust the origin `trusted`.
    pub(crate) fn fix(self, trusted: &str) -> String {
        let with_gateway = format!("with preflight's gateway: allow_origins = [\"{trusted}\"]");
        match self {
            FindingClass::Bypass(Bypass::TrustNull) => {
                "never allow the `null` origin (preflight lint refuses it)".to_string()
            }
            FindingClass::Bypass(Bypass::TrustAnySubdomain) => format!(
                "list the subdomains you serve, or keep a wildcard only over names you control; \
                 {with_gateway}"
            ),
            FindingClass::Bypass(Bypass::HttpsTrustHttp) => {
                "trust only https:// origins on an https site".to_string()
            }
            FindingClass::Bypass(
                Bypass::ReflectOrigin
                | Bypass::PrefixMatch
                | Bypass::SuffixMatch
                | Bypass::IncludeMatch
                | Bypass::NotEscapeDot
                | Bypass::SpecialCharactersBypass
                | Bypass::ThirdParty,
            ) => format!("compare the Origin against an exact list of origins; {with_gateway}"),
            FindingClass::MultipleAcao => {
                "send exactly one origin: the request's, once it matched the list".to_string()
            }
            FindingClass::Wildcard => {
                "keep * only for public data; otherwise list the origins (allow_origins = [...])"
                    .to_string()
            }
            FindingClass::WildcardWithCredentials => {
                "echo the matched origin instead of *, or drop credentials".to_string()
            }
            FindingClass::MissingVary => "add Vary: Origin to every response whose CORS headers depend on the Origin (preflight's gateway does)".to_string(),
        }
    }
}

/// How much a finding exposes (PortSwigger's scale). Not to be confused with
/// a configuration problem's `preflight_gateway::Severity` (error or warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    /// As the text output prints it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Risk::Low => "LOW",
            Risk::Medium => "MEDIUM",
            Risk::High => "HIGH",
        }
    }
}

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeResult {
    /// The probe origin was not echoed.
    Ok,
    /// An answer echoed the probe origin.
    Finding,
    /// A request got no answer.
    Error,
}

impl ProbeResult {
    /// As the text output prints it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ProbeResult::Ok => "OK",
            ProbeResult::Finding => "FINDING",
            ProbeResult::Error => "ERROR",
        }
    }
}

/// The audit's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No finding, or only low ones.
    Clean,
    /// A medium or high finding.
    Findings,
    /// No medium or high finding, but probes were left unanswered.
    Incomplete,
}

impl Verdict {
    /// The verdict's name, as printed and in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Findings => "findings",
            Verdict::Incomplete => "incomplete",
        }
    }
}

macro_rules! named {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.name())
            }
        }
    )*};
}

named!(Bypass, ProbeClass, FindingClass, Verdict);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bypasses_are_high_with_credentials_except_subdomains_http_and_third_parties() {
        let high = |b: Bypass| FindingClass::Bypass(b).severity(true) == Risk::High;
        assert!(high(Bypass::ReflectOrigin));
        assert!(high(Bypass::TrustNull));
        assert!(!high(Bypass::TrustAnySubdomain));
        assert!(!high(Bypass::HttpsTrustHttp));
        assert!(!high(Bypass::ThirdParty));
        assert_eq!(
            FindingClass::Bypass(Bypass::PrefixMatch).severity(false),
            Risk::Medium
        );
        assert_eq!(FindingClass::MissingVary.severity(true), Risk::Medium);
        assert_eq!(FindingClass::Wildcard.severity(false), Risk::Low);
    }

    const BYPASSES: [Bypass; 10] = [
        Bypass::ReflectOrigin,
        Bypass::PrefixMatch,
        Bypass::SuffixMatch,
        Bypass::TrustNull,
        Bypass::IncludeMatch,
        Bypass::NotEscapeDot,
        Bypass::SpecialCharactersBypass,
        Bypass::TrustAnySubdomain,
        Bypass::HttpsTrustHttp,
        Bypass::ThirdParty,
    ];

    #[test]
    fn every_finding_class_has_a_name_a_meaning_and_a_fix() {
        let passive = [
            FindingClass::MultipleAcao,
            FindingClass::Wildcard,
            FindingClass::WildcardWithCredentials,
            FindingClass::MissingVary,
        ];
        let all = BYPASSES.map(FindingClass::Bypass);
        let mut names = Vec::new();
        for class in all.iter().chain(&passive) {
            for credentials in [false, true] {
                assert!(!class
                    .meaning(credentials, "https://evil.example")
                    .is_empty());
            }
            assert!(!class.fix("https://app.example.com").is_empty(), "{class}");
            names.push(class.name());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 14, "names are distinct: {names:?}");
    }

    #[test]
    fn names_serialize_and_pad_as_printed() {
        let class = ProbeClass::Bypass(Bypass::TrustNull);
        assert_eq!(
            serde_json::to_string(&class).ok().as_deref(),
            Some("\"trust_null\"")
        );
        assert_eq!(format!("{:<12}|", ProbeClass::Baseline), "baseline    |");
        assert_eq!(
            serde_json::to_string(&Verdict::Incomplete).ok().as_deref(),
            Some("\"incomplete\"")
        );
    }
}
