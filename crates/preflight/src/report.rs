//! What `check` and `explain` print: one verdict, as text for a person or as the
//! JSON object of DESIGN.md.

use std::fmt::Write as _;
use std::process::ExitCode;

use preflight_core::browser::Blocked;
use serde::Serialize;
use serde_json::{Map, Value};

/// One request the browser sent and the answer it got.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
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
    pub headers: Map<String, Value>,
}

/// The `actual` part of the JSON object: `exposed_headers` is always there
/// (DESIGN.md), `null` when the actual response was not checked, `[]` when it
/// was blocked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActualLeg {
    #[serde(flatten)]
    pub leg: Leg,
    pub exposed_headers: Option<Vec<String>>,
}

impl Leg {
    pub fn from_exchange(e: &Exchange) -> Leg {
        let mut headers = Map::new();
        for (k, v) in &e.response_headers {
            let k = k.to_ascii_lowercase();
            // Several lines of one header are shown combined, as `a, b` (R14).
            match headers.get_mut(&k) {
                Some(Value::String(prev)) => {
                    prev.push_str(", ");
                    prev.push_str(v);
                }
                _ => {
                    headers.insert(k, Value::String(v.clone()));
                }
            }
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
    pub exchanges: Vec<Exchange>,
    /// Lines of context shown before the exchanges (text output only).
    #[serde(skip)]
    pub context: Vec<String>,
}

impl Report {
    pub fn allowed(message: String, exchanges: Vec<Exchange>, exposed: Option<Vec<String>>) -> Report {
        let mut r = Report::base("allowed", message, exchanges);
        r.actual.exposed_headers = exposed;
        r
    }

    pub fn blocked(blocked: &Blocked, exchanges: Vec<Exchange>) -> Report {
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

    fn base(verdict: &'static str, message: String, exchanges: Vec<Exchange>) -> Report {
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

    /// Exit 0 when allowed, 1 when blocked.
    pub fn exit_code(&self) -> ExitCode {
        if self.verdict == "allowed" {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    /// Print as JSON or text.
    pub fn print(&self, json: bool) {
        if json {
            match serde_json::to_string_pretty(self) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("error: cannot write JSON: {e}"),
            }
        } else {
            print!("{}", self.to_text());
        }
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
            let label = if e.kind == "preflight" { "preflight" } else { "request" };
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

/// The response headers worth showing: CORS ones and those that shape caching.
fn matters(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("access-control-")
        || matches!(n.as_str(), "vary" | "location" | "content-type" | "allow" | "set-cookie")
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}
