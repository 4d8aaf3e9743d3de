//! From the probes' answers to findings: which probe origins the server
//! trusts, and the passive checks on the answers to the trusted origin.

use serde::Serialize;

use super::class::{Bypass, FindingClass, ProbeClass, ProbeResult, Risk};
use super::exchange::{Answer, Probe};

/// A misconfiguration found, with what it means and how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub class: FindingClass,
    pub severity: Risk,
    /// The origin whose answer shows it.
    pub origin_sent: String,
    /// The `Access-Control-Allow-Origin` that answered it.
    pub acao: Option<String>,
    /// Whether that answer allows credentials.
    pub credentials: bool,
    pub message: String,
    pub fix: String,
}

impl Finding {
    fn new(
        class: FindingClass,
        origin_sent: &str,
        acao: Option<String>,
        credentials: bool,
        trusted: &str,
    ) -> Finding {
        Finding {
            class,
            severity: class.severity(credentials),
            origin_sent: origin_sent.to_string(),
            acao,
            credentials,
            message: class.meaning(credentials, origin_sent),
            fix: class.fix(trusted),
        }
    }
}

/// The findings, most severe first. `probes[0]` is the baseline (the
/// trusted origin); what a reader should know besides goes to `notes`.
pub(crate) fn findings(probes: &[Probe], trusted: &str, notes: &mut Vec<String>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let reflects = probes.iter().any(|p| {
        p.class == ProbeClass::Bypass(Bypass::ReflectOrigin) && p.result == ProbeResult::Finding
    });
    if reflects {
        notes.push(
            "the server echoes any origin: the other origin probes are covered by reflect_origin"
                .to_string(),
        );
    }
    for p in probes.iter().filter(|p| p.result == ProbeResult::Finding) {
        // The baseline's answers are for the passive checks below.
        let ProbeClass::Bypass(bypass) = p.class else {
            continue;
        };
        // Any origin echoed covers every other origin string; `null` has its own fix.
        if reflects && !matches!(bypass, Bypass::ReflectOrigin | Bypass::TrustNull) {
            continue;
        }
        let class = FindingClass::Bypass(bypass);
        let answer = if p.get.echoes(&p.origin_sent) {
            &p.get
        } else {
            &p.preflight
        };
        let credentials = answer.credentials();
        if let Some(f) = out.iter_mut().find(|f| f.class == class) {
            if credentials && !f.credentials {
                f.credentials = true;
                f.severity = f.severity.max(class.severity(true));
            }
            f.message.push_str(&format!("; also {}", p.origin_sent));
            continue;
        }
        out.push(Finding::new(
            class,
            &p.origin_sent,
            answer.single_acao().map(str::to_string),
            credentials,
            trusted,
        ));
    }

    // Passive checks on the baseline (the trusted origin).
    if let Some(base) = probes.first() {
        for a in [&base.get, &base.preflight] {
            if let Some((class, acao)) = passive(a) {
                if !out.iter().any(|f| f.class == class) {
                    let f = Finding::new(
                        class,
                        &base.origin_sent,
                        Some(acao),
                        a.credentials(),
                        trusted,
                    );
                    out.push(f);
                }
            }
        }
        if base.get.acao.is_empty() && base.preflight.acao.is_empty() {
            notes.push(format!(
                "no ACAO for the trusted origin {trusted}: the server does not allow it (or --origin is not the one it trusts)"
            ));
        }
    }

    // A dynamic ACAO (it changes with the Origin) must come with Vary: Origin,
    // or a shared cache serves one origin's answer to another.
    let gets: Vec<&Probe> = probes.iter().filter(|p| p.get.status.is_some()).collect();
    let dynamic = gets.windows(2).any(|w| w[0].get.acao != w[1].get.acao);
    if dynamic {
        if let Some(p) = gets
            .iter()
            .find(|p| p.get.single_acao().is_some_and(|v| v != "*") && !p.get.varies_on_origin())
        {
            out.push(Finding::new(
                FindingClass::MissingVary,
                &p.origin_sent,
                p.get.single_acao().map(str::to_string),
                p.get.credentials(),
                trusted,
            ));
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// What one answer to the trusted origin shows by itself: several ACAO
/// values, or `*` (with or without credentials); with the ACAO as reported.
fn passive(a: &Answer) -> Option<(FindingClass, String)> {
    if a.acao.len() > 1 || a.single_acao().is_some_and(|v| v.contains(',')) {
        Some((FindingClass::MultipleAcao, a.acao.join(", ")))
    } else if a.single_acao() == Some("*") {
        let class = if a.credentials() {
            FindingClass::WildcardWithCredentials
        } else {
            FindingClass::Wildcard
        };
        Some((class, "*".to_string()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUSTED: &str = "https://app.example.com";

    fn answer(acao: &[&str], acac: Option<&str>) -> Answer {
        Answer {
            status: Some(200),
            acao: acao.iter().map(|v| v.to_string()).collect(),
            acac: acac.map(str::to_string),
            vary: Some("Origin".into()),
            ..Answer::default()
        }
    }

    fn probe(class: ProbeClass, origin: &str, get: Answer) -> Probe {
        let result = if get.echoes(origin) {
            ProbeResult::Finding
        } else {
            ProbeResult::Ok
        };
        Probe {
            class,
            origin_sent: origin.to_string(),
            preflight: get.clone(),
            get,
            result,
        }
    }

    fn baseline(get: Answer) -> Probe {
        let mut p = probe(ProbeClass::Baseline, TRUSTED, get);
        p.result = ProbeResult::Ok;
        p
    }

    #[test]
    fn reflection_covers_the_other_origin_probes_but_not_null() {
        let echo = |o: &str| answer(&[o], Some("true"));
        let probes = [
            baseline(echo(TRUSTED)),
            probe(
                ProbeClass::Bypass(Bypass::ReflectOrigin),
                "https://evil.example",
                echo("https://evil.example"),
            ),
            probe(
                ProbeClass::Bypass(Bypass::PrefixMatch),
                "https://app.example.com.evil.example",
                echo("https://app.example.com.evil.example"),
            ),
            probe(ProbeClass::Bypass(Bypass::TrustNull), "null", echo("null")),
        ];
        let mut notes = Vec::new();
        let found = findings(&probes, TRUSTED, &mut notes);
        let classes: Vec<&str> = found.iter().map(|f| f.class.name()).collect();
        assert_eq!(classes, ["reflect_origin", "trust_null"]);
        assert!(found
            .iter()
            .all(|f| f.severity == Risk::High && f.credentials));
        assert!(
            notes
                .iter()
                .any(|n| n.contains("covered by reflect_origin")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_second_origin_of_a_class_joins_its_finding() {
        let echo = |o: &str| answer(&[o], None);
        let dot = ProbeClass::Bypass(Bypass::NotEscapeDot);
        let probes = [
            baseline(echo(TRUSTED)),
            probe(
                dot,
                "https://app.exampleacom",
                echo("https://app.exampleacom"),
            ),
            probe(
                dot,
                "https://appxexample.com",
                answer(&["https://appxexample.com"], Some("true")),
            ),
        ];
        let found = findings(&probes, TRUSTED, &mut Vec::new());
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].severity,
            Risk::High,
            "raised by the credentialed one"
        );
        assert!(found[0].message.ends_with("; also https://appxexample.com"));
        assert!(found[0]
            .fix
            .contains("allow_origins = [\"https://app.example.com\"]"));
    }

    #[test]
    fn passive_checks_look_at_the_trusted_origin_once() {
        let probes = [baseline(answer(&["*"], Some("true")))];
        let found = findings(&probes, TRUSTED, &mut Vec::new());
        let classes: Vec<&str> = found.iter().map(|f| f.class.name()).collect();
        assert_eq!(classes, ["wildcard_with_credentials"]);
        assert_eq!(found[0].severity, Risk::Low);

        let probes = [baseline(answer(&[TRUSTED, TRUSTED], None))];
        let found = findings(&probes, TRUSTED, &mut Vec::new());
        assert_eq!(found[0].class, FindingClass::MultipleAcao);
        assert_eq!(
            found[0].acao.as_deref(),
            Some("https://app.example.com, https://app.example.com")
        );
    }

    #[test]
    fn a_dynamic_acao_without_vary_is_a_medium_finding() {
        let mut trusted = answer(&[TRUSTED], None);
        trusted.vary = None;
        let probes = [
            baseline(trusted),
            probe(
                ProbeClass::Bypass(Bypass::ReflectOrigin),
                "https://evil.example",
                answer(&[], None),
            ),
        ];
        let found = findings(&probes, TRUSTED, &mut Vec::new());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class, FindingClass::MissingVary);
        assert_eq!(found[0].severity, Risk::Medium);
        assert_eq!(found[0].origin_sent, TRUSTED);
    }
}
