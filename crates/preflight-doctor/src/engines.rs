//! `--profile all` of `check` and `explain`: one report per engine (Chromium,
//! Firefox, WebKit), printed side by side. The comparison itself is
//! `preflight_core::browser::EngineComparison`; this module prints it.
//!
//! Text: one verdict line per engine; where the verdicts differ, which engine
//! blocks and why, in the engine's own terms (docs/browser-model.md#how-a-refusal-is-reported);
//! the fix. JSON: an object keyed by engine name, each holding the object
//! `--json` gives for that one profile, plus `engine_reason`, the engine's own
//! name for the refusal (docs/behaviour.md). Exit status: 0 when every engine
//! allows, 1 when any blocks, 2 on an error.

use std::fmt::Write as _;
use std::process::ExitCode;

use preflight_core::browser::{EngineComparison, FetchTrace, Profile};
use serde_json::{Map, Value};

use crate::render;
use crate::report::Report;

/// The reports of the three engines on one page's request.
#[derive(Debug, Clone)]
pub struct EngineReports {
    /// Each engine with its report, in [`Profile::ENGINES`] order.
    pub reports: Vec<(Profile, Report)>,
    pub comparison: EngineComparison,
    /// Lines of context shown first (what was asked; text output only).
    pub context: Vec<String>,
}

impl EngineReports {
    /// Each engine's report with the trace it came from.
    pub fn new(context: Vec<String>, runs: Vec<(Profile, Report, FetchTrace)>) -> EngineReports {
        let comparison = EngineComparison::new(runs.iter().map(|(p, _, t)| (*p, t)));
        EngineReports {
            reports: runs.into_iter().map(|(p, r, _)| (p, r)).collect(),
            comparison,
            context,
        }
    }

    /// True when every engine lets script read the response.
    pub fn all_allowed(&self) -> bool {
        self.reports.iter().all(|(_, r)| r.is_allowed())
    }

    /// The object of `--json`: keyed by engine name.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for ((profile, report), verdict) in self.reports.iter().zip(&self.comparison.verdicts) {
            let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut value {
                o.insert("engine_reason".into(), verdict.reason.into());
            }
            out.insert(profile.name().into(), value);
        }
        Value::Object(out)
    }

    /// The readable account: a verdict line per engine, the difference, the fix.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.context {
            let _ = writeln!(out, "{line}");
        }
        if !self.context.is_empty() {
            out.push('\n');
        }
        for ((profile, report), v) in self.reports.iter().zip(&self.comparison.verdicts) {
            let name = profile.name();
            if report.is_allowed() {
                let _ = writeln!(out, "{name:<9} ALLOWED  {}", report.message);
            } else {
                let _ = writeln!(
                    out,
                    "{name:<9} BLOCKED  at the {}: {}",
                    report.stage.as_deref().unwrap_or("request"),
                    v.reason_text().unwrap_or_else(|| "unknown".into())
                );
            }
        }
        out.push('\n');
        let difference = self.comparison.difference();
        match difference.split_first() {
            Some((first, rest)) => {
                let _ = writeln!(out, "{first}");
                for line in rest {
                    let _ = writeln!(out, "  {line}");
                }
            }
            None => {
                for (message, engines) in grouped(self.blocked(|r| Some(r.message.clone()))) {
                    let _ = writeln!(out, "why{engines}: {message}");
                }
            }
        }
        for (fix, engines) in grouped(self.blocked(|r| r.fix.clone())) {
            let _ = writeln!(out, "fix{engines}: {fix}");
        }
        if let Some(cache) = self.comparison.cache_difference() {
            let _ = writeln!(out, "{cache}");
        }
        let _ = writeln!(
            out,
            "each engine's requests and responses: --profile chromium, firefox or webkit"
        );
        out
    }

    /// `what` of each blocking engine's report.
    fn blocked(&self, what: impl Fn(&Report) -> Option<String>) -> Vec<(Profile, String)> {
        self.reports
            .iter()
            .filter(|(_, r)| !r.is_allowed())
            .filter_map(|(p, r)| what(r).map(|w| (*p, w)))
            .collect()
    }

    /// Print as text or as the JSON object; exit 0 when every engine
    /// allows, 1 when any blocks.
    pub fn print(&self, json: bool) -> ExitCode {
        if json {
            render::print_json(&self.to_json());
        } else {
            render::out(&self.to_text());
        }
        if self.all_allowed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// Equal texts once, with the engines they hold for when not all say the
/// same: `(text, " (firefox, webkit)")`, or `(text, "")` when every entry
/// has it.
fn grouped(items: Vec<(Profile, String)>) -> Vec<(String, String)> {
    let mut groups: Vec<(String, Vec<Profile>)> = Vec::new();
    for (p, text) in items {
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, ps)) => ps.push(p),
            None => groups.push((text, vec![p])),
        }
    }
    let single = groups.len() == 1;
    groups
        .into_iter()
        .map(|(text, ps)| {
            let label = if single {
                String::new()
            } else {
                let names: Vec<&str> = ps.iter().map(|p| p.name()).collect();
                format!(" ({})", names.join(", "))
            };
            (text, label)
        })
        .collect()
}

/// Print the outcome of `check` or `explain` with `--profile all` and give
/// its exit status (0 all allow, 1 any blocks, 2 error).
pub(crate) fn finish(result: Result<EngineReports, String>, json: bool) -> ExitCode {
    match result {
        Ok(r) => r.print(json),
        Err(message) => render::fail(&message, json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_grouped() {
        let g = grouped(vec![
            (Profile::Firefox, "a".into()),
            (Profile::WebKit, "a".into()),
        ]);
        assert_eq!(g, [("a".to_string(), String::new())]);
        let g = grouped(vec![
            (Profile::Chromium, "a".into()),
            (Profile::Firefox, "b".into()),
            (Profile::WebKit, "a".into()),
        ]);
        assert_eq!(
            g,
            [
                ("a".to_string(), " (chromium, webkit)".to_string()),
                ("b".to_string(), " (firefox)".to_string())
            ]
        );
        assert!(grouped(Vec::new()).is_empty());
    }
}
