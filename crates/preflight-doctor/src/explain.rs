//! `preflight explain`, the command-line side: offline, what the gateway with
//! this configuration answers to a page's request, and what a browser then
//! does; when the configuration is the cause, the fix points at its file,
//! line and key. The gateway's layers answer in process
//! ([`preflight_gateway::explain`]); this module builds the query from the
//! arguments and adds the lines that say what was asked.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::report::Report;
use clap::Args;
use preflight_gateway::explain::{source_name, ExplainQuery};
use preflight_gateway::{Config, Gateway};

use crate::args::{parse_header_args, value_name, PageArgs};
use crate::render;

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
    #[command(flatten)]
    pub page: PageArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `preflight explain`: print the report; exit 0 allowed, 1 blocked, 2 error.
pub async fn run(args: ExplainArgs) -> ExitCode {
    render::finish(explain(&args).await, args.json)
}

/// Load the configuration, ask the gateway in process, and give its report
/// with the lines that say what was asked and which route answered.
pub async fn explain(args: &ExplainArgs) -> Result<Report, String> {
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
        profile: args.page.profile.into(),
    };
    let explanation = gateway.explain(&query).await?;
    let mut report = Report::from_explanation(&explanation);
    report.context.push(format!(
        "preflight explain: {} {} from {} (config: {}, credentials: {}, profile: {})",
        args.page.method,
        args.path,
        args.page.origin,
        args.config.display(),
        value_name(args.page.credentials),
        value_name(args.page.profile),
    ));
    let route = explanation.route_index.and_then(|i| config.routes.get(i));
    match route {
        Some(r) => report.context.push(format!(
            "route: {} (methods {}; {})",
            r.path,
            String::from_utf8_lossy(r.methods.header_value().as_bytes()),
            source_name(&r.source)
        )),
        None => report.context.push(format!(
            "route: none matches {}: the gateway answers 404",
            args.path
        )),
    }
    report
        .context
        .push(format!("gateway origin: {}", gateway.origin()));
    Ok(report)
}
