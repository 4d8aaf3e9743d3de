//! `preflight explain`: offline, what the gateway with this configuration
//! answers to a page's request, and what a browser then does; when the
//! configuration is the cause, the fix points at its file, line and key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use preflight_core::browser::Report;
use preflight_core::Refusal;
use preflight_gateway::admin::{ExplainQuery, Explanation};
use preflight_gateway::config::{locate, RouteSource};
use preflight_gateway::{Config, Gateway};
use preflight_tower::CorsOutcome;

use crate::check::{value_name, Credentials, ProfileArg};
use crate::report;

/// Arguments of `preflight explain`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    preflight explain --config preflight.toml --origin https://app.example.com -X PUT \\\n      -H 'content-type: application/json' /api/users/42\n\n\
    Nothing is sent over the network: the gateway's own layers answer in process, with a\n\
    stand-in for the upstream. Exit status: 0 allowed, 1 blocked, 2 error (bad config or arguments).")]
pub struct ExplainArgs {
    /// The path on the gateway, e.g. /api/users/42
    pub path: String,
    /// The configuration file.
    #[arg(long, short = 'c', default_value = "./preflight.toml")]
    pub config: PathBuf,
    /// The page's origin, e.g. https://app.example.com
    #[arg(long)]
    pub origin: String,
    /// The request method, as the page passes it to fetch().
    #[arg(short = 'X', long = "request", default_value = "GET")]
    pub method: String,
    /// A request header the page sets, as 'Name: value'. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// fetch()'s credentials mode.
    #[arg(long, value_enum, default_value_t = Credentials::SameOrigin)]
    pub credentials: Credentials,
    /// Whose rules: current Chromium, or the Fetch standard as written.
    #[arg(long, value_enum, default_value_t = ProfileArg::Chromium)]
    pub profile: ProfileArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `preflight explain`.
pub async fn run(args: ExplainArgs) -> ExitCode {
    match explain(&args).await {
        Ok(r) => {
            report::print(&r, args.json);
            report::exit_code(&r)
        }
        Err(message) => {
            if args.json {
                println!("{}", serde_json::json!({"verdict": "error", "message": message}));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(2)
        }
    }
}

async fn explain(args: &ExplainArgs) -> Result<Report, String> {
    let config = Config::load(&args.config).map_err(|e| {
        format!(
            "{} does not load (run `preflight lint --config {}` for details):\n{e}",
            args.config.display(),
            args.config.display()
        )
    })?;
    let text = std::fs::read_to_string(&args.config).unwrap_or_default();
    let mut headers = Vec::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("-H {h:?}: write a header as 'Name: value'"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let gateway = Gateway::new(config.clone());
    let query = ExplainQuery {
        path: args.path.clone(),
        origin: args.origin.clone(),
        method: args.method.clone(),
        headers,
        credentials: args.credentials.into(),
        profile: args.profile.into(),
    };
    let explanation = gateway.explain(&query).await?;
    let mut report = explanation.report.clone();
    report.context.push(format!(
        "preflight explain: {} {} from {} (config: {}, credentials: {}, profile: {})",
        args.method,
        args.path,
        args.origin,
        args.config.display(),
        value_name(args.credentials),
        value_name(args.profile),
    ));
    let route = explanation.route_index.and_then(|i| config.routes.get(i));
    match route {
        Some(r) => report.context.push(format!(
            "route: {} (methods {}; {})",
            r.path,
            String::from_utf8_lossy(r.methods.header_value().as_bytes()),
            source_name(&r.source)
        )),
        None => report
            .context
            .push(format!("route: none matches {}: the gateway answers 404", args.path)),
    }
    report.context.push(format!("gateway origin: {}", gateway.origin()));
    if !report.is_allowed() {
        if let Some(fix) = config_fix(&explanation, &config, &args.config, &text, &args.origin) {
            report.fix = Some(match report.fix.take() {
                Some(browser_fix) => format!("{fix}\n         (the browser's side of it: {browser_fix})"),
                None => fix,
            });
        }
    }
    Ok(report)
}

fn source_name(source: &RouteSource) -> String {
    match source {
        RouteSource::Routes(i) => format!("[[routes]] #{}", i + 1),
        RouteSource::OpenApi(i, file) => format!("[[openapi]] #{} from {}", i + 1, file.display()),
    }
}

/// The dotted key prefix of a route's table in the file.
fn route_key(source: &RouteSource) -> String {
    match source {
        RouteSource::Routes(i) => format!("routes[{i}]"),
        RouteSource::OpenApi(i, _) => format!("openapi[{i}]"),
    }
}

/// True when the file sets `route.cors.<key>` itself (otherwise the value is
/// inherited from `[cors]`).
fn route_sets(text: &str, route: &str, key: &str) -> bool {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return false;
    };
    let (table, index) = match route.split_once('[') {
        Some((t, rest)) => (t, rest.trim_end_matches(']').parse::<usize>().unwrap_or(usize::MAX)),
        None => return false,
    };
    doc.get(table)
        .and_then(|v| v.as_array())
        .and_then(|a| a.get(index))
        .and_then(|r| r.get("cors"))
        .and_then(|c| c.as_table())
        .is_some_and(|c| c.contains_key(key))
}

/// Where a CORS key in effect for this route is written.
fn cors_key(text: &str, route: Option<&str>, key: &str) -> String {
    match route {
        Some(r) if route_sets(text, r, key) => format!("{r}.cors.{key}"),
        _ => format!("cors.{key}"),
    }
}

fn at(file: &Path, text: &str, key: &str) -> String {
    match locate(text, key) {
        Some((line, col)) => format!("{}:{line}:{col} `{key}`", file.display()),
        None => format!("{} `{key}` (not in the file yet)", file.display()),
    }
}

/// When the gateway's configuration is why the browser blocks, say what to
/// change and where.
fn config_fix(e: &Explanation, config: &Config, file: &Path, text: &str, origin: &str) -> Option<String> {
    let route = e.route_index.and_then(|i| config.routes.get(i));
    let route_prefix = route.map(|r| route_key(&r.source));
    let rk = route_prefix.as_deref();
    let refusal = e.outcomes.iter().rev().flatten().find_map(|o| match o {
        CorsOutcome::Preflight {
            allowed: false,
            reason,
        } => Some(reason.clone()),
        CorsOutcome::Actual { allowed: false } => Some(Some(Refusal::OriginNotAllowed)),
        _ => None,
    });
    let disabled = route.is_some_and(|r| matches!(r.cors, preflight_gateway::config::RouteCorsPolicy::Disabled));
    if route.is_none() {
        return Some(format!(
            "no route matches this path: add a [[routes]] entry for it ({})",
            at(file, text, "routes")
        ));
    }
    if disabled {
        let key = format!("{}.cors", rk.unwrap_or("routes"));
        return Some(format!(
            "this route has cors = false ({}): give it a cors table, or remove the line so it inherits [cors]",
            at(file, text, &key)
        ));
    }
    match refusal.flatten() {
        Some(Refusal::OriginNotAllowed) => {
            let key = cors_key(text, rk, "allow_origins");
            Some(format!("add \"{origin}\" to allow_origins ({})", at(file, text, &key)))
        }
        Some(Refusal::HeaderNotAllowed(h)) => {
            let key = cors_key(text, rk, "allow_headers");
            Some(format!("add \"{h}\" to allow_headers ({}), or stop sending it", at(file, text, &key)))
        }
        Some(Refusal::AuthorizationNotListed) => {
            let key = cors_key(text, rk, "allow_headers");
            Some(format!(
                "list \"authorization\" by name in allow_headers ({}): `*` never covers it",
                at(file, text, &key)
            ))
        }
        Some(Refusal::MethodNotAllowed(m)) => {
            let on_route = route.is_some_and(|r| r.methods.contains_bytes(m.as_bytes()));
            if on_route {
                let key = cors_key(text, rk, "allow_methods");
                Some(format!("add \"{m}\" to allow_methods ({})", at(file, text, &key)))
            } else {
                let key = format!("{}.methods", rk.unwrap_or("routes"));
                Some(format!(
                    "the route has no {m}: add it to methods ({}) if the API really has it",
                    at(file, text, &key)
                ))
            }
        }
        Some(Refusal::RequestHeaders(err)) => Some(format!("the request's header list is refused: {err}")),
        Some(Refusal::InvalidRequestMethod) => Some("the request method is not a valid method name".to_string()),
        Some(Refusal::CorsDisabled) => {
            let key = format!("{}.cors", rk.unwrap_or("routes"));
            Some(format!("cross-origin access is off here ({})", at(file, text, &key)))
        }
        None => {
            // The gateway allowed it; the browser still blocks: credentials.
            let policy_credentials = route.and_then(|r| match &r.cors {
                preflight_gateway::config::RouteCorsPolicy::Enabled { policy, .. } => Some(policy.allows_credentials()),
                preflight_gateway::config::RouteCorsPolicy::Disabled => None,
            });
            if policy_credentials == Some(false) {
                let key = cors_key(text, rk, "allow_credentials");
                Some(format!(
                    "the page sends credentials but the policy does not allow them: set allow_credentials = true ({}) and list the origins explicitly, or fetch without credentials",
                    at(file, text, &key)
                ))
            } else {
                None
            }
        }
    }
}
