//! The whole audit, as `--json` prints it, and its text.

use serde::Serialize;

use super::class::{Risk, Verdict};
use super::exchange::Probe;
use super::finding::Finding;

/// The whole audit, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Audit {
    /// The URL audited.
    pub target: String,
    /// The origin the server is meant to trust.
    pub trusted_origin: String,
    pub verdict: Verdict,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// The baseline (the trusted origin) first, then the probe origins.
    pub probes: Vec<Probe>,
    pub notes: Vec<String>,
}

impl Audit {
    /// The readable account: every probe with its answers, the notes, the
    /// findings with what they mean and how to fix them, the verdict.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "preflight audit: {} (trusted origin: {})\n\nprobes (a GET and a preflight each; origin sent -> answers):\n",
            self.target, self.trusted_origin
        );
        let width = self
            .probes
            .iter()
            .map(|p| p.origin_sent.len())
            .max()
            .unwrap_or(0);
        for p in &self.probes {
            s.push_str(&format!(
                "  {:<7}  {:<25}  {:<width$}  -> GET {} | OPTIONS {}\n",
                p.result.label(),
                p.class,
                p.origin_sent,
                p.get.summary(),
                p.preflight.summary(),
            ));
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                s.push_str(&format!("note: {n}\n"));
            }
        }
        s.push('\n');
        if self.findings.is_empty() {
            s.push_str("no findings\n");
        } else {
            s.push_str(&format!("findings ({}):\n", self.findings.len()));
            for f in &self.findings {
                let creds = if f.credentials {
                    " (with credentials)"
                } else {
                    ""
                };
                s.push_str(&format!(
                    "  {:<6}  {}{creds}: Origin {} -> ACAO {}\n          means: {}\n          fix:   {}\n",
                    f.severity.label(),
                    f.class,
                    f.origin_sent,
                    f.acao.as_deref().unwrap_or("-"),
                    f.message,
                    f.fix
                ));
            }
        }
        let count = |sev| self.findings.iter().filter(|f| f.severity == sev).count();
        s.push_str(&format!(
            "\nverdict: {} ({} high, {} medium, {} low)\n",
            self.verdict,
            count(Risk::High),
            count(Risk::Medium),
            count(Risk::Low)
        ));
        s
    }
}
