//! The doctor's report of one fetch (`preflight check`, `preflight explain`, the
//! demo page): the verdict as the JSON object of `--json` (docs/behaviour.md),
//! or as text for a person. Rendering only; printing is the caller's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use preflight_core::browser::{
    Blocked, ExchangeKind, ExchangeNote, FetchOutcome, FetchTrace, PreflightReason,
};
use preflight_gateway::explain::Explanation;

/// One request the browser sent and the answer it got.
#[derive(Debug, Clone, Serialize)]
pub struct ReportExchange {
    pub kind: &'static str,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    /// Why this request was sent (or a note about it).
    pub note: Option<String>,
}

/// The `preflight` part of the JSON object, and the common part of `actual`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Leg {
    pub sent: bool,
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
}

/// The `actual` part of the JSON object: `exposed_headers` is always there
/// (docs/behaviour.md), `null` when the actual response was not checked, `[]` when it
/// was blocked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActualLeg {
    #[serde(flatten)]
    pub leg: Leg,
    pub exposed_headers: Option<Vec<String>>,
}

impl Leg {
    pub fn from_exchange(e: &ReportExchange) -> Leg {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &e.response_headers {
            // Several lines of one header are shown combined, as `a, b` (docs/browser-model.md#cors-check).
            headers
                .entry(k.to_ascii_lowercase())
                .and_modify(|prev| {
                    prev.push_str(", ");
                    prev.push_str(v);
                })
                .or_insert_with(|| v.clone());
        }
        Leg {
            sent: true,
            status: e.status,
            headers,
        }
    }
}

/// A verdict with everything that led to it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: &'static str,
    pub reason: Option<String>,
    pub stage: Option<String>,
    pub preflight: Leg,
    pub actual: ActualLeg,
    pub message: String,
    pub fix: Option<String>,
    /// Every request and response, in order (redirect hops included).
    pub exchanges: Vec<ReportExchange>,
    /// Lines of context shown before the exchanges (text output only).
    #[serde(skip)]
    pub context: Vec<String>,
}

impl Report {
    /// The report of a fetch run through the gateway in process: the
    /// browser's account, with the gateway's own refusal and the fix in the
    /// configuration file where explain found one.
    pub fn from_explanation(e: &Explanation) -> Report {
        let mut report = Report::from_trace(&e.trace);
        if let Some(fix) = &e.config_fix {
            report.fix = Some(fix.clone());
        }
        if let Some(refusal) = &e.gateway_refusal {
            report.message = format!(
                "The gateway refused: {refusal}. The browser then reports: {}",
                report.message
            );
        }
        report
    }

    /// The report of a fetch.
    pub fn from_trace(trace: &FetchTrace) -> Report {
        let exchanges: Vec<ReportExchange> = trace
            .exchanges
            .iter()
            .map(|e| ReportExchange {
                kind: match e.request.kind {
                    ExchangeKind::Preflight => "preflight",
                    ExchangeKind::Actual => "actual",
                },
                method: e.request.method.clone(),
                url: e.request.url.to_string(),
                request_headers: e.request.headers.clone(),
                status: e.response.as_ref().map(|r| r.status),
                response_headers: e
                    .response
                    .as_ref()
                    .map(|r| r.headers.clone())
                    .unwrap_or_default(),
                note: e.note.as_ref().map(note_text),
            })
            .collect();
        match &trace.outcome {
            FetchOutcome::Allowed(ok) => {
                let message = format!("script can read the response (status {})", ok.status);
                Report::allowed(message, exchanges, Some(ok.exposed_headers.clone()))
            }
            FetchOutcome::Withheld => {
                let preflighted = trace.plan.as_ref().is_some_and(|p| p.needs_preflight);
                let message = if preflighted {
                    "the preflight allows this request; the actual response was not checked"
                } else {
                    "no preflight is needed; the actual response was not checked"
                };
                Report::allowed(message.to_string(), exchanges, None)
            }
            FetchOutcome::Blocked(blocked) => Report::blocked(blocked, exchanges),
        }
    }

    pub fn allowed(
        message: String,
        exchanges: Vec<ReportExchange>,
        exposed: Option<Vec<String>>,
    ) -> Report {
        let mut r = Report::base("allowed", message, exchanges);
        r.actual.exposed_headers = exposed;
        r
    }

    pub fn blocked(blocked: &Blocked, exchanges: Vec<ReportExchange>) -> Report {
        let mut r = Report::base("blocked", blocked.message.clone(), exchanges);
        if r.actual.leg.sent {
            // Script reads nothing of a blocked response.
            r.actual.exposed_headers = Some(Vec::new());
        }
        r.reason = Some(blocked.name().to_string());
        r.stage = Some(blocked.stage.to_string());
        r.fix = Some(blocked.fix.clone());
        r
    }

    fn base(verdict: &'static str, message: String, exchanges: Vec<ReportExchange>) -> Report {
        let mut preflight = Leg::default();
        let mut actual = ActualLeg::default();
        for e in &exchanges {
            if e.status.is_none() {
                continue;
            }
            if e.kind == "preflight" {
                preflight = Leg::from_exchange(e);
            } else {
                actual.leg = Leg::from_exchange(e);
            }
        }
        Report {
            verdict,
            reason: None,
            stage: None,
            preflight,
            actual,
            message,
            fix: None,
            exchanges,
            context: Vec::new(),
        }
    }

    /// True when the browser lets script read the response.
    pub fn is_allowed(&self) -> bool {
        self.verdict == "allowed"
    }

    /// The readable account: each request and response line that mattered, the
    /// verdict, the reason, the fix.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.context {
            let _ = writeln!(out, "{line}");
        }
        if !self.context.is_empty() {
            out.push('\n');
        }
        for e in &self.exchanges {
            let label = if e.kind == "preflight" {
                "preflight"
            } else {
                "request"
            };
            let _ = writeln!(out, "> {} {}   ({label})", e.method, e.url);
            if let Some(note) = &e.note {
                let _ = writeln!(out, "    {note}");
            }
            for (k, v) in &e.request_headers {
                let _ = writeln!(out, ">   {k}: {v}");
            }
            match e.status {
                Some(status) => {
                    let _ = writeln!(out, "< {status} {}", reason_phrase(status));
                    for (k, v) in &e.response_headers {
                        if matters(k) {
                            let _ = writeln!(out, "<   {k}: {v}");
                        }
                    }
                }
                None => {
                    let _ = writeln!(out, "<   (not sent)");
                }
            }
            out.push('\n');
        }
        match self.verdict {
            "allowed" => {
                let _ = writeln!(out, "ALLOWED  {}", self.message);
                if let Some(exposed) = &self.actual.exposed_headers {
                    if !exposed.is_empty() {
                        let _ = writeln!(out, "         script can read: {}", exposed.join(", "));
                    }
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "BLOCKED  at the {}: {}",
                    self.stage.as_deref().unwrap_or("request"),
                    self.reason.as_deref().unwrap_or("unknown")
                );
                let _ = writeln!(out, "  why:   {}", self.message);
                if let Some(fix) = &self.fix {
                    let _ = writeln!(out, "  fix:   {fix}");
                }
            }
        }
        out
    }
}

/// A note on an exchange, in words: why a preflight was sent, where a
/// redirect goes, why a request was not sent.
fn note_text(note: &ExchangeNote) -> String {
    match note {
        ExchangeNote::Preflight { reasons } => preflight_reasons_text(reasons),
        ExchangeNote::Redirect { location } => format!("redirects to {location}"),
        ExchangeNote::Withheld { reason } => reason.clone(),
    }
}

/// Why a preflight is sent, in words.
fn preflight_reasons_text(reasons: &[PreflightReason]) -> String {
    let why: Vec<String> = reasons
        .iter()
        .map(|r| match r {
            PreflightReason::MethodNotSafelisted { method } => {
                format!("{method} is not GET, HEAD or POST")
            }
            PreflightReason::UnsafeHeaders { names } => {
                let verb = if names.len() == 1 { "is" } else { "are" };
                format!("{} {verb} not CORS-safelisted", names.join(", "))
            }
            PreflightReason::Forced => "the request forces a preflight".to_string(),
        })
        .collect();
    format!("sent first because {}", why.join(", and "))
}

/// The response headers worth showing: CORS ones and those that shape caching.
fn matters(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("access-control-")
        || matches!(
            n.as_str(),
            "vary" | "location" | "content-type" | "allow" | "set-cookie"
        )
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_in_words() {
        let put = ExchangeNote::Preflight {
            reasons: vec![PreflightReason::MethodNotSafelisted {
                method: "PUT".into(),
            }],
        };
        assert_eq!(
            note_text(&put),
            "sent first because PUT is not GET, HEAD or POST"
        );
        let all = ExchangeNote::Preflight {
            reasons: vec![
                PreflightReason::Forced,
                PreflightReason::UnsafeHeaders {
                    names: vec!["x-a".into()],
                },
                PreflightReason::UnsafeHeaders {
                    names: vec!["x-a".into(), "x-b".into()],
                },
            ],
        };
        assert_eq!(
            note_text(&all),
            "sent first because the request forces a preflight, and x-a is not \
             CORS-safelisted, and x-a, x-b are not CORS-safelisted"
        );
        let hop = ExchangeNote::Redirect {
            location: "https://b.example/next".parse().unwrap(),
        };
        assert_eq!(note_text(&hop), "redirects to https://b.example/next");
        let withheld = ExchangeNote::Withheld {
            reason: "not sent".into(),
        };
        assert_eq!(note_text(&withheld), "not sent");
    }
}
