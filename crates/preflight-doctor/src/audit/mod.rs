//! `preflight audit`: probe a live server for known CORS misconfigurations.
//!
//! The probe classes ([`Bypass`]) are CORScanner's and Corsy's, the
//! severities PortSwigger's. Each [`Probe`] sends a `GET` and a preflight
//! `OPTIONS` with `Origin: <probe>`; it is a [`Finding`] when either answer's
//! `Access-Control-Allow-Origin` is byte-equal to the probe (Fetch, "CORS
//! check"). Requests go through the doctor's client, which never follows
//! redirects.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use preflight_core::Origin;
use url::Url;

mod class;
mod exchange;
mod finding;
mod plan;
mod report;

pub use class::{Bypass, FindingClass, ProbeClass, ProbeResult, Risk, Verdict};
pub use exchange::{Answer, Probe};
pub use finding::Finding;
pub use report::Audit;

use crate::{client, render};

/// Arguments of `preflight audit`.
#[derive(Debug, Args)]
#[command(
    after_help = "Probes (each sent as a GET and as a preflight OPTIONS, Origin: <probe>; \
a finding when Access-Control-Allow-Origin echoes the probe byte for byte):\n  \
reflect_origin             scheme://evil.example: any origin is echoed\n  \
prefix_match               scheme://HOST.evil.example: a starts-with check\n  \
suffix_match               scheme://evilDOMAIN: an ends-with check on the registrable domain\n  \
trust_null                 null: sandboxed iframes and data: pages are trusted\n  \
include_match              scheme://DOMAIN minus its first letter: a contains check\n  \
not_escape_dot             HOST with a dot turned into a letter: a regex with an unescaped '.'\n  \
special_characters_bypass  scheme://HOST<c>.evil.example for _ - \" { } + ^ %60 ! ~ ` ; | & ' ( ) * , $ = %0b\n  \
trust_any_subdomain        scheme://evil.HOST: every subdomain is trusted (low)\n  \
https_trust_http           http://HOST for an https target (or trusted origin): network attackers can read\n  \
third_party                github.io, codepen.io, jsfiddle.net, jsbin.com, repl.it, webdevout.net\n\
Passive checks, on a GET and a preflight with the trusted --origin: ACAO * (low), \
* with credentials (low: browsers refuse it), several ACAO values (low), \
an ACAO that changes with the Origin but no Vary: Origin (medium: cache poisoning).\n\
For an IPv4 or single-label host (127.0.0.1, localhost) the domain probes use the whole host; \
for an IPv6 host they are skipped. Redirects are never followed: a 3xx is reported as such.\n\n\
Severities: high for reflection, null and prefix/suffix/regex bypasses with \
Access-Control-Allow-Credentials: true; medium without credentials, for http origins \
trusted by an https site, third-party hosts and a missing Vary; low for *.\n\n\
Exit status: 0 clean (no finding, or only low ones), 1 a medium or high finding, \
2 error (bad URL, connection refused, TLS failure, or probes left unanswered)."
)]
pub struct AuditArgs {
    /// The URL to audit, e.g. https://api.example.com/users
    pub url: String,
    /// The origin the server is meant to trust (default: the URL's own origin).
    #[arg(long)]
    pub origin: Option<String>,
    /// The method asked for in the preflights (Access-Control-Request-Method).
    /// The other probe is always a GET: audit never sends a request that changes data.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    pub method: String,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Trust this PEM certificate (or bundle) too, for servers with a private CA.
    #[arg(long, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How many requests are in flight at once.
const CONCURRENCY: usize = 6;

/// Run `preflight audit`: print the audit; exit 0 clean, 1 findings, 2 error
/// or incomplete.
pub async fn run(args: AuditArgs) -> ExitCode {
    match audit(&args).await {
        Ok(a) => {
            if args.json {
                render::print_json(&a);
            } else {
                render::out(&a.to_text());
            }
            match a.verdict {
                Verdict::Findings => ExitCode::from(1),
                Verdict::Clean => ExitCode::SUCCESS,
                Verdict::Incomplete => ExitCode::from(2),
            }
        }
        Err(message) => render::fail(&message, args.json),
    }
}

/// Probe the server: the trusted origin first (an error when it gets no
/// answer), then every probe origin, `CONCURRENCY` at a time.
pub async fn audit(args: &AuditArgs) -> Result<Audit, String> {
    let url = Url::parse(&args.url).map_err(|e| format!("{:?} is not a URL: {e}", args.url))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "{:?}: only http and https URLs can be audited",
            args.url
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{:?}: the URL has no host", args.url));
    }
    let method = http::Method::from_bytes(args.method.as_bytes())
        .map_err(|_| format!("-X {:?} is not a method", args.method))?;
    let trusted = match &args.origin {
        Some(o) => match Url::parse(o).map(|u| Origin::of_url(&u)) {
            Ok(origin) if !origin.is_opaque() => origin.serialize().to_string(),
            Ok(_) => return Err(format!("--origin {o:?}: give the origin of a page")),
            Err(e) => {
                return Err(format!(
                    "--origin {o:?} is not an origin: not a URL: {o}: {e}"
                ))
            }
        },
        None => Origin::of_url(&url).serialize().to_string(),
    };
    let client = client::client(args.cacert.as_deref())?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut notes = Vec::new();
    let mut planned = plan::probes_for(&url, &mut notes);
    // A server's string checks are often relative to the origin it trusts
    // (`starts_with("https://app.example.com")`), not to its own host: probe
    // around the trusted origin too when it is another host.
    if let Ok(t) = Url::parse(&trusted) {
        if (t.host_str(), t.port()) != (url.host_str(), url.port()) {
            for probe in plan::probes_for(&t, &mut Vec::new()) {
                if !planned.iter().any(|(_, o)| *o == probe.1) {
                    planned.push(probe);
                }
            }
        }
    }
    planned.retain(|(_, o)| *o != trusted);

    // The baseline first: if the server cannot be reached, that is an error.
    let baseline = exchange::exchange(&client, &url, &method, &trusted, timeout).await;
    if let Some(e) = baseline.0.error.clone().or(baseline.1.error.clone()) {
        return Err(e);
    }

    let mut answers = Vec::with_capacity(planned.len());
    for chunk in planned.chunks(CONCURRENCY) {
        let mut set = tokio::task::JoinSet::new();
        for (i, (_, origin)) in chunk.iter().enumerate() {
            let (client, url, method, origin) =
                (client.clone(), url.clone(), method.clone(), origin.clone());
            set.spawn(async move {
                let pair = exchange::exchange(&client, &url, &method, &origin, timeout).await;
                (i, pair)
            });
        }
        let mut got: Vec<Option<(Answer, Answer)>> = vec![None; chunk.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, pair)) = joined {
                if let Some(slot) = got.get_mut(i) {
                    *slot = Some(pair);
                }
            }
        }
        for pair in got {
            answers.push(pair.unwrap_or_else(|| {
                let lost = Answer::lost("the probe task failed");
                (lost.clone(), lost)
            }));
        }
    }

    let mut probes = vec![Probe {
        class: ProbeClass::Baseline,
        origin_sent: trusted.clone(),
        get: baseline.0,
        preflight: baseline.1,
        result: ProbeResult::Ok,
    }];
    for ((bypass, origin), (get, preflight)) in planned.into_iter().zip(answers) {
        let result = if get.echoes(&origin) || preflight.echoes(&origin) {
            ProbeResult::Finding
        } else if get.error.is_some() || preflight.error.is_some() {
            ProbeResult::Error
        } else {
            ProbeResult::Ok
        };
        probes.push(Probe {
            class: ProbeClass::Bypass(bypass),
            origin_sent: origin,
            get,
            preflight,
            result,
        });
    }

    let findings = finding::findings(&probes, &trusted, &mut notes);
    if let Some(base) = probes.first() {
        for (kind, a) in [("GET", &base.get), ("OPTIONS", &base.preflight)] {
            if let (Some(status), Some(loc)) = (a.status, &a.location) {
                notes.push(format!(
                    "{kind} answered {status} with a redirect to {loc}: audit does not follow \
                     redirects; audit that URL too"
                ));
            }
        }
    }
    if probes
        .iter()
        .any(|p| p.get.body_cut || p.preflight.body_cut)
    {
        notes.push(format!(
            "a response body was longer than {} KiB: audit read that much of it and stopped \
             (the findings are in the headers)",
            crate::client::BODY_READ_MAX / 1024
        ));
    }
    let errors = probes
        .iter()
        .filter(|p| p.result == ProbeResult::Error)
        .count();
    if errors > 0 {
        notes.push(format!(
            "{errors} probe(s) got no answer: the audit is incomplete"
        ));
    }
    let verdict = if findings.iter().any(|f| f.severity >= Risk::Medium) {
        Verdict::Findings
    } else if errors > 0 {
        Verdict::Incomplete
    } else {
        Verdict::Clean
    };
    Ok(Audit {
        target: url.to_string(),
        trusted_origin: trusted,
        verdict,
        findings,
        probes,
        notes,
    })
}
