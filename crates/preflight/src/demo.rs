//! `preflight demo` (being written).

use std::process::ExitCode;

/// Arguments of `preflight demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Run `preflight demo`.
pub async fn run(_args: DemoArgs) -> ExitCode {
    eprintln!("preflight demo is not available in this build yet");
    ExitCode::from(2)
}
