//! `preflight`: the binary. It parses arguments and calls the libraries: the
//! doctor's commands (`check`, `explain`, `audit`) are `preflight_doctor`'s.

// Doc comments of argument structs are clap's --help text, where a bare URL reads
// better than a Markdown link.
#![allow(rustdoc::bare_urls)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use preflight_doctor::{audit, check, explain};

mod demo;
mod lint;
mod serve;

/// CORS done right: a gateway that answers preflights per route, and a doctor
/// that tells you in plain words why a browser blocks a request.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo: a todo API, the gateway in front of it, a single-page app on
    /// a second origin that calls it, and the dashboard. Prints the URLs.
    Demo(demo::DemoArgs),
    /// Run the gateway in front of your API, as the config file says.
    #[command(
        after_help = "The file is checked at start (see `preflight lint`); an insecure or malformed one is refused. Reloads on SIGHUP and when the file changes: a bad file keeps the running configuration and says why (log, /metrics, dashboard). SIGTERM or SIGINT: stop accepting, finish requests in flight within [server] grace_period, then exit 0."
    )]
    Serve(serve::ServeArgs),
    /// Check a config file; every problem points at its file, line and key.
    /// Exit 0 when it loads, 1 when it has errors.
    #[command(
        after_help = "Refused at load: `*` with credentials; the `null` origin; wildcards over public suffixes (https://*.github.io); http:// origins with credentials (loopback excepted); malformed origins; forbidden methods and headers; set-cookie in expose_headers; max_age outside -1..86400; unknown keys; overlapping routes, routes without methods, bad upstream URLs. Warned: max_age above 7200 (Chromium's cap)."
    )]
    Lint(lint::LintArgs),
    /// Offline: what the gateway with this config answers to a request, and what
    /// a browser then does. Exit 0 allowed, 1 blocked, 2 error.
    Explain(explain::ExplainArgs),
    /// Live: act as the browser against any server and explain the verdict.
    /// Exit 0 allowed, 1 blocked, 2 error.
    Check(check::CheckArgs),
    /// Probe a live server for known CORS misconfigurations (origin reflection, null, prefix/suffix/regex bypasses, http origins, third-party hosts, missing Vary). Exit 0 clean, 1 findings, 2 error.
    Audit(audit::AuditArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // On one CPU (a CPU set of one, or a cgroup quota of one CPU: what
    // `available_parallelism` reads), one thread runs every task either way,
    // and a multi-thread runtime's scheduler only costs (docs/deploying.md,
    // "CPUs"): the current-thread runtime then.
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Lint(args) => lint::run(args).await,
            Command::Explain(args) => explain::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Audit(args) => audit::run(args).await,
        }
    })
}
