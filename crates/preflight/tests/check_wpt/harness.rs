//! A case (a URL, the arguments of `check`, what to expect), one run of the
//! binary, and the runner that reports every failure by case id.

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use preflight_test_kit::{makeheader, Received};
use serde_json::Value;

use crate::wpt::{seen, O};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Allow,
    /// Chromium's `CorsError` name and the stage.
    Block(&'static str, &'static str),
}

/// What one run of the binary gave.
pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) json: Value,
    pub(crate) stderr: String,
    pub(crate) seen: Vec<Received>,
}

impl Outcome {
    pub(crate) fn preflights(&self) -> Vec<&Received> {
        self.seen.iter().filter(|s| s.is_preflight()).collect()
    }
    pub(crate) fn actuals(&self) -> Vec<&Received> {
        self.seen.iter().filter(|s| !s.is_preflight()).collect()
    }
    pub(crate) fn exposed(&self) -> Vec<String> {
        self.json["actual"]["exposed_headers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) type Check = Box<dyn Fn(&Outcome) -> Result<(), String> + Send + Sync>;

pub(crate) struct Case {
    pub(crate) id: String,
    pub(crate) token: String,
    pub(crate) url: String,
    pub(crate) origin: String,
    pub(crate) args: Vec<String>,
    pub(crate) expect: Expect,
    pub(crate) checks: Vec<Check>,
}

/// URLs of one case: every one carries the case's token.
pub(crate) struct At {
    pub(crate) token: String,
}

impl At {
    pub(crate) fn url(&self, base: &str, path: &str, params: &[(&str, &str)]) -> String {
        let mut all = vec![("token", self.token.as_str())];
        all.extend_from_slice(params);
        makeheader::url(base, path, &all)
    }
}

/// A `h=`/`pfh=` value for `/makeheader`.
pub(crate) fn hv(name: &str, value: &str) -> String {
    makeheader::line(name, value)
}

pub(crate) fn case(id: impl Into<String>, url: impl FnOnce(&At) -> String) -> Case {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let id = id.into();
    let mut token: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    token.push_str(&format!("-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let url = url(&At {
        token: token.clone(),
    });
    Case {
        id,
        token,
        url,
        origin: O.to_string(),
        args: Vec::new(),
        expect: Expect::Allow,
        checks: Vec::new(),
    }
}

impl Case {
    pub(crate) fn origin(mut self, origin: &str) -> Case {
        self.origin = origin.to_string();
        self
    }
    /// `-X M`, with `--send-actual` for a method other than GET and HEAD, as
    /// the WPT test does send it.
    pub(crate) fn method(mut self, m: &str) -> Case {
        self.args.extend(["-X".to_string(), m.to_string()]);
        if !matches!(m.to_ascii_uppercase().as_str(), "GET" | "HEAD") {
            self.args.push("--send-actual".into());
        }
        self
    }
    pub(crate) fn header(mut self, name: &str, value: &str) -> Case {
        self.args
            .extend(["-H".to_string(), format!("{name}: {value}")]);
        self
    }
    pub(crate) fn arg(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }
    pub(crate) fn block(mut self, reason: &'static str, stage: &'static str) -> Case {
        self.expect = Expect::Block(reason, stage);
        self
    }
    pub(crate) fn check(
        mut self,
        f: impl Fn(&Outcome) -> Result<(), String> + Send + Sync + 'static,
    ) -> Case {
        self.checks.push(Box::new(f));
        self
    }
    /// How many preflights the server got.
    pub(crate) fn preflights(self, n: usize) -> Case {
        self.check(move |o| match o.preflights().len() {
            got if got == n => Ok(()),
            got => Err(format!("{got} preflights reached the server, expected {n}")),
        })
    }
    /// The `Access-Control-Request-Headers` of the (single) preflight.
    pub(crate) fn acrh(self, want: Option<&'static str>) -> Case {
        self.check(move |o| {
            let pf = o.preflights();
            let [pf] = pf.as_slice() else {
                return Err(format!("{} preflights, expected 1", pf.len()));
            };
            match pf.header("access-control-request-headers") {
                got if got == want => Ok(()),
                got => Err(format!("preflight ACRH {got:?}, expected {want:?}")),
            }
        })
    }
    /// The `Origin` header of the last actual request (the final hop).
    pub(crate) fn final_origin(self, want: String) -> Case {
        self.check(move |o| {
            let got = o.actuals().last().and_then(|s| s.header("origin"));
            if got == Some(want.as_str()) {
                Ok(())
            } else {
                Err(format!("final Origin {got:?}, expected {want:?}"))
            }
        })
    }
    pub(crate) fn exposes(self, names: &'static [&'static str], visible: bool) -> Case {
        self.check(move |o| {
            let exposed = o.exposed();
            for n in names {
                let lower = n.to_ascii_lowercase();
                if exposed.contains(&lower) != visible {
                    return Err(format!(
                        "{n} {} (exposed: {exposed:?})",
                        if visible { "hidden" } else { "exposed" }
                    ));
                }
                // The header did arrive: the filter, not its absence, decides.
                if o.json["actual"]["headers"].get(&lower).is_none() {
                    return Err(format!("{n} not in the response at all"));
                }
            }
            Ok(())
        })
    }
}

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_preflight")
}

pub(crate) fn run_case(c: &Case) -> Result<(), String> {
    let output = preflight_test_kit::cli::try_run(
        Command::new(bin())
            .arg("check")
            .arg(&c.url)
            .args(["--origin", &c.origin, "--json", "--timeout", "5"])
            .args(&c.args),
    )?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Value =
        serde_json::from_str(&stdout).map_err(|e| format!("stdout is not JSON ({e}): {stdout}"))?;
    let o = Outcome {
        code: output.status.code(),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        seen: seen(&c.token),
    };
    let verdict = o.json["verdict"].as_str().unwrap_or("?");
    let reason = o.json["reason"].as_str();
    let stage = o.json["stage"].as_str();
    let got = format!(
        "exit {:?}, verdict {verdict}, reason {reason:?}, stage {stage:?}, message {}",
        o.code, o.json["message"]
    );
    match c.expect {
        Expect::Allow => {
            if o.code != Some(0) || verdict != "allowed" || reason.is_some() {
                return Err(format!("expected ALLOW, got {got}"));
            }
        }
        Expect::Block(want_reason, want_stage) => {
            if o.code != Some(1)
                || verdict != "blocked"
                || reason != Some(want_reason)
                || stage != Some(want_stage)
            {
                return Err(format!(
                    "expected BLOCK {want_reason} at the {want_stage}, got {got}"
                ));
            }
            match o.json["fix"].as_str() {
                Some(fix) if !fix.is_empty() => {}
                _ => return Err("blocked without a fix".into()),
            }
        }
    }
    if !o.stderr.is_empty() {
        return Err(format!("stderr: {}", o.stderr));
    }
    // docs/browser-model.md#preflight-request, on every preflight of every case: what the WPT preflight server
    // insists on (it answers 400 without `Accept: */*`).
    for pf in o.preflights() {
        let acrm = pf.header("access-control-request-method");
        if pf.header("accept") != Some("*/*") || acrm.is_none() || pf.header("origin").is_none() {
            return Err(format!("malformed preflight: {:?}", pf.headers));
        }
        if pf.header("cookie").is_some() || pf.header("authorization").is_some() {
            return Err(format!("preflight with credentials: {:?}", pf.headers));
        }
    }
    for check in &c.checks {
        check(&o)?;
    }
    Ok(())
}

/// Run the cases on a few threads (the binary waits on the network, not the
/// CPU) and report every failure by case id.
pub(crate) fn run_all(section: &str, cases: Vec<Case>) {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let mut ids = HashMap::new();
    for c in &cases {
        assert!(
            ids.insert(c.token.clone(), ()).is_none(),
            "duplicate case {}",
            c.id
        );
    }
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                if let Err(e) = run_case(c) {
                    failures
                        .lock()
                        .expect("failures")
                        .push(format!("{}: {e}", c.id));
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("failures");
    failures.sort();
    assert!(
        failures.is_empty(),
        "section {section}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
