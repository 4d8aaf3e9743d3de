//! `preflight audit`: probe a live server for known CORS misconfigurations.
//!
//! The probe classes are CORScanner's and Corsy's, the severities PortSwigger's
//! (CORS-RULES.md §3). Each probe sends a `GET` and a preflight `OPTIONS` with
//! `Origin: <probe>`; it is a finding when either answer's
//! `Access-Control-Allow-Origin` is byte-equal to the probe (R14: byte-equal).
//! Requests go through `check`'s client, which never follows redirects.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use preflight_core::Origin;
use serde::Serialize;
use url::{Host, Url};

use crate::check;

/// `check::client()`'s client.
type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

/// One origin sent, with the two answers it got.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    class: &'static str,
    origin_sent: String,
    get: Answer,
    preflight: Answer,
    /// `ok`, `finding` or `error`.
    result: &'static str,
}

/// What came back for one request (or why nothing did).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    acao: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Answer {
    fn from_headers(status: u16, headers: &[(String, String)]) -> Answer {
        let all = |name: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let joined = |name: &str| {
            let v = all(name);
            (!v.is_empty()).then(|| v.join(", "))
        };
        Answer {
            status: Some(status),
            acao: all("access-control-allow-origin"),
            acac: joined("access-control-allow-credentials"),
            vary: joined("vary"),
            location: (300..400)
                .contains(&status)
                .then(|| joined("location"))
                .flatten(),
            error: None,
        }
    }

    /// The one ACAO value, when there is exactly one header.
    fn single_acao(&self) -> Option<&str> {
        match self.acao.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }

    /// R14: the ACAO is byte-equal to the origin sent (`null` included).
    fn echoes(&self, origin: &str) -> bool {
        self.single_acao() == Some(origin)
    }

    /// Fetch: credentials are allowed only by the exact value `true`.
    fn credentials(&self) -> bool {
        self.acac.as_deref() == Some("true")
    }

    fn varies_on_origin(&self) -> bool {
        self.vary.as_deref().is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t.eq_ignore_ascii_case("origin") || t == "*")
        })
    }

    fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("error: {e}");
        }
        let status = self.status.map(|s| s.to_string()).unwrap_or_default();
        let acao = if self.acao.is_empty() {
            "no ACAO".to_string()
        } else {
            format!("ACAO {}", self.acao.join(" + "))
        };
        let mut s = format!("{status} {acao}");
        if let Some(acac) = &self.acac {
            s.push_str(&format!(", ACAC {acac}"));
        }
        if let Some(loc) = &self.location {
            s.push_str(&format!(", redirect to {loc} (not followed)"));
        }
        s
    }
}

/// A misconfiguration found, with what it means and how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    class: &'static str,
    severity: Severity,
    origin_sent: String,
    acao: Option<String>,
    credentials: bool,
    message: String,
    fix: String,
}

/// The whole audit, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Audit {
    target: String,
    trusted_origin: String,
    verdict: &'static str,
    findings: Vec<Finding>,
    probes: Vec<Probe>,
    notes: Vec<String>,
}

/// Run `preflight audit`.
pub async fn run(args: AuditArgs) -> ExitCode {
    match audit(&args).await {
        Ok(a) => {
            if args.json {
                match serde_json::to_string_pretty(&a) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("error: cannot write JSON: {e}"),
                }
            } else {
                print!("{}", to_text(&a));
            }
            match a.verdict {
                "findings" => ExitCode::from(1),
                "clean" => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            }
        }
        Err(message) => crate::report::fail(&message, args.json),
    }
}

/// The probe origins for a target: (class, origin), in a fixed order.
fn probes_for(url: &Url, notes: &mut Vec<String>) -> Vec<(&'static str, String)> {
    let scheme = url.scheme();
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let root = format!("{host}{port}");
    let mut out: Vec<(&'static str, String)> = vec![
        ("reflect_origin", format!("{scheme}://evil.example")),
        ("prefix_match", format!("{scheme}://{root}.evil.example")),
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
        out.push(("suffix_match", format!("{scheme}://evil{d}{port}")));
    }
    out.push(("trust_null", "null".to_string()));
    if let Some(rest) = domain.as_deref().and_then(|d| d.get(1..)) {
        if !rest.is_empty() {
            out.push(("include_match", format!("{scheme}://{rest}{port}")));
        }
    }
    if domain.is_some() {
        // CORScanner: the last `.` as `a`; Corsy: the first `.` as `x`.
        if let Some(i) = host.rfind('.') {
            out.push((
                "not_escape_dot",
                format!("{scheme}://{}a{}{port}", &host[..i], &host[i + 1..]),
            ));
        }
        if host.matches('.').count() > 1 {
            if let Some(i) = host.find('.') {
                out.push((
                    "not_escape_dot",
                    format!("{scheme}://{}x{}{port}", &host[..i], &host[i + 1..]),
                ));
            }
        }
    }
    for c in SPECIAL_CHARS {
        out.push((
            "special_characters_bypass",
            format!("{scheme}://{root}{c}.evil.example"),
        ));
    }
    out.push(("trust_any_subdomain", format!("{scheme}://evil.{root}")));
    if scheme == "https" {
        out.push(("https_trust_http", format!("http://{root}")));
    }
    for o in THIRD_PARTIES {
        // Auditing a third-party host itself: its own origin is not a finding.
        let same_site = domain
            .as_deref()
            .is_some_and(|d| o.ends_with(&format!("://{d}")) || o.ends_with(&format!(".{d}")));
        if !same_site {
            out.push(("third_party", o.to_string()));
        }
    }
    out
}

async fn audit(args: &AuditArgs) -> Result<Audit, String> {
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
    let client = check::client(args.cacert.as_deref())?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut notes = Vec::new();
    let mut planned = probes_for(&url, &mut notes);
    // A server's string checks are often relative to the origin it trusts
    // (`starts_with("https://app.example.com")`), not to its own host: probe
    // around the trusted origin too when it is another host.
    if let Ok(t) = Url::parse(&trusted) {
        if (t.host_str(), t.port()) != (url.host_str(), url.port()) {
            for probe in probes_for(&t, &mut Vec::new()) {
                if !planned.iter().any(|(_, o)| *o == probe.1) {
                    planned.push(probe);
                }
            }
        }
    }
    planned.retain(|(_, o)| *o != trusted);

    // The baseline first: if the server cannot be reached, that is an error.
    let baseline = exchange(&client, &url, &method, &trusted, timeout).await;
    if let Some(e) = baseline.0.error.clone().or(baseline.1.error.clone()) {
        return Err(e);
    }

    let mut answers = Vec::with_capacity(planned.len());
    for chunk in planned.chunks(CONCURRENCY) {
        let mut set = tokio::task::JoinSet::new();
        for (i, (_, origin)) in chunk.iter().enumerate() {
            let (client, url, method, origin) =
                (client.clone(), url.clone(), method.clone(), origin.clone());
            set.spawn(async move { (i, exchange(&client, &url, &method, &origin, timeout).await) });
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
                let lost = Answer {
                    error: Some("the probe task failed".into()),
                    ..Answer::default()
                };
                (lost.clone(), lost)
            }));
        }
    }

    let mut probes = vec![Probe {
        class: "baseline",
        origin_sent: trusted.clone(),
        get: baseline.0,
        preflight: baseline.1,
        result: "ok",
    }];
    for ((class, origin), (get, preflight)) in planned.into_iter().zip(answers) {
        let result = if get.echoes(&origin) || preflight.echoes(&origin) {
            "finding"
        } else if get.error.is_some() || preflight.error.is_some() {
            "error"
        } else {
            "ok"
        };
        probes.push(Probe {
            class,
            origin_sent: origin,
            get,
            preflight,
            result,
        });
    }

    let findings = findings(&probes, &trusted, &mut notes);
    for p in &probes {
        for (kind, a) in [("GET", &p.get), ("OPTIONS", &p.preflight)] {
            if let (Some(status), Some(loc)) = (a.status, &a.location) {
                if p.class == "baseline" {
                    notes.push(format!(
                        "{kind} answered {status} with a redirect to {loc}: audit does not follow \
                         redirects; audit that URL too"
                    ));
                }
            }
        }
    }
    let errors = probes.iter().filter(|p| p.result == "error").count();
    if errors > 0 {
        notes.push(format!(
            "{errors} probe(s) got no answer: the audit is incomplete"
        ));
    }
    let verdict = if findings.iter().any(|f| f.severity >= Severity::Medium) {
        "findings"
    } else if errors > 0 {
        "incomplete"
    } else {
        "clean"
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

/// One GET and one preflight with this Origin; transport errors become answers.
async fn exchange(
    client: &HttpsClient,
    url: &Url,
    method: &http::Method,
    origin: &str,
    timeout: Duration,
) -> (Answer, Answer) {
    let common = [
        ("Origin".to_string(), origin.to_string()),
        ("Cache-Control".to_string(), "no-cache".to_string()),
        (
            "User-Agent".to_string(),
            concat!("preflight-audit/", env!("CARGO_PKG_VERSION")).to_string(),
        ),
    ];
    let get = check::send(client, "GET", url, &common, None, timeout).await;
    let mut pf_headers = common.to_vec();
    pf_headers.push((
        "Access-Control-Request-Method".to_string(),
        method.to_string(),
    ));
    let preflight = check::send(client, "OPTIONS", url, &pf_headers, None, timeout).await;
    let answer = |r: Result<(u16, Vec<(String, String)>), String>| match r {
        Ok((status, headers)) => Answer::from_headers(status, &headers),
        Err(e) => Answer {
            error: Some(e),
            ..Answer::default()
        },
    };
    (answer(get), answer(preflight))
}

/// What each class means and its severity (CORS-RULES.md §3, PortSwigger).
fn describe(class: &str, credentials: bool, sent: &str) -> (Severity, String) {
    let bypass = if credentials {
        Severity::High
    } else {
        Severity::Medium
    };
    let who = if credentials {
        "can read its responses with the user's cookies"
    } else {
        "can read its responses (without cookies: still a leak on an intranet or IP-restricted API)"
    };
    match class {
        "reflect_origin" => (
            bypass,
            format!("the server echoes any Origin: any website {who}"),
        ),
        "prefix_match" => (
            bypass,
            format!("the Origin is checked with a starts-with test: {sent} is trusted, and whoever owns such a name {who}"),
        ),
        "suffix_match" => (
            bypass,
            format!("the Origin is checked with an ends-with test without the dot: {sent} is trusted, and whoever registers such a name {who}"),
        ),
        "trust_null" => (
            bypass,
            format!("the `null` origin is trusted: any page can get it from a sandboxed iframe or a data: URL, and {who}"),
        ),
        "include_match" => (
            bypass,
            format!("the Origin is checked with a contains test: {sent} is trusted, and whoever registers such a name {who}"),
        ),
        "not_escape_dot" => (
            bypass,
            format!("the Origin is matched with a regular expression whose `.` is not escaped: the look-alike {sent} is trusted, and whoever registers such a name {who}"),
        ),
        "special_characters_bypass" => (
            bypass,
            format!("the Origin is parsed loosely: {sent} is trusted (most such names reach servers only from Safari; `_` from every browser), and whoever owns one {who}"),
        ),
        "trust_any_subdomain" => (
            Severity::Low,
            "every subdomain is trusted: an XSS or a takeover on any subdomain becomes an attack on this API; fine only if you control them all".to_string(),
        ),
        "https_trust_http" => (
            Severity::Medium,
            "the http:// twin of an https origin is trusted: an attacker on the network can inject a page into that origin and read the responses (breaks TLS)".to_string(),
        ),
        "third_party" => (
            Severity::Medium,
            "a third-party hosting origin is trusted: anyone can publish a page there and read the responses".to_string(),
        ),
        _ => (Severity::Low, String::new()),
    }
}

fn findings(probes: &[Probe], trusted: &str, notes: &mut Vec<String>) -> Vec<Finding> {
    let fix_exact = format!(
        "compare the Origin against an exact list of origins; with preflight's gateway: \
         allow_origins = [\"{trusted}\"]"
    );
    let mut out: Vec<Finding> = Vec::new();
    let reflects = probes
        .iter()
        .any(|p| p.class == "reflect_origin" && p.result == "finding");
    if reflects {
        notes.push(
            "the server echoes any origin: the other origin probes are covered by reflect_origin"
                .to_string(),
        );
    }
    for p in probes.iter().filter(|p| p.result == "finding") {
        // Any origin echoed covers every other origin string; `null` has its own fix.
        if reflects && !matches!(p.class, "reflect_origin" | "trust_null") {
            continue;
        }
        let answer = if p.get.echoes(&p.origin_sent) {
            &p.get
        } else {
            &p.preflight
        };
        let credentials = answer.credentials();
        if let Some(f) = out.iter_mut().find(|f| f.class == p.class) {
            if credentials && !f.credentials {
                f.credentials = true;
                f.severity = f.severity.max(describe(p.class, true, &p.origin_sent).0);
            }
            f.message.push_str(&format!("; also {}", p.origin_sent));
            continue;
        }
        let (severity, message) = describe(p.class, credentials, &p.origin_sent);
        let fix = match p.class {
            "trust_null" => "never allow the `null` origin (preflight lint refuses it)".to_string(),
            "trust_any_subdomain" => format!(
                "list the subdomains you serve, or keep a wildcard only over names you control; \
                 with preflight's gateway: allow_origins = [\"{trusted}\"]"
            ),
            "https_trust_http" => "trust only https:// origins on an https site".to_string(),
            _ => fix_exact.clone(),
        };
        out.push(Finding {
            class: p.class,
            severity,
            origin_sent: p.origin_sent.clone(),
            acao: answer.single_acao().map(str::to_string),
            credentials,
            message,
            fix,
        });
    }

    // Passive checks on the baseline (the trusted origin).
    if let Some(base) = probes.first() {
        for a in [&base.get, &base.preflight] {
            if a.acao.len() > 1 || a.single_acao().is_some_and(|v| v.contains(',')) {
                push_once(
                    &mut out,
                    Finding {
                        class: "multiple_acao",
                        severity: Severity::Low,
                        origin_sent: base.origin_sent.clone(),
                        acao: Some(a.acao.join(", ")),
                        credentials: a.credentials(),
                        message: "several Access-Control-Allow-Origin values: browsers refuse the response (broken, not a hole)".into(),
                        fix: "send exactly one origin: the request's, once it matched the list".into(),
                    },
                );
            } else if a.single_acao() == Some("*") {
                let (class, message, fix) = if a.credentials() {
                    (
                        "wildcard_with_credentials",
                        "ACAO * with Access-Control-Allow-Credentials: true: browsers refuse every credentialed request (broken, not a hole)",
                        "echo the matched origin instead of *, or drop credentials",
                    )
                } else {
                    (
                        "wildcard",
                        "ACAO *: any website can read the responses without cookies; fine for public data, not for an intranet or IP-restricted API",
                        "keep * only for public data; otherwise list the origins (allow_origins = [...])",
                    )
                };
                push_once(
                    &mut out,
                    Finding {
                        class,
                        severity: Severity::Low,
                        origin_sent: base.origin_sent.clone(),
                        acao: Some("*".into()),
                        credentials: a.credentials(),
                        message: message.into(),
                        fix: fix.into(),
                    },
                );
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
            out.push(Finding {
                class: "missing_vary",
                severity: Severity::Medium,
                origin_sent: p.origin_sent.clone(),
                acao: p.get.single_acao().map(str::to_string),
                credentials: p.get.credentials(),
                message: "the ACAO changes with the Origin but the response has no Vary: Origin: a cache can serve one origin's answer to another (cache poisoning, or CORS failures)".into(),
                fix: "add Vary: Origin to every response whose CORS headers depend on the Origin (preflight's gateway does)".into(),
            });
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn push_once(out: &mut Vec<Finding>, f: Finding) {
    if !out.iter().any(|g| g.class == f.class) {
        out.push(f);
    }
}

fn to_text(a: &Audit) -> String {
    let mut s = format!(
        "preflight audit: {} (trusted origin: {})\n\nprobes (a GET and a preflight each; origin sent -> answers):\n",
        a.target, a.trusted_origin
    );
    let width = a
        .probes
        .iter()
        .map(|p| p.origin_sent.len())
        .max()
        .unwrap_or(0);
    for p in &a.probes {
        let mark = match p.result {
            "finding" => "FINDING",
            "error" => "ERROR",
            _ => "OK",
        };
        s.push_str(&format!(
            "  {mark:<7}  {:<25}  {:<width$}  -> GET {} | OPTIONS {}\n",
            p.class,
            p.origin_sent,
            p.get.summary(),
            p.preflight.summary(),
        ));
    }
    if !a.notes.is_empty() {
        s.push('\n');
        for n in &a.notes {
            s.push_str(&format!("note: {n}\n"));
        }
    }
    s.push('\n');
    if a.findings.is_empty() {
        s.push_str("no findings\n");
    } else {
        s.push_str(&format!("findings ({}):\n", a.findings.len()));
        for f in &a.findings {
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
    let count = |sev| a.findings.iter().filter(|f| f.severity == sev).count();
    s.push_str(&format!(
        "\nverdict: {} ({} high, {} medium, {} low)\n",
        a.verdict,
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(url: &str) -> Vec<(&'static str, String)> {
        probes_for(&Url::parse(url).unwrap(), &mut Vec::new())
    }

    #[test]
    fn probes_follow_corscanner() {
        let p = classes("https://www.example.com/api");
        let has = |c: &str, o: &str| p.iter().any(|(k, v)| *k == c && v == o);
        assert!(has("reflect_origin", "https://evil.example"));
        assert!(has("prefix_match", "https://www.example.com.evil.example"));
        assert!(has("suffix_match", "https://evilexample.com"));
        assert!(has("trust_null", "null"));
        assert!(has("include_match", "https://xample.com"));
        assert!(has("not_escape_dot", "https://www.exampleacom"));
        assert!(has("not_escape_dot", "https://wwwxexample.com"));
        assert!(has(
            "special_characters_bypass",
            "https://www.example.com_.evil.example"
        ));
        assert!(has("trust_any_subdomain", "https://evil.www.example.com"));
        assert!(has("https_trust_http", "http://www.example.com"));
        assert!(has("third_party", "https://whatever.github.io"));
        assert!(p.len() < 45, "bounded: {}", p.len());
    }

    #[test]
    fn ip_hosts_keep_the_port_and_ipv6_skips_domain_probes() {
        let p = classes("http://127.0.0.1:8080/");
        assert!(p.contains(&("prefix_match", "http://127.0.0.1:8080.evil.example".into())));
        assert!(p.contains(&("suffix_match", "http://evil127.0.0.1:8080".into())));
        assert!(!p.iter().any(|(c, _)| *c == "https_trust_http"));
        let p = classes("http://[::1]:8080/");
        assert!(!p.iter().any(|(c, _)| *c == "suffix_match"));
    }

    #[test]
    fn auditing_a_third_party_host_skips_its_own_origin() {
        let p = classes("https://codepen.io/");
        assert!(!p.contains(&("third_party", "https://codepen.io".into())));
    }
}
