//! The three engines side by side: each engine's verdict on one fetch, and
//! where they differ, which engine blocks and why
//! (docs/browser-model.md#browser-profiles). `preflight check --profile all`,
//! `preflight explain --profile all`, the gateway's dashboard and the demo
//! page all say it with these words.

use serde::Serialize;

use super::headers::get_header;
use super::preflight::{parse_max_age, MaxAge, MaxAgeSource};
use super::{ExchangeKind, FetchOutcome, FetchTrace, Profile, Stage};

/// One engine's verdict on one fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineVerdict {
    pub engine: Profile,
    /// False only when the engine blocks (a withheld actual request counts
    /// as allowed, as in the doctor's report).
    pub allowed: bool,
    /// Where the engine blocks.
    pub stage: Option<Stage>,
    /// The engine's own name for the refusal ([`Profile::reason_name`]):
    /// `None` when allowed, and where the engine reports no name.
    pub reason: Option<&'static str>,
    /// Chromium's name for the same refusal (what a one-profile report calls
    /// its `reason`); `None` when allowed.
    pub chromium_reason: Option<&'static str>,
    /// Why it blocks, in our words; `None` when allowed.
    pub message: Option<String>,
    /// Whether the engine sends a preflight first.
    pub preflighted: bool,
    /// The request headers this engine does not safelist (docs/browser-model.md#unsafe-request-header-names).
    pub unsafe_headers: Vec<String>,
    /// How long the engine reuses the answer of a preflight that passed
    /// (docs/browser-model.md#max-age); `None` when no preflight passed.
    pub preflight_cached: Option<MaxAge>,
}

impl EngineVerdict {
    /// What `engine` made of the fetch in `trace` (a trace of that profile).
    pub fn of(engine: Profile, trace: &FetchTrace) -> EngineVerdict {
        let blocked = trace.outcome.blocked();
        let preflight_failed = blocked.is_some_and(|b| b.stage != Stage::Actual);
        let passed_preflight = trace
            .exchanges
            .iter()
            .rev()
            .filter(|e| e.request.kind == ExchangeKind::Preflight)
            .find_map(|e| e.response.as_ref())
            .filter(|_| !preflight_failed);
        let preflight_cached = passed_preflight.map(|r| {
            let value = get_header(&r.headers, "access-control-max-age");
            parse_max_age(value.as_deref().map(str::trim), engine)
        });
        EngineVerdict {
            engine,
            allowed: !matches!(trace.outcome, FetchOutcome::Blocked(_)),
            stage: blocked.map(|b| b.stage),
            reason: blocked.and_then(|b| engine.reason_name(b)),
            chromium_reason: blocked.map(|b| b.name()),
            message: blocked.map(|b| b.message.clone()),
            preflighted: trace.plan.as_ref().is_some_and(|p| p.needs_preflight),
            unsafe_headers: trace
                .plan
                .as_ref()
                .map(|p| p.unsafe_headers.clone())
                .unwrap_or_default(),
            preflight_cached,
        }
    }

    /// The reason as the engine gives it: its own name, or for an engine
    /// that names none, Chromium's name marked as such.
    pub fn reason_text(&self) -> Option<String> {
        match (self.reason, self.chromium_reason) {
            (Some(own), _) => Some(own.to_string()),
            (None, Some(chromium)) => Some(format!(
                "{} names no reason; in Chromium's terms {chromium}",
                self.engine_title()
            )),
            (None, None) => None,
        }
    }

    /// `Chromium`, `Firefox`, `WebKit`, `the Fetch standard`.
    pub fn engine_title(&self) -> &'static str {
        match self.engine {
            Profile::Chromium => "Chromium",
            Profile::Firefox => "Firefox",
            Profile::WebKit => "WebKit",
            Profile::Spec => "the Fetch standard",
        }
    }
}

/// The verdicts of several engines on the same fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineComparison {
    pub verdicts: Vec<EngineVerdict>,
}

impl EngineComparison {
    /// Compare the traces of one fetch, one per engine.
    pub fn new<'a>(runs: impl IntoIterator<Item = (Profile, &'a FetchTrace)>) -> Self {
        EngineComparison {
            verdicts: runs
                .into_iter()
                .map(|(p, t)| EngineVerdict::of(p, t))
                .collect(),
        }
    }

    /// True when some engine blocks.
    pub fn any_blocked(&self) -> bool {
        self.verdicts.iter().any(|v| !v.allowed)
    }

    /// True when every engine gives the same verdict.
    pub fn verdicts_agree(&self) -> bool {
        self.verdicts
            .windows(2)
            .all(|w| w[0].allowed == w[1].allowed)
    }

    /// Where the verdicts differ: which engines block and which allow, each
    /// blocking engine's reason, and the rule that sets them apart; empty
    /// when the verdicts agree.
    ///
    /// ```
    /// use std::time::Duration;
    /// use preflight_core::browser::{
    ///     simulate, BrowserRequest, EngineComparison, PreflightCache, Profile, ServerResponse,
    /// };
    /// use preflight_core::Origin;
    /// let req = BrowserRequest::new(
    ///     Origin::parse_serialized("https://app.example.com").unwrap(),
    ///     "https://api.example.com/img".parse().unwrap(),
    /// )
    /// .header("Save-Data", "on");
    /// // A server that answers GET with `*` and knows no OPTIONS.
    /// let server = |sent: &preflight_core::browser::SentRequest| match sent.method.as_str() {
    ///     "OPTIONS" => ServerResponse::new(405, &[]),
    ///     _ => ServerResponse::new(200, &[("Access-Control-Allow-Origin", "*")]),
    /// };
    /// let traces: Vec<_> = Profile::ENGINES
    ///     .iter()
    ///     .map(|&p| (p, simulate(&req, p, &mut PreflightCache::new(p), Duration::ZERO, server)))
    ///     .collect();
    /// let c = EngineComparison::new(traces.iter().map(|(p, t)| (*p, t)));
    /// assert!(!c.verdicts_agree());
    /// assert_eq!(c.difference()[0], "engines differ: firefox and webkit block, chromium allows");
    /// ```
    pub fn difference(&self) -> Vec<String> {
        if self.verdicts_agree() {
            return Vec::new();
        }
        let blocking: Vec<&EngineVerdict> = self.verdicts.iter().filter(|v| !v.allowed).collect();
        let allowing: Vec<&EngineVerdict> = self.verdicts.iter().filter(|v| v.allowed).collect();
        let mut lines = vec![format!(
            "engines differ: {} {}, {} {}",
            names(&blocking),
            if blocking.len() == 1 {
                "blocks"
            } else {
                "block"
            },
            names(&allowing),
            if allowing.len() == 1 {
                "allows"
            } else {
                "allow"
            },
        )];
        for v in &blocking {
            lines.push(format!(
                "{} blocks at the {}: {}: {}",
                v.engine,
                v.stage.unwrap_or(Stage::Request),
                v.reason_text().unwrap_or_else(|| "no reason".into()),
                v.message.as_deref().unwrap_or_default()
            ));
        }
        if let Some(why) = preflight_rule(&blocking, &allowing) {
            lines.push(why);
        }
        lines
    }

    /// When the engines keep the same passed preflight for different times
    /// (each engine's cap on `Access-Control-Max-Age`, docs/browser-model.md#max-age):
    /// one line saying each engine's time.
    pub fn cache_difference(&self) -> Option<String> {
        let cached: Vec<(Profile, MaxAge)> = self
            .verdicts
            .iter()
            .filter_map(|v| v.preflight_cached.map(|m| (v.engine, m)))
            .collect();
        if cached.len() < 2 || cached.windows(2).all(|w| w[0].1.seconds == w[1].1.seconds) {
            return None;
        }
        let each: Vec<String> = cached
            .iter()
            .map(|(p, m)| {
                let why = match m.source {
                    MaxAgeSource::Capped => " (its cap)",
                    MaxAgeSource::Default => " (its default)",
                    MaxAgeSource::Invalid => " (not a number)",
                    MaxAgeSource::Negative | MaxAgeSource::Header => "",
                };
                format!("{p} {} s{why}", m.seconds)
            })
            .collect();
        Some(format!(
            "engines keep this preflight's answer for different times: {}",
            each.join(", ")
        ))
    }
}

/// Why only some engines preflight: the headers one side safelists and the
/// other does not (docs/browser-model.md#safelisted-request-header).
fn preflight_rule(blocking: &[&EngineVerdict], allowing: &[&EngineVerdict]) -> Option<String> {
    let all: Vec<&EngineVerdict> = blocking.iter().chain(allowing).copied().collect();
    let preflighting: Vec<&EngineVerdict> = all.iter().filter(|v| v.preflighted).copied().collect();
    let not: Vec<&EngineVerdict> = all.iter().filter(|v| !v.preflighted).copied().collect();
    if preflighting.is_empty() || not.is_empty() {
        return None;
    }
    let mut headers: Vec<&str> = preflighting
        .iter()
        .flat_map(|v| v.unsafe_headers.iter().map(String::as_str))
        .filter(|h| !not.iter().any(|n| n.unsafe_headers.iter().any(|u| u == h)))
        .collect();
    headers.sort_unstable();
    headers.dedup();
    let what = if headers.is_empty() {
        "this request".to_string()
    } else {
        headers.join(", ")
    };
    Some(format!(
        "why they differ: {} safelist{} {what} and send{} no preflight; {} preflight{} it \
         (docs/browser-model.md#safelisted-request-header)",
        names(&not),
        if not.len() == 1 { "s" } else { "" },
        if not.len() == 1 { "s" } else { "" },
        names(&preflighting),
        if preflighting.len() == 1 { "s" } else { "" },
    ))
}

/// `chromium`, `firefox and webkit`, `chromium, firefox and webkit`.
fn names(vs: &[&EngineVerdict]) -> String {
    let names: Vec<&str> = vs.iter().map(|v| v.engine.name()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::browser::{simulate, BrowserRequest, PreflightCache, SentRequest, ServerResponse};
    use crate::Origin;

    fn request() -> BrowserRequest {
        BrowserRequest::new(
            Origin::parse_serialized("https://app.example.com").unwrap(),
            "https://api.example.com/x".parse().unwrap(),
        )
    }

    fn compare(
        req: &BrowserRequest,
        server: impl Fn(&SentRequest) -> ServerResponse,
    ) -> EngineComparison {
        let traces: Vec<(Profile, FetchTrace)> = Profile::ENGINES
            .iter()
            .map(|&p| {
                let mut cache = PreflightCache::new(p);
                (p, simulate(req, p, &mut cache, Duration::ZERO, &server))
            })
            .collect();
        EngineComparison::new(traces.iter().map(|(p, t)| (*p, t)))
    }

    /// A client hint Chromium safelists: Firefox and WebKit preflight it, and
    /// a server without OPTIONS fails their preflight.
    #[test]
    fn a_client_hint_splits_the_engines() {
        let c = compare(&request().header("DPR", "2"), |sent| {
            match sent.method.as_str() {
                "OPTIONS" => ServerResponse::new(405, &[]),
                _ => ServerResponse::new(200, &[("Access-Control-Allow-Origin", "*")]),
            }
        });
        let allowed: Vec<bool> = c.verdicts.iter().map(|v| v.allowed).collect();
        assert_eq!(allowed, [true, false, false]);
        assert!(c.any_blocked() && !c.verdicts_agree());
        let ff = &c.verdicts[1];
        assert_eq!(ff.reason, Some("CORSMissingAllowOrigin"));
        assert_eq!(
            ff.chromium_reason,
            Some("PreflightMissingAllowOriginHeader")
        );
        // WebKit checks the preflight's status first.
        let wk = &c.verdicts[2];
        assert_eq!(wk.reason, Some("PreflightNotSuccessful"));
        assert_eq!(wk.chromium_reason, Some("PreflightInvalidStatus"));
        assert_eq!(wk.reason_text().as_deref(), Some("PreflightNotSuccessful"));
        // An engine that names no reason is given Chromium's, marked so.
        let unnamed = EngineVerdict {
            reason: None,
            ..wk.clone()
        };
        assert_eq!(
            unnamed.reason_text().as_deref(),
            Some("WebKit names no reason; in Chromium's terms PreflightInvalidStatus")
        );
        let lines = c.difference();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert_eq!(
            lines[0],
            "engines differ: firefox and webkit block, chromium allows"
        );
        assert!(
            lines[1].starts_with("firefox blocks at the preflight: CORSMissingAllowOrigin: "),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("webkit blocks at the preflight: PreflightNotSuccessful: "),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            "why they differ: chromium safelists dpr and sends no preflight; firefox and webkit \
             preflight it (docs/browser-model.md#safelisted-request-header)"
        );
        assert_eq!(c.cache_difference(), None, "no preflight passed");
    }

    #[test]
    fn agreeing_engines_have_no_difference() {
        let c = compare(&request(), |_| ServerResponse::new(200, &[]));
        assert!(c.verdicts_agree() && c.any_blocked());
        assert!(c.difference().is_empty());
        let reasons: Vec<Option<&str>> = c.verdicts.iter().map(|v| v.reason).collect();
        assert_eq!(
            reasons,
            [
                Some("MissingAllowOriginHeader"),
                Some("CORSMissingAllowOrigin"),
                Some("OriginNotAllowed")
            ]
        );
    }

    /// Each engine's cap on `Access-Control-Max-Age` (docs/browser-model.md#max-age).
    #[test]
    fn the_max_age_caps_differ() {
        let c = compare(&request().method("PUT"), |sent| {
            ServerResponse::new(
                200,
                &[
                    ("Access-Control-Allow-Origin", "https://app.example.com"),
                    ("Access-Control-Allow-Methods", "PUT"),
                    (
                        "Access-Control-Max-Age",
                        if sent.method == "OPTIONS" {
                            "86400"
                        } else {
                            ""
                        },
                    ),
                ],
            )
        });
        assert!(c.verdicts_agree() && !c.any_blocked());
        let secs: Vec<Option<u64>> = c
            .verdicts
            .iter()
            .map(|v| v.preflight_cached.map(|m| m.seconds))
            .collect();
        assert_eq!(secs, [Some(7200), Some(86_400), Some(600)]);
        assert_eq!(
            c.cache_difference().as_deref(),
            Some(
                "engines keep this preflight's answer for different times: chromium 7200 s \
                 (its cap), firefox 86400 s, webkit 600 s (its cap)"
            )
        );
        // Without the header: 5 s in every engine.
        let answer = |max_age: Option<&'static str>| {
            move |_: &SentRequest| {
                let mut h = vec![
                    ("Access-Control-Allow-Origin", "https://app.example.com"),
                    ("Access-Control-Allow-Methods", "PUT"),
                ];
                h.extend(max_age.map(|v| ("Access-Control-Max-Age", v)));
                ServerResponse::new(200, &h)
            }
        };
        let c = compare(&request().method("PUT"), answer(None));
        assert_eq!(c.cache_difference(), None);
        // Not a number: Firefox caches nothing.
        let c = compare(&request().method("PUT"), answer(Some("ten")));
        assert_eq!(
            c.cache_difference().as_deref(),
            Some(
                "engines keep this preflight's answer for different times: chromium 5 s \
                 (not a number), firefox 0 s (not a number), webkit 5 s (not a number)"
            )
        );
    }

    #[test]
    fn names_read_as_a_list() {
        let c = compare(&request(), |_| ServerResponse::new(200, &[]));
        let all: Vec<&EngineVerdict> = c.verdicts.iter().collect();
        assert_eq!(names(&all), "chromium, firefox and webkit");
        assert_eq!(names(&all[..1]), "chromium");
        assert_eq!(names(&[]), "");
    }
}
