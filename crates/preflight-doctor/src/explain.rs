//! `preflight explain`, the command-line side: offline, what the gateway with
//! this configuration answers to a page's request, and what a browser then
//! does; when the configuration is the cause, the fix points at its file,
//! line and key. The gateway's layers answer in process
//! ([`preflight_gateway::explain`]); this module builds the query from the
//! arguments and adds the lines that say what was asked.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use preflight_core::browser::Profile;
use preflight_gateway::explain::{source_name, ExplainQuery, Explanation};
use preflight_gateway::{Config, Gateway};

use crate::args::{parse_header_args, value_name, PageArgs};
use crate::engines::{self, EngineReports};
use crate::render;
use crate::report::Report;

/// Arguments of `preflight explain`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    preflight explain --config preflight.toml --origin https://app.example.com -X PUT \\\n      -H 'content-type: application/json' /api/users/42\n\n\
    Nothing is sent over the network: the gateway's own layers answer in process, with a\n\
    stand-in for the upstream. Exit status: 0 allowed, 1 blocked, 2 error (bad config or arguments).\n\
    With --profile all: 0 when chromium, firefox and webkit all allow, 1 when any of them blocks.")]
pub struct ExplainArgs {
    /// The path on the gateway, e.g. /api/users/42
    pub path: String,
    /// The configuration file.
    #[arg(long, short = 'c', default_value = "./preflight.toml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub page: PageArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `preflight explain`: print the report; exit 0 allowed, 1 blocked, 2
/// error. With `--profile all`: a verdict line per engine; exit 1 when any
/// engine blocks.
pub async fn run(args: ExplainArgs) -> ExitCode {
    match args.page.profile.one() {
        Some(_) => render::finish(explain(&args).await, args.json),
        None => engines::finish(explain_engines(&args).await, args.json),
    }
}

/// Load the configuration, ask the gateway in process, and give its report
/// with the lines that say what was asked and which route answered.
/// `--profile all` is [`explain_engines`]'s.
pub async fn explain(args: &ExplainArgs) -> Result<Report, String> {
    let Some(profile) = args.page.profile.one() else {
        return Err("--profile all gives a report per engine: call explain_engines".into());
    };
    let (config, gateway, query) = load(args)?;
    let explanation = gateway.explain(&query.with_profile(profile)).await?;
    let mut report = Report::from_explanation(&explanation);
    report.context = context(args, &config, &gateway, &explanation);
    Ok(report)
}

/// `--profile all`: what each of the three engines makes of the gateway's answers.
pub async fn explain_engines(args: &ExplainArgs) -> Result<EngineReports, String> {
    let (config, gateway, query) = load(args)?;
    let mut runs = Vec::new();
    let mut lines = Vec::new();
    for profile in Profile::ENGINES {
        let explanation = gateway.explain(&query.with_profile(profile)).await?;
        if lines.is_empty() {
            lines = context(args, &config, &gateway, &explanation);
        }
        runs.push((
            profile,
            Report::from_explanation(&explanation),
            explanation.trace,
        ));
    }
    Ok(EngineReports::new(lines, runs))
}

/// The configuration, a gateway over it, and the query the arguments make.
fn load(args: &ExplainArgs) -> Result<(Config, Gateway, ExplainQuery), String> {
    let config = Config::load(&args.config).map_err(|e| {
        format!(
            "{} does not load (run `preflight lint --config {}` for details):\n{e}",
            args.config.display(),
            args.config.display()
        )
    })?;
    let headers = parse_header_args(&args.page.headers)?;
    let gateway = Gateway::new(config.clone());
    let query = ExplainQuery {
        path: args.path.clone(),
        origin: args.page.origin.clone(),
        method: args.page.method.clone(),
        headers,
        credentials: args.page.credentials.into(),
        ..ExplainQuery::default()
    };
    Ok((config, gateway, query))
}

/// The lines that say what was asked, which route answered, and where the
/// page addresses the gateway.
fn context(
    args: &ExplainArgs,
    config: &Config,
    gateway: &Gateway,
    explanation: &Explanation,
) -> Vec<String> {
    let mut lines = vec![format!(
        "preflight explain: {} {} from {} (config: {}, credentials: {}, profile: {})",
        args.page.method,
        args.path,
        args.page.origin,
        args.config.display(),
        value_name(args.page.credentials),
        value_name(args.page.profile),
    )];
    let route = explanation.route_index.and_then(|i| config.routes.get(i));
    match route {
        Some(r) => lines.push(format!(
            "route: {} (methods {}; {})",
            r.path,
            String::from_utf8_lossy(r.methods.header_value().as_bytes()),
            source_name(&r.source)
        )),
        None => lines.push(format!(
            "route: none matches {}: the gateway answers 404",
            args.path
        )),
    }
    lines.push(format!("gateway origin: {}", gateway.origin()));
    lines
}
